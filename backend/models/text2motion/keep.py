"""Editing masks of the generator (``Generator.generate(keep=...)``): which of the 263
features of which rows are given (docs/text2motion.md, Editing)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...motion import humanml3d as H
from ...motion.skeleton import CANONICAL_NAMES
from .config import FEATURE_DIM


def joint_feature_dims(joint: int | str) -> np.ndarray:
    """Indices of the 263 features that describe one joint (index or canonical name): the
    root's rotation/linear velocity and height for the pelvis, its RIC position, ROT6D
    rotation, local velocity, and a foot-contact flag for ankles and feet."""
    j = CANONICAL_NAMES.index(joint) if isinstance(joint, str) else int(joint)
    if not 0 <= j < H.NUM_JOINTS:
        raise ValueError(f"joint index {j} is out of range 0..{H.NUM_JOINTS - 1}")
    dims = []
    if j == 0:
        dims += list(range(H.ROOT_ROT_VEL.start, H.ROOT_HEIGHT.stop))
    else:
        dims += list(range(H.RIC.start + 3 * (j - 1), H.RIC.start + 3 * j))
        dims += list(range(H.ROT6D.start + 6 * (j - 1), H.ROT6D.start + 6 * j))
    dims += list(range(H.LOCAL_VEL.start + 3 * j, H.LOCAL_VEL.start + 3 * j + 3))
    for k, fj in enumerate(sum(H.FOOT_CONTACT_JOINTS, ())):
        if fj == j:
            dims.append(H.FOOT_CONTACT.start + k)
    return np.asarray(dims, dtype=np.int64)


@dataclass
class Keep:
    """What to keep when editing: known (unnormalised) features (K, 263) for the first K rows
    of the clip, and which of them are given. ``mask`` (K, 263) bool, ``frames`` (row indices
    or a (K,) bool array) and ``joints`` (indices or canonical names) are intersected; left
    out, each means "all". The generated clip has these features exactly."""
    features: np.ndarray
    mask: np.ndarray | None = None
    frames: Sequence[int] | np.ndarray | None = None
    joints: Sequence[int | str] | None = None

    def full_mask(self) -> np.ndarray:
        f = np.asarray(self.features)
        if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
            raise ValueError(f"keep features must have shape (K, {FEATURE_DIM}), got {f.shape}")
        K = f.shape[0]
        m = np.ones((K, FEATURE_DIM), bool)
        if self.mask is not None:
            given = np.asarray(self.mask, dtype=bool)
            if given.shape != (K, FEATURE_DIM):
                raise ValueError(f"keep mask must have shape ({K}, {FEATURE_DIM}), got "
                                 f"{given.shape}")
            m &= given
        if self.frames is not None:
            fr = np.asarray(self.frames)
            rows = np.zeros(K, bool)
            if fr.dtype == bool:
                if fr.shape != (K,):
                    raise ValueError(f"keep frames as a bool array must have shape ({K},)")
                rows = fr
            else:
                if fr.size and (fr.min() < 0 or fr.max() >= K):
                    raise ValueError(f"keep frames must be within 0..{K - 1}")
                rows[fr.astype(np.int64)] = True
            m &= rows[:, None]
        if self.joints is not None:
            cols = np.zeros(FEATURE_DIM, bool)
            for j in self.joints:
                cols[joint_feature_dims(j)] = True
            m &= cols[None]
        if not np.all(np.isfinite(f[m])):
            raise ValueError("kept features contain NaN or infinite values")
        return m
