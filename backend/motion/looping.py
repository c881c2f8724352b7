"""Loops: a clip closed into a seamless cycle for games, and the seam's measure. Numpy only.

``make_loop(clip, blend_seconds=0.3, cycle=None)``: the stretch of the clip whose first and
last frames match best (joint positions seen from the root's heading, and joint velocities;
optionally about ``cycle`` seconds long; else the longest stretch that matches nearly as well
as the best) closed into a cycle: its last frame is its first frame carried by the cycle's
root motion (horizontal offset and turn; same height and pose), so copies chain seamlessly.
The mismatch between the two ends is shared between them, each end moving half way in value
and in velocity, with cubic Hermite corrections that fade out over ``blend_seconds`` from each
end (joint rotations as rotation vectors, the root's height); the root's heading-relative
velocity and turn rate meet half way the same way and are integrated again. Planted feet are
then held still (``footplant``), across the seam too.

``chain(loop, cycles)`` plays a loop several times in a row, each copy starting where and
facing the way the previous one ended. ``velocity_changes(positions, fps)`` is the
frame-to-frame velocity change of the fastest-changing joint, ``seam_velocity_jump(a, b)``
the same where clip b starts after clip a; a good loop's seam is no bigger than the 95th
percentile of the source's own velocity changes.
"""
from __future__ import annotations

import math

import numpy as np

from . import quat
from .clip import Clip
from .footplant import has_legs, keep_feet_planted

LOOP_MAX_FRAMES = 4000                 # longer clips: trim first (the search is T x T)
LOOP_MIN_SECONDS = 0.3                 # the shortest loop make_loop builds
LOOP_VELOCITY_WEIGHT = 0.1             # s: joint velocity (m/s) weighs like this much travel
LOOP_GOOD_ENOUGH = 1.5                 # of the candidates this close to the best, the longest
LOOP_CYCLE_TOLERANCE = 0.1             # cycle= is honoured to within this share
SHARED_FRAME_TOLERANCE = 1e-4          # m: seam_velocity_jump sees a repeated frame
FORWARD = np.array([0.0, -1.0, 0.0])   # the canonical character faces -Y


