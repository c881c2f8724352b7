"""From a shot's waypoints to a flyable camera path: a minimum-jerk trajectory through the keys,
pushed out of the obstacles and up over what hides the subject, re-timed to the drone's limits,
with a low-frequency look-at that holds the subject on its rule-of-thirds target.

Trajectory: per-frame positions x (T, 3) minimise lam * sum |third difference of x|^2 + sum_k
w_k |x(t_k) - target_k|^2, a banded symmetric system (scipy ``solveh_banded``). The keys are
soft targets (weight 1, or ``ShotKeys.weights``: a gap's keys weigh more); frames closer than
``CLEARANCE_M`` to a surface get stronger targets pushed out along the way away from it, frames
whose view of the subject is blocked get targets raised (and moved closer; not before
``ShotKeys.hidden_until_s``: a reveal starts hidden on purpose), and the system is solved again
(``FIX_ROUNDS`` times, fewer when three rounds in a row win less than a tenth of the troubled
frames). ``lam`` follows the drone's smoothing period: details shorter than it are smoothed
away. Keys are first kept under a roof over the subject and moved out of obstacles (out of
closed ones the nearest way). Limits: a path over the drone's top speed or acceleration is first
re-timed (retime.py: the same positions flown with a new progress over the same duration, slower
in the curves; kept when no jerkier than a Catmull-Rom spline through the keys and hiding the
subject no more often); only where re-timing cannot meet the limits is the travel around the
subject shrunk, or the turns smoothed over longer periods, and the path planned again (3 tries;
then a note). The yaw rate is checked after the look-at: where over, the stretch is flown slower
(re-timed with a speed cap); what the subject's own motion turns is smoothed more in the aim;
else a note.

Rotation: a Blender camera (looks along local -Z, up local +Y), no roll, aimed so that the
smoothed subject centre lands on the screen target (x = +-1/3: the thirds lines; y = 0); a
top-down shot looks straight down with the subject's heading as the camera's up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solveh_banded

from ...motion import quat
from .geometry import SceneGeometry
from .retime import retime_to_limits
from .shots import ShotKeys, Subject

SENSOR_WIDTH_MM = 36.0
ASPECT = 16 / 9
CLEARANCE_M = 0.85           # what the planner keeps from surfaces (crash reach 0.5 + margin)
ACCEPT_CLEARANCE_M = 0.6     # stops fixing once every frame is this clear (> the crash reach)
SUBJECT_CORE = 0.35          # sight lines must reach this share of the subject's radius
ACCEPT_HIDDEN = 0.02         # ... and at most this share of frames has the subject hidden
FIX_ROUNDS = 8
PLAN_ATTEMPTS = 4            # plans of a variant: each smoother (or shorter) than the last
STALL_ROUNDS, STALL_GAIN = 3, 0.1   # stop fixing when 3 rounds won 10 % or less
OBSTACLE_WEIGHT_PER_S = 10.0  # soft-target weight per second of frames (a key weighs 1)
OCCLUSION_WEIGHT_PER_S = 3.0
AUTO_LENS_FILL = 0.45        # the subject's sphere fills this share of half the frame height
LENS_RANGE_MM = (14.0, 135.0)


@dataclass(frozen=True)
class Drone:
    """Limits of a drone: m/s, m/s^2, degrees/s; ``smoothing_s``: the shortest period of
    motion the trajectory keeps; ``aim_smoothing_s``: the same for the look-at."""
    name: str
    max_speed: float
    max_accel: float
    max_yaw_rate: float
    smoothing_s: float
    aim_smoothing_s: float


DRONES = {"cinematic": Drone("cinematic", 12.0, 4.0, 60.0, 2.0, 1.2),
          "fpv": Drone("fpv", 30.0, 15.0, 360.0, 0.8, 0.5)}


@dataclass
class Path:
    """A planned camera path: ``location`` (T, 3), ``rotation`` (T, 4) w, x, y, z quaternions,
    ``lens_mm`` (T,), the shot's waypoints ``key_times`` (K,) s / ``key_positions`` (K, 3), the
    subject's screen target (x, y) and what the planner had to do (``notes``)."""
    keys: ShotKeys
    location: np.ndarray
    rotation: np.ndarray
    lens_mm: np.ndarray
    screen_target: tuple[float, float]
    notes: list


