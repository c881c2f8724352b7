"""Floor plans for story-to-motion: an occupancy map of the scene and walkable paths. Numpy only.

Axes as in ``schema``: metres, Z up, the floor is the (x, y) plane. An obstacle's footprint is
its box (``size`` x, y) turned by its ``yaw`` about its ``position``.

- ``OccupancyMap.from_scene``: a grid over the scene whose cells hold the signed floor distance
  (m) from their centre to the nearest obstacle footprint (negative inside); a cell is *blocked*
  when the character's body (a disc of ``body_radius``) would touch an obstacle there.
- ``plan_path``: A* on that grid (8-connected, octile heuristic, a cost that keeps the walk
  away from walls) then string pulling into a few straight legs; the legs keep an extra
  clearance so that the corners the path follower rounds (``SmoothPath``) stay off obstacles.
- ``path_clearance``: smallest distance from a polyline to the scene's obstacle footprints.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from ...motion.path import SmoothPath, check_path
from .schema import Scene

CELL = 0.05                      # m: grid step
BODY_RADIUS = 0.3                # m: the character's body seen from above
MARGIN = 2.0                     # m of free floor around the scene
COMFORT = (0.15, 0.25, 0.4)      # m of extra clearance the legs try to keep, in turn
AWAY_FROM_WALLS = 2.0            # A* cost weight of a cell inside the comfort band
GREED = 1.5                      # heuristic weight: a bit longer grid paths, far fewer cells
COARSE = 4                       # cells per side of a first, coarse search's cells
CORRIDOR = 1                     # coarse cells each side of the coarse path the fine one may use
IGNORED_SKIN = 0.1               # m round an ignored obstacle's footprint a walk keeps off
MAX_CELLS = 4_000_000            # a 100 m x 100 m scene at 5 cm
SQRT2 = math.sqrt(2.0)


class PlanError(ValueError):
    """No path can be made; the message names the place and why."""


def footprint_boxes(objects) -> np.ndarray:
    """(K, 6) rows cx, cy, cos(yaw), sin(yaw), half x, half y of the objects' footprints."""
    rows = [(o.position[0], o.position[1], math.cos(math.radians(o.yaw)),
             math.sin(math.radians(o.yaw)), o.size[0] / 2, o.size[1] / 2) for o in objects]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def _half_extents(boxes: np.ndarray) -> np.ndarray:
    """(K, 2) half sizes along world X and Y of the footprints' bounding boxes."""
    c, s = np.abs(boxes[:, 2]), np.abs(boxes[:, 3])
    return np.stack([c * boxes[:, 4] + s * boxes[:, 5], s * boxes[:, 4] + c * boxes[:, 5]], 1)


