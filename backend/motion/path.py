"""Paths on the floor for a character to travel along: polylines in metres, Z up. Numpy only.

A path is its points (N, 3) in order. Everything that a walk cares about is measured in the
floor plane (x, y); the height of the path (z) only lifts the floor the character walks on.

- ``check_path(points, labels)``: the floor polyline ready to follow, or ValueError saying
  what is wrong: fewer than 2 points, no length, a path that crosses or doubles back on itself.
- ``arc_lengths(xy)``: distance travelled (N,) to each point.
- ``SmoothPath``: the path rounded at its corners (a walk cannot turn on the spot), sampled by
  the arc length of the original points: position, floor tangent angle.
- ``distance_to_path(xy, path_xy)``: floor distance (M,) of points to a polyline.
- ``progress_along(xy, path_xy)``: arc length (M,) of each point's nearest path point,
  tracked forwards so that a path which comes back near itself is not confused.
"""
from __future__ import annotations

import math

import numpy as np

MIN_LENGTH = 0.01               # m: a path shorter than this has no length to walk
SAME_POINT = 1e-6               # m: consecutive points closer than this are one point
DOUBLING_BACK_DEG = 175.0       # a turn this sharp at one point is the path going back
CORNER_ROUNDING = 0.2           # m: Gaussian sigma (in arc length) rounding the corners


def point_labels(n: int, labels=None) -> list[str]:
    """Names for the n points in messages: the given ones, else "point 1" ... "point n"."""
    if labels is None:
        return [f"point {i + 1}" for i in range(n)]
    labels = [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} path points")
    return labels


def arc_lengths(xy: np.ndarray) -> np.ndarray:
    """Cumulative floor distance (N,) from the first point, for points (N, 2) or (N, 3)
    (only x, y count)."""
    xy = np.asarray(xy, dtype=np.float64)[:, :2]
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def check_path(points, labels=None) -> np.ndarray:
    """The path's points (N, 3) as floats after checking them (module notes); raises
    ValueError with a message for the user."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3):
        raise ValueError(f"Path points must be an (N, 3) array, got shape {pts.shape}")
    if pts.shape[1] == 2:
        pts = np.concatenate([pts, np.zeros((len(pts), 1))], axis=1)
    if len(pts) < 2:
        raise ValueError(f"A path needs at least 2 points, got {len(pts)}")
    if not np.isfinite(pts).all():
        raise ValueError("The path has points that are not finite numbers")
    names = point_labels(len(pts), labels)
    length = arc_lengths(pts)[-1]
    if length < MIN_LENGTH:
        raise ValueError(f"The path has zero length on the floor ({length * 100:.1f} cm from "
                         f"{names[0]} to {names[-1]}): spread its points out")
    _check_no_doubling_back(pts[:, :2], names)
    _check_no_crossing(pts[:, :2], names)
    return pts


def _distinct(xy: np.ndarray) -> np.ndarray:
    """Indices of the points that are not a repeat of the one before."""
    keep = np.concatenate([[True], np.linalg.norm(np.diff(xy, axis=0), axis=1) > SAME_POINT])
    return np.flatnonzero(keep)


def _check_no_doubling_back(xy: np.ndarray, names: list[str]) -> None:
    idx = _distinct(xy)
    if len(idx) < 3:
        return
    p = xy[idx]
    a, b = p[1:-1] - p[:-2], p[2:] - p[1:-1]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    back = np.flatnonzero(cos < math.cos(math.radians(DOUBLING_BACK_DEG)))
    if back.size:
        i = int(idx[back[0] + 1])
        raise ValueError(f"The path turns back on itself at {names[i]}: a walk cannot follow "
                         f"a path that doubles back (move the point or split the path)")


def _check_no_crossing(xy: np.ndarray, names: list[str]) -> None:
    """ValueError if two segments that are not neighbours touch or cross (a closed path, last
    point on the first, is fine)."""
    idx = _distinct(xy)
    p = xy[idx]
    S = len(p) - 1
    if S < 3:
        return
    a, b = p[:-1], p[1:]
    closed = np.linalg.norm(p[-1] - p[0]) <= SAME_POINT
    scale = max(float(np.ptp(p, axis=0).max()), 1e-9)
    eps = 1e-9 * scale * scale
    for i in range(S - 2):
        j = np.arange(i + 2, S)
        if closed and i == 0:
            j = j[j != S - 1]
        if not j.size:
            continue
        hit = _segments_touch(a[i], b[i], a[j], b[j], eps)
        if hit.any():
            k = int(j[np.argmax(hit)])
            raise ValueError(
                f"The path crosses itself on the floor: {names[idx[i]]} to {names[idx[i + 1]]} "
                f"meets {names[idx[k]]} to {names[idx[k + 1]]} (a walk would cut through "
                f"itself; untangle the path)")


def _cross2(u, v):
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _segments_touch(p0, p1, q0, q1, eps: float) -> np.ndarray:
    """(M,) whether segment p0-p1 (2,) touches any of the segments q0-q1 (M, 2)."""
    d = p1 - p0
    o1, o2 = _cross2(d, q0 - p0), _cross2(d, q1 - p0)
    e = q1 - q0
    o3, o4 = _cross2(e, p0 - q0), _cross2(e, p1 - q0)
    proper = (o1 * o2 < -eps) & (o3 * o4 < -eps)

    def on_segment(a, b, c, o):        # c collinear with a-b and within its box
        lo, hi = np.minimum(a, b) - 1e-9, np.maximum(a, b) + 1e-9
        return (np.abs(o) <= eps) & np.all((c >= lo) & (c <= hi), axis=-1)

    touch = (on_segment(p0, p1, q0, o1) | on_segment(p0, p1, q1, o2) |
             on_segment(q0, q1, np.broadcast_to(p0, q0.shape), o3) |
             on_segment(q0, q1, np.broadcast_to(p1, q0.shape), o4))
    return proper | touch


def _gaussian_resample(u: np.ndarray, values: np.ndarray, grid: np.ndarray, sigma: float
                       ) -> np.ndarray:
    """values (N, D) given at arc lengths u (N,), linearly resampled on grid (G,) (uniform),
    then smoothed with a Gaussian of sigma metres; the ends are padded by odd reflection so
    that the path still starts and ends on its end points, heading the way it did."""
    dense = np.stack([np.interp(grid, u, values[:, d]) for d in range(values.shape[1])], 1)
    step = grid[1] - grid[0]
    half = int(math.ceil(3 * sigma / step))
    if half < 1 or len(grid) < 2:
        return dense
    pad = min(half, len(grid) - 1)
    head = 2 * dense[0] - dense[pad:0:-1]
    tail = 2 * dense[-1] - dense[-2:-pad - 2:-1]
    padded = np.concatenate([np.repeat(head[:1], half - pad, 0), head, dense, tail,
                             np.repeat(tail[-1:], half - pad, 0)])
    k = np.exp(-0.5 * (np.arange(-half, half + 1) * step / sigma) ** 2)
    k /= k.sum()
    return np.stack([np.convolve(padded[:, d], k, mode="valid") for d in
                     range(values.shape[1])], 1)


class SmoothPath:
    """A checked path with rounded corners, looked up by the original arc length u (the
    distance along the points as given, 0 .. length).

    points: (N, 3); spacing: sampling step in metres; rounding: Gaussian sigma (m)."""

    def __init__(self, points: np.ndarray, spacing: float = 0.01,
                 rounding: float = CORNER_ROUNDING):
        self.points = np.asarray(points, dtype=np.float64)
        idx = _distinct(self.points[:, :2])
        pts = self.points[idx]
        self.point_u = arc_lengths(self.points)       # (N,) arc length of every given point
        u = self.point_u[idx]
        self.length = float(u[-1])
        n = max(2, int(math.ceil(self.length / spacing)) + 1)
        self.grid = np.linspace(0.0, self.length, n)
        rounding = min(rounding, self.length / 6)
        self.xyz = _gaussian_resample(u, pts, self.grid, rounding)
        d = np.gradient(self.xyz[:, :2], self.grid, axis=0)
        self.angle = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))   # floor tangent, radians

    def at(self, u) -> tuple[np.ndarray, np.ndarray]:
        """Positions (M, 3) and tangent angles (M,) (radians from +X) at arc lengths u (M,)."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, self.length)
        pos = np.stack([np.interp(u, self.grid, self.xyz[:, d]) for d in range(3)], 1)
        return pos, np.interp(u, self.grid, self.angle)


