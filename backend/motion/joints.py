"""Named groups of the 22 canonical joints (body-part edits, training masks). Numpy-free.

``JOINT_GROUPS[name]`` is a tuple of canonical joint indices; ``group_joints(names)`` resolves
group names and canonical joint names to a sorted tuple of indices. "upper_body" is everything
above the pelvis (spine, neck, head, arms); "lower_body" is the pelvis (the root: position and
facing) and the legs.
"""
from __future__ import annotations

from .skeleton import CANONICAL_NAMES

_I = {n: i for i, n in enumerate(CANONICAL_NAMES)}


def _ids(*names: str) -> tuple[int, ...]:
    return tuple(sorted(_I[n] for n in names))


LEFT_ARM = _ids("left_collar", "left_shoulder", "left_elbow", "left_wrist")
RIGHT_ARM = _ids("right_collar", "right_shoulder", "right_elbow", "right_wrist")
LEFT_LEG = _ids("left_hip", "left_knee", "left_ankle", "left_foot")
RIGHT_LEG = _ids("right_hip", "right_knee", "right_ankle", "right_foot")
SPINE = _ids("spine1", "spine2", "spine3")
HEAD = _ids("neck", "head")
ROOT = (0,)

JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    "upper_body": tuple(sorted(SPINE + HEAD + LEFT_ARM + RIGHT_ARM)),
    "lower_body": tuple(sorted(ROOT + LEFT_LEG + RIGHT_LEG)),
    "left_arm": LEFT_ARM,
    "right_arm": RIGHT_ARM,
    "arms": tuple(sorted(LEFT_ARM + RIGHT_ARM)),
    "head": HEAD,
    "legs": tuple(sorted(LEFT_LEG + RIGHT_LEG)),
}


def group_joints(names) -> tuple[int, ...]:
    """Sorted joint indices of group names and/or canonical joint names (ValueError naming
    the unknown ones)."""
    if isinstance(names, str):
        names = [names]
    out, unknown = set(), []
    for n in names:
        if n in JOINT_GROUPS:
            out.update(JOINT_GROUPS[n])
        elif n in _I:
            out.add(_I[n])
        else:
            unknown.append(str(n))
    if unknown:
        raise ValueError(f"unknown body part(s) {', '.join(unknown)}: use "
                         f"{', '.join(JOINT_GROUPS)} or canonical joint names")
    if not out:
        raise ValueError("no joints to edit")
    return tuple(sorted(out))
