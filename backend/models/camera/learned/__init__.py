"""Learned camera option (issue 12, item 3): an autoregressive next-camera-pose model in the
spirit of DVGFormer, trained on planner paths through random procedural scenes.

Modules: ``data`` (random scenes, planned trajectories, per-frame features), ``model`` (a small
GRU predicting the next pose change), ``train`` (CPU training, resume-safe), ``sample`` (roll
the model out on a scene: the planner's result dict shape) and ``evaluate`` (learned vs planner
on the shipped test scenes). The planner stays the camera job's default: this option is used
only where the evaluation shows it beats the planner.
"""
