"""Numpy-only motion core: quaternions (w, x, y, z), skeletons, forward kinematics, BVH,
HumanML3D features and retargeting. Importable inside Blender (no torch, no bpy)."""