def smooth_path(n: int, fps: float, frames: np.ndarray, targets: np.ndarray,
                weights: np.ndarray, period_s: float) -> np.ndarray:
    """Minimum-jerk fit: (n, D) values through soft ``targets`` (M, D) at ``frames`` (M,) int
    with ``weights`` (M,); motion shorter than ``period_s`` is smoothed away."""
    targets = np.asarray(targets, float)
    if n < 6 or len(np.unique(frames)) < 3:     # too short to smooth: straight interpolation
        order = np.argsort(frames)
        return np.stack([np.interp(np.arange(n), frames[order], targets[order, d])
                         for d in range(targets.shape[1])], -1)
    lam = (period_s * fps / (2 * math.pi)) ** 6 / max(fps, 1.0)
    c = np.array([-1.0, 3.0, -3.0, 1.0])
    ab = np.zeros((4, n))                       # upper banded form: ab[3 + i - j, j] = A[i, j]
    rows = np.arange(n - 3)
    for m in range(4):
        for k in range(4 - m):
            np.add.at(ab[3 - k], rows + m + k, lam * c[m] * c[m + k])
    rhs = np.zeros((n, targets.shape[1]))
    np.add.at(ab[3], frames, weights)
    np.add.at(rhs, frames, weights[:, None] * targets)
    return solveh_banded(ab, rhs)


def _key_frames(keys: ShotKeys, fps: float, n: int) -> np.ndarray:
    return np.clip(np.round(keys.times * fps).astype(int), 0, n - 1)


def _line_of_sight(scene: SceneGeometry, cams: np.ndarray, centres: np.ndarray,
                   radius: float, points: np.ndarray | None = None) -> np.ndarray:
    """(T,) bool: the ray from each camera to the subject's centre reaches its core (the
    inner SUBJECT_CORE share of its sphere: a chair it sits on is inside the sphere, and
    hides the body all the same); with body points (T, K, 3): half of them are in sight."""
    if points is not None:
        T, K, _ = points.shape
        origins = np.repeat(cams, K, axis=0)
        d = points.reshape(-1, 3) - origins
        dist = np.linalg.norm(d, axis=1)
        hit, _ = scene.raycast(origins, d / np.maximum(dist, 1e-9)[:, None],
                               np.maximum(dist - 0.05, 0.0))
        return (1.0 - hit.reshape(T, K).mean(axis=1)) >= 0.5
    delta = centres - cams
    dist = np.linalg.norm(delta, axis=1)
    hit, _ = scene.raycast(cams, delta / np.maximum(dist, 1e-9)[:, None],
                           np.maximum(dist - SUBJECT_CORE * radius, 0.0))
    return ~hit


