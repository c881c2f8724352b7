"""Feet that step instead of sliding in a transition. Numpy only.

The in-betweener fills a transition (a turn on the spot, sitting down, getting up, starting
to walk) with a plausible body, but it moves both feet at once and slides them over the
floor. ``step_feet(clip, start, end)`` re-does the legs of frames start..end-1: each foot
goes from where it is on the frame before the gap to where it is on the frame after it, one
foot after the other (the one with further to go first), lifted in an arc while it moves and
planted otherwise; the legs reach the feet with two-bone IK (the hips come down a little where
a straight leg cannot reach). Frames outside the gap are not touched.
"""
from __future__ import annotations

import numpy as np

from ...motion import quat
from ...motion.clip import Clip
from ...motion.footik import hip_drop
from ...motion.footplant import LEG_NAMES, _soft_reach, two_bone_ik

LIFT = 0.07                 # m: the swinging ankle's extra height at mid-step
STILL = 0.03                # m: a foot that has less than this to go stays planted
SWING = ((0.05, 0.5), (0.5, 0.95))   # shares of the gap: first and second foot's swing


def _ease(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def step_feet(clip: Clip, start: int, end: int) -> Clip:
    """`clip` with the legs of frames start..end-1 stepping (module doc). Needs a frame
    before and after the gap; returns the clip unchanged otherwise."""
    if start < 1 or end >= clip.num_frames or end - start < 2:
        return clip
    skel = clip.skeleton
    legs = [tuple(skel.index(n) for n in leg) for leg in LEG_NAMES]
    world, pos = skel.fk(clip.local_rotations, clip.root_translation)
    frames = np.arange(start, end)
    u = (frames - (start - 1)) / float(end - (start - 1))          # (G,) in (0, 1)
    before, after = pos[start - 1], pos[end]
    moves = [np.linalg.norm(after[a, :2] - before[a, :2]) for _h, _k, a, _b in legs]
    order = np.argsort(moves)[::-1]                                  # further to go first
    goals = []
    for rank, leg in enumerate(order):
        _h, _k, ankle, _b = legs[leg]
        a0, a1 = SWING[rank]
        s = _ease((u - a0) / (a1 - a0))
        goal = before[ankle][None] * (1 - s[:, None]) + after[ankle][None] * s[:, None]
        if moves[leg] >= STILL:
            goal[:, 2] += LIFT * np.sin(np.pi * np.clip((u - a0) / (a1 - a0), 0, 1))
        goals.append((leg, goal))
    goals.sort()
    goal = np.stack([g for _leg, g in goals], axis=1)                # (G, 2, 3)
    kh, kk, ka = (np.array([leg[i] for leg in legs]) for i in range(3))
    trans = clip.root_translation.copy()
    w, p = world[frames], pos[frames]
    drop = hip_drop(p[:, kh], p[:, kk], p[:, ka], goal, clip.fps)
    if drop.any():
        trans[frames, 2] -= drop
        w, p = skel.fk(clip.local_rotations[frames], trans[frames])
    goal = _soft_reach(p[:, kh], p[:, kk], p[:, ka], goal)
    hint = quat.rotate(w[:, kk], np.array([-1.0, 0.0, 0.0]))
    thigh, shin = two_bone_ik(p[:, kh], p[:, kk], p[:, ka], goal, w[:, kh], w[:, kk], hint)
    new_world = w.copy()
    new_world[:, kh], new_world[:, kk] = thigh, shin
    changed = np.concatenate([kh, kk])
    rots = clip.local_rotations.copy()
    local = skel.locals_from_world(new_world)
    rots[frames[:, None], changed[None]] = local[:, changed]
    # each foot keeps the in-betweener's world rotation (its local one follows the new shin)
    new_world[:, ka] = w[:, ka]
    rots[frames[:, None], ka[None]] = skel.locals_from_world(new_world)[:, ka]
    return Clip(quat.unroll(rots), trans, clip.fps, skel, dict(clip.meta))