def positive_number(value, what: str) -> float:
    """float(value), or ValueError naming `what` unless it is a finite number > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return v


# ------------------------------------------------------------------------ seam metrics
def velocity_changes(positions: np.ndarray, fps: float) -> np.ndarray:
    """Frame-to-frame velocity change (m/s) of the fastest-changing joint: (T - 2,) from
    positions (T, J, 3)."""
    p = np.asarray(positions, dtype=np.float64)
    return np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).max(axis=1) * fps


def seam_velocity_jump(clip_a_end: Clip, clip_b_start: Clip) -> float:
    """Velocity change (m/s, the fastest-changing joint) where clip b starts right after clip
    a ends, both placed in the world as they will play (see ``chain``). When b's first
    frame repeats a's last (a loop's closing frame, within 0.1 mm) it is played once."""
    if clip_a_end.num_frames < 2 or clip_b_start.num_frames < 2:
        raise ValueError("Both clips need at least 2 frames to measure a seam")
    pa, pb = clip_a_end.positions()[-2:], clip_b_start.positions()[:2]
    if np.abs(pa[-1] - pb[0]).max() <= SHARED_FRAME_TOLERANCE:
        seam = np.stack([pa[0], pa[1], pb[1]])
    else:
        seam = np.concatenate([pa, pb])
    return float(velocity_changes(seam, clip_a_end.fps).max())


# --------------------------------------------------------------------------- root frame
def _heading(root_rot: np.ndarray) -> np.ndarray:
    """Yaw (T,) of the root: the angle about Z of its forward direction."""
    f = quat.rotate(root_rot, FORWARD)
    return np.unwrap(np.arctan2(f[..., 1], f[..., 0]) - math.atan2(FORWARD[1], FORWARD[0]))


def _yaw_quat(yaw: np.ndarray) -> np.ndarray:
    return quat.from_axis_angle(np.broadcast_to([0.0, 0.0, 1.0], np.shape(yaw) + (3,)), yaw)


def _rotate_xy(v: np.ndarray, yaw) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def chain(loop: Clip, cycles: int = 2) -> Clip:
    """`cycles` copies of a loop played in a row (the closing frame shared): each copy starts
    where and facing the way the previous one ended. (cycles * (N - 1) + 1) frames."""
    if cycles < 1:
        raise ValueError(f"cycles must be at least 1, got {cycles}")
    rots = loop.local_rotations
    yaw = _heading(rots[:, 0])
    d_yaw = yaw[-1] - yaw[0]
    xy0 = loop.root_translation[0, :2]
    step = _rotate_xy(loop.root_translation[-1, :2] - xy0, -yaw[0])   # in the start's frame
    all_rots, all_trans = [rots], [loop.root_translation]
    start_xy, start_yaw = loop.root_translation[-1, :2], yaw[-1]
    for _ in range(cycles - 1):
        turn = start_yaw - yaw[0]
        r = rots[1:].copy()
        r[:, 0] = quat.mul(_yaw_quat(np.full(len(r), turn)), r[:, 0])
        tr = loop.root_translation[1:].copy()
        tr[:, :2] = start_xy + _rotate_xy(tr[:, :2] - xy0, turn)
        all_rots.append(r)
        all_trans.append(tr)
        start_xy = start_xy + _rotate_xy(step, start_yaw)
        start_yaw = start_yaw + d_yaw
    return Clip(np.concatenate(all_rots), np.concatenate(all_trans), loop.fps, loop.skeleton,
                dict(loop.meta))


# ---------------------------------------------------------------------------- make_loop
def make_loop(clip: Clip, blend_seconds: float = 0.3, cycle: float | None = None) -> Clip:
    """A seamless cycle cut from the clip (module notes): (L + 1) frames whose last frame is
    the first one carried by the cycle's root motion. cycle: wanted loop length in seconds
    (found within LOOP_CYCLE_TOLERANCE), None: the longest loop nearly as good as the best.
    meta gets loop_start / loop_end (source frames)."""
    T, fps = clip.num_frames, clip.fps
    try:
        blend_seconds = float(blend_seconds)
    except (TypeError, ValueError):
        raise ValueError(f"Blend must be a number of seconds, got {blend_seconds!r}") from None
    if not math.isfinite(blend_seconds) or blend_seconds < 0:
        raise ValueError(f"Blend must be zero or more seconds, got {blend_seconds!r}")
    blend = max(1, int(round(blend_seconds * fps)))
    shortest = max(int(round(LOOP_MIN_SECONDS * fps)), 2 * blend + 2)
    if T - 1 < shortest:
        raise ValueError(f"The clip is too short to loop: {T} frames ({clip.seconds:.2f} s); a "
                         f"loop blended over {blend_seconds:g} s needs at least {shortest + 1} "
                         f"frames ({(shortest + 1) / fps:.2f} s)")
    if T > LOOP_MAX_FRAMES:
        raise ValueError(f"The clip is too long to search for a loop ({T} frames, at most "
                         f"{LOOP_MAX_FRAMES}): trim it to the part that should loop first")
    lengths = np.arange(shortest, T)
    if cycle is not None:
        want = positive_number(cycle, "Cycle length") * fps
        lengths = lengths[np.abs(lengths - want) <= LOOP_CYCLE_TOLERANCE * want + 0.5]
        if not lengths.size:
            raise ValueError(f"No loop of about {cycle:g} s fits: the clip lasts "
                             f"{clip.seconds:.2f} s and a {blend_seconds:g} s blend needs "
                             f"loops of at least {shortest / fps:.2f} s")
    s, e = _best_loop(clip, lengths, prefer_long=cycle is None)
    rots, trans = _close_loop(clip.slice(s, e + 1), blend)
    meta = dict(clip.meta, loop_start=int(s), loop_end=int(e))
    loop = Clip(rots, trans, fps, clip.skeleton, meta)
    if has_legs(clip.skeleton):
        loop = _plant_loop_feet(loop)
    return loop


def _plant_loop_feet(loop: Clip) -> Clip:
    """The loop with its planted feet held still (as retime does), contacts that run across
    the seam included: the fix is made on three cycles in a row and the middle one kept,
    moved back to where the loop stands, so its two ends still meet (the fix is the same in
    every cycle, up to the cycle's travel and turn)."""
    n = loop.num_frames
    three = chain(loop, 3)
    # A foot planted for longer than a cycle stays as it is: the loop's travel would drag a
    # pin held across cycles.
    fixed = keep_feet_planted(three, three, np.arange(three.num_frames, dtype=np.float64),
                               max_run=n - 2)
    mid = fixed.slice(n - 1, 2 * n - 1)
    turn = _heading(three.local_rotations[[0, n - 1], 0])
    turn = turn[1] - turn[0]
    rots, trans = mid.local_rotations, mid.root_translation
    rots[:, 0] = quat.mul(_yaw_quat(np.full(n, -turn)), rots[:, 0])
    trans[:, :2] = loop.root_translation[0, :2] + _rotate_xy(
        trans[:, :2] - three.root_translation[n - 1, :2], -turn)
    rots[-1], trans[-1, 2] = rots[0], trans[0, 2]               # close exactly
    cycle_turn = quat.mul_inv(loop.local_rotations[-1, 0], loop.local_rotations[0, 0])
    rots[-1, 0] = quat.mul(cycle_turn, rots[0, 0])
    return Clip(quat.unroll(rots), trans, loop.fps, loop.skeleton, loop.meta)


def _loop_features(clip: Clip) -> np.ndarray:
    """(T, D) per frame: joint positions and velocities seen from the root's heading."""
    pos = clip.positions()
    yaw = _heading(clip.local_rotations[:, 0])
    rel = pos.copy()
    rel[..., :2] = _rotate_xy(pos[..., :2] - pos[:, :1, :2], -yaw[:, None])
    vel = np.gradient(pos, axis=0) * clip.fps
    vel[..., :2] = _rotate_xy(vel[..., :2], -yaw[:, None])
    J = pos.shape[1]
    return np.concatenate([rel.reshape(len(pos), -1),
                           LOOP_VELOCITY_WEIGHT * vel.reshape(len(pos), -1)], 1) / math.sqrt(J)


def _best_loop(clip: Clip, lengths: np.ndarray, prefer_long: bool) -> tuple[int, int]:
    """(start, end) frames of the best-matching pair whose distance is in `lengths`."""
    f = _loop_features(clip)
    sq = (f * f).sum(1)
    gram = f @ f.T                                                   # (T, T)
    T = len(f)
    best_cost, best_start = np.empty(len(lengths)), np.empty(len(lengths), dtype=np.int64)
    for k, L in enumerate(lengths):      # pairs (i, i + L): the L-th diagonal
        cost = sq[:T - L] + sq[L:] - 2.0 * np.diagonal(gram, int(L))
        best_start[k] = int(np.argmin(cost))
        best_cost[k] = max(float(cost[best_start[k]]), 0.0)
    k = int(np.argmin(best_cost))
    if prefer_long:
        good = np.flatnonzero(best_cost <= LOOP_GOOD_ENOUGH * best_cost[k] + 1e-12)
        k = int(good[np.argmax(lengths[good])])
    return int(best_start[k]), int(best_start[k] + lengths[k])


def _hermite(blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite weights over k = 0..blend-1 frames from the seam: value and slope (per
    frame) bases, both fading to zero with zero slope at k = blend."""
    u = np.arange(blend, dtype=np.float64) / blend
    return 2 * u ** 3 - 3 * u ** 2 + 1, (u ** 3 - 2 * u ** 2 + u) * blend


def _meet(x, blend: int):
    """Corrections (blend, ...) for the end (frames L, L-1, ...) and the start (0, 1, ...)
    of a series x (L + 1, ...) so both ends meet half way in value and slope."""
    h0, h1 = _hermite(blend)
    shape = (blend,) + (1,) * (x.ndim - 1)
    h0, h1 = h0.reshape(shape), h1.reshape(shape)
    half_gap = 0.5 * (x[0] - x[-1])
    half_slope = 0.5 * ((x[1] - x[0]) - (x[-1] - x[-2]))
    return h0 * half_gap - h1 * half_slope, -h0 * half_gap - h1 * half_slope


def _close_loop(seg: Clip, blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (L+1, J, 4) and root (L+1, 3) of the segment closed into a cycle."""
    rots = quat.unroll(quat.normalize(seg.local_rotations))
    trans = seg.root_translation
    L = len(rots) - 1
    yaw = _heading(rots[:, 0])
    pose = rots.copy()
    pose[:, 0] = quat.mul(_yaw_quat(-yaw), rots[:, 0])                # root tilt, heading-free
    # Pose: each joint turns half way towards the other end, in angle and angular velocity.
    gap = quat.log(quat.mul_inv(pose[0], pose[-1]))                       # (J, 3)
    spin_end = quat.log(quat.mul_inv(pose[-1], pose[-2]))
    spin_start = quat.log(quat.mul_inv(pose[1], pose[0]))
    h0, h1 = _hermite(blend)
    h0, h1 = h0[:, None, None], h1[:, None, None]
    half_slope = 0.5 * (spin_start - spin_end)
    end_fix = h0 * 0.5 * gap - h1 * half_slope
    start_fix = -h0 * 0.5 * gap - h1 * half_slope
    pose[L - np.arange(blend)] = quat.mul(quat.exp(end_fix), pose[L - np.arange(blend)])
    pose[:blend] = quat.mul(quat.exp(start_fix), pose[:blend])
    height = trans[:, 2].copy()
    end_z, start_z = _meet(height, blend)
    height[L - np.arange(blend)] += end_z
    height[:blend] += start_z
    # Root travel: velocities seen from the heading meet half way, then are integrated.
    step = _rotate_xy(np.diff(trans[:, :2], axis=0), -yaw[:-1])       # (L, 2)
    turn = np.diff(yaw)                                               # (L,)
    w = _hermite(blend)[0]
    for v in (step, turn):
        mid = 0.5 * (v[0] + v[-1])
        end_v, start_v = mid - v[-1], mid - v[0]
        v[L - 1 - np.arange(blend)] += np.multiply.outer(w, end_v) if v.ndim > 1 else w * end_v
        v[:blend] += np.multiply.outer(w, start_v) if v.ndim > 1 else w * start_v
    new_yaw = yaw[0] + np.concatenate([[0.0], np.cumsum(turn)])
    xy = trans[0, :2] + np.concatenate(
        [np.zeros((1, 2)), np.cumsum(_rotate_xy(step, new_yaw[:-1]), axis=0)])
    pose[-1], height[-1] = pose[0], height[0]                         # close exactly
    out = pose.copy()
    out[:, 0] = quat.mul(_yaw_quat(new_yaw), pose[:, 0])
    return quat.unroll(quat.normalize(out)), np.concatenate([xy, height[:, None]], axis=1)
