"""In-betweening on canonical clips: fill the frames between known poses, passing exactly
through them (issue 8, item 1; the Blender side and the other edits come later).

Two fillers, same interface ``fill(clip, known) -> Clip`` (known: sorted frame indices whose
pose is given; every other frame is made anew):

* ``slerp_fill``: local rotations slerped and the root moved in a straight line between
  consecutive known frames (the baseline the LAFAN1 benchmark compares against);
* ``model_fill``: the text-to-motion generator's editing mask keeps the known frames' features
  (20 rows a second) and generates the rest, optionally steered by text; then the result is
  placed where the clip is (heading and position at the first known frame) and corrected so
  that it passes *exactly* through every known pose: the differences at the known frames
  (per joint rotation, root position) are spread smoothly over the frames between them.
"""
from __future__ import annotations

import numpy as np

from ...motion import quat
from ...motion.clip import Clip


def _check(clip: Clip, known) -> np.ndarray:
    known = np.unique(np.asarray(known, dtype=np.int64))
    T = clip.num_frames
    if known.size < 2:
        raise ValueError("in-betweening needs at least two known poses (got "
                         f"{known.size})")
    if known[0] < 0 or known[-1] >= T:
        raise ValueError(f"known frames must lie in 0..{T - 1}")
    return known


def hold_to_length(clip: Clip, frames: int) -> Clip:
    """`clip` cut to `frames` frames, or made that long by holding its last frame."""
    pad = frames - clip.num_frames
    if pad > 0:
        clip = Clip(np.concatenate([clip.local_rotations,
                                    np.repeat(clip.local_rotations[-1:], pad, 0)]),
                    np.concatenate([clip.root_translation,
                                    np.repeat(clip.root_translation[-1:], pad, 0)]),
                    clip.fps, clip.skeleton, clip.meta)
    return clip.slice(0, frames)


def _segments(T: int, known: np.ndarray):
    """For every frame: the known frame before it, after it, and how far between (0..1)."""
    frames = np.arange(T)
    right_i = np.clip(np.searchsorted(known, frames, side="left"), 0, len(known) - 1)
    left_i = np.clip(right_i - 1, 0, len(known) - 1)
    on_key = known[right_i] == frames
    left_i = np.where(on_key, right_i, left_i)
    lo, hi = known[left_i], known[right_i]
    t = np.where(hi > lo, (frames - lo) / np.maximum(hi - lo, 1), 0.0)
    before = frames < known[0]
    after = frames > known[-1]
    lo = np.where(before, known[0], np.where(after, known[-1], lo))
    hi = np.where(before, known[0], np.where(after, known[-1], hi))
    t = np.where(before | after, 0.0, t)
    return lo, hi, t


def slerp_fill(clip: Clip, known) -> Clip:
    """Baseline: slerp each joint's local rotation and lerp the root between known frames."""
    known = _check(clip, known)
    lo, hi, t = _segments(clip.num_frames, known)
    rots = quat.slerp(clip.local_rotations[lo], clip.local_rotations[hi],
                      np.broadcast_to(t[:, None], (clip.num_frames, len(clip.skeleton))))
    root = (1 - t)[:, None] * clip.root_translation[lo] + t[:, None] * clip.root_translation[hi]
    rots[known] = clip.local_rotations[known]            # exactly, not to rounding
    root[known] = clip.root_translation[known]
    return Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta, inbetween="slerp"))


def pass_through(filled: Clip, given: Clip, known) -> Clip:
    """Correct `filled` so that it equals `given` on every known frame: the rotation and root
    differences at the known frames are interpolated (slerp / lerp) over the frames between,
    and held before the first and after the last."""
    known = _check(given, known)
    lo, hi, t = _segments(given.num_frames, known)
    J = len(given.skeleton)
    diff = quat.mul(given.local_rotations[known],
                    quat.conjugate(filled.local_rotations[known]))          # (K, J, 4)
    diff = quat.normalize(diff * np.sign(diff[..., :1] + 1e-12))
    pos = {int(k): i for i, k in enumerate(known)}
    d_lo = diff[[pos[int(f)] for f in lo]]
    d_hi = diff[[pos[int(f)] for f in hi]]
    fix = quat.slerp(d_lo, d_hi, np.broadcast_to(t[:, None], (given.num_frames, J)))
    rots = quat.normalize(quat.mul(fix, filled.local_rotations))
    root_diff = given.root_translation[known] - filled.root_translation[known]
    r_lo = root_diff[[pos[int(f)] for f in lo]]
    r_hi = root_diff[[pos[int(f)] for f in hi]]
    root = filled.root_translation + (1 - t)[:, None] * r_lo + t[:, None] * r_hi
    rots[known] = given.local_rotations[known]          # exactly, not to rounding
    root[known] = given.root_translation[known]
    return Clip(rots, root, given.fps, given.skeleton, dict(filled.meta))


def _place(moved: Clip, onto: Clip, frame: int) -> Clip:
    """Turn (about Z) and shift `moved` so its root at `frame` stands where `onto`'s does,
    facing the same way."""
    def heading(c):
        q = c.local_rotations[frame, 0]
        f = quat.rotate(q, np.array([0.0, -1.0, 0.0]))
        return np.arctan2(f[0], -f[1])
    yaw = heading(onto) - heading(moved)
    turn = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(yaw))
    rots = moved.local_rotations.copy()
    rots[:, 0] = quat.mul(np.broadcast_to(turn, rots[:, 0].shape), rots[:, 0])
    root = quat.rotate(np.broadcast_to(turn, moved.root_translation.shape[:1] + (4,)),
                       moved.root_translation - moved.root_translation[frame])
    root = root + onto.root_translation[frame]
    return Clip(rots, root, moved.fps, moved.skeleton, dict(moved.meta))


def model_fill(generator, clip: Clip, known, text: str = "", seed: int = 0,
               steps: int | None = None, guidance: float | None = None) -> Clip:
    """The generator fills the frames between `known` (see the module doc). `clip` holds
    the known poses (other frames are ignored); its fps may be any."""
    from ...motion import humanml3d as H
    from ...motion.resample import resample
    from ..text2motion.config import FPS
    from ..text2motion.keep import Keep

    known = _check(clip, known)
    at20 = resample(clip, FPS)
    feats = H.clip_to_features(at20)                                 # (R, 263), R = T20 - 1?
    R = feats.shape[0]
    rows = np.unique(np.clip(np.round(known / clip.fps * FPS).astype(np.int64), 0, R - 1))
    kwargs = {}
    if steps is not None:
        kwargs["steps"] = steps
    if guidance is None and not text.strip():
        guidance = 1.0          # no text to steer towards: plain conditional sampling (measured
        #                         better than guidance on held-out gaps, docs/editing.md)
    if guidance is not None:
        kwargs["guidance"] = guidance
    out = generator.generate([text], [None], [seed], keep=[Keep(feats, frames=rows)],
                             **kwargs)[0]
    made = generator.to_clip(out, cleanup=False)
    made = resample(made, clip.fps)
    T = clip.num_frames
    made = hold_to_length(made, T)
    made = _place(made, clip, int(known[0]))
    result = pass_through(made, clip, known)
    result.meta.update({"inbetween": "model", "text": text, "seed": int(seed)})
    return result
