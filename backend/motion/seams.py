"""Seams without a jump where a stretch of motion was replaced. Numpy only.

When frames start..end of a clip are replaced by new motion (regenerate a range, continue a
clip, a body-part edit in a range), the new motion rarely starts where the old one stops, nor
at the same speed, and a generator's first frames next to kept ones are its least reliable
(measured: frame-to-frame velocity changes of 4-5 m/s there, against 1.2 m/s at the 95th
percentile of the real clip). ``blend_seams`` replaces the first and last ``margin`` seconds
of the new stretch by a cubic Hermite bridge per channel (root position in metres, each local
rotation in the tangent space of the last kept frame) whose ends match the kept frame and the
new motion in value AND velocity, so both seams are C1. Frames outside start..end are the kept
clip's, untouched; a stretch shorter than two margins becomes one bridge.
"""
from __future__ import annotations

import numpy as np

from . import quat
from .clip import Clip

MARGIN_SECONDS = 0.5      # new frames next to a seam that are bridged


def _hermite(u: np.ndarray, p0, m0, p1, m1) -> np.ndarray:
    """Cubic Hermite (N, ...) at u (N,) in (0, 1): p(0) = p0, p'(0) = m0, p(1) = p1, p'(1) = m1."""
    u = u.reshape((-1,) + (1,) * np.ndim(p0))
    u2, u3 = u * u, u * u * u
    return ((2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1
            + (u3 - u2) * m1)


def _bridge(rots, root, a: int, b: int) -> None:
    """Replace frames a+1..b-1 (in place) by a C1 curve from frame a to frame b: positions
    and velocities (one-sided, frames a-1 -> a and b -> b+1) meet at both ends. Rotations
    in the tangent space of frame a's rotation."""
    n = b - a
    u = np.arange(1, n) / n
    ref = rots[a]
    inv = quat.conjugate(ref)
    def tangent(q):
        return quat.log(quat.mul(q, inv))
    p0, p1 = np.zeros(ref.shape[:-1] + (3,)), tangent(rots[b])
    m0 = -tangent(rots[a - 1]) * n                     # a-1 -> a, frames -> whole bridge
    m1 = (tangent(rots[b + 1]) - p1) * n
    rots[a + 1:b] = quat.normalize(quat.mul(quat.exp(_hermite(u, p0, m0, p1, m1)), ref[None]))
    v0 = (root[a] - root[a - 1]) * n
    v1 = (root[b + 1] - root[b]) * n
    root[a + 1:b] = _hermite(u, root[a], v0, root[b], v1)


def blend_seams(new: Clip, kept: Clip, start: int, end: int,
                margin: float = MARGIN_SECONDS) -> Clip:
    """`kept` with frames start..end (inclusive) taken from `new`, bridged into the kept
    frames (see the module doc). Both clips have the same frames (T, J, 4) / (T, 3). A seam
    needs two kept frames on its side (at the clip's first / last frames there is none)."""
    T = kept.num_frames
    if new.num_frames != T:
        raise ValueError(f"new motion has {new.num_frames} frames, the clip {T}")
    if not 0 <= start <= end < T:
        raise ValueError(f"range {start}..{end} is outside 0..{T - 1}")
    m = max(1, int(round(margin * kept.fps)))
    rots = kept.local_rotations.copy()
    root = kept.root_translation.copy()
    rots[start:end + 1] = new.local_rotations[start:end + 1]
    root[start:end + 1] = new.root_translation[start:end + 1]
    lead = start >= 2                       # a seam before the range
    tail = end <= T - 3                     # a seam after it
    n = end + 1 - start
    if lead and tail and n <= 2 * m + 2:    # too short for both: one bridge across
        _bridge(rots, root, start - 1, end + 1)
    else:
        if lead and n > m + 1:
            _bridge(rots, root, start - 1, start + m)
        if tail and n > m + 1:
            _bridge(rots, root, end - m, end + 1)
    return Clip(rots, root, kept.fps, kept.skeleton, dict(new.meta))


def match_anchors(rotations: np.ndarray, locations: np.ndarray, ref_rotations: np.ndarray,
                  ref_locations: np.ndarray, edited: np.ndarray, anchors) -> tuple:
    """Channel values on a rig after an edit: `ref_*` (the original, (T, K, 4) wxyz and
    (T, K, 3)) on every frame that is not `edited` (T,) bool, and on the edited frames the new
    values corrected so they meet the anchors: the differences ref - new at the anchor frames
    (sorted frame indices, not edited) are interpolated (slerp / lerp) over the edited frames
    between them and held beyond the first / last. So a retarget's round-trip error never
    shows as a step at a seam or a key. Quaternion signs of the edited frames follow their
    neighbours (the originals are never flipped)."""
    edited = np.asarray(edited, dtype=bool)
    anchors = np.unique(np.asarray([] if anchors is None else anchors, dtype=np.int64))
    if edited[anchors].any():
        raise ValueError("an anchor frame is also an edited frame")
    rots = np.array(ref_rotations, dtype=np.float64)
    locs = np.array(ref_locations, dtype=np.float64)
    new_r = quat.normalize(np.asarray(rotations, dtype=np.float64))
    frames = np.flatnonzero(edited)
    if anchors.size == 0:                     # nothing to meet: the new values as they are
        rots[frames] = new_r[frames]
        locs[frames] = np.asarray(locations, dtype=np.float64)[frames]
        return follow_signs(rots, frames), locs
    diff = quat.mul(quat.normalize(rots[anchors]), quat.conjugate(new_r[anchors]))
    diff = quat.normalize(quat.abs_w(diff))                                     # (A, K, 4)
    dloc = locs[anchors] - np.asarray(locations, dtype=np.float64)[anchors]
    right = np.clip(np.searchsorted(anchors, frames), 0, anchors.size - 1)
    left = np.clip(np.searchsorted(anchors, frames) - 1, 0, anchors.size - 1)
    lo, hi = anchors[left], anchors[right]
    t = np.where(hi > lo, (frames - lo) / np.maximum(hi - lo, 1), 0.0)
    t = np.where(frames > anchors[-1], 0.0, np.where(frames < anchors[0], 1.0, t))
    K = rots.shape[1]
    fix = quat.slerp(diff[left], diff[right], np.broadcast_to(t[:, None], (frames.size, K)))
    out = quat.normalize(quat.mul(fix, new_r[frames]))
    locs[frames] = np.asarray(locations, dtype=np.float64)[frames] + \
        (1 - t)[:, None, None] * dloc[left] + t[:, None, None] * dloc[right]
    rots[frames] = out
    return follow_signs(rots, frames), locs


def follow_signs(rots: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Flip (in place, and return) the quaternions (T, K, 4) of `frames` (sorted) to the
    hemisphere of the frame before each (the one after for frame 0)."""
    T = rots.shape[0]
    for f in frames:                          # short-way signs, continuing the neighbours
        prev = rots[f - 1] if f > 0 else rots[f + 1] if f + 1 < T else rots[f]
        flip = np.sum(rots[f] * prev, axis=-1) < 0
        rots[f, flip] *= -1
    return rots
