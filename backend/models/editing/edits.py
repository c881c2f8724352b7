"""Edits of a canonical clip made with the text-to-motion generator (issue 8, items 2-4):

* ``regenerate(gen, clip, start, end, text)``: frames start..end (inclusive) made anew from the
  text, the generator seeing up to ``CONTEXT_SECONDS`` on each side;
* ``extend(gen, clip, seconds, text)``: the clip continued by `seconds`;
* ``body_part(gen, clip, joints, text, start=None, end=None)``: only the given joints
  (``backend.motion.joints`` groups or names) are made anew, in the whole clip or a range.

Guarantees (tested): frames outside the edited range and joints outside the edited part come
out bit-identical to the input (the root too, unless it is edited); the edited frames are
placed where the clip is (heading and position at the last kept frame) and corrected so they
meet the kept frames without a jump in position or velocity
(``backend.motion.seams.blend_seams``). The generator works at 20 rows a second on HumanML3D features;
the clip keeps its own rate.
"""
from __future__ import annotations

import numpy as np

from ...motion.clip import Clip
from ...motion.joints import group_joints
from ...motion.seams import blend_seams
from .inbetween import _place, hold_to_length

CONTEXT_SECONDS = 2.0        # kept motion the generator sees on each side of an edit
MAX_EXTEND_SECONDS = 30.0


def check_range(clip: Clip, start: int, end: int) -> tuple[int, int]:
    """(start, end) as ints within the clip, inclusive; ValueError otherwise."""
    T = clip.num_frames
    start, end = int(start), int(end)
    if end < start:
        raise ValueError(f"the range {start}..{end} is empty (the end is before the start)")
    if start < 0 or end >= T:
        raise ValueError(f"the range {start}..{end} is outside the motion's frames 0..{T - 1}")
    if start == 0 and end == T - 1:
        raise ValueError("the range covers the whole motion: nothing would be kept to edit "
                         "around (generate a new clip instead, or edit a body part)")
    return start, end


def _generator_fill(gen, window: Clip, kept_frames: np.ndarray, kept_joints, text: str,
                    seed: int, steps, guidance, extra_frames: int = 0,
                    fuse: bool = False) -> Clip:
    """The generator's version of `window` (T + extra_frames frames at window.fps): kept
    frames (T,) bool keep all their features, kept_joints (indices or None) keep theirs on
    every frame; the rest is generated. Not yet placed or corrected."""
    from ...motion import humanml3d as H
    from ...motion.resample import resample
    from ..text2motion.config import FPS
    from ..text2motion.keep import Keep, joint_feature_dims

    fps = window.fps
    at20 = resample(window, FPS)
    feats = H.clip_to_features(at20)                                   # (R, 263)
    R = feats.shape[0]
    frame_of_row = np.arange(R) * fps / FPS                            # window frame, fractional
    lo = np.clip(np.floor(frame_of_row).astype(int), 0, window.num_frames - 1)
    hi = np.clip(np.ceil(frame_of_row).astype(int), 0, window.num_frames - 1)
    row_kept = kept_frames[lo] & kept_frames[hi]
    mask = np.zeros(feats.shape, bool)
    mask[row_kept] = True
    if kept_joints:
        cols = np.zeros(feats.shape[1], bool)
        for j in kept_joints:
            cols[joint_feature_dims(int(j))] = True
        mask |= cols[None]
    total = window.num_frames + extra_frames
    rows = max(R, int(round((total - 1) * FPS / fps)))
    kwargs = {}
    if steps is not None:
        kwargs["steps"] = int(steps)
    if guidance is None and not text.strip():
        guidance = 1.0              # nothing to steer towards (docs/editing.md)
    if guidance is not None:
        kwargs["guidance"] = float(guidance)
    out = gen.generate([text], [rows / FPS], [int(seed)], keep=[Keep(feats, mask=mask)],
                       **kwargs)[0]
    if fuse and len(out) >= 3:
        # fit positions to both the generated positions and velocities, as a plain
        # generation's clean-up does (no grounding or foot pinning: the kept joints and
        # the root are spliced back from the input exactly)
        from ...motion.cleanup import fuse_velocities, joints_to_features
        out = joints_to_features(fuse_velocities(out))
    made = resample(gen.to_clip(out, cleanup=False), fps)
    return hold_to_length(made, total)


def _anchor(kept: np.ndarray, start: int) -> int:
    """The kept frame to place generated motion at: the last one before `start`, else the
    first one after."""
    before = np.flatnonzero(kept[:start])
    if before.size:
        return int(before[-1])
    return int(np.flatnonzero(kept)[0])


def _splice(clip: Clip, made: Clip, w0: int, start: int, end: int, joints=None) -> Clip:
    """`clip` with frames start..end (of joints, default all + root) from `made` (a window
    starting at clip frame w0, already corrected)."""
    rots = clip.local_rotations.copy()
    root = clip.root_translation.copy()
    sl = slice(start, end + 1)
    msl = slice(start - w0, end + 1 - w0)
    if joints is None:
        rots[sl] = made.local_rotations[msl]
        root[sl] = made.root_translation[msl]
    else:
        idx = np.asarray(joints, dtype=np.int64)
        rots[sl, idx] = made.local_rotations[msl][:, idx]
        if 0 in joints:
            root[sl] = made.root_translation[msl]
        else:
            _keep_world_at_boundary(rots, clip, made, sl, msl, set(int(j) for j in idx))
    return Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta))