def plan_trajectory(keys: ShotKeys, subject: Subject, scene: SceneGeometry, drone: Drone,
                    check=lambda: None) -> tuple[np.ndarray, list]:
    """Camera locations (T, 3) for the shot's waypoints, clear of the scene and within the
    drone's limits where the scene allows it; and notes on what was changed."""
    n, fps = subject.frames, subject.fps
    notes: list = []
    key_pos = keys.positions.copy()
    # under a roof, stay under it: the subject's headroom caps the keys' height
    centres_k = subject.at(keys.times)
    roofed, up_t = scene.raycast(centres_k, np.tile([0.0, 0.0, 1.0], (len(centres_k), 1)), 200.0)
    if roofed.any():
        cap = centres_k[:, 2] + np.maximum(up_t - CLEARANCE_M - 0.1, 0.0)
        lowered = roofed & (key_pos[:, 2] > cap)
        if lowered.any():
            key_pos[lowered, 2] = cap[lowered]
            notes.append(f"kept under the roof above the subject (at most "
                         f"{float((cap - centres_k[:, 2])[lowered].min()):.1f} m above it)")
    for _ in range(4):                           # waypoints out of the obstacles first
        clear, _away = scene.away(key_pos, cap=CLEARANCE_M + 0.3)
        bad = np.flatnonzero(clear < CLEARANCE_M)
        if not len(bad):
            break
        clear, away = scene.push_directions(key_pos[bad])
        key_pos[bad] += away * (CLEARANCE_M - clear + 0.15)[:, None]
    keys.positions = key_pos
    period = drone.smoothing_s
    centres = subject.positions
    key_w = np.ones(len(keys.times)) if keys.weights is None else np.asarray(keys.weights, float)
    hidden_from = int(round(keys.hidden_until_s * fps))   # a reveal starts hidden on purpose
    over: list[tuple] = []      # attempts over the limits: (crashes, accel, loc, notes, why)
    for attempt in range(PLAN_ATTEMPTS):
        frames = _key_frames(keys, fps, n)
        extra: dict[int, tuple[np.ndarray, float, str]] = {}    # frame: (target, weight, why)
        loc = smooth_path(n, fps, frames, keys.positions, key_w, period)
        trouble: list[int] = []         # frames too close or hidden, per round
        for _round in range(FIX_ROUNDS):
            check()
            clear, away = scene.away(loc, cap=CLEARANCE_M + 0.3)
            close = np.flatnonzero(clear < CLEARANCE_M)
            if len(close):
                clear[close], away[close] = scene.push_directions(loc[close])
            seen = _line_of_sight(scene, loc[::2], centres[::2], subject.radius,
                                  None if subject.points is None else subject.points[::2])
            hidden = np.flatnonzero(~seen) * 2
            hidden = hidden[hidden >= hidden_from]
            if clear.min(initial=np.inf) >= ACCEPT_CLEARANCE_M and \
                    len(hidden) <= ACCEPT_HIDDEN * len(seen):
                break
            trouble.append(len(close) + len(hidden))
            if len(trouble) > STALL_ROUNDS and \
                    trouble[-1] > (1 - STALL_GAIN) * trouble[-1 - STALL_ROUNDS]:
                break                   # no longer getting better: a hopeless variant
            for f in hidden:
                to_subject = centres[f] - loc[f]
                step = np.array([0.0, 0.0, 0.8]) + 0.12 * to_subject
                base = extra[f][0] if f in extra else loc[f]
                extra[f] = (base + step, OCCLUSION_WEIGHT_PER_S * 2 / fps, "hidden")
            for f in close:             # pushes add up while a frame stays too close
                push = away[f] * (CLEARANCE_M - clear[f] + 0.2)
                base = extra[f][0] if f in extra and extra[f][2] == "close" else loc[f]
                extra[f] = (base + push, OBSTACLE_WEIGHT_PER_S / fps, "close")
            idx = np.array(sorted(extra), int)
            loc = smooth_path(n, fps, np.concatenate([frames, idx]),
                              np.concatenate([keys.positions, [extra[i][0] for i in idx]]),
                              np.concatenate([key_w, [extra[i][1] for i in idx]]), period)
        speed, accel = _speed_accel(loc, fps)
        too_fast = speed.max(initial=0) > drone.max_speed * 1.001
        too_sharp = accel.max(initial=0) > drone.max_accel * 1.001
        crashes = int(np.sum(scene.clearance(loc, cap=CLEARANCE_M) < ACCEPT_CLEARANCE_M))
        # a smoother plan that no longer clears the scene, where an earlier one did: not kept
        worse = crashes > 0 and any(o[0] == 0 for o in over)
        if not (too_fast or too_sharp or worse):
            break
        retimed = None if worse else retime_to_limits(loc, fps, drone.max_speed, drone.max_accel)
        if retimed is not None and _jerk(retimed, fps) <= _reference_jerk(keys, n, fps) and \
                _hidden_frames(scene, retimed, subject, hidden_from) <= \
                _hidden_frames(scene, loc, subject, hidden_from):
            # same path, new progress: slower in the curves (kept only when no jerkier than a
            # Catmull-Rom spline through the keys and the subject is hidden no more often;
            # else the path itself is made gentler)
            v2, a2 = _speed_accel(retimed, fps)
            notes.append(f"re-timed for the {drone.name} drone's limits: top speed "
                         f"{speed.max():.1f} -> {v2.max():.1f} m/s, acceleration "
                         f"{accel.max():.1f} -> {a2.max():.1f} m/s^2, same duration")
            loc = retimed
            break
        over.append((crashes, float(accel.max(initial=0)), loc, list(notes),
                     f"the path needs {accel.max():.1f} m/s^2 / {speed.max():.1f} m/s, over "
                     f"the {drone.name} drone's limits ({drone.max_accel:g} m/s^2, "
                     f"{drone.max_speed:g} m/s)"))
        if attempt == PLAN_ATTEMPTS - 1:
            # none within the limits: the clearest, then gentlest, attempt
            _crashes, _accel, loc, notes, why = min(over, key=lambda o: o[:2])
            notes.append(why)
            break
        if too_fast:        # re-timing cannot: shrink the travel around the subject, again
            ratio = 0.9 * drone.max_speed / speed.max()
            rel = keys.positions - subject.at(keys.times)
            mean = rel.mean(axis=0)
            keys.positions = subject.at(keys.times) + mean + (rel - mean) * ratio
            notes.append(f"shot slowed to {ratio:.0%} of its travel for the {drone.name} "
                         f"drone's {drone.max_speed:g} m/s")
        else:
            period *= 1.5   # turns too sharp: smooth over longer stretches, plan again
    return loc, notes


