"""Two clips joined by a gap to fill (in-betweening joins them; issue 8). Numpy only.

``join_with_gap(a, b, gap)`` places clip b after clip a: turned about Z so b starts facing
where a ends, and moved so b's first root position is where a's root would be after `gap`
frames at the speed a ends with (its last quarter second, on the floor; b keeps its own
height). The result is a + gap frames (a's last pose held, to be filled) + b, at a's frame
rate, with the indices of the known frames (all of a and all of b).
"""
from __future__ import annotations

import numpy as np

from . import quat
from .clip import Clip
from .looping import _heading, _rotate_xy, _yaw_quat

END_VELOCITY_SECONDS = 0.25
MAX_GAP_SECONDS = 10.0


def place_after(a: Clip, b: Clip, gap: int) -> Clip:
    """b turned and moved to continue a after `gap` frames (see the module doc)."""
    n = max(1, min(a.num_frames - 1, int(round(END_VELOCITY_SECONDS * a.fps))))
    velocity = (a.root_translation[-1, :2] - a.root_translation[-1 - n, :2]) / n \
        if a.num_frames > 1 else np.zeros(2)
    yaw = _heading(a.local_rotations[-1:, 0])[0] - _heading(b.local_rotations[:1, 0])[0]
    turn = _yaw_quat(np.array(yaw))
    rots = b.local_rotations.copy()
    rots[:, 0] = quat.normalize(quat.mul(np.broadcast_to(turn, rots[:, 0].shape), rots[:, 0]))
    root = b.root_translation.copy()
    rel = _rotate_xy(root[:, :2] - root[0, :2], yaw)
    root[:, :2] = a.root_translation[-1, :2] + velocity * (gap + 1) + rel
    return Clip(rots, root, b.fps, b.skeleton, dict(b.meta))


def join_with_gap(a: Clip, b: Clip, gap: int) -> tuple[Clip, np.ndarray]:
    """(a + gap held frames + b placed after a, known frame indices). b is resampled to
    a's rate first. ValueError for a gap under 1 frame or over MAX_GAP_SECONDS."""
    from .resample import resample
    gap = int(gap)
    if gap < 1:
        raise ValueError(f"the gap to fill must be at least 1 frame, got {gap}")
    if gap > MAX_GAP_SECONDS * a.fps:
        raise ValueError(f"a gap of {gap / a.fps:.1f} s is too long to fill (at most "
                         f"{MAX_GAP_SECONDS:g} s)")
    if len(a.skeleton) != len(b.skeleton):
        raise ValueError("the two clips are on different skeletons")
    if abs(b.fps - a.fps) > 1e-6:
        b = resample(b, a.fps)
    b = place_after(a, b, gap)
    hold_r = np.repeat(a.local_rotations[-1:], gap, 0)
    hold_p = np.repeat(a.root_translation[-1:], gap, 0)
    out = Clip(np.concatenate([a.local_rotations, hold_r, b.local_rotations]),
               np.concatenate([a.root_translation, hold_p, b.root_translation]),
               a.fps, a.skeleton, dict(a.meta, joined=True))
    known = np.concatenate([np.arange(a.num_frames),
                            a.num_frames + gap + np.arange(b.num_frames)])
    return out, known
