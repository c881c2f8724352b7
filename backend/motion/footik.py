"""Feet for retargeting: when a foot is planted, pinning it there, and the leg IK that puts
ankles on their goals (lowering the hips where a leg cannot reach). numpy only."""
from __future__ import annotations

import numpy as np

from . import quat

# Foot contacts (for foot locking): slow, low, and long enough.
CONTACT_SPEED = 0.35         # m/s
CONTACT_HEIGHT = 0.05        # m above the standing ankle height
CONTACT_MIN_FRAMES = 3
CONTACT_BLEND_SECONDS = 0.1
LEG_LENGTH = 0.8             # m, hip to ankle of the adult the thresholds above are for

def leg_length(pos, idx: dict) -> float:
    """Mean hip-to-knee-to-ankle length of the two legs: pos indexed by idx[joint] (an array
    of rest positions and joint -> row, or a dict of positions and joint -> joint)."""
    total = 0.0
    for side in ("left", "right"):
        h, k, a = (np.asarray(pos[idx[f"{side}_{j}"]]) for j in ("hip", "knee", "ankle"))
        total += np.linalg.norm(k - h) + np.linalg.norm(a - k)
    return float(total / 2.0)


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Moving average along axis 0 with edge padding. x: (T, D)."""
    if window <= 1 or x.shape[0] < 3:
        return x.copy()
    half = window // 2
    padded = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    kernel = np.ones(window) / window
    return np.stack([np.convolve(padded[:, d], kernel, mode="valid")[:x.shape[0]]
                     for d in range(x.shape[1])], axis=1)


def contact_segments(points: np.ndarray, fps: float, rest_height: float, unit: float = 1.0
                     ) -> list[tuple[int, int]]:
    """Frame ranges [start, stop) where a foot point (T, 3) is planted: slower than
    CONTACT_SPEED and within CONTACT_HEIGHT of its standing height, for CONTACT_MIN_FRAMES.
    unit: the skeleton's size in units of an adult's (leg length / LEG_LENGTH): 100 for a
    rig in centimetres, so the thresholds hold whatever the scene units."""
    T = points.shape[0]
    if T < 2:
        return []
    speed = np.zeros(T)
    speed[1:] = np.linalg.norm(np.diff(points, axis=0), axis=-1) * fps
    speed[0] = speed[1]
    planted = (speed < CONTACT_SPEED * unit) & \
        (points[:, 2] < rest_height + CONTACT_HEIGHT * unit)
    segments, t = [], 0
    while t < T:
        if planted[t]:
            u = t
            while u < T and planted[u]:
                u += 1
            if u - t >= CONTACT_MIN_FRAMES:
                segments.append((t, u))
            t = u
        else:
            t += 1
    return segments


def lock_contacts(goal: np.ndarray, fps: float, rest_height: float, unit: float = 1.0
                  ) -> np.ndarray:
    """Pin an ankle trajectory (T, 3) during planted segments to the segment's mean position,
    blending in and out over CONTACT_BLEND frames so nothing pops (unit: contact_segments)."""
    out = goal.copy()
    blend = max(1, int(round(CONTACT_BLEND_SECONDS * fps)))
    for a, b in contact_segments(goal, fps, rest_height, unit):
        pin = goal[a:b].mean(axis=0)
        pin[2] = min(pin[2], goal[a:b, 2].min() + 0.5 * CONTACT_HEIGHT * unit)
        out[a:b] = pin
        for i in range(1, blend + 1):          # ease out of the pin on both sides
            w = 1.0 - i / (blend + 1)
            if a - i >= 0:
                out[a - i] = w * pin + (1 - w) * out[a - i]
            if b - 1 + i < len(goal):
                out[b - 1 + i] = w * pin + (1 - w) * out[b - 1 + i]
    return out


def rolling_min(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving minimum of a 1-D series (edges use the available samples)."""
    T = x.shape[0]
    half = window // 2
    padded = np.concatenate([np.full(half, np.inf), x, np.full(half, np.inf)])
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return view.min(axis=1)[:T]


# A leg is never asked to reach beyond this share of its length.
MAX_REACH = 0.9999
HIP_DROP_MIN = 0.002      # metres


