"""Training windows for the learned in-betweener (numpy only; torch lives in model.py).

A window is ``context`` known frames, then ``gap`` missing frames, then one known target
frame, all expressed in the *reference frame* of the last context frame: the root position
is taken relative to that frame's root, and everything is turned about Z so that its heading
(where the pelvis faces) is -Y. Missing frames are given as the slerp / lerp interpolation
between the last context frame and the target (the network predicts a delta over it).

Per frame the network sees (``pose`` rows, POSE_DIM = 22 * 6 + 3):
  [local rotations as 6D (first two matrix columns) | root position (metres)]
plus ``known`` (1 given, 0 missing), ``gap_t`` (0..1 through the gap, 0 on known frames) and
the gap length. Windows shorter than ``config.max_frames`` are padded (``valid`` = 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...motion import quat
from .config import POSE_DIM, InbetweenConfig

_FORWARD = np.array([0.0, -1.0, 0.0])
_UP = np.array([0.0, 0.0, 1.0])


def heading(root_rotation: np.ndarray) -> np.ndarray:
    """Yaw (radians, about +Z) of where the pelvis faces; 0 = facing -Y. (...,4) -> (...)."""
    f = quat.rotate(root_rotation, np.broadcast_to(_FORWARD, root_rotation.shape[:-1] + (3,)))
    return np.arctan2(f[..., 0], -f[..., 1])


def to_reference(rots: np.ndarray, root: np.ndarray, ref: int):
    """Express a window in frame `ref`'s reference frame.

    rots (L, J, 4) local rotations, root (L, 3) -> (rots', root', yaw, origin): the root
    joint's rotation turned by -yaw about Z, root' = turn(-yaw) (root - root[ref])."""
    yaw = float(heading(rots[ref, 0]))
    origin = root[ref].copy()
    turn = quat.from_axis_angle(_UP, np.array(-yaw))
    out = rots.copy()
    out[:, 0] = quat.mul(np.broadcast_to(turn, out[:, 0].shape), out[:, 0])
    rel = quat.rotate(np.broadcast_to(turn, root.shape[:-1] + (4,)), root - origin)
    return out, rel, yaw, origin


def from_reference(rots: np.ndarray, root: np.ndarray, yaw: float, origin: np.ndarray):
    """Inverse of ``to_reference``: (rots (L, J, 4), root (L, 3)) back to the world."""
    turn = quat.from_axis_angle(_UP, np.array(yaw))
    out = rots.copy()
    out[:, 0] = quat.mul(np.broadcast_to(turn, out[:, 0].shape), out[:, 0])
    world = quat.rotate(np.broadcast_to(turn, root.shape[:-1] + (4,)), root) + origin
    return out, world


def interpolated(rots: np.ndarray, root: np.ndarray, context: int, gap: int):
    """The window with its `gap` missing frames (after `context` frames) replaced by slerp /
    lerp between the last context frame and the target. (L, J, 4), (L, 3) -> same shapes."""
    a, b = context - 1, context + gap
    t = (np.arange(1, gap + 1) / (gap + 1))
    out_r, out_p = rots.copy(), root.copy()
    J = rots.shape[1]
    out_r[context:b] = quat.slerp(np.broadcast_to(rots[a], (gap, J, 4)),
                                  np.broadcast_to(rots[b], (gap, J, 4)),
                                  np.broadcast_to(t[:, None], (gap, J)))
    out_p[context:b] = (1 - t)[:, None] * root[a] + t[:, None] * root[b]
    return out_r, out_p


def pose_rows(rots: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(L, J, 4), (L, 3) -> (L, J * 6 + 3) float32 network rows."""
    L = rots.shape[0]
    return np.concatenate([quat.to_6d(rots).reshape(L, -1), root], -1).astype(np.float32)


@dataclass
class Window:
    """One network input (unbatched). pose_in / pose_true: (Lmax, POSE_DIM); known, gap_t,
    valid: (Lmax,); gap: missing frames; yaw / origin: the reference frame (for going back)."""
    pose_in: np.ndarray
    pose_true: np.ndarray
    known: np.ndarray
    gap_t: np.ndarray
    valid: np.ndarray
    gap: int
    yaw: float
    origin: np.ndarray


