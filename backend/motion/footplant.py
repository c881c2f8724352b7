"""Planted feet held still after a timing edit (numpy only).

Resampling a clip (``timing.retime``) multiplies every velocity by the speed factor, also
the slow drift of a planted foot, and interpolating a pose between two frames bends a
planted foot's path; blending a loop's ends moves feet too. ``keep_feet_planted`` fixes
that: for every stretch where a foot is planted in the source (``footik.contact_segments``
on its ankle and on the ball of the foot, mapped onto the edited clip's timeline), the planted
point is held at its mean horizontal position (the ball where it is planted, else the ankle)
and the leg re-solved by two-bone IK from the hip (the ankle keeps its world orientation, so
the foot does not turn). Between two contacts the correction eases from one to the next over
the swing on a cubic Hermite curve that leaves and arrives with the slope it has inside the
contacts (no velocity jump), and it fades out before the first and after the last contact.
A leg is never stretched by more than REACH_SHARE of what it has left to full length: near
full extension the knee would swing a lot for a millimetre of reach (a visible pop).

``planted_masks`` / ``planted_speed`` measure it: the mean horizontal speed of the foot
joints over the frames in which they are planted (0 for feet that do not slide).
"""
from __future__ import annotations

import numpy as np

from . import quat
from .clip import Clip
from .footik import (CONTACT_BLEND_SECONDS, LEG_LENGTH, contact_segments, hip_drop, leg_length,
                     two_bone_ik)

REACH_SHARE = 0.5                      # a leg stretches by at most this share of its slack
# (hip, knee, ankle, ball of the foot) of each leg
LEG_NAMES = (("left_hip", "left_knee", "left_ankle", "left_foot"),
             ("right_hip", "right_knee", "right_ankle", "right_foot"))


def has_legs(skel) -> bool:
    """The skeleton names both legs' joints (the canonical one does)."""
    return all(name in skel.names for leg in LEG_NAMES for name in leg)


def leg_unit(skel) -> float:
    """The skeleton's size in adults (leg length / footik.LEG_LENGTH)."""
    joints = [n for leg in LEG_NAMES for n in leg[:3]]
    return leg_length(skel.rest_world()[1], {n: skel.index(n) for n in joints}) / LEG_LENGTH


def _planted_mask(points: np.ndarray, fps: float, rest_height: float, unit: float,
                  src_t: np.ndarray) -> np.ndarray:
    """(N,) True where the output frame's source time lies in a contact of points (T, 3)."""
    mask = np.zeros(len(src_t), dtype=bool)
    for a, b in contact_segments(points, fps, rest_height, unit):
        mask |= (src_t >= a - 1e-9) & (src_t <= b - 1 + 1e-9)
    return mask


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def keep_feet_planted(src: Clip, out: Clip, src_t: np.ndarray, max_run: int | None = None
                      ) -> Clip:
    """`out` (N frames) with each foot that is planted in `src` (T frames) held still.

    src_t: (N,) where each output frame falls on the source timeline, in fractional source
    frames (contacts are found on the source and mapped through it). Contacts longer than
    max_run output frames are left as they are. Returns a new Clip; only the legs' rotations
    (hips, knees, ankles) change, and the root's height where a leg cannot reach."""
    skel = src.skeleton
    unit = leg_unit(skel)
    _, rest = skel.rest_world()
    src_pos = src.positions()
    world, pos = skel.fk(out.local_rotations, out.root_translation)
    N = out.num_frames
    blend = max(1, int(round(CONTACT_BLEND_SECONDS * out.fps)))
    legs = [tuple(skel.index(n) for n in leg) for leg in LEG_NAMES]
    goals, any_fix = [], False
    for hip, knee, ankle, ball in legs:
        shift = np.zeros((N, 3))          # horizontal move of the ankle goal
        weight = np.zeros(N)
        ball_on = _planted_mask(src_pos[:, ball], src.fps, rest[ball, 2], unit, src_t)
        ankle_on = _planted_mask(src_pos[:, ankle], src.fps, rest[ankle, 2], unit, src_t)
        # The ball of the foot anchors wherever it is planted, the ankle (heel) elsewhere.
        for joint, on in ((ball, ball_on), (ankle, ankle_on & ~ball_on)):
            for a, b in _runs(on):
                if max_run is not None and b - a > max_run:
                    continue
                pin = pos[a:b, joint, :2].mean(axis=0)
                shift[a:b, :2] = pin - pos[a:b, joint, :2]
                weight[a:b] = 1.0
        _ease_between_contacts(shift, weight > 0, 2 * blend)
        any_fix |= bool(weight.any())
        goals.append(pos[:, ankle] + shift)
    if not any_fix:
        return out
    return reach_ankles(out, np.stack(goals, axis=1))


