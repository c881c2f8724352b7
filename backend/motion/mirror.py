"""Left/right mirroring of canonical motion and of its words. Numpy only.

The canonical skeleton (`backend.motion.skeleton.CANONICAL`) is left/right symmetric in Blender
axes: the character's left is +X, and every left joint's rest position is its right partner's
with x negated. Mirroring is the reflection x -> -x (across the YZ plane) combined with a swap
of the left/right joints (`LEFT_RIGHT_PAIRS`):

- a local rotation R becomes M R M with M = diag(-1, 1, 1); as a quaternion
  (w, x, y, z) -> (w, x, -y, -z) (the rotation axis is reflected, and a reflection flips the
  sense of rotation);
- the root translation's x is negated;
- the rotation of a left joint moves to its right partner and vice versa.

Because the rest pose is symmetric and the rest rotations are identity, the mirrored clip's FK
positions are exactly the original positions reflected and swapped (``mirror_positions``).

`mirror_caption` swaps the words that name a side or a sense of turning; `mirror_label` does
the same to hyphenated labels such as ``wave-left-hand``.
"""
from __future__ import annotations

import re

import numpy as np

from .clip import Clip
from .skeleton import CANONICAL, LEFT_RIGHT_PAIRS, NUM_JOINTS


def _swap_index(num_joints: int = NUM_JOINTS) -> np.ndarray:
    idx = np.arange(num_joints)
    for a, b in LEFT_RIGHT_PAIRS:
        idx[a], idx[b] = b, a
    return idx


SWAP = _swap_index()
_QUAT_SIGN = np.array([1.0, 1.0, -1.0, -1.0])
_POINT_SIGN = np.array([-1.0, 1.0, 1.0])


def _check_symmetric_canonical(clip: Clip) -> None:
    sk = clip.skeleton
    if list(sk.names) != list(CANONICAL.names) or not np.array_equal(sk.parents,
                                                                      CANONICAL.parents):
        raise ValueError("mirror_clip needs a clip on the canonical 22-joint skeleton")
    if not np.allclose(sk.rest_rotations, CANONICAL.rest_rotations):
        raise ValueError("mirror_clip needs identity rest rotations (canonical skeleton)")
    if not np.allclose(sk.offsets[SWAP] * _POINT_SIGN, sk.offsets, atol=1e-9):
        raise ValueError("mirror_clip needs a left/right symmetric skeleton (x -> -x)")


def mirror_rotations(local_rotations: np.ndarray) -> np.ndarray:
    """Local rotations (T, 22, 4) of the mirrored pose: reflected and left/right swapped."""
    q = np.asarray(local_rotations, dtype=np.float64)
    return q[:, SWAP] * _QUAT_SIGN


def mirror_positions(positions: np.ndarray) -> np.ndarray:
    """Blender-axes joint positions (..., 22, 3) of the mirrored motion: x negated, left and
    right joints swapped. (For Y-up positions x is the lateral axis too: the same function.)"""
    p = np.asarray(positions, dtype=np.float64)
    return p[..., SWAP, :] * _POINT_SIGN


def mirror_clip(clip: Clip) -> Clip:
    """The left/right mirror image of a canonical clip (Blender axes, left = +X).

    The meta is copied with ``mirrored`` toggled and the caption (if any) mirrored."""
    _check_symmetric_canonical(clip)
    rots = mirror_rotations(clip.local_rotations)
    root = clip.root_translation * _POINT_SIGN
    meta = dict(clip.meta)
    meta["mirrored"] = not bool(meta.get("mirrored", False))
    if isinstance(meta.get("caption"), str):
        meta["caption"] = mirror_caption(meta["caption"])
    return Clip(rots, root, clip.fps, clip.skeleton, meta)


# ------------------------------------------------------------------------------- words
# Each word maps to its mirror image; the regex matches whole words only (letters on neither
# side), so "left" in "leftover" is left alone but "left-hand" becomes "right-hand".
_WORD_SWAPS = {
    "left": "right", "right": "left",
    "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise",
    "anticlockwise": "clockwise", "counter-clockwise": "clockwise",
    "anti-clockwise": "clockwise",
}
# Longest first, so "counter-clockwise" wins over "clockwise".
_WORD_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(
    re.escape(w) for w in sorted(_WORD_SWAPS, key=len, reverse=True)) + r")(?![A-Za-z])",
    re.IGNORECASE)


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def mirror_caption(text: str) -> str:
    """Swap left <-> right, leftward(s) <-> rightward(s), clockwise <-> counterclockwise
    (anticlockwise / counter-clockwise -> clockwise) in `text`: whole words only,
    case-preserving ("Left" -> "Right", "LEFT" -> "RIGHT")."""
    return _WORD_RE.sub(lambda m: _match_case(m.group(0), _WORD_SWAPS[m.group(0).lower()]),
                        text)


def mirror_label(value):
    """The mirrored counterpart of a label value: strings get `mirror_caption` (so
    "wave-left-hand" -> "wave-right-hand", "walk-turn-right" -> "walk-turn-left"); None and
    other values are returned unchanged."""
    return mirror_caption(value) if isinstance(value, str) else value
