"""Re-timing a camera path to a drone's limits: the same positions in the same order, flown
with a new progress over the same duration, slower in the curves and faster on the straights.

For a path ``loc`` (T, 3) at ``fps`` (the planned timing), the arc length s_i and the path's
curvature kappa_i (from the planned velocity and acceleration: the normal acceleration over the
speed squared, widened by a running maximum over +-3 frames) give a speed limit per frame:
``min(margin x max_speed, sqrt(margin x max_accel / kappa))`` and any extra ``speed_cap`` (a
yaw-rate limit turned into a speed limit). The new speed is ``min(c x planned speed, limit)``,
then bounded by ``margin x max_accel`` along the path (a forward and a backward pass), and the
scale c is found by bisection so that the path takes exactly the shot's duration. The new
progress s(t) is smoothed (minimum jerk, kept monotone and pinned at both ends) and the path
resampled along it. When even the fastest profile within the limits needs longer than the
shot, re-timing cannot help: ``None`` (the planner then shrinks the shot's travel).
"""
from __future__ import annotations

import numpy as np

MARGINS = (0.9, 0.75, 0.6)      # share of the limits aimed at (tighter when smoothing overshoots)
PROGRESS_SMOOTHING_S = 1.2


def _speed_limits(loc: np.ndarray, fps: float, max_speed: float, max_accel: float,
                  margin: float) -> np.ndarray:
    vel = np.gradient(loc, axis=0) * fps
    acc = np.gradient(vel, axis=0) * fps
    speed = np.linalg.norm(vel, axis=1)
    tangent = vel / np.maximum(speed, 1e-9)[:, None]
    normal = acc - np.sum(acc * tangent, axis=1, keepdims=True) * tangent
    kappa = np.linalg.norm(normal, axis=1) / np.maximum(speed, 1e-6) ** 2
    kappa = np.where(speed > 1e-4, kappa, 0.0)
    padded = np.pad(kappa, 3, mode="edge")
    kappa = np.max(np.lib.stride_tricks.sliding_window_view(padded, 7), axis=1)
    curve = np.sqrt(margin * max_accel / np.maximum(kappa, 1e-9))
    return np.minimum(margin * max_speed, curve)


def _profile(v_target: np.ndarray, ds: np.ndarray, accel: float) -> np.ndarray:
    """The fastest speeds (N,) under ``v_target`` (N,) reachable within ``accel`` over the
    steps ``ds`` (N - 1,): in squared speed w, w[i+1] <= w[i] + 2 a ds[i] forwards and back,
    solved as running minima (w - the cumulated steps)."""
    w = v_target * v_target
    step = np.concatenate([[0.0], np.cumsum(2 * accel * ds)])        # (N,)
    w = np.minimum(w, step + np.minimum.accumulate(w - step))            # speeding up
    back = step[-1] - step
    w = np.minimum(w, back + np.minimum.accumulate((w - back)[::-1])[::-1])   # slowing down
    return np.sqrt(np.maximum(w, 0.0))


def _travel_time(v: np.ndarray, ds: np.ndarray) -> float:
    mean = np.maximum(0.5 * (v[1:] + v[:-1]), 1e-9)
    return float(np.sum(np.where(ds > 1e-12, ds / mean, 0.0)))


def retime(loc: np.ndarray, fps: float, max_speed: float, max_accel: float,
           speed_cap: np.ndarray | None = None, margin: float = MARGINS[0]
           ) -> np.ndarray | None:
    """The path (T, 3) re-timed within ``max_speed`` (m/s) and ``max_accel`` (m/s^2) (and the
    per-frame ``speed_cap`` (T,) m/s) over the same T frames; None when it cannot be."""
    from .planner import smooth_path
    loc = np.asarray(loc, float)
    T = len(loc)
    duration = (T - 1) / fps
    ds = np.linalg.norm(np.diff(loc, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(ds)])
    if T < 4 or s[-1] < 1e-6:
        return loc.copy()
    planned = np.maximum(np.gradient(s) * fps, 1e-3)
    limit = _speed_limits(loc, fps, max_speed, max_accel, margin)
    if speed_cap is not None:
        limit = np.minimum(limit, np.maximum(speed_cap, 1e-3))
    accel = margin * max_accel

    def flown(c: float) -> np.ndarray:
        return _profile(np.minimum(c * planned, limit), ds, accel)

    flat_out = float(np.max(limit / planned)) + 1.0      # beyond it the limits decide alone
    if _travel_time(flown(flat_out), ds) > duration:       # too slow even flat out
        return None
    lo, hi = 0.0, flat_out
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if _travel_time(flown(mid), ds) > duration:
            lo = mid
        else:
            hi = mid
    v = flown(hi)
    mean = np.maximum(0.5 * (v[1:] + v[:-1]), 1e-9)
    t = np.concatenate([[0.0], np.cumsum(np.where(ds > 1e-12, ds / mean, 0.0))])
    t *= duration / max(t[-1], 1e-12)
    frame_t = np.arange(T) / fps
    progress = np.interp(frame_t, t, s)
    smooth = smooth_path(T, fps, np.arange(T), progress[:, None], np.ones(T),
                         PROGRESS_SMOOTHING_S)[:, 0]
    smooth[0], smooth[-1] = 0.0, s[-1]
    smooth = np.clip(np.maximum.accumulate(smooth), 0.0, s[-1])
    return np.stack([np.interp(smooth, s, loc[:, k]) for k in range(3)], axis=1)


def retime_to_limits(loc: np.ndarray, fps: float, max_speed: float, max_accel: float,
                     speed_cap: np.ndarray | None = None) -> np.ndarray | None:
    """``retime`` with tighter margins until the resampled path keeps the limits (1 %
    tolerance); None when no margin gets there."""
    for margin in MARGINS:
        out = retime(loc, fps, max_speed, max_accel, speed_cap, margin)
        if out is None:
            return None
        v = np.diff(out, axis=0) * fps
        a = np.diff(v, axis=0) * fps
        if np.linalg.norm(v, axis=1).max() <= max_speed * 1.01 and \
                np.linalg.norm(a, axis=1).max() <= max_accel * 1.01:
            return out
    return None