def hip_drop(hips, knees, ankles, goals, fps) -> np.ndarray:
    """How far to lower the hips in each frame (T,) so that both ankle goals are within
    MAX_REACH of the leg's length; smoothed so the hips do not pop. All inputs (T, 2, 3)."""
    length = MAX_REACH * (np.linalg.norm(knees - hips, axis=-1) +
                          np.linalg.norm(ankles - knees, axis=-1))
    d = goals - hips
    horiz = np.minimum(np.linalg.norm(d[..., :2], axis=-1), length)
    need = np.maximum(-d[..., 2] - np.sqrt(np.maximum(length ** 2 - horiz ** 2, 0.0)), 0.0)
    drop = need.max(axis=1)
    if drop.max() < HIP_DROP_MIN * float(length.mean()) / (MAX_REACH * LEG_LENGTH):
        # a straight leg a hair too short (2 mm on an adult): the IK copes
        return np.zeros_like(drop)
    window = max(1, int(round(0.15 * fps))) | 1
    spread = -rolling_min(-drop, window)              # hold each need a little
    return np.maximum(smooth(spread[:, None], window)[:, 0], drop)


NEAR_STRAIGHT = np.radians(10.0)   # two_bone_ik: a knee bent less than this uses the hint


def two_bone_ik(hip, knee, ankle, target, w_thigh, w_shin, bend_hint,
                knees_forward: bool = False):
    """Analytic two-bone IK, all in world space, vectorised over frames.

    hip/knee/ankle/target: (T, 3) positions; w_thigh/w_shin: (T, 4) world rotations;
    bend_hint: (T, 3) a vector in the bend plane's normal direction for straight legs.
    knees_forward: keep knees bending forward (below) rather than in the plane the leg is
    bent in; off for retargeting, which must reproduce a source's knees as they are.
    Returns corrected world rotations for thigh and shin.
    """
    eps = 1e-6
    a = np.linalg.norm(knee - hip, axis=-1)
    b = np.linalg.norm(ankle - knee, axis=-1)
    d = np.clip(np.linalg.norm(target - hip, axis=-1), np.abs(a - b) + eps, a + b - eps)

    def unit(v):
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)

    def angle(u, v):
        return np.arccos(np.clip(np.sum(unit(u) * unit(v), axis=-1), -1.0, 1.0))

    hip_now = angle(ankle - hip, knee - hip)
    knee_now = angle(hip - knee, ankle - knee)
    hip_want = np.arccos(np.clip((b * b - a * a - d * d) / (-2 * a * d), -1, 1))
    knee_want = np.arccos(np.clip((d * d - a * a - b * b) / (-2 * a * b), -1, 1))
    geometric = np.cross(ankle - hip, knee - hip)
    flip = np.zeros(knee_now.shape, bool)
    if knees_forward:
        # Solve onto the hint's side (knees bend forward). A leg bent less than NEAR_STRAIGHT
        # has no reliable plane of its own (a sideways wobble of a millimetre decides it), so
        # the hint, made perpendicular to the hip-ankle line, is used. A knee bent the wrong
        # way that must bend more swings through straight to the forward side (the thigh
        # crosses the hip-ankle line); one that straightens or stays keeps its side. Without
        # this a slightly hyperextended knee was bent further backwards to reach a nearer goal
        # (knees popping 25-48 degrees backwards for a frame in the physics output pass).
        u = unit(ankle - hip)
        hint = unit(bend_hint - np.sum(bend_hint * u, axis=-1, keepdims=True) * u)
        backwards = np.sum(geometric * hint, axis=-1) < 0.0
        flip = backwards & (knee_want < knee_now - 1e-6)
        forward = np.where(((np.pi - knee_now) < NEAR_STRAIGHT)[..., None], hint,
                           unit(np.where(backwards[..., None], -geometric, geometric)))
        axis0 = np.where((backwards & ~flip)[..., None], -forward, forward)
    else:                   # the plane the leg is bent in (retargeting keeps a source's knees)
        straight = np.linalg.norm(geometric, axis=-1) < 1e-3 * a * np.maximum(
            np.linalg.norm(ankle - hip, axis=-1), eps)
        axis0 = unit(np.where(straight[..., None], bend_hint, geometric))
    axis1 = unit(np.cross(ankle - hip, target - hip))
    swing = angle(ankle - hip, target - hip)
    r0 = quat.from_axis_angle(axis0, np.where(flip, hip_want + hip_now, hip_want - hip_now))
    r1 = quat.from_axis_angle(axis0, np.where(flip, knee_now + knee_want - 2.0 * np.pi,
                                              knee_want - knee_now))
    no_swing = np.linalg.norm(np.cross(ankle - hip, target - hip), axis=-1) < 1e-9
    r2 = quat.from_axis_angle(axis1, np.where(no_swing, 0.0, swing))
    new_thigh = quat.mul(r2, quat.mul(r0, w_thigh))
    new_shin = quat.mul(r2, quat.mul(r0, quat.mul(r1, w_shin)))
    return quat.normalize(new_thigh), quat.normalize(new_shin)