def _hidden_frames(scene: SceneGeometry, loc: np.ndarray, subject: Subject,
                   start: int) -> int:
    """How many of every other frame from ``start`` on have the subject out of sight."""
    pts = None if subject.points is None else subject.points[start::2]
    seen = _line_of_sight(scene, loc[start::2], subject.positions[start::2], subject.radius,
                          pts)
    return int((~seen).sum())


def _jerk(loc: np.ndarray, fps: float) -> float:
    j = np.diff(loc, n=3, axis=0) * fps ** 3
    return float(np.sqrt(np.mean(np.sum(j * j, axis=1)))) if len(j) else 0.0


def _reference_jerk(keys: ShotKeys, n: int, fps: float) -> float:
    """RMS jerk of a Catmull-Rom spline through the keys (the metrics' reference)."""
    from ...motion.resample import catmull_rom
    return _jerk(catmull_rom(keys.times, keys.positions, np.arange(n) / fps), fps)


def _speed_accel(loc: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.diff(loc, axis=0) * fps
    a = np.diff(v, axis=0) * fps
    return np.linalg.norm(v, axis=1), np.linalg.norm(a, axis=1)


def auto_lens(loc: np.ndarray, subject: Subject) -> float:
    """Focal length (mm, 36 mm sensor) at which the subject fills AUTO_LENS_FILL of half the
    frame height at the path's median distance."""
    dist = float(np.median(np.linalg.norm(subject.positions - loc, axis=1)))
    half_h = SENSOR_WIDTH_MM / ASPECT / 2
    return float(np.clip(AUTO_LENS_FILL * half_h * dist / max(subject.radius, 1e-3),
                         *LENS_RANGE_MM))


def camera_matrices(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) of rollless Blender cameras looking along yaw / pitch."""
    c = np.stack([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)], -1)
    r = np.stack([np.sin(yaw), -np.cos(yaw), np.zeros_like(yaw)], -1)
    u = np.cross(r, c)
    return np.stack([r, u, -c], axis=-1)


def project(rot_m: np.ndarray, loc: np.ndarray, points: np.ndarray,
            lens_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Screen positions (T, 2) of ``points`` (T, 3) seen by cameras (rotation matrices
    (T, 3, 3), ``loc`` (T, 3), ``lens_mm`` (T,)): x, y in -1..1 across the frame; and depth
    (T,) along the view (> 0: in front)."""
    local = np.einsum("tji,tj->ti", rot_m, points - loc)       # R^T (p - loc)
    depth = -local[:, 2]
    safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
    tan_x = SENSOR_WIDTH_MM / 2 / lens_mm
    tan_y = tan_x / ASPECT
    return np.stack([local[:, 0] / safe / tan_x, local[:, 1] / safe / tan_y], -1), depth


def look_rotations(loc: np.ndarray, aim: np.ndarray, lens_mm: np.ndarray,
                   target: tuple[float, float], up_hint: np.ndarray | None) -> np.ndarray:
    """Quaternions (T, 4) w, x, y, z of cameras at ``loc`` (T, 3) that see ``aim`` (T, 3) at
    screen ``target``; rollless, or with ``up_hint`` (3,) as up when looking straight down.
    Consecutive quaternions lie in the same hemisphere (keys interpolate the short way)."""
    f = aim - loc
    f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)
    if up_hint is not None:
        right = np.cross(f, up_hint)
        right /= np.maximum(np.linalg.norm(right, axis=1, keepdims=True), 1e-9)
        up = np.cross(right, f)
        return quat.unroll(quat.from_matrix(np.stack([right, up, -f], axis=-1)))
    yaw = np.unwrap(np.arctan2(f[:, 1], f[:, 0]))
    pitch = np.arcsin(np.clip(f[:, 2], -1, 1))
    tan_x = SENSOR_WIDTH_MM / 2 / lens_mm
    tan_y = tan_x / ASPECT
    for _ in range(6):                  # turn until the aim point sits on the target
        screen, _depth = project(camera_matrices(yaw, pitch), loc, aim, lens_mm)
        yaw = yaw - np.arctan((screen[:, 0] - target[0]) * tan_x) / np.maximum(
            np.cos(pitch), 0.2)
        pitch = np.clip(pitch + np.arctan((screen[:, 1] - target[1]) * tan_y),
                        -math.radians(88), math.radians(88))
    return quat.unroll(quat.from_matrix(camera_matrices(yaw, pitch)))


