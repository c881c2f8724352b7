"""Path following: a walk carried along a path on the floor, facing along it, feet planted,
optionally arriving at given points at given times. Numpy only.

``follow_path(gait, points, arrival=None, fps=None, labels=None) -> Clip``

1. A gait that itself turns is first walked on a straight line (``_straighten``). The gait
   is made a seamless cycle (``looping.make_loop``) and enough cycles are chained to
   cover the path (one spare cycle each side). Its *travel line* is the root's floor track
   averaged over one cycle (a box filter one cycle long removes the stride's sway exactly);
   each frame's root is split into the distance along that line, the line's heading, and the
   root's offset from the line seen from the line's heading (sway, surge, and the body's own
   yaw relative to its line).
2. Timing: without arrival times the gait plays at its natural speed (travel per cycle / cycle
   time). Arrival times ``[(point_index, seconds), ...]`` cut the path into segments; each is
   covered at the mean speed that gets there on time, the gait played faster or slower in
   proportion (allowed: MIN_SPEED_SHARE .. MAX_SPEED_SHARE of the natural speed), and after
   the last given point at natural speed. Speed changes glide (a monotone cubic through the
   arrival points, which are still met exactly). Times count from the clip's first frame; a
   time given for the first point is where the clip starts (all times shift by it).
3. Each output frame's root goes to the path (``path.SmoothPath``: corners rounded over
   CORNER_ROUNDING) at its distance, plus the gait's offset turned into the path's heading
   (faded out over the last SETTLE_METRES, so the walk stops on the end point); the body
   turns by (path heading - travel line heading).
4. The feet the gait plants are held still: a planted foot keeps its yaw while the body
   turns over it (the ankle turns back; the foot catches up in the air), then
   ``footplant.keep_feet_planted`` pins it in place with the leg IK.

The clip ends on the path's last point; its last frame holds. Metrics: ``mean_path_distance``
(m, root on the floor to the path), ``arrival_frame_errors`` (frames), ``foot_skate`` (m/s of
planted feet, as ``footplant.planted_speed``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import quat
from .clip import Clip
from .footplant import (LEG_NAMES, _runs, has_legs, keep_feet_planted, planted_masks,
                        planted_speed)
from .looping import _rotate_xy, _yaw_quat, chain, make_loop
from .path import SmoothPath, check_path, distance_to_path, point_labels, progress_along
from .timing import _sample

MIN_SPEED_SHARE, MAX_SPEED_SHARE = 0.4, 2.5   # of the gait's natural speed
MIN_GAIT_SPEED = 0.2                          # m/s: slower than this the gait does not travel
LOOP_BLEND_SECONDS = 0.2
STRAIGHTEN_ABOVE_DEG = 15.0                   # a gait turning more than this is straightened
STRAIGHTEN_SMOOTH_SECONDS = 0.4               # Gaussian sigma of its travel direction
END_TOLERANCE = 0.05                          # m: the root's sway about the end point
SETTLE_METRES = 0.8                           # the sway fades out over the path's last metres


@dataclass
class PathFollowResult:
    """The followed clip and how it was made.

    clip: the output (N frames); source: the chained gait cycles (T frames); source_t: (N,)
    fractional source frame of each output frame; path: the rounded path; knots: [(u metres,
    seconds)] where the timing was pinned (the start, and each arrival); natural_speed: m/s;
    arrival: [(point_index, seconds)] as asked, shifted to start at the clip's first frame."""
    clip: Clip
    source: Clip
    source_t: np.ndarray
    path: SmoothPath
    knots: list
    natural_speed: float
    arrival: list = field(default_factory=list)


def follow_path(gait: Clip, points, arrival=None, fps: float | None = None, labels=None
                ) -> Clip:
    """The gait carried along points (N, 3) (module notes): a new Clip at `fps` (default the
    gait's). arrival: [(point_index, seconds)] or None; labels: names of the points for
    messages ("empty 'B'"). Raises ValueError with a message for the user."""
    return follow_path_detailed(gait, points, arrival, fps, labels).clip


