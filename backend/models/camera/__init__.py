"""Drone-camera planner (issue 12): shots around a subject, planned through the scene's
triangles without crashing (DVGFormer's six-ray rule), framed by the rule of thirds, smooth.

Modules: ``geometry`` (triangle index: clearance, ray casts), ``shots`` (key poses per shot),
``planner`` (drone limits, minimum-jerk trajectory, look-at, lens), ``metrics``, ``wire`` (the
mesh on the wire), ``job`` (job kind ``camera``), ``bench`` and ``evaluate``.
Numpy and scipy only; metres, Z up; a Blender camera looks along its local -Z, up is local +Y.
"""
