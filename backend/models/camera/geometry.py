"""The scene's triangles as something a camera planner can ask: how far to the nearest surface,
and where a ray first hits.

* Clearance: the triangles are sampled into surface points at most ``spacing`` apart (a small
  triangle gives its centroid) held in a k-d tree (scipy); ``clearance(p)`` is the distance to
  the nearest sample minus ``spacing``, a lower bound of the true distance up to the sampling.
* Ray casts: a uniform grid over the triangles' bounding boxes (widened by a third of a cell)
  in compressed rows; a ray visits the cells of points a half cell apart along it, and the
  triangles of those cells are tested exactly (Moller-Trumbore, two-sided).
* ``crashes(p)``: DVGFormer's rule, any of the six axis rays from p hits a triangle within
  ``CRASH_REACH_M``.

Large scenes (1M triangles) are built in chunks, reporting progress and polling ``check``
(which raises to cancel) between chunks; ``crop`` keeps only the triangles near the shot.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

CRASH_REACH_M = 0.5
AXES = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
SAMPLE_SPACING_M = 0.2
MAX_SAMPLES = 3_000_000
MAX_CELLS = 4_000_000
CHUNK_TRIANGLES = 50_000
_EPS = 1e-9


def _noop(*_args) -> None:
    return None


def crop(vertices: np.ndarray, triangles: np.ndarray, lo, hi) -> np.ndarray:
    """Triangles (F, 3) whose bounding box overlaps the box [lo, hi] (3,)."""
    if len(triangles) == 0:
        return triangles
    corners = vertices[triangles]                         # (F, 3, 3)
    keep = np.all(corners.max(axis=1) >= lo, axis=1) & np.all(corners.min(axis=1) <= hi, axis=1)
    return triangles[keep]


class SceneGeometry:
    """Triangles ``vertices`` (V, 3) and ``triangles`` (F, 3) int indexed for queries.

    ``check()`` is called between chunks of the build (raise there to cancel);
    ``progress(fraction, message)`` reports the build."""

    def __init__(self, vertices: np.ndarray, triangles: np.ndarray, *,
                 spacing: float = SAMPLE_SPACING_M, check: Callable[[], None] = _noop,
                 progress: Callable[[float, str], None] = _noop):
        vertices = np.asarray(vertices, np.float64).reshape(-1, 3)
        triangles = np.asarray(triangles, np.int64).reshape(-1, 3)
        self.tris = vertices[triangles] if len(triangles) else np.zeros((0, 3, 3))
        self.num_triangles = len(self.tris)
        self.spacing = float(spacing)
        self._tree = None
        self._samples = np.zeros((0, 3))
        if self.num_triangles == 0:
            return
        progress(0.0, f"sampling {self.num_triangles} triangles")
        self._samples = self._sample_surface(check)
        progress(0.4, f"indexing {len(self._samples)} surface points")
        check()
        self._tree = cKDTree(self._samples)
        progress(0.6, "building the ray-cast grid")
        check()
        self._build_grid(check)
        progress(1.0, "scene ready")

    # ------------------------------------------------------------------ clearance
    def _sample_surface(self, check) -> np.ndarray:
        a, b, c = self.tris[:, 0], self.tris[:, 1], self.tris[:, 2]
        l1 = np.linalg.norm(b - a, axis=1)
        check()
        l2 = np.linalg.norm(c - a, axis=1)
        l3 = np.linalg.norm(c - b, axis=1)
        check()
        spacing = self.spacing
        while True:
            n1 = np.ceil(l1 / spacing).astype(np.int64)
            n2 = np.ceil(l2 / spacing).astype(np.int64)
            n3 = np.ceil(l3 / spacing).astype(np.int64)
            small = np.maximum(np.maximum(l1, l2), l3) < spacing
            count = np.where(small, 1, (n1 + 1) * (n2 + 1) + n3 + 1)
            if count.sum() <= MAX_SAMPLES:
                break
            spacing *= 1.5
        self.spacing = spacing
        parts = [((a + b + c) / 3.0)[small]]
        big = np.flatnonzero(~small)
        for start in range(0, len(big), CHUNK_TRIANGLES):
            check()
            idx = big[start:start + CHUNK_TRIANGLES]
            m1, m2, m3 = n1[idx], n2[idx], n3[idx]
            grid = (m1 + 1) * (m2 + 1)
            owner = np.repeat(np.arange(len(idx)), grid)
            k = np.arange(grid.sum()) - np.repeat(np.cumsum(grid) - grid, grid)
            u = (k % (m1[owner] + 1)) / m1[owner]
            v = (k // (m1[owner] + 1)) / m2[owner]
            inside = u + v <= 1.0 + 1e-9
            t = idx[owner[inside]]
            parts.append(a[t] + u[inside, None] * (b[t] - a[t]) + v[inside, None] * (c[t] - a[t]))
            # the third edge, so that points near it have a sample close by
            edge = np.repeat(np.arange(len(idx)), m3 + 1)
            k3 = np.arange((m3 + 1).sum()) - np.repeat(np.cumsum(m3 + 1) - (m3 + 1), m3 + 1)
            w = (k3 / m3[edge])[:, None]
            t3 = idx[edge]
            parts.append(b[t3] + w * (c[t3] - b[t3]))
        return np.concatenate(parts, axis=0)

    def clearance(self, points: np.ndarray, cap: float = 20.0) -> np.ndarray:
        """Distance (P,) from each point (P, 3) to the nearest surface, less the sampling
        spacing (so never more than the true distance by the sampling), at least 0; inf
        beyond ``cap`` metres (the search stops there)."""
        return self.away(points, cap)[0]

    def away(self, points: np.ndarray, cap: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
        """(clearance (P,) as ``clearance``, inf beyond ``cap``; unit direction (P, 3) from
        the nearest surface point to each point, straight up where undefined or far)."""
        points = np.asarray(points, np.float64).reshape(-1, 3)
        up = np.tile([0.0, 0.0, 1.0], (len(points), 1))
        if self._tree is None:
            return np.full(len(points), np.inf), up
        d, i = self._tree.query(points, distance_upper_bound=cap + self.spacing)
        near = np.isfinite(d)
        delta = points[near] - self._samples[i[near]]
        n = np.linalg.norm(delta, axis=1, keepdims=True)
        up[near] = np.where(n > 1e-6, delta / np.maximum(n, 1e-12), [0.0, 0.0, 1.0])
        return np.maximum(0.0, d - self.spacing), up

    # ------------------------------------------------------------------ ray casts
    def _build_grid(self, check) -> None:
        lo = self.tris.min(axis=(0, 1))
        hi = self.tris.max(axis=(0, 1))
        extent = np.maximum(hi - lo, 1e-3)
        cell = float(np.clip((np.prod(extent + 1.0) * 4.0 / self.num_triangles) ** (1 / 3),
                             0.5, 2.0))
        while np.prod(np.ceil((extent + 2 * cell) / cell)) > MAX_CELLS:
            cell *= 1.25
        self.cell = cell
        self.origin = lo - cell
        self.dims = np.ceil((extent + 2 * cell) / cell).astype(np.int64) + 1
        pad = cell / 3.0
        cells_all, tris_all = [], []
        for start in range(0, self.num_triangles, CHUNK_TRIANGLES):
            check()
            block = self.tris[start:start + CHUNK_TRIANGLES]
            c_lo = np.floor((block.min(axis=1) - pad - self.origin) / cell).astype(np.int64)
            c_hi = np.floor((block.max(axis=1) + pad - self.origin) / cell).astype(np.int64)
            c_lo = np.clip(c_lo, 0, self.dims - 1)
            c_hi = np.clip(c_hi, 0, self.dims - 1)
            n = c_hi - c_lo + 1
            count = n.prod(axis=1)
            owner = np.repeat(np.arange(len(block)), count)
            k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            nx, ny = n[owner, 0], n[owner, 1]
            ix = c_lo[owner, 0] + k % nx
            iy = c_lo[owner, 1] + (k // nx) % ny
            iz = c_lo[owner, 2] + k // (nx * ny)
            cells_all.append(self._cell_id(ix, iy, iz))
            tris_all.append(owner + start)
        cells = np.concatenate(cells_all)
        tris = np.concatenate(tris_all)
        order = np.argsort(cells, kind="stable")
        self._cell_tris = tris[order].astype(np.int64)
        self._cell_start = np.searchsorted(cells[order], np.arange(self.dims.prod() + 1))

    def _cell_id(self, ix, iy, iz):
        return (iz * self.dims[1] + iy) * self.dims[0] + ix

    def raycast(self, origins: np.ndarray, directions: np.ndarray,
                max_t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """First hit of rays ``origins`` (R, 3) + t ``directions`` (R, 3, unit) for 0 <= t <=
        ``max_t`` (R,) or scalar: (hit (R,) bool, t (R,) with inf where no hit)."""
        origins = np.asarray(origins, np.float64).reshape(-1, 3)
        directions = np.asarray(directions, np.float64).reshape(-1, 3)
        R = len(origins)
        max_t = np.broadcast_to(np.asarray(max_t, np.float64), (R,))
        best = np.full(R, np.inf)
        if self.num_triangles == 0 or R == 0:
            return np.zeros(R, bool), best
        step = 0.5 * self.cell
        n = np.ceil(max_t / step).astype(np.int64) + 1
        ray = np.repeat(np.arange(R), n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        t = np.minimum(k * step, max_t[ray])
        p = origins[ray] + t[:, None] * directions[ray]
        c = np.floor((p - self.origin) / self.cell).astype(np.int64)
        ok = np.all((c >= 0) & (c < self.dims), axis=1)
        key = ray[ok] * int(self.dims.prod()) + self._cell_id(*c[ok].T)
        if len(key):        # consecutive samples of a ray share cells: keep each run once
            key = key[np.concatenate([[True], key[1:] != key[:-1]])]
        pair_ray = key // int(self.dims.prod())
        pair_cell = key % int(self.dims.prod())
        s, e = self._cell_start[pair_cell], self._cell_start[pair_cell + 1]
        count = e - s
        r = np.repeat(pair_ray, count)
        j = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        tri = self._cell_tris[np.repeat(s, count) + j]
        th = _moller_trumbore(origins[r], directions[r], self.tris[tri])
        good = (th >= 0.0) & (th <= max_t[r])
        np.minimum.at(best, r[good], th[good])
        return np.isfinite(best), best

    def push_directions(self, points: np.ndarray, reach: float = 25.0
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Where to move points (P, 3) that are too close to a surface: (clearance (P,), unit
        direction (P, 3)) as ``away``; but a point inside a closed object (all six axis rays
        hit within ``reach``) leaves it along the axis of the nearest exit, with the
        clearance negative: minus the distance to that exit."""
        clear, direction = self.away(points)
        points = np.asarray(points, np.float64).reshape(-1, 3)
        if self.num_triangles == 0 or len(points) == 0:
            return clear, direction
        # inside only if every axis ray hits: cast straight up first, the rest only where
        # that one hits (in the open, most points stop there)
        up_hit, _ = self.raycast(points, np.tile(AXES[4], (len(points), 1)), reach)
        hit = np.zeros((len(points), 6), bool)
        t = np.full((len(points), 6), np.inf)
        covered = np.flatnonzero(up_hit)
        if len(covered):
            h, d = self.raycast(np.repeat(points[covered], 6, axis=0),
                                np.tile(AXES, (len(covered), 1)), reach)
            hit[covered], t[covered] = h.reshape(-1, 6), d.reshape(-1, 6)
        inside = hit.all(axis=1)
        if inside.any():
            exit_axis = np.argmin(t[inside], axis=1)
            direction[inside] = AXES[exit_axis]
            clear[inside] = -t[inside][np.arange(inside.sum()), exit_axis]
        return clear, direction

    def crashes(self, points: np.ndarray, reach: float = CRASH_REACH_M) -> np.ndarray:
        """(P,) bool: one of the six axis rays from the point hits a triangle within ``reach``
        (DVGFormer's crash rule). Only points whose clearance allows it are ray-cast."""
        points = np.asarray(points, np.float64).reshape(-1, 3)
        out = np.zeros(len(points), bool)
        if self.num_triangles == 0:
            return out
        near = np.flatnonzero(self.clearance(points) <= reach + 1e-9)
        if len(near):
            o = np.repeat(points[near], 6, axis=0)
            d = np.tile(AXES, (len(near), 1))
            hit, _ = self.raycast(o, d, reach)
            out[near] = hit.reshape(-1, 6).any(axis=1)
        return out


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (faster than np.cross for many short rows)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _moller_trumbore(o: np.ndarray, d: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Ray parameter t (N,) of the hit of rays o + t d with triangles tri (N, 3, 3); inf for a
    miss (two-sided)."""
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    pv = _cross(d, e2)
    det = np.einsum("ij,ij->i", e1, pv)
    ok = np.abs(det) > _EPS
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tv = o - tri[:, 0]
    u = np.einsum("ij,ij->i", tv, pv) * inv
    qv = _cross(tv, e1)
    v = np.einsum("ij,ij->i", d, qv) * inv
    t = np.einsum("ij,ij->i", e2, qv) * inv
    hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1.0 + 1e-9)
    return np.where(hit, t, np.inf)
