"""Physics-based control on a CPU: a MuJoCo humanoid built from the canonical skeleton
(`mjcf.build_humanoid`) that tracks a clip (`track.track_clip`) and returns the physically
corrected motion, contact labels and a report. Numpy + mujoco only (no torch, no bpy)."""