def view_directions(rotation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(view directions (T, 3), their unwrapped headings (T,) radians) of cameras (T, 4)."""
    fwd = -quat.to_matrix(rotation)[:, :, 2]
    return fwd, np.unwrap(np.arctan2(fwd[:, 1], fwd[:, 0]))


def yaw_rates(rotation: np.ndarray, fps: float) -> np.ndarray:
    """Heading change (T - 1,) degrees/s of the cameras' view direction between frames (0
    where the camera looks nearly straight down: its heading means nothing there)."""
    fwd, yaw = view_directions(rotation)
    level = np.hypot(fwd[:, 0], fwd[:, 1]) > 0.2
    rates = np.degrees(np.abs(np.diff(yaw)) * fps)
    return np.where(level[1:] & level[:-1], rates, 0.0)


def yaw_rate(rotation: np.ndarray, fps: float) -> float:
    """Largest heading change (degrees/s) of the cameras' view direction."""
    return float(yaw_rates(rotation, fps).max(initial=0.0))


def plan_path(keys: ShotKeys, subject: Subject, scene: SceneGeometry, drone: Drone,
              lens_mm: float | None = None, check=lambda: None) -> Path:
    """The full camera path of one shot variant."""
    loc, notes = plan_trajectory(keys, subject, scene, drone, check)
    n, fps = subject.frames, subject.fps
    lens = float(lens_mm) if lens_mm else auto_lens(loc, subject)
    lens_t = np.full(n, lens)
    target = (float(keys.screen_x), 0.0)
    period = drone.aim_smoothing_s
    aim = smooth_path(n, fps, np.arange(n), subject.positions, np.ones(n), period)
    rot = look_rotations(loc, aim, lens_t, target, keys.up_hint)
    loc, rot = _retime_for_yaw(loc, rot, aim, lens_t, target, keys, drone, fps, notes)
    for _ in range(4):
        if yaw_rate(rot, fps) <= drone.max_yaw_rate:
            break
        period *= 1.6       # the subject's own motion turns the view: smooth the aim more
        aim = smooth_path(n, fps, np.arange(n), subject.positions, np.ones(n), period)
        rot = look_rotations(loc, aim, lens_t, target, keys.up_hint)
    else:
        limited = None if keys.up_hint is not None else \
            limit_heading_rate(rot, loc, aim, lens_t, drone.max_yaw_rate, fps)
        if limited is not None:
            peak = yaw_rate(rot, fps)
            rot, drift = limited
            notes.append(f"heading held to the {drone.name} drone's {drone.max_yaw_rate:g} "
                         f"deg/s (the look-at asked {peak:.0f}): the subject drifts up to "
                         f"{drift:.2f} half-frames from its screen target")
        else:
            notes.append(f"the camera turns faster than the {drone.name} drone's "
                         f"{drone.max_yaw_rate:g} deg/s")
    return Path(keys, loc, rot, lens_t, target, notes)


