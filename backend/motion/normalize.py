"""Put clips in a standard place: standing on the floor, starting at the origin, facing -Y.

Works on canonical clips (joint 0 is the pelvis, rest rotations are identity).
"""
from __future__ import annotations

import numpy as np

from . import quat
from .clip import Clip
from .skeleton import CANONICAL

# Height of the lowest canonical joint above the floor at rest (the balls of the feet).
REST_FLOOR_CLEARANCE = float(CANONICAL.rest_world()[1][:, 2].min())
GROUND_PERCENTILE = 5.0


def ground(clip: Clip) -> Clip:
    """Shift vertically so that the body's lowest joint touches the floor the way the canonical
    rest pose does (a low percentile over frames, so a jump stays a jump)."""
    lowest = clip.positions()[:, :, 2].min(axis=1)                 # (T,)
    floor = np.percentile(lowest, GROUND_PERCENTILE) - REST_FLOOR_CLEARANCE
    root = clip.root_translation.copy()
    root[:, 2] -= floor
    return Clip(clip.local_rotations, root, clip.fps, clip.skeleton, dict(clip.meta))


def facing_yaw(pos: np.ndarray, index) -> float:
    """Yaw (radians about +Z) of a body from its hips' and shoulders' left-right line, 0
    when it faces -Y: of one pose (J, 3), or of poses (T, J, 3) on average. `index(name)`
    gives a joint's index (``Skeleton.index``)."""
    pos = np.asarray(pos)
    lateral = (pos[..., index("left_hip"), :] - pos[..., index("right_hip"), :]) + \
        (pos[..., index("left_shoulder"), :] - pos[..., index("right_shoulder"), :])
    if lateral.ndim > 1:
        lateral = lateral.reshape(-1, lateral.shape[-1]).mean(0)
    return float(np.arctan2(lateral[1], lateral[0]))


def facing_angle(clip: Clip, frame: int = 0) -> float:
    """Yaw (radians about +Z) of the body at `frame`, 0 when it faces -Y."""
    return facing_yaw(clip.positions()[frame], clip.skeleton.index)


def rotate_about_z(clip: Clip, angle: float, pivot=(0.0, 0.0)) -> Clip:
    q = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(angle))
    rots = clip.local_rotations.copy()
    rots[:, 0] = quat.mul(q[None], rots[:, 0])
    root = clip.root_translation.copy()
    piv = np.array([pivot[0], pivot[1], 0.0])
    root = quat.rotate(q[None], root - piv) + piv
    return Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta))


def to_origin_facing_forward(clip: Clip) -> Clip:
    """Frame 0: pelvis above the origin, body facing -Y."""
    clip = rotate_about_z(clip, -facing_angle(clip, 0))
    root = clip.root_translation.copy()
    root[:, :2] -= root[0, :2]
    return Clip(clip.local_rotations, root, clip.fps, clip.skeleton, dict(clip.meta))


def standardize(clip: Clip) -> Clip:
    return to_origin_facing_forward(ground(clip))