def _nearest_on_segments(xy: np.ndarray, a: np.ndarray, b: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """For points xy (M, 2) and segments a-b (S, 2): distances (M, S) and the share (M, S)
    of each segment at the nearest point."""
    d = b - a
    len2 = np.maximum(np.sum(d * d, axis=1), 1e-18)
    t = np.clip(np.einsum("msk,sk->ms", xy[:, None] - a[None], d) / len2, 0.0, 1.0)
    near = a[None] + t[..., None] * d[None]
    return np.linalg.norm(xy[:, None] - near, axis=-1), t


def distance_to_path(xy: np.ndarray, path_xy: np.ndarray) -> np.ndarray:
    """Floor distance (M,) from points (M, 2|3) to the polyline path_xy (N, 2|3)."""
    xy = np.asarray(xy, dtype=np.float64)[:, :2]
    p = np.asarray(path_xy, dtype=np.float64)[:, :2]
    dist, _ = _nearest_on_segments(xy, p[:-1], p[1:])
    return dist.min(axis=1)


def progress_along(xy: np.ndarray, path_xy: np.ndarray, window: float = 1.0) -> np.ndarray:
    """Arc length (M,) along path_xy (N, 2|3) of the nearest path point to each of the points
    xy (M, 2|3), taken in order: each is searched among the segments within `window` metres
    of the previous one's progress (the first from the path's start), so a closed path's end
    is not mistaken for its start."""
    xy = np.asarray(xy, dtype=np.float64)[:, :2]
    p = np.asarray(path_xy, dtype=np.float64)[:, :2]
    u = arc_lengths(p)
    a, b = p[:-1], p[1:]
    out = np.empty(len(xy))
    prev = 0.0
    for m in range(len(xy)):
        near = np.flatnonzero((u[1:] >= prev - window) & (u[:-1] <= prev + window))
        dist, t = _nearest_on_segments(xy[m:m + 1], a[near], b[near])
        k = int(np.argmin(dist[0]))
        s = near[k]
        prev = out[m] = u[s] + t[0, k] * (u[s + 1] - u[s])
    return out