def follow_path_detailed(gait: Clip, points, arrival=None, fps: float | None = None,
                         labels=None) -> PathFollowResult:
    """follow_path, returning the PathFollowResult that the metrics read."""
    pts = check_path(points, labels)
    names = point_labels(len(pts), labels)
    fps = float(gait.fps if fps is None else fps)
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"Frame rate must be a positive number, got {fps!r}")
    if not has_legs(gait.skeleton):
        raise ValueError("Path following needs a clip on a skeleton with two legs")
    gait = _straighten(gait)
    try:
        loop = make_loop(gait, blend_seconds=LOOP_BLEND_SECONDS)
    except ValueError as e:
        raise ValueError(f"The motion cannot be made into a walk cycle: {e}") from None
    cycle = loop.num_frames - 1
    travel = float(np.linalg.norm(loop.root_translation[-1, :2] - loop.root_translation[0, :2]))
    speed = travel / (cycle / loop.fps)
    if speed < MIN_GAIT_SPEED:
        raise ValueError(f"The motion does not travel ({speed:.2f} m/s over its "
                         f"{cycle / loop.fps:.2f} s cycle): use a walk or a run")
    path = SmoothPath(pts)
    shifted = _arrival_list(arrival, len(pts), names)
    knots = _knots(shifted, path, speed, names)
    # Output timeline: seconds -> path distance (the gait plays in step: u / speed seconds).
    knot_u, knot_t = np.array([k[0] for k in knots]), np.array([k[1] for k in knots])
    total = knot_t[-1] + (path.length - knot_u[-1]) / speed
    n = int(round(total * fps)) + 1
    tau = np.minimum(np.arange(n) / fps, total)
    u = _distance_at(tau, knot_t, knot_u, speed, path.length)
    gait_seconds = u / speed
    src_t = cycle + gait_seconds * loop.fps           # one spare cycle before
    cycles = int(math.ceil(src_t[-1] / cycle)) + 2
    source = chain(loop, cycles)
    rots, trans = _sample(source, src_t)
    line_xy, line_yaw = _travel_line(source, cycle)
    at = np.arange(source.num_frames)
    line_here = np.stack([np.interp(src_t, at, line_xy[:, d]) for d in (0, 1)], axis=1)
    yaw_here = np.interp(src_t, at, line_yaw)
    offset = _rotate_xy(trans[:, :2] - line_here, -yaw_here)         # in the line's frame
    # the body's sway about its line settles over the last SETTLE_METRES: it stops on the
    # end point, not a stride's sway beside it (the legs follow: feet are pinned below)
    settle = np.clip((path.length - u) / SETTLE_METRES, 0.0, 1.0)
    offset = offset * (settle * settle * (3.0 - 2.0 * settle))[:, None]
    where, heading = path.at(u)
    new_trans = np.concatenate([where[:, :2] + _rotate_xy(offset, heading),
                                (trans[:, 2] + where[:, 2])[:, None]], axis=1)
    rots = rots.copy()
    turn = heading - yaw_here
    rots[:, 0] = quat.mul(_yaw_quat(turn), rots[:, 0])
    meta = dict(gait.meta, path_length=path.length, natural_speed=speed)
    out = Clip(quat.unroll(quat.normalize(rots)), new_trans, fps, gait.skeleton, meta)
    out = _hold_planted_feet_yaw(out, turn, planted_masks(source, src_t))
    out = keep_feet_planted(source, out, src_t)
    return PathFollowResult(out, source, src_t, path, knots, speed, shifted)


def _straighten(gait: Clip) -> Clip:
    """A gait that turns (a walk along a curve: its travel direction, smoothed over
    STRAIGHTEN_SMOOTH_SECONDS, spans more than STRAIGHTEN_ABOVE_DEG) walked on a straight
    line instead, feet kept planted; others as they are. A turning gait's loop would carry
    its turn into every cycle."""
    T = gait.num_frames
    xy = gait.root_translation[:, :2]
    sigma = STRAIGHTEN_SMOOTH_SECONDS * gait.fps
    half = int(math.ceil(3 * sigma))
    if T < 3 or half < 1:
        return gait
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    padded = np.concatenate([2 * xy[:1] - xy[half:0:-1] if T > half else
                             np.repeat(xy[:1], half, 0), xy,
                             2 * xy[-1:] - xy[-2:-half - 2:-1] if T > half + 1 else
                             np.repeat(xy[-1:], half, 0)])
    if len(padded) != T + 2 * half:
        return gait
    line = np.stack([np.convolve(padded[:, d], k / k.sum(), "valid") for d in (0, 1)], 1)
    d = np.gradient(line, axis=0)
    moving = np.linalg.norm(d, axis=1) * gait.fps > MIN_GAIT_SPEED
    if moving.sum() < 2:
        return gait
    direction = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    direction = np.interp(np.arange(T), np.flatnonzero(moving), direction[moving])
    if np.degrees(np.ptp(direction)) <= STRAIGHTEN_ABOVE_DEG:
        return gait
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    offset = _rotate_xy(xy - line, -direction)
    turn = direction[0] - direction
    flat = _rotate_xy(np.stack([along, np.zeros(T)], 1) + offset, direction[0]) + line[0]
    rots = gait.local_rotations.copy()
    rots[:, 0] = quat.mul(_yaw_quat(turn), rots[:, 0])
    trans = np.concatenate([flat, gait.root_translation[:, 2:]], axis=1)
    out = Clip(quat.unroll(quat.normalize(rots)), trans, gait.fps, gait.skeleton, gait.meta)
    t = np.arange(T, dtype=np.float64)
    out = _hold_planted_feet_yaw(out, turn, planted_masks(gait, t))
    return keep_feet_planted(gait, out, t)


