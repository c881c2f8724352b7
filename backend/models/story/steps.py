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

from ...motion.clip import Clip
from ...motion.footplant import LEG_NAMES, reach_ankles

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
    ends = [start - 1, end]
    _, pos = skel.fk(clip.local_rotations[ends], clip.root_translation[ends])
    frames = np.arange(start, end)
    u = (frames - (start - 1)) / float(end - (start - 1))          # (G,) in (0, 1)
    before, after = pos[0], pos[1]
    moves = [np.linalg.norm(after[a, :2] - before[a, :2]) for _h, _k, a, _b in legs]
    order = np.argsort(moves)[::-1]                                  # further to go first
    goals = [None, None]
    for rank, leg in enumerate(order):
        _h, _k, ankle, _b = legs[leg]
        a0, a1 = SWING[rank]
        s = _ease((u - a0) / (a1 - a0))
        goal = before[ankle][None] * (1 - s[:, None]) + after[ankle][None] * s[:, None]
        if moves[leg] >= STILL:
            goal[:, 2] += LIFT * np.sin(np.pi * np.clip((u - a0) / (a1 - a0), 0, 1))
        goals[leg] = goal
    return reach_ankles(clip, np.stack(goals, axis=1), frames)