def box_distance(xy: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Signed floor distance (M, K) from points (M, 2) to footprints ``boxes`` (K, 6):
    positive outside, negative inside."""
    d = np.asarray(xy, dtype=np.float64)[:, None, :2] - boxes[None, :, :2]
    c, s = boxes[:, 2], boxes[:, 3]
    qx = np.abs(d[..., 0] * c + d[..., 1] * s) - boxes[:, 4]       # object's local X
    qy = np.abs(-d[..., 0] * s + d[..., 1] * c) - boxes[:, 5]      # object's local Y
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _obstacles(scene: Scene, ignore) -> list:
    ignore = set(ignore)
    return [o for o in scene.objects if o.obstacle and o.name not in ignore]


def path_clearance(points_xy, scene: Scene, ignore=(), step: float = 0.01) -> float:
    """Smallest signed distance (m) from the polyline points_xy (N, 2|3), sampled every
    ``step`` metres, to the footprints of the scene's obstacles not named in ``ignore``
    (negative: it goes through one); inf without obstacles."""
    obstacles = _obstacles(scene, ignore)
    if not obstacles or not np.size(points_xy):
        return math.inf
    return float(box_distance(sample_polyline(points_xy, step), footprint_boxes(obstacles)).min())


def sample_polyline(points_xy, step: float) -> np.ndarray:
    """Points (M, 2) along the polyline (N, 2|3) at most ``step`` metres apart, ends included."""
    p = np.asarray(points_xy, dtype=np.float64).reshape(-1, np.shape(points_xy)[-1])[:, :2]
    out = [p[:1]]
    for a, b in zip(p[:-1], p[1:]):
        n = max(1, int(math.ceil(np.linalg.norm(b - a) / step)))
        out.append(a + (b - a) * (np.arange(1, n + 1)[:, None] / n))
    return np.concatenate(out)


@dataclass
class OccupancyMap:
    """clearance[iy, ix]: signed distance (m) of the cell centre ``origin + cell * (ix, iy)``
    to the nearest obstacle footprint, capped at ``far``; blocked: clearance < body_radius.

    Ignored obstacles (``soft_names``, their footprints ``soft_boxes``) are not obstacles to the
    body, but a walk does not go through them either: their footprint grown by IGNORED_SKIN
    is blocked (in ``clearance`` they count as body_radius - IGNORED_SKIN farther away)."""
    origin: np.ndarray
    cell: float
    clearance: np.ndarray
    body_radius: float
    names: list[str]                 # obstacles in the map, rows of boxes
    boxes: np.ndarray
    far: float
    soft_names: list[str] = field(default_factory=list)
    soft_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))
    _costs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_scene(cls, scene: Scene, cell: float = CELL, body_radius: float = BODY_RADIUS,
                   margin: float = MARGIN, ignore=()) -> "OccupancyMap":
        if not (0.005 <= cell <= 1.0):
            raise PlanError(f"the map cell must be between 0.005 and 1 m, got {cell!r}")
        if not (0.0 <= body_radius <= 2.0) or not (0.0 <= margin <= 50.0):
            raise PlanError(f"body radius {body_radius!r} m (0..2) or margin {margin!r} m "
                            f"(0..50) out of range")
        obstacles = _obstacles(scene, ignore)
        boxes = footprint_boxes(obstacles)
        every, margin = footprint_boxes(scene.objects), max(margin, 2 * cell)
        lo = np.min(np.vstack([every[:, :2] - _half_extents(every), [scene.start]]), 0) - margin
        hi = np.max(np.vstack([every[:, :2] + _half_extents(every), [scene.start]]), 0) + margin
        nx, ny = (np.ceil((hi - lo) / cell).astype(int) + 1).tolist()
        if nx * ny > MAX_CELLS:
            raise PlanError(f"the scene spans {hi[0] - lo[0]:.0f} m x {hi[1] - lo[1]:.0f} m: "
                            f"too big to plan at {cell * 100:.0f} cm cells ({nx * ny} cells; "
                            f"at most {MAX_CELLS}); use a coarser cell")
        far = body_radius + max(COMFORT) + 2 * cell
        clearance = np.full((ny, nx), far, dtype=np.float64)
        ignored = [o for o in scene.objects if o.obstacle and o.name in set(ignore)]
        soft = footprint_boxes(ignored)
        shifts = [0.0] * len(boxes) + [body_radius - IGNORED_SKIN] * len(soft)
        every = np.concatenate([boxes, soft])
        for box, half, shift in zip(every, _half_extents(every), shifts):  # own windows
            ext = half + far
            i0 = np.clip(np.floor((box[:2] - ext - lo) / cell).astype(int), 0, [nx, ny])
            i1 = np.clip(np.ceil((box[:2] + ext - lo) / cell).astype(int) + 1, 0, [nx, ny])
            xs = lo[0] + cell * np.arange(i0[0], i1[0])
            ys = lo[1] + cell * np.arange(i0[1], i1[1])
            gx, gy = np.meshgrid(xs, ys)
            d = box_distance(np.stack([gx.ravel(), gy.ravel()], 1), box[None])[:, 0] + shift
            window = clearance[i0[1]:i1[1], i0[0]:i1[0]]
            np.minimum(window, d.reshape(gy.shape), out=window)
        return cls(lo, float(cell), clearance, float(body_radius),
                   [o.name for o in obstacles], boxes, far, [o.name for o in ignored], soft)

    # ------------------------------------------------------------------ lookups
    @property
    def shape(self) -> tuple[int, int]:
        return self.clearance.shape

    @property
    def blocked(self) -> np.ndarray:
        return self.clearance < self.body_radius

    def index_of(self, xy) -> np.ndarray:
        """(M, 2) integer cells (ix, iy) of points (M, 2) (may lie off the grid)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.rint((xy - self.origin) / self.cell).astype(np.int64)

    def on_map(self, xy) -> np.ndarray:
        ij = self.index_of(xy)
        ny, nx = self.shape
        return (ij[:, 0] >= 0) & (ij[:, 0] < nx) & (ij[:, 1] >= 0) & (ij[:, 1] < ny)

    def clearance_at(self, xy) -> np.ndarray:
        """Grid clearance (M,) at points (M, 2): their cell's; -inf off the map."""
        ij, inside = self.index_of(xy), self.on_map(xy)
        out = np.full(len(ij), -np.inf)
        out[inside] = self.clearance[ij[inside, 1], ij[inside, 0]]
        return out

    def exact_clearance(self, xy, ignore=()) -> np.ndarray:
        """Signed distance (M,) of points (M, 2) to the map's obstacles not in ``ignore``."""
        keep = [k for k, n in enumerate(self.names) if n not in set(ignore)]
        if not keep:
            return np.full(len(np.reshape(xy, (-1, 2))), math.inf)
        return box_distance(np.reshape(xy, (-1, 2)), self.boxes[keep]).min(axis=1)

    def nearest_obstacle(self, xy) -> tuple[str, float]:
        """Name and signed distance of the obstacle (ignored ones too) nearest xy (2,)."""
        names = self.names + self.soft_names
        boxes = np.concatenate([self.boxes, self.soft_boxes])
        if not names:
            return "nothing", math.inf
        d = box_distance(np.reshape(xy, (1, 2)), boxes)[0]
        return names[int(np.argmin(d))], float(d.min())

    def nearest_free(self, xy) -> np.ndarray | None:
        """Centre (2,) of the free cell nearest the point xy (2,); None if there is none."""
        iy, ix = np.nonzero(self.clearance >= self.body_radius)
        if not len(ix):
            return None
        centres = self.origin + self.cell * np.stack([ix, iy], 1)
        return centres[int(np.argmin(np.sum((centres - np.asarray(xy)[:2]) ** 2, axis=1)))]

    def step_costs(self, extra: float) -> tuple[np.ndarray, list[float]]:
        """Flat (ny * nx) cost factor of entering each cell, as an array and a list; 0 for
        blocked cells and the grid's outer ring (so that the search needs no bounds checks)."""
        if extra not in self._costs:
            r = self.body_radius
            band = np.clip((r + extra - self.clearance) / max(extra, 1e-9), 0.0, 1.0)
            cost = 1.0 + AWAY_FROM_WALLS * band
            cost[self.clearance < r] = 0.0
            cost[[0, -1], :] = 0.0
            cost[:, [0, -1]] = 0.0
            self._costs[extra] = (cost.ravel(), cost.ravel().tolist())
        return self._costs[extra]


# ----------------------------------------------------------------------------- search
def _astar(cost: list[float], nx: int, start: int, goal: int
           ) -> tuple[list[int], bool, bytearray]:
    """Flat cells from start to goal on a grid nx wide whose flat ``cost`` is the factor of
    entering each cell (0: blocked; the outer ring must be 0) (A*, 8-connected, octile
    heuristic weighted by GREED, no corner cutting), and True; if the goal cannot be reached,
    the path to the reached cell nearest it, and False; and the cells closed (1) by the
    search (all those the start reaches when the goal is walled off)."""
    ny = len(cost) // nx
    gx, gy = goal % nx, goal // nx
    g = {start: 0.0}
    parent = {start: -1}
    closed = bytearray(nx * ny)
    heap = [(0.0, 0.0, start)]
    moves = [(off, 1.0, off, off) for off in (1, -1, nx, -nx)] + [
        (nx + 1, SQRT2, 1, nx), (nx - 1, SQRT2, -1, nx), (1 - nx, SQRT2, 1, -nx),
        (-nx - 1, SQRT2, -1, -nx)]                   # diagonals need both sides free
    push, pop, inf, w = heapq.heappush, heapq.heappop, math.inf, GREED
    while heap:
        n = pop(heap)[2]
        if closed[n]:
            continue
        closed[n] = 1
        if n == goal:
            break
        gn = g[n]
        for off, step, a, b in moves:
            m = n + off
            c = cost[m]
            if c and not closed[m] and cost[n + a] and cost[n + b]:
                ng = gn + step * c
                if ng < g.get(m, inf):
                    g[m], parent[m] = ng, n
                    dx, dy = abs(m % nx - gx), abs(m // nx - gy)
                    push(heap, (ng + w * (dx + dy + (SQRT2 - 2) * min(dx, dy)), -ng, m))
    reached = bool(closed[goal])
    end = goal
    if not reached:                  # every cell the start can reach is closed now
        seen = np.flatnonzero(np.frombuffer(bytes(closed), dtype=np.uint8))
        end = int(seen[np.argmin((seen % nx - gx) ** 2 + (seen // nx - gy) ** 2)])
    cells = [end]
    while parent[cells[-1]] != -1:
        cells.append(parent[cells[-1]])
    return cells[::-1], reached, closed


def _search(occ: OccupancyMap, start: int, goal: int, extra: float) -> tuple[list[int], bool]:
    """``_astar`` on the map, first on a COARSE times coarser grid (a coarse cell is open when
    any of its cells is free), then on the fine grid within a corridor around that path; the
    whole fine grid only when the corridor fails (or the goal is walled off)."""
    ny, nx = occ.shape
    cost_array, cost = occ.step_costs(extra)
    k = COARSE
    cny, cnx = -(-ny // k) + 2, -(-nx // k) + 2          # a closed ring around the coarse grid
    if "coarse" not in occ._costs:
        free = np.zeros((cny * k, cnx * k), dtype=bool)
        free[k:k + ny, k:k + nx] = cost_array.reshape(ny, nx) > 0
        occ._costs["coarse"] = free.reshape(cny, k, cnx, k).any(axis=(1, 3)).astype(
            np.float64).ravel().tolist()

    def coarse_cell(n):
        return (n // nx // k + 1) * cnx + n % nx // k + 1

    cells, reached, seen = _astar(occ._costs["coarse"], cnx, coarse_cell(start),
                                  coarse_cell(goal))
    if not reached:        # walled off: aim at the free cell nearest the goal that the
        seen = np.frombuffer(bytes(seen), dtype=np.uint8).reshape(cny, cnx) > 0   # coarse
        near = np.repeat(np.repeat(seen, k, 0), k, 1)[k:k + ny, k:k + nx]  # search reached
        iy, ix = np.nonzero(near & (cost_array.reshape(ny, nx) > 0))
        best = int(np.argmin((ix - goal % nx) ** 2 + (iy - goal // nx) ** 2))
        goal = int(iy[best] * nx + ix[best])
        cells, _, _ = _astar(occ._costs["coarse"], cnx, coarse_cell(start), coarse_cell(goal))
    band = np.zeros(cny * cnx, dtype=bool)
    band[cells] = True
    band = band.reshape(cny, cnx)
    for _ in range(CORRIDOR):                               # grown by a coarse cell
        p = np.pad(band, 1)
        band = np.logical_or.reduce([p[1 + i:cny + 1 + i, 1 + j:cnx + 1 + j]
                                     for i in (-1, 0, 1) for j in (-1, 0, 1)])
    inside = np.repeat(np.repeat(band, k, 0), k, 1)[k:k + ny, k:k + nx].ravel()
    fine, found, _ = _astar(np.where(inside, cost_array, 0.0).tolist(), nx, start, goal)
    if not found:                                   # the corridor or the coarse grid misled
        fine, found, _ = _astar(cost, nx, start, goal)
    return fine, found and reached


def _pull_string(occ: OccupancyMap, cells: list[int], start, end, extra: float) -> np.ndarray:
    """The grid path's corners (K, 2) kept by string pulling: a leg may replace grid steps
    when it stays off blocked cells and keeps the comfort clearance (body_radius + extra,
    relaxed near the path's ends and where the grid path itself had less)."""
    nx = occ.shape[1]
    flat = np.asarray(cells)
    pts = occ.origin + occ.cell * np.stack([flat % nx, flat // nx], 1).astype(np.float64)
    pts[0], pts[-1] = start, end
    ends = np.stack([pts[0], pts[-1]])
    deficit = np.maximum(_comfort(occ, pts, ends, extra) - occ.clearance_at(pts), 0.0)

    def visible(i: int, j: int) -> bool:
        return _leg_ok(occ, pts[i], pts[j], ends, extra, deficit[i:j + 1].max())

    last, keep, i = len(pts) - 1, [0], 0
    while i < last:
        if visible(i, last):
            keep.append(last)
            break
        lo, step = i + 1, 1                     # gallop, then bisect, to the farthest seen
        while lo + step < last and visible(i, lo + step):
            lo, step = lo + step, step * 2
        hi = min(lo + step, last)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if visible(i, mid) else (lo, mid)
        keep.append(lo)
        i = lo
    k = 1
    while k < len(keep) - 1:                    # drop corners the neighbours see past
        if visible(keep[k - 1], keep[k + 1]):
            del keep[k]
        else:
            k += 1
    return pts[keep]


def _comfort(occ: OccupancyMap, xy: np.ndarray, ends: np.ndarray, extra: float) -> np.ndarray:
    """Clearance (M,) a leg should keep at points xy (M, 2): body_radius + extra, less near
    the path's ends (2, 2) (a goal may lie close to an obstacle)."""
    near = np.min(np.linalg.norm(xy[:, None] - ends[None], axis=2), axis=1)
    return np.minimum(occ.body_radius + extra, occ.body_radius + near)


def _leg_ok(occ: OccupancyMap, a, b, ends, extra: float, allowance: float = 0.0) -> bool:
    """Whether the straight leg a-b (2,) keeps off blocked cells and keeps the comfort
    clearance less ``allowance`` (what the grid path it replaces lacked) and a cell."""
    s = sample_polyline(np.stack([a, b]), occ.cell / 5)
    need = np.maximum(occ.body_radius, _comfort(occ, s, ends, extra) - allowance - occ.cell)
    return bool(np.all(occ.clearance_at(s) >= need))


def rounded_clearance(occ: OccupancyMap, points_xy: np.ndarray) -> tuple[float, np.ndarray]:
    """Smallest distance (m) to the map's obstacles of the path (N, 2) as the follower walks
    it, its corners rounded by ``SmoothPath``, and where (2,)."""
    xy = points_xy
    if len(points_xy) >= 2:
        xy = SmoothPath(np.concatenate([points_xy, np.zeros((len(points_xy), 1))], 1)).xyz
    d = occ.exact_clearance(xy[:, :2])
    return float(d.min()), xy[int(np.argmin(d)), :2]


def _floor_point(xy, what: str) -> np.ndarray:
    p = np.asarray(xy, dtype=np.float64).ravel()
    if p.shape not in ((2,), (3,)) or not np.isfinite(p).all():
        raise PlanError(f"{what} must be a floor point (x, y), got {xy!r:.60}")
    return p[:2].copy()


def _where(d: float, name: str) -> str:
    return f"inside {name!r}" if d < 0 else f"{d:.2f} m from {name!r}"


def plan_path(occ: OccupancyMap, start_xy, goal_xy, goal_name: str = "the goal"
              ) -> tuple[np.ndarray, list[str]]:
    """A walkable floor path (N, 2) from start_xy to goal_xy and warnings (list of str).

    N == 1 (just the start) when the character is already there. A start too close to an
    obstacle moves to the nearest free cell; a goal too close to one, or walled off, gives the
    path to the nearest free / reachable spot; each with a warning naming ``goal_name`` and how
    far short the walk stops. Raises PlanError when start or goal are off the map or no
    floor is free. The polyline passes ``check_path`` and keeps off blocked cells."""
    warnings: list[str] = []
    start = _floor_point(start_xy, "the character's position")
    goal = _floor_point(goal_xy, f"the spot of {goal_name}")
    for p, what in ((start, "the character"), (goal, goal_name)):
        if not occ.on_map(p)[0]:
            raise PlanError(f"{what} at ({p[0]:.2f}, {p[1]:.2f}) is off the scene's map "
                            f"(which spans the objects and the character plus a margin)")
    r, nx = occ.body_radius, occ.shape[1]
    if occ.clearance_at(start)[0] < r:
        free = occ.nearest_free(start)
        if free is None:
            raise PlanError(f"no floor is free to walk to {goal_name}: every spot is within "
                            f"{r:.2f} m of an obstacle")
        name, d = occ.nearest_obstacle(start)
        warnings.append(f"the character starts {_where(d, name)} (the body needs {r:.2f} m "
                        f"and a map cell of room); moved {np.linalg.norm(free - start):.2f} m "
                        f"to the nearest free spot")
        start = free
    target, short_why = goal, None
    if occ.clearance_at(goal)[0] < r:
        name, d = occ.nearest_obstacle(goal)
        target, short_why = occ.nearest_free(goal), f"its spot is {_where(d, name)}, the body " \
            f"needs {r:.2f} m"
    s, g = (int(i[1] * nx + i[0]) for i in occ.index_of(np.stack([start, target])))
    best, tries = None, list(COMFORT)
    ends = np.stack([start, target])
    if s != g and np.linalg.norm(target - start) >= occ.cell and _leg_ok(occ, *ends, ends,
                                                                        COMFORT[0]):
        best, tries = (math.inf, ends, None), []                         # one straight leg
    while tries and s != g and np.linalg.norm(target - start) >= occ.cell:
        cells, reached = _search(occ, s, g, tries[0])
        if not reached:                 # reachability does not depend on the comfort
            g = cells[-1]
            target = occ.origin + occ.cell * np.array([g % nx, g // nx], dtype=np.float64)
            short_why = "it is walled off" + (f" and {short_why}" if short_why else "")
            if g == s:
                break
        pts = _pull_string(occ, cells, start, target, tries.pop(0))
        clear, where = rounded_clearance(occ, pts)
        if best is None or clear > best[0]:
            best = (clear, pts, where)
        if clear >= r - occ.cell:
            break
    if best is None:
        best = (math.inf, start[None], None)
    elif best[0] < r - occ.cell:
        name, _ = occ.nearest_obstacle(best[2])
        warnings.append(f"the walk to {goal_name} is tight: rounding a corner it passes "
                        f"{best[0]:.2f} m from {name!r} (the body needs {r:.2f} m)")
    pts = best[1]
    if short_why:
        warnings.append(f"{goal_name} cannot be reached ({short_why}): the walk stops at the "
                        f"nearest free spot, {np.linalg.norm(pts[-1] - goal):.2f} m short")
    if len(pts) == 1:
        if not short_why:
            warnings.append(f"already at {goal_name}: no walk needed")
        return pts, warnings
    try:
        check_path(np.concatenate([pts, np.zeros((len(pts), 1))], 1))
    except ValueError as e:
        raise PlanError(f"the path to {goal_name} cannot be walked: {e}") from e
    return pts, warnings