def _hold_planted_feet_yaw(out: Clip, turn: np.ndarray, masks: dict) -> Clip:
    """Turning the body while a foot is planted would pivot the foot about its ankle (the toes
    slide). While a foot is planted (its ankle or ball, masks {joint: (N,) bool}), its ankle
    is turned back about Z by the body's turn (N,) since the middle of the contact; between
    contacts the counter-turn goes linearly from one contact's to the next (and from / to 0
    at the clip's ends), so the foot catches up in the air. Returns a new Clip."""
    skel = out.skeleton
    N = out.num_frames
    world, _ = skel.fk(out.local_rotations, out.root_translation)
    rots = out.local_rotations.copy()
    for leg in LEG_NAMES:
        ankle, ball = skel.index(leg[2]), skel.index(leg[3])
        on = masks.get(ankle, np.zeros(N, bool)) | masks.get(ball, np.zeros(N, bool))
        if not on.any():
            continue
        back = np.full(N, np.nan)
        for a, b in _runs(on):
            back[a:b] = turn[(a + b - 1) // 2] - turn[a:b]
        for end in (0, N - 1):
            if not on[end]:
                back[end] = 0.0
        known = np.flatnonzero(~np.isnan(back))
        back = np.interp(np.arange(N), known, back[known])
        new_world = world.copy()
        new_world[:, ankle] = quat.mul(_yaw_quat(back), world[:, ankle])
        rots[:, ankle] = skel.locals_from_world(new_world)[:, ankle]
    return Clip(quat.unroll(rots), out.root_translation, out.fps, skel, out.meta)


def _distance_at(tau, knot_t, knot_u, speed: float, length: float) -> np.ndarray:
    """Path distance (N,) at times tau (N,): through every knot (seconds, metres) exactly, on
    a cubic Hermite curve whose slope at each knot is the harmonic mean of the speeds either
    side (so speed changes glide and the distance never goes back), at `speed` after the last
    knot (to the path's end)."""
    t, u = list(knot_t), list(knot_u)
    if u[-1] < length - 1e-12:
        t.append(t[-1] + (length - u[-1]) / speed)
        u.append(length)
    t, u = np.array(t), np.array(u)
    if len(t) < 2:
        return np.zeros_like(tau)
    slopes = np.diff(u) / np.diff(t)
    m = np.empty(len(t))
    m[0], m[-1] = slopes[0], slopes[-1]
    m[1:-1] = 2.0 / (1.0 / slopes[:-1] + 1.0 / slopes[1:])
    k = np.clip(np.searchsorted(t, tau, side="right") - 1, 0, len(t) - 2)
    h = t[k + 1] - t[k]
    x = np.clip((tau - t[k]) / h, 0.0, 1.0)
    h00, h10 = 2 * x ** 3 - 3 * x ** 2 + 1, x ** 3 - 2 * x ** 2 + x
    h01, h11 = -2 * x ** 3 + 3 * x ** 2, x ** 3 - x ** 2
    return h00 * u[k] + h10 * h * m[k] + h01 * u[k + 1] + h11 * h * m[k + 1]


def _arrival_list(arrival, n: int, names: list[str]) -> list[tuple[int, float]]:
    """Arrival [(point_index, seconds)] checked, in path order, shifted so that the clip
    starts at 0 s (at the first point's time when it has one)."""
    if not arrival:
        return []
    items = []
    for entry in arrival:
        try:
            i, t = entry
            i_int, t = int(i), float(t)
        except (TypeError, ValueError):
            raise ValueError(f"Arrival times must be (point index, seconds) pairs, got "
                             f"{entry!r}") from None
        if i_int != i or not 0 <= i_int < n:
            raise ValueError(f"Arrival point index {i!r} is not one of the path's {n} points")
        if not math.isfinite(t):
            raise ValueError(f"Arrival time at {names[i_int]} is not a number: {t!r}")
        items.append((i_int, t))
    items.sort(key=lambda x: x[0])
    for (i, a), (j, b) in zip(items[:-1], items[1:]):
        if i == j:
            raise ValueError(f"{names[i]} has two arrival times")
        if b <= a:
            raise ValueError(f"Arrival times must increase along the path: {names[i]} at "
                             f"{a:g} s, then {names[j]} at {b:g} s")
    start = items[0][1] if items[0][0] == 0 else 0.0
    shifted = [(i, t - start) for i, t in items]
    if shifted[0][0] != 0 and shifted[0][1] <= 0:
        i, t = items[0]
        raise ValueError(f"Arrival times must increase along the path: the walk starts at "
                         f"{names[0]} at 0 s, then {names[i]} at {t:g} s")
    return shifted


def _knots(arrival, path: SmoothPath, speed: float, names: list[str]) -> list:
    """[(u, seconds)] from the start through each arrival, each segment's speed checked."""
    points = [(0, 0.0)] + [a for a in arrival if a[0] != 0]
    lo, hi = MIN_SPEED_SHARE * speed, MAX_SPEED_SHARE * speed
    for (i, a), (j, b) in zip(points[:-1], points[1:]):
        du = float(path.point_u[j] - path.point_u[i])
        need = du / (b - a)
        if not lo <= need <= hi:
            raise ValueError(
                f"Going from {names[i]} to {names[j]} ({du:.2f} m in {b - a:.2f} s) needs "
                f"{need:.2f} m/s, outside the {lo:.2f}-{hi:.2f} m/s this walk allows "
                f"({MIN_SPEED_SHARE:g}x-{MAX_SPEED_SHARE:g}x its natural {speed:.2f} m/s): "
                f"change the arrival frames")
    return [(float(path.point_u[i]), float(t)) for i, t in points]


def _travel_line(source: Clip, cycle: int) -> tuple[np.ndarray, np.ndarray]:
    """The source's travel line (T, 2) (the root's floor track averaged over one cycle) and
    its direction (T,) (radians from +X, unwrapped)."""
    xy = source.root_translation[:, :2]
    half = cycle / 2.0
    offsets = np.arange(-int(math.floor(half)), int(math.floor(half)) + 1)
    weights = np.ones(len(offsets))
    if cycle % 2 == 0:                  # trapezoid: the window is exactly one cycle long
        weights[[0, -1]] = 0.5
    weights /= weights.sum()
    T = len(xy)
    idx = np.clip(np.arange(T)[:, None] + offsets[None], 0, T - 1)
    line = np.einsum("tkd,k->td", xy[idx], weights)
    d = np.gradient(line, axis=0)
    return line, np.unwrap(np.arctan2(d[:, 1], d[:, 0]))


# ------------------------------------------------------------------------------ metrics
def mean_path_distance(clip: Clip, points) -> float:
    """Mean floor distance (m) of the clip's root to the path points (N, 3)."""
    return float(distance_to_path(clip.root_translation, np.asarray(points)).mean())


def arrival_frame_errors(result: PathFollowResult, points) -> list[float]:
    """For each asked arrival: |frame the root reaches the point - asked frame| (frames),
    reaching meaning its nearest path point (tracked forwards) passes the point (for the
    last point: the clip's last frame, if the root ends within END_TOLERANCE of it)."""
    pts = np.asarray(points, dtype=np.float64)
    clip = result.clip
    progress = progress_along(clip.root_translation, pts)
    errors = []
    for i, seconds in result.arrival:
        target = result.path.point_u[i]
        frames = np.arange(clip.num_frames, dtype=np.float64)
        reached = np.flatnonzero(progress >= target - 1e-9)
        if not reached.size:           # the clip ends on the point, its root's sway aside
            end_gap = target - progress[-1]
            errors.append(abs(frames[-1] - seconds * clip.fps) if end_gap <= END_TOLERANCE
                          else float("inf"))
            continue
        k = int(reached[0])
        if k > 0 and progress[k] > progress[k - 1]:
            k_f = frames[k - 1] + (target - progress[k - 1]) / (progress[k] - progress[k - 1])
        else:
            k_f = frames[k]
        errors.append(abs(k_f - seconds * clip.fps))
    return errors


def foot_skate(result: PathFollowResult) -> float:
    """Mean horizontal speed (m/s) of the output's feet where the gait plants them."""
    return planted_speed(result.clip, planted_masks(result.source, result.source_t))