HEADING_MARGIN = 0.97          # share of the yaw-rate limit the held heading aims at
IN_FRAME_EDGE = 0.9            # |screen x|, |screen y| (half-frames) the aim point must keep


def limit_heading_rate(rot: np.ndarray, loc: np.ndarray, aim: np.ndarray,
                       lens_mm: np.ndarray, max_rate_deg: float, fps: float
                       ) -> tuple[np.ndarray, float] | None:
    """Cameras (T, 4) whose heading turns no faster than ``max_rate_deg`` (a drone cannot
    yaw faster), the pitch kept: the look-at heading is followed under a rate limit, forwards
    and backwards, and the two averaged (each keeps the limit, so their mean does; one lags,
    the other leads). Returns (rotations, the aim point's largest |screen x| drift) or None
    when the aim point would leave the middle of the frame (|x| or |y| > IN_FRAME_EDGE) on
    any frame."""
    fwd, yaw = view_directions(rot)
    pitch = np.arcsin(np.clip(fwd[:, 2], -1.0, 1.0))
    step = math.radians(max_rate_deg) * HEADING_MARGIN / fps

    def follow(target: np.ndarray) -> np.ndarray:
        out = np.empty_like(target)
        out[0] = target[0]
        for i in range(1, len(target)):
            out[i] = out[i - 1] + np.clip(target[i] - out[i - 1], -step, step)
        return out

    held = 0.5 * (follow(yaw) + follow(yaw[::-1])[::-1])
    mats = camera_matrices(held, pitch)
    screen, depth = project(mats, loc, aim, lens_mm)
    if np.any(depth <= 0) or np.abs(screen).max() > IN_FRAME_EDGE:
        return None
    before, _ = project(camera_matrices(yaw, pitch), loc, aim, lens_mm)
    drift = float(np.abs(screen[:, 0] - before[:, 0]).max())
    return quat.unroll(quat.from_matrix(mats)), drift


def _retime_for_yaw(loc, rot, aim, lens_t, target, keys, drone, fps, notes):
    """Where the view turns faster than the drone's yaw rate, fly that stretch slower (a speed
    cap per frame, re-timed within the speed and acceleration limits; two rounds); kept only
    when it lowers the peak yaw rate by 5 % or more."""
    rates = yaw_rates(rot, fps)
    peak = rates.max(initial=0.0)
    if peak <= drone.max_yaw_rate:
        return loc, rot
    best = (peak, loc, rot)
    cur_loc, cur_rates = loc, rates
    for _ in range(2):
        speed = np.linalg.norm(np.gradient(cur_loc, axis=0), axis=1) * fps
        over = np.concatenate([cur_rates, cur_rates[-1:]]) / (0.9 * drone.max_yaw_rate)
        cap = np.where(over > 1.0, speed / np.maximum(over, 1e-9), np.inf)
        cap = np.lib.stride_tricks.sliding_window_view(np.pad(cap, 5, mode="edge"), 11)
        cap = cap.min(axis=1)                                  # the stretch around it too
        retimed = retime_to_limits(loc, fps, drone.max_speed, drone.max_accel, cap)
        if retimed is None:
            break
        r = look_rotations(retimed, aim, lens_t, target, keys.up_hint)
        cur_loc, cur_rates = retimed, yaw_rates(r, fps)
        if cur_rates.max(initial=0.0) < best[0]:
            best = (cur_rates.max(initial=0.0), retimed, r)
    if best[0] < 0.95 * peak:
        notes.append(f"re-timed for the {drone.name} drone's {drone.max_yaw_rate:g} deg/s "
                     f"yaw rate: the view turned {peak:.0f} deg/s, now {best[0]:.0f}")
        return best[1], best[2]
    return loc, rot
