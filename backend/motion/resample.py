"""Change a clip's frame rate. Numpy only.

Frame-count rule: a clip of T frames at `src_fps` lasts ``(T - 1) / src_fps`` seconds from its
first frame to its last. The resampled clip has ``round((T - 1) * dst_fps / src_fps) + 1``
frames spread evenly over that same span, so its first and last frames are the source's first
and last frames exactly (the same rotations; the quaternion sign may differ, see below). The
spacing is exactly ``1 / dst_fps`` whenever the span is a whole number of target frames (for
example 121 frames at 120 fps -> 31 at 30 fps, 31 at 30 -> 25 at 24); otherwise the clip is
stretched by less than half a target frame over its whole length. A 1-frame clip stays 1
frame; a clip so short that the rule gives 1 frame keeps its first frame.

Rotations are slerped per joint along the shortest arc (so sign flips between neighbouring
source quaternions never cause 360-degree spins) and come out sign-continuous over time
(``quat.unroll``). The root translation is interpolated linearly.
"""
from __future__ import annotations

import math

import numpy as np

from . import quat


def _check_fps(fps, what: str) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {fps!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {fps!r}")
    return value


def resampled_frame_count(num_frames: int, src_fps: float, dst_fps: float) -> int:
    """Number of frames after resampling `num_frames` frames from src_fps to dst_fps."""
    src_fps, dst_fps = _check_fps(src_fps, "source fps"), _check_fps(dst_fps, "target fps")
    if num_frames < 1:
        raise ValueError(f"need at least one frame, got {num_frames}")
    return int(round((num_frames - 1) * dst_fps / src_fps)) + 1


def source_positions(num_frames: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """Where each resampled frame falls on the source timeline, in (fractional) source frames."""
    n = resampled_frame_count(num_frames, src_fps, dst_fps)
    if n == 1:
        return np.zeros(1)
    # Multiply before dividing so whole-number ratios give exact integers.
    return np.arange(n, dtype=np.float64) * (num_frames - 1) / (n - 1)


def resample_arrays(local_rotations, root_translation, src_fps: float, dst_fps: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Resample rotations (T, J, 4) and root translation (T, 3) from src_fps to dst_fps.

    Returns (local_rotations (N, J, 4), root_translation (N, 3)) with N from
    ``resampled_frame_count``. Equal rates return copies of the inputs unchanged.
    """
    rots = np.asarray(local_rotations, dtype=np.float64)
    trans = np.asarray(root_translation, dtype=np.float64)
    if rots.ndim != 3 or rots.shape[-1] != 4:
        raise ValueError(f"local_rotations must have shape (T, J, 4), got {rots.shape}")
    if trans.shape != (rots.shape[0], 3):
        raise ValueError(f"root_translation has shape {trans.shape}, expected ({rots.shape[0]}, 3)")
    src_fps, dst_fps = _check_fps(src_fps, "source fps"), _check_fps(dst_fps, "target fps")
    T = rots.shape[0]
    if T == 0:
        raise ValueError("cannot resample a clip with no frames")
    if src_fps == dst_fps:
        return rots.copy(), trans.copy()

    s = source_positions(T, src_fps, dst_fps)
    i0 = np.clip(np.floor(s).astype(np.int64), 0, T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    t = s - i0  # 0 exactly where a target frame lands on a source frame

    src = quat.unroll(quat.normalize(rots))
    out_rots = quat.slerp(src[i0], src[i1], np.broadcast_to(t[:, None], (len(s), rots.shape[1])))
    exact = t == 0.0
    out_rots[exact] = src[i0[exact]]
    out_rots = quat.unroll(out_rots)

    out_trans = trans[i0] + (trans[i1] - trans[i0]) * t[:, None]
    out_trans[exact] = trans[i0[exact]]
    return out_rots, out_trans


def resample(clip, fps: float):
    """A copy of `clip` at `fps` frames per second (same skeleton, meta copied)."""
    from .clip import Clip

    rots, trans = resample_arrays(clip.local_rotations, clip.root_translation, clip.fps, fps)
    return Clip(rots, trans, float(fps), clip.skeleton, dict(clip.meta))


def catmull_rom(times: np.ndarray, points: np.ndarray, sample_times: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom spline through ``points`` (K, ...) at increasing ``times`` (K,),
    evaluated at ``sample_times`` (T,) -> (T, ...); the end tangents come from mirrored end
    points. Unlike linear interpolation it puts no kink (and no jerk) at the keys."""
    times = np.asarray(times, np.float64)
    points = np.asarray(points, np.float64)
    sample_times = np.asarray(sample_times, np.float64)
    P = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    seg = np.clip(np.searchsorted(times, sample_times, side="right") - 1, 0, len(times) - 2)
    u = ((sample_times - times[seg]) / (times[seg + 1] - times[seg]))
    u = u.reshape((-1,) + (1,) * (points.ndim - 1))
    p0, p1, p2, p3 = P[seg], P[seg + 1], P[seg + 2], P[seg + 3]
    return 0.5 * (2 * p1 + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * u ** 3)