def reach_ankles(clip: Clip, goal: np.ndarray, frames: np.ndarray | None = None) -> Clip:
    """`clip` with its legs turned by two-bone IK so that the ankles reach `goal` (F, 2, 3)
    (left, right; world metres) on `frames` (F indices; None: every frame). The hips come down
    a little where a straight leg cannot reach; each foot keeps its world rotation; only the
    hips', knees' and ankles' rotations (and the root's height) change. Returns a new Clip."""
    skel = clip.skeleton
    legs = [tuple(skel.index(n) for n in leg) for leg in LEG_NAMES]
    kh, kk, ka = (np.array([leg[i] for leg in legs]) for i in range(3))
    frames = np.arange(clip.num_frames) if frames is None else np.asarray(frames)
    trans = clip.root_translation.copy()
    world, pos = skel.fk(clip.local_rotations[frames], trans[frames])
    drop = hip_drop(pos[:, kh], pos[:, kk], pos[:, ka], goal, clip.fps)
    if drop.any():              # a straight leg that cannot reach: lower the hips a little
        trans[frames, 2] -= drop
        world, pos = skel.fk(clip.local_rotations[frames], trans[frames])
    goal = _soft_reach(pos[:, kh], pos[:, kk], pos[:, ka], goal)
    hint = quat.rotate(world[:, kk], np.array([-1.0, 0.0, 0.0]))
    thigh, shin = two_bone_ik(pos[:, kh], pos[:, kk], pos[:, ka], goal,
                              world[:, kh], world[:, kk], hint, knees_forward=True)
    new_world = world.copy()
    new_world[:, kh], new_world[:, kk] = thigh, shin
    changed = np.concatenate([kh, kk, ka])
    rots = clip.local_rotations.copy()
    rots[frames[:, None], changed[None]] = skel.locals_from_world(new_world)[:, changed]
    return Clip(quat.unroll(rots), trans, clip.fps, skel, dict(clip.meta))


def _soft_reach(hip, knee, ankle, goal):
    """Goals (..., 3) pulled in along the hip-goal line so that a leg stretches by at most
    REACH_SHARE of what it has left to full length: near full extension the knee swings a
    lot for a millimetre of reach, and a foot falling a hair short shows less than a knee
    that pops straight. All (..., 3)."""
    length = np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1)
    now = np.linalg.norm(ankle - hip, axis=-1)
    d = goal - hip
    want = np.linalg.norm(d, axis=-1)
    allowed = now + REACH_SHARE * np.maximum(length - now, 0.0)
    scale = np.where(want > allowed, allowed / np.maximum(want, 1e-12), 1.0)
    return hip + d * scale[..., None]


def _ease_between_contacts(shift: np.ndarray, held: np.ndarray, fade: int) -> None:
    """Fill `shift` (N, 3) outside the held frames, in place: between two contacts a cubic
    Hermite curve goes from the one's shift to the next one's over the whole swing (where
    the foot moves fast anyway, so the catch-up does not show), leaving and arriving with
    the slope the shift has inside the contacts, so the foot's velocity stays continuous;
    before the first / after the last contact it fades to zero over `fade` frames."""
    runs = _runs(held)
    if not runs:
        return
    N = len(shift)

    def slope(a, b, at_end):            # per frame, inside the run [a, b)
        if b - a < 2:
            return np.zeros(3)
        return shift[b - 1] - shift[b - 2] if at_end else shift[a + 1] - shift[a]

    def fill(first, last, p0, m0, p1, m1):
        """shift[first+1 .. last-1] on the Hermite curve from frame first to frame last."""
        g = last - first
        u = (np.arange(1, g) / g)[:, None]
        h00, h10 = 2 * u ** 3 - 3 * u ** 2 + 1, u ** 3 - 2 * u ** 2 + u
        h01, h11 = -2 * u ** 3 + 3 * u ** 2, u ** 3 - u ** 2
        shift[first + 1:last] = h00 * p0 + h10 * g * m0 + h01 * p1 + h11 * g * m1

    for (a0, b0), (a1, b1) in zip(runs[:-1], runs[1:]):
        fill(b0 - 1, a1, shift[b0 - 1], slope(a0, b0, True), shift[a1], slope(a1, b1, False))
    (a, b), zero = runs[0], np.zeros(3)
    lead = min(fade, a)
    if lead:                            # frame a - lead - 1 (-1 at the clip's start) is 0
        shift[:a - lead] = 0.0
        fill(a - lead - 1, a, zero, zero, shift[a], slope(a, b, False))
    a, b = runs[-1]
    tail = min(fade, N - b)
    if tail:
        shift[b + tail:] = 0.0
        fill(b - 1, b + tail, shift[b - 1], slope(a, b, True), zero, zero)


def planted_masks(clip: Clip, src_t: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Where each foot joint (ankles and balls of the feet) of `clip` is planted
    (footik.contact_segments), mapped onto a timeline that samples the clip at fractional
    frames src_t (None: its own frames): {joint index: (N,) bool}."""
    skel = clip.skeleton
    src_t = np.arange(clip.num_frames, dtype=np.float64) if src_t is None else src_t
    unit = leg_unit(skel)
    _, rest = skel.rest_world()
    pos = clip.positions()
    joints = [skel.index(leg[i]) for leg in LEG_NAMES for i in (2, 3)]
    return {j: _planted_mask(pos[:, j], clip.fps, rest[j, 2], unit, src_t) for j in joints}


def planted_speed(clip: Clip, masks: dict[int, np.ndarray]) -> float:
    """Mean horizontal speed (m/s) of the foot joints over the frame transitions in which
    they are planted at both ends (masks from ``planted_masks``): 0 for feet that stay put."""
    pos = clip.positions()
    speeds = []
    for j, on in masks.items():
        both = on[1:] & on[:-1]
        v = np.linalg.norm(np.diff(pos[:, j, :2], axis=0), axis=-1) * clip.fps
        speeds.append(v[both])
    allv = np.concatenate(speeds) if speeds else np.zeros(0)
    return float(allv.mean()) if allv.size else 0.0