def _keep_world_at_boundary(rots, clip: Clip, made: Clip, sl, msl, joints: set) -> None:
    """A spliced joint whose parent is kept (the spine above a kept pelvis) gets the world
    rotation it has in `made`: its rotation local to the kept parent would carry every
    frame's difference between the two parents' poses into the whole spliced chain (measured
    on upper-body edits: jerk 158 m/s^3 in the generated window, 519 once spliced)."""
    from ...motion import quat
    sk = clip.skeleton
    bounds = [j for j in sorted(joints) if sk.parents[j] >= 0 and int(sk.parents[j]) not in joints]
    if not bounds:
        return
    world_made, _ = sk.fk(made.local_rotations[msl])
    world_orig, _ = sk.fk(clip.local_rotations[sl])
    rest = sk.rest_rotations
    for j in bounds:
        p = int(sk.parents[j])
        full = quat.mul(world_made[:, p], quat.mul(rest[j], made.local_rotations[msl][:, j]))
        rots[sl, j] = quat.inv_mul(rest[j], quat.inv_mul(world_orig[:, p], full))


def _window_bounds(clip: Clip, start: int, end: int) -> tuple[int, int]:
    ctx = int(round(CONTEXT_SECONDS * clip.fps))
    return max(0, start - ctx), min(clip.num_frames, end + 1 + ctx)


def regenerate(gen, clip: Clip, start: int, end: int, text: str = "", seed: int = 0,
               steps=None, guidance=None) -> Clip:
    """Frames start..end (inclusive) re-made from `text` (see the module doc)."""
    start, end = check_range(clip, start, end)
    w0, w1 = _window_bounds(clip, start, end)
    window = clip.slice(w0, w1)
    kept = np.ones(window.num_frames, bool)
    kept[start - w0:end + 1 - w0] = False
    made = _generator_fill(gen, window, kept, None, text, seed, steps, guidance)
    made = _place(made, window, _anchor(kept, start - w0))
    made = blend_seams(made, window, start - w0, end - w0)
    out = _splice(clip, made, w0, start, end)
    out.meta.update({"edit": "regenerate", "range": [start, end], "text": text,
                     "seed": int(seed)})
    return out


def extend(gen, clip: Clip, seconds: float, text: str = "", seed: int = 0, steps=None,
           guidance=None) -> Clip:
    """The clip continued by `seconds` (its frames unchanged, the new ones appended)."""
    seconds = float(seconds)
    if not 0 < seconds <= MAX_EXTEND_SECONDS:
        raise ValueError(f"continue by more than 0 and at most {MAX_EXTEND_SECONDS:g} s, got "
                         f"{seconds:g}")
    extra = max(1, int(round(seconds * clip.fps)))
    ctx = int(round(CONTEXT_SECONDS * clip.fps))
    w0 = max(0, clip.num_frames - ctx)
    window = clip.slice(w0, clip.num_frames)
    Tw = window.num_frames
    kept = np.ones(Tw, bool)
    made = _generator_fill(gen, window, kept, None, text, seed, steps, guidance,
                           extra_frames=extra)
    made = _place(made, window, Tw - 1)
    made = blend_seams(made, Clip(np.concatenate([window.local_rotations,
                                                  made.local_rotations[Tw:]]),
                                  np.concatenate([window.root_translation,
                                                  made.root_translation[Tw:]]),
                                  clip.fps, clip.skeleton), Tw, Tw + extra - 1)
    out = Clip(np.concatenate([clip.local_rotations, made.local_rotations[Tw:]]),
               np.concatenate([clip.root_translation, made.root_translation[Tw:]]),
               clip.fps, clip.skeleton, dict(clip.meta))
    out.meta.update({"edit": "continue", "seconds": seconds, "text": text, "seed": int(seed)})
    return out


def body_part(gen, clip: Clip, parts, text: str = "", seed: int = 0, start: int | None = None,
              end: int | None = None, steps=None, guidance=None) -> Clip:
    """The joints of `parts` (group or joint names) re-made from `text`, the others (and the
    root, unless "pelvis" / "lower_body" is among the parts) kept exactly; in frames
    start..end only when a range is given."""
    joints = group_joints(parts)
    whole = start is None and end is None
    if whole:
        start, end = 0, clip.num_frames - 1
    elif start is None or end is None:
        raise ValueError("give both ends of the range, or neither for the whole motion")
    else:
        start, end = check_range(clip, start, end)
    w0, w1 = (0, clip.num_frames) if whole else _window_bounds(clip, start, end)
    window = clip.slice(w0, w1)
    kept = np.ones(window.num_frames, bool)
    kept[start - w0:end + 1 - w0] = False
    others = [j for j in range(len(clip.skeleton)) if j not in joints]
    # the generated positions fitted to the generated velocities before the rotations are
    # solved (cleanup.fuse_velocities): on 24 "walk / run and wave" compositions, jerk
    # 232 -> 90 m/s^3 with the world-kept boundary of _splice (real mocap 73)
    made = _generator_fill(gen, window, kept, others, text, seed, steps, guidance, fuse=True)
    if 0 in joints:
        made = _place(made, window, _anchor(kept, start - w0) if kept.any() else 0)
    if kept.any():
        made = blend_seams(made, window, start - w0, end - w0)
    out = _splice(clip, made, w0, start, end, joints)
    out.meta.update({"edit": "body_part", "parts": list(parts) if not isinstance(parts, str)
                     else [parts], "range": [start, end], "text": text, "seed": int(seed)})
    return out
