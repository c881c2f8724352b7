"""What the scene offers a reveal and a fly-through, found with rays and clearance (sphere)
queries on a SceneGeometry.

Reveal (``OpeningSearch.reveal``): horizontal rays from the subject's first position find the
nearest obstacles around it; behind each (past its far face, clear of it) the camera can start
low (LOW_M above the ground) with the subject hidden (a sight test of the first 12 % of frames).
From there it rises, or slides sideways, to the nearest point (a rise counted at half its
length) from which the subject is in view for the rest of the shot (checked on frames from 40 %
to the end), plus a margin. The candidate nearest the variant's azimuth and the shot's distance
wins; the camera holds hidden for the first 12 % and has revealed the subject by 45 % of the
shot.

Fly-through (``OpeningSearch.fly_through``): a gap is a point with at least ``GAP_CLEARANCE_M``
free around it (a sphere query, after centring) whose two sides across the flight are both
blocked within ``GAP_SIDE_M`` (rays left and right: pillars, trunks, door jambs; or up and down:
a lintel, a canopy or a roof over the ground). Candidates lie on rings around the subject at 30,
55 and 80 % of the shot; each is centred between its sides. The route is a straight line through
the gap to the shot's distance short of the subject's last position (a start up to ``distance``
before the gap); across it both sides must be blocked again, and it must keep
``GAP_CLEARANCE_M`` - 0.05 m all along and see the subject from most of it. Keys one a second;
the one whose time best fits a constant speed passes the gap's centre, and it and its neighbours
weigh more (``GAP_KEY_WEIGHT``) so that the smoothed path goes through its centre.

Variants prefer gaps no earlier variant flies through (alternatives differ); the searches are
shared by the variants of one plan. Neither found: ``None`` with the reason (the caller warns
and falls back to the plain shot).
"""
from __future__ import annotations

import math

import numpy as np

from .geometry import SceneGeometry
from .metrics import point_visibility, visibility
from .planner import CLEARANCE_M
from .shots import ShotKeys, ShotOptions, Subject, _angle, _ease, _key_times, default_distance

HIDE_CLEARANCE_M = CLEARANCE_M + 0.15   # a reveal's start and end keep this from surfaces
GAP_CLEARANCE_M = 0.55                  # a gap's free radius (sampled: 0.75 m true > crash reach)
GAP_SIDE_M = 3.0                        # both sides of a gap are blocked within this
GAP_KEY_WEIGHT = 12.0
HOLD_SHARE, REVEALED_SHARE = 0.12, 0.45  # hidden until / revealed by these shares of the shot
HIDDEN_MAX_SEEN = 0.2                    # "hidden": at most this share of sight lines get through
SEEN_MIN = 0.8                           # "seen": at least this share
AZIMUTHS = 48
MAX_TRIES = 5
GAP_TRIES = 30
GAP_FRAMES = (0.3, 0.55, 0.8)            # gaps are searched around the subject at these shares
RISE_PREFERENCE = 0.5                    # a rise counts as this much of its length
LOW_M = HIDE_CLEARANCE_M + 0.3           # the lowest start of a reveal above the ground


def sight_share(scene: SceneGeometry, cams: np.ndarray, subject: Subject,
                frames: np.ndarray) -> np.ndarray:
    """(N,) share of sight lines from cameras (N, 3) that reach the subject at ``frames`` (N,)
    int, by the metrics' own tests: its body points (``Subject.points``), else the 5-ray
    sphere test with each camera looking at the subject's centre."""
    cams = np.asarray(cams, float).reshape(-1, 3)
    if subject.points is not None:
        return point_visibility(scene, cams, subject.points[frames])
    centres = subject.positions[frames]
    forward = centres - cams
    forward /= np.maximum(np.linalg.norm(forward, axis=1, keepdims=True), 1e-9)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.maximum(np.linalg.norm(right, axis=1, keepdims=True), 1e-9)
    up = np.cross(right, forward)
    rot_m = np.stack([right, up, -forward], axis=2)          # camera axes as columns
    return visibility(scene, cams, rot_m, centres, subject.radius)


