"""Evaluation of generated motion: a recognizer trained on real motion (recognition accuracy,
FID, diversity on its features) and physical metrics (foot skating, ground penetration,
floating, jerk). See `metrics.py` and `recognizer.py`; the CLI is `python -m backend eval`."""
