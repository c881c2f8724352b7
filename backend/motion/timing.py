"""Timing edits of a canonical clip: play it faster or slower, or make it loop. Numpy only.

``retime(clip, factor=None, seconds=None)``: the same motion played ``factor`` times as fast
(or fitted to ``seconds``, Clip.seconds = frames / fps), at the clip's own frame rate.
Rotations are slerped at the new sample times and the root is interpolated linearly, so the
root covers the same path (first and last positions exact; the speed along it scales). Then
planted feet are held still (``footplant.keep_feet_planted``): a contact of 10 frames becomes
5 and its slow drift twice as fast, and interpolated poses bend a planted foot's path.

``make_loop``, ``chain``, ``seam_velocity_jump`` and ``velocity_changes`` live in
``looping.py``; ``planted_masks`` / ``planted_speed`` (the foot-slide measure) in
``footplant.py``; all are importable from here.
"""
from __future__ import annotations

import numpy as np

from . import quat
from .clip import Clip
from .footplant import has_legs, keep_feet_planted, planted_masks, planted_speed
from .looping import (chain, make_loop, positive_number, seam_velocity_jump,
                      velocity_changes)

__all__ = ["retime", "make_loop", "chain", "seam_velocity_jump", "velocity_changes",
           "planted_masks", "planted_speed", "MIN_FACTOR", "MAX_FACTOR"]

MIN_FACTOR, MAX_FACTOR = 0.1, 10.0     # retime: beyond these the motion is no longer itself


# ------------------------------------------------------------------------------- retime
def retime(clip: Clip, factor: float | None = None, seconds: float | None = None) -> Clip:
    """The clip played `factor` times as fast (2: twice as fast, 0.5: half speed), or fitted
    to last `seconds` (Clip.seconds: frames / fps), at the same fps, planted feet kept
    planted. Give exactly one of factor / seconds. Returns a new Clip (N, J, 4) / (N, 3)."""
    T = clip.num_frames
    if T < 2:
        raise ValueError(f"Cannot retime a clip of {T} frame(s): it needs at least 2")
    if (factor is None) == (seconds is None):
        raise ValueError("Give either a speed factor or a duration in seconds (exactly one)")
    if factor is not None:
        factor = positive_number(factor, "Speed factor")
        if not MIN_FACTOR <= factor <= MAX_FACTOR:
            raise ValueError(f"Speed factor must be between {MIN_FACTOR:g} and {MAX_FACTOR:g} "
                             f"(2 = twice as fast), got {factor:g}")
        n = int(round((T - 1) / factor)) + 1
    else:
        seconds = positive_number(seconds, "Duration")
        n = int(round(seconds * clip.fps))
        if n < 2:
            raise ValueError(f"A duration of {seconds:g} s is {n} frame(s) at {clip.fps:g} fps: "
                             f"it must be at least 2 frames ({2 / clip.fps:.3g} s)")
        if not MIN_FACTOR <= (T - 1) / (n - 1) <= MAX_FACTOR:
            raise ValueError(f"{seconds:g} s would play the {clip.seconds:.3g} s clip "
                             f"{(T - 1) / (n - 1):.3g} times as fast: keep it between "
                             f"{MIN_FACTOR:g} and {MAX_FACTOR:g}")
    if n < 2:
        raise ValueError(f"Playing {T} frames {factor:g} times as fast leaves {n} frame(s)")
    src_t = np.arange(n, dtype=np.float64) * (T - 1) / (n - 1)   # source frame of each output
    rots, trans = _sample(clip, src_t)
    meta = dict(clip.meta, retime_factor=(T - 1) / (n - 1))
    out = Clip(rots, trans, clip.fps, clip.skeleton, meta)
    if has_legs(clip.skeleton):
        out = keep_feet_planted(clip, out, src_t)
    return out


def _sample(clip: Clip, src_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (N, J, 4) slerped and root (N, 3) lerped at fractional source frames."""
    T = clip.num_frames
    i0 = np.clip(np.floor(src_t).astype(np.int64), 0, T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    t = src_t - i0
    src = quat.unroll(quat.normalize(clip.local_rotations))
    J = src.shape[1]
    rots = quat.slerp(src[i0], src[i1], np.broadcast_to(t[:, None], (len(t), J)))
    exact = t == 0.0
    rots[exact] = src[i0[exact]]
    trans = clip.root_translation[i0] + (clip.root_translation[i1] -
                                         clip.root_translation[i0]) * t[:, None]
    return quat.unroll(rots), trans