def _segment_clear(scene: SceneGeometry, a: np.ndarray, b: np.ndarray, need: float) -> bool:
    n = max(2, int(np.linalg.norm(b - a) / 0.3) + 1)
    s = np.linspace(0, 1, n)[:, None]
    return bool(scene.clearance(a + s * (b - a), cap=need + 0.5).min() >= need)


def _angle_gap(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs((a - b + math.pi) % (2 * math.pi) - math.pi)


class OpeningSearch:
    """The scene searched once per plan for the subject: hiding spots (reveal) and gaps
    (fly-through), shared by every variant; ``check()`` is called between steps (raise there
    to cancel)."""

    def __init__(self, scene: SceneGeometry, subject: Subject, check=lambda: None):
        self.scene, self.subject, self.check = scene, subject, check
        self._hides: list | None = None
        self._gaps: dict = {}
        self._routes: dict = {}         # (gap cell, distance): route or None, for every variant
        self._used: set = set()         # gaps an earlier variant flies through: others first

    # ------------------------------------------------------------------ reveal
    def hiding_spots(self) -> list[dict]:
        """Obstacles around the subject's first position: ``azimuth``, ``start`` (3,) behind
        the obstacle at the subject's centre height, ``distance`` from the subject."""
        if self._hides is not None:
            return self._hides
        scene, subject = self.scene, self.subject
        s0 = subject.positions[0]
        a = np.arange(AZIMUTHS) * 2 * math.pi / AZIMUTHS
        dirs = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], 1)
        reach = 4.0 * default_distance(subject) + 6.0
        hit, t1 = scene.raycast(np.tile(s0, (AZIMUTHS, 1)), dirs, reach)
        ok = hit & (t1 > subject.radius + 0.2)
        spots = []
        if ok.any():
            idx = np.flatnonzero(ok)
            inner = s0 + dirs[idx] * (t1[idx] + 0.02)[:, None]
            hit2, t2 = scene.raycast(inner, dirs[idx], 8.0)         # the far face
            thick = np.where(hit2 & (t2 < 6.0), t2 + 0.02, np.inf)   # no far face: too big
            for k, i in enumerate(idx):
                if not np.isfinite(thick[k]):
                    continue
                for extra in (0.3, 0.8, 1.5):
                    r = t1[i] + thick[k] + HIDE_CLEARANCE_M + extra
                    start = s0 + dirs[i] * r
                    start[2] = max(start[2], subject.ground() + LOW_M)
                    if scene.clearance(start[None], cap=3.0)[0] >= HIDE_CLEARANCE_M:
                        spots.append({"azimuth": float(a[i]), "start": start,
                                      "distance": float(r), "obstacle_m": float(t1[i])})
                        break
        self._hides = spots
        return spots

    def reveal(self, options: ShotOptions, azimuth: float) -> tuple[ShotKeys | None, str]:
        """Reveal keys from behind the obstacle nearest the variant (``azimuth`` relative to
        behind the subject), or (None, why)."""
        subject = self.subject
        spots = self.hiding_spots()
        if not spots:
            return None, "nothing around the subject to hide it behind"
        d = options.distance or default_distance(subject)
        pref = _angle(-subject.heading()) + azimuth
        order = sorted(spots, key=lambda s: float(_angle_gap(np.array(s["azimuth"]), pref))
                       + 0.5 * abs(s["distance"] - d) / d)
        n = subject.frames
        head = np.unique(np.linspace(0, max(1, int(HOLD_SHARE * n)), 5).astype(int))
        tail = np.unique(np.linspace(int(0.4 * n), n - 1, 8).astype(int))
        ground = subject.ground()
        for spot in order[:MAX_TRIES]:
            self.check()
            start = self._hidden_start(spot, head, ground)
            if start is None:
                continue
            end, how = self._reveal_end(start, tail)
            if end is None:
                continue
            return _reveal_shot_keys(subject, start, end, how), ""
        return None, ("no spot behind the obstacles near the subject hides it and then "
                      "shows it")

    def _hidden_start(self, spot: dict, head: np.ndarray, ground: float):
        base = spot["start"]
        for z in (ground + LOW_M, ground + LOW_M + 0.4, ground + LOW_M + 0.9):
            p = np.array([base[0], base[1], z])
            if self.scene.clearance(p[None], cap=3.0)[0] < HIDE_CLEARANCE_M:
                continue
            seen = sight_share(self.scene, np.tile(p, (len(head), 1)), self.subject, head)
            if seen.max() <= HIDDEN_MAX_SEEN:
                return p
        return None

    def _reveal_end(self, start: np.ndarray, tail: np.ndarray):
        """The nearest point above (rise) or beside (slide) ``start`` that sees the subject on
        the ``tail`` frames, with a margin, and a clear way there: (end (3,), "rise"|"slide")."""
        scene, subject = self.scene, self.subject
        to_subject = subject.positions[tail[0]] - start
        to_subject[2] = 0.0
        flat = np.linalg.norm(to_subject)
        fwd = to_subject / max(flat, 1e-9)
        side = np.array([-fwd[1], fwd[0], 0.0])
        closing = fwd * min(0.15 * flat, 1.5)
        options = [(start + c + [0.0, 0.0, dz], "rise") for dz in np.arange(0.5, 12.1, 0.5)
                   for c in (closing, 0 * closing)]         # closing in if there is room
        rises = len(options)
        options += [(start + side * o, "slide") for o in np.arange(0.5, 6.1, 0.5)]
        options += [(start - side * o, "slide") for o in np.arange(0.5, 6.1, 0.5)]
        pts = np.array([p for p, _ in options])
        ok = scene.clearance(pts, cap=3.0) >= HIDE_CLEARANCE_M
        cand = np.flatnonzero(ok)
        if not len(cand):
            return None, ""
        cams = np.repeat(pts[cand], len(tail), axis=0)
        seen = sight_share(scene, cams, subject, np.tile(tail, len(cand)))
        good = cand[seen.reshape(len(cand), len(tail)).min(axis=1) >= SEEN_MIN]
        def cost(i):                     # a rise is what a reveal is known for: preferred
            return np.linalg.norm(pts[i] - start) * (RISE_PREFERENCE if i < rises else 1.0)

        for i in sorted(good, key=cost):
            end, how = pts[i], options[i][1]
            margin = end + ([0.0, 0.0, 0.6] if how == "rise" else
                            0.6 * (end - start) / max(np.linalg.norm(end - start), 1e-9))
            for target in (margin, end):
                if _segment_clear(scene, start, target, HIDE_CLEARANCE_M - 0.1):
                    return target, how
        return None, ""

    # ------------------------------------------------------------------ fly-through
    def gaps(self, frames: tuple = GAP_FRAMES) -> list[dict]:
        """Gaps on rings around the subject at ``frames`` (shares of the shot): ``centre``
        (3,), ``azimuth`` (of the gap seen from the subject there), ``width`` (m, between the
        two blocked sides), ``kind``. Ring points closer than 0.25 m to a point of an earlier
        ring are not tested again."""
        if frames in self._gaps:
            return self._gaps[frames]
        scene, subject = self.scene, self.subject
        d = default_distance(subject)
        a = np.arange(36) * 2 * math.pi / 36
        r = np.arange(1.5, max(1.6 * d + 3.0, 8.0), 0.5)
        dz = np.array([-0.3, 0.5, 1.5])
        A, R, Z = (g.ravel() for g in np.meshgrid(a, r, dz, indexing="ij"))
        ring = np.stack([R * np.cos(A), R * np.sin(A), Z], 1)
        centres = subject.positions[[int(f * (subject.frames - 1)) for f in frames]]
        pts = (centres[:, None] + ring[None]).reshape(-1, 3)
        A = np.tile(A, len(centres))
        _, first = np.unique(np.round(pts / 0.25).astype(np.int64), axis=0, return_index=True)
        first = np.sort(first)
        pts, A = pts[first], A[first]
        self.check()
        keep = (scene.clearance(pts, cap=GAP_CLEARANCE_M + 0.5) >= 0.25) & \
            (pts[:, 2] >= subject.ground() + GAP_CLEARANCE_M)
        pts, A = pts[keep], A[keep]
        out: list[dict] = []
        if len(pts):
            side = np.stack([-np.sin(A), np.cos(A), np.zeros_like(A)], 1)
            up = np.tile([0.0, 0.0, 1.0], (len(pts), 1))
            hit, t = scene.raycast(np.tile(pts, (3, 1)), np.concatenate([side, -side, up]),
                                   GAP_SIDE_M)
            hit = np.concatenate([hit.reshape(3, -1), np.zeros((1, len(pts)), bool)])
            t = np.concatenate([t.reshape(3, -1), np.full((1, len(pts)), np.inf)])
            roofed = np.flatnonzero(hit[2] & ~(hit[0] & hit[1]))     # the floor only there
            if len(roofed):
                hit[3, roofed], t[3, roofed] = scene.raycast(pts[roofed], -up[roofed],
                                                             GAP_SIDE_M)
            lateral = hit[0] & hit[1]
            vertical = hit[2] & hit[3] & ~lateral
            centre = pts.copy()
            t = np.where(hit, t, 0.0)
            centre[lateral] += side[lateral] * ((t[0] - t[1]) / 2)[lateral][:, None]
            centre[vertical, 2] += ((t[2] - t[3]) / 2)[vertical]
            width = np.where(lateral, t[0] + t[1], t[2] + t[3])
            found = np.flatnonzero(lateral | vertical)
            if len(found):
                found = found[scene.clearance(centre[found], cap=GAP_CLEARANCE_M + 0.5)
                              >= GAP_CLEARANCE_M]
            for i in found:
                out.append({"centre": centre[i], "azimuth": float(A[i]),
                            "width": float(width[i]),
                            "kind": "between two sides" if lateral[i] else "under cover"})
        self._gaps[frames] = out
        return out

    def fly_through(self, options: ShotOptions, azimuth: float) -> tuple[ShotKeys | None, str]:
        """Fly-through keys: a straight route through the gap nearest the variant's side
        (``azimuth`` relative to behind the subject) to ``distance`` short of the subject's
        last position, or (None, why)."""
        subject, scene = self.subject, self.scene
        n = subject.frames
        found = self.gaps()
        if not found:
            return None, "no gap (a free corridor between two blocked sides) near the subject"
        d = options.distance or default_distance(subject)
        pref = _angle(-subject.heading()) + azimuth
        order = sorted(found, key=lambda g: float(_angle_gap(np.array(g["azimuth"]), pref))
                       + 0.15 * g["width"] / GAP_SIDE_M + 0.3 * (g["kind"] == "under cover"))
        last = subject.positions[-1]
        need = GAP_CLEARANCE_M - 0.05
        seen_cells, distinct = set(), []
        for gap in order:                   # one candidate per metre cell: the same gap once
            cell = tuple(np.floor(gap["centre"]).astype(int))
            if cell not in seen_cells:
                seen_cells.add(cell)
                distinct.append(gap)
        ray_tests, reuse = 0, None
        for gap in distinct:                # clearance (cheap) first, rays for the survivors
            if ray_tests >= GAP_TRIES:
                break
            self.check()
            memo = (tuple(np.floor(gap["centre"]).astype(int)), round(d, 3))
            if memo in self._routes:        # an earlier variant checked this gap already
                if self._routes[memo] is not None:
                    if memo not in self._used:
                        self._used.add(memo)
                        return _fly_through_shot_keys(subject, *self._routes[memo], gap), ""
                    reuse = reuse or (memo, gap)
                continue
            self._routes[memo] = None
            g = gap["centre"]
            to_end = last - g
            to_end[2] = 0.0
            reach = float(np.linalg.norm(to_end))
            stop = min(d, reach - 1.5)
            if stop < 1.5:
                continue
            end = last - to_end / reach * stop
            end[2] = max(g[2], subject.ground() + 1.0)
            u = (end - g) / np.linalg.norm(end - g)
            if not _segment_clear(scene, g, end, need):
                continue
            for approach in np.clip(np.array([1.0, 0.6, 0.35]) * d, 2.5, 7.0):
                start = g - u * approach
                if _segment_clear(scene, start, g, need):
                    break
            else:
                continue
            ray_tests += 1
            if not self._sides_blocked(g, u):
                continue
            route = start + np.linspace(0, 1, 7)[:, None] * (end - start)
            at = np.round(np.linspace(0, n - 1, len(route))).astype(int)
            if sight_share(scene, route, subject, at).mean() < SEEN_MIN:
                continue
            self._routes[memo] = (start, g, end)
            if memo in self._used:
                reuse = reuse or (memo, gap)
                continue
            self._used.add(memo)
            return _fly_through_shot_keys(subject, start, g, end, gap), ""
        if reuse:                           # every free gap is taken by an earlier variant
            return _fly_through_shot_keys(subject, *self._routes[reuse[0]], reuse[1]), ""
        return None, "no gap near the subject has a free route through it towards the subject"

    def _sides_blocked(self, g: np.ndarray, u: np.ndarray) -> bool:
        """Across the flight ``u`` (3,), both sides (left / right, or up / down) of ``g`` are
        blocked within 1.3 GAP_SIDE_M (rays from g and 0.6 m before and after it, so that an
        oblique crossing between two pillars counts)."""
        side = np.cross(u, [0.0, 0.0, 1.0])
        side /= max(np.linalg.norm(side), 1e-9)
        up = np.cross(side, u)
        origins = g + np.array([-0.6, 0.0, 0.6])[:, None] * u                  # (3, 3)
        dirs = np.stack([side, -side, up, -up])                                # (4, 3)
        hit, _ = self.scene.raycast(np.repeat(origins, 4, axis=0), np.tile(dirs, (3, 1)),
                                    1.3 * GAP_SIDE_M)
        blocked = hit.reshape(3, 4).any(axis=0)
        return bool((blocked[0] and blocked[1]) or (blocked[2] and blocked[3]))


