"""Model families. Each family has a `job.py` that registers its backend job kinds."""
