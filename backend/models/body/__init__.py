"""Body models as backend jobs (SMPL-X from the user's own model files)."""