def _reveal_shot_keys(subject: Subject, start, end, how: str) -> ShotKeys:
    T = subject.duration
    t = _key_times(T, subject.fps)
    s = (t / T - HOLD_SHARE) / (REVEALED_SHARE - HOLD_SHARE)
    P = start + (end - start) * _ease(s)[:, None]
    P[:, 2] += 0.3 * np.clip((t / T - REVEALED_SHARE) / (1 - REVEALED_SHARE), 0, 1)
    weights = np.where(t / T <= HOLD_SHARE + 1e-9, 4.0, 1.0)
    move = np.linalg.norm(end - start)
    label = f"reveal, {how} {move:.0f} m from behind cover"
    return ShotKeys("reveal", label, t, P, 1 / 3, None,
                    {"start": start.tolist(), "end": end.tolist(), "how": how},
                    weights, hidden_until_s=0.5 * T)


def _fly_through_shot_keys(subject: Subject, start, gap_centre, end, gap) -> ShotKeys:
    """Keys along start -> gap -> end, one a second; the key whose time best matches a
    constant speed passes the gap's centre (each leg at its own constant speed)."""
    T = subject.duration
    l1, l2 = np.linalg.norm(gap_centre - start), np.linalg.norm(end - gap_centre)
    t = _key_times(T, subject.fps)
    inner = np.arange(1, len(t) - 1)
    k = inner[np.argmin(np.abs(t[inner] - T * l1 / (l1 + l2)))]
    along = np.interp(t, [0.0, t[k], T], [0.0, l1, l1 + l2])
    route = np.stack([start, gap_centre, end])
    P = np.stack([np.interp(along, [0.0, l1, l1 + l2], route[:, c]) for c in range(3)], 1)
    weights = np.where(np.abs(np.arange(len(t)) - k) <= 1, GAP_KEY_WEIGHT, 1.0)
    label = f"fly-through, gap {gap['width']:.1f} m {gap['kind']}"
    return ShotKeys("fly_through", label, t, P, 0.0, None,
                    {"gap": gap_centre.tolist(), "gap_width": gap["width"],
                     "gap_time_s": float(t[k])}, weights)