def make_window(rots: np.ndarray, root: np.ndarray, config: InbetweenConfig) -> Window:
    """A window of `context` + gap + 1 frames (rots (L, J, 4), root (L, 3); the gap frames'
    values are only used as the truth) -> padded network input."""
    C = config.context
    L = rots.shape[0]
    gap = L - C - 1
    if not 1 <= gap <= config.max_gap:
        raise ValueError(f"window of {L} frames: gap {gap} outside 1..{config.max_gap}")
    r, p, yaw, origin = to_reference(rots, root, C - 1)
    ir, ip = interpolated(r, p, C, gap)
    Lmax = config.max_frames
    pose_in = np.zeros((Lmax, POSE_DIM), np.float32)
    pose_true = np.zeros((Lmax, POSE_DIM), np.float32)
    pose_in[:L] = pose_rows(ir, ip)
    pose_true[:L] = pose_rows(r, p)
    known = np.zeros(Lmax, np.float32)
    known[:C] = 1.0
    known[L - 1] = 1.0
    gap_t = np.zeros(Lmax, np.float32)
    gap_t[C:C + gap] = np.arange(1, gap + 1) / (gap + 1)
    valid = np.zeros(Lmax, np.float32)
    valid[:L] = 1.0
    return Window(pose_in, pose_true, known, gap_t, valid, gap, yaw, origin)


def stack(windows: list[Window]) -> dict:
    """Batch of windows -> dict of arrays (N, Lmax, ...) plus "gap" (N,)."""
    return {"pose_in": np.stack([w.pose_in for w in windows]),
            "pose_true": np.stack([w.pose_true for w in windows]),
            "known": np.stack([w.known for w in windows]),
            "gap_t": np.stack([w.gap_t for w in windows]),
            "valid": np.stack([w.valid for w in windows]),
            "gap": np.array([w.gap for w in windows], np.float32)}


def load_clips(splits=("train",), mirror: bool = True, fps: float = 30.0,
               bandai_library=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(local rotations (T, 22, 4), root (T, 3)) of the shipped CMU library's clips whose take
    is in `splits` (never "test" for training), resampled to `fps`, plus their mirror images.
    `bandai_library`: optional path of a canonical Bandai library (all its clips are used)."""
    from ...data.library import DEFAULT_LIBRARY, MotionLibrary
    from ...data.t2m_dataset import entry_take, split_of
    from ...motion.mirror import mirror_clip
    from ...motion.resample import resample
    libs = [(MotionLibrary.load(DEFAULT_LIBRARY), True)]
    if bandai_library is not None:
        libs.append((MotionLibrary.load(bandai_library), False))
    out = []
    for lib, use_split in libs:
        for i, e in enumerate(lib.entries):
            if use_split and split_of(entry_take(e)) not in splits:
                continue
            clip = resample(lib.clip(i), fps)
            out.append((clip.local_rotations, clip.root_translation))
            if mirror:
                m = mirror_clip(clip)
                out.append((m.local_rotations, m.root_translation))
    return out


class WindowSampler:
    """Random training windows from clips: a clip picked in proportion to its length, a gap
    uniform in 1..max_gap, a random start. With probability `short_context` the first frames
    of the context are replaced by holding a later context frame (so the network also copes
    with a key near the clip's start, where less than `context` frames precede the gap)."""

    def __init__(self, clips, config: InbetweenConfig, seed: int = 0,
                 short_context: float = 0.15):
        self.config = config
        self.clips = [c for c in clips if c[0].shape[0] >= config.context + 2]
        if not self.clips:
            raise ValueError("no clip long enough for a training window")
        lengths = np.array([c[0].shape[0] for c in self.clips], np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)
        self.short_context = short_context

    def window(self) -> Window:
        C = self.config.context
        while True:
            rots, root = self.clips[self.rng.choice(len(self.clips), p=self.weights)]
            T = rots.shape[0]
            gap = int(self.rng.integers(1, self.config.max_gap + 1))
            L = C + gap + 1
            if T >= L:
                break
        s = int(self.rng.integers(0, T - L + 1))
        r, p = rots[s:s + L].copy(), root[s:s + L].copy()
        if self.rng.random() < self.short_context:
            k = int(self.rng.integers(1, C))
            r[:k], p[:k] = r[k], p[k]
        return make_window(r, p, self.config)

    def batch(self, n: int) -> dict:
        return stack([self.window() for _ in range(n)])


def protocol_windows(clips, config: InbetweenConfig, gap: int, hop: int = 60,
                     per_clip: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """Evaluation windows (rots, root) of context + gap + 1 frames, one every `hop` frames,
    at most `per_clip` per clip (the held-out protocol of evaluate.py)."""
    L = config.context + gap + 1
    out = []
    for rots, root in clips:
        for s in list(range(0, rots.shape[0] - L + 1, hop))[:per_clip]:
            out.append((rots[s:s + L], root[s:s + L]))
    return out
