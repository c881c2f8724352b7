"""Left / right in the text condition.

Sentence embeddings barely separate "raises their left hand" from "raises their right hand"
(one word of eight), and a CPU-sized generator trained for a few thousand steps confuses them
(measured: "raise-up-right-hand" prompts made left-hand raises 14 times out of 27). With
``ModelConfig.lateral_code = b > 0`` the embedding of a text that names one side is moved by
``b`` along a fixed unit direction (+ for left, - for right; nothing for both or neither)
before the network sees it, in training and sampling alike. Mirrored captions swap the words,
so they get the opposite shift.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_LEFT = re.compile(r"\bleft(wards?)?\b", re.IGNORECASE)
_RIGHT = re.compile(r"\bright(wards?)?\b", re.IGNORECASE)
DIRECTION_SEED = 20261125


def side(text: str) -> int:
    """+1 when the text names the left side only, -1 the right only, else 0."""
    return int(bool(_LEFT.search(text))) - int(bool(_RIGHT.search(text)))


def direction(dim: int) -> np.ndarray:
    """The fixed unit vector (dim,) of the laterality code."""
    v = np.random.default_rng(DIRECTION_SEED).normal(size=dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def apply(embeddings: np.ndarray, texts: Sequence[str], strength: float) -> np.ndarray:
    """Embeddings (N, dim) of ``texts`` with the laterality code added (a copy)."""
    emb = np.array(embeddings, dtype=np.float32)
    if strength <= 0 or not len(emb):
        return emb
    signs = np.array([side(t) for t in texts], np.float32)
    return emb + strength * signs[:, None] * direction(emb.shape[1])[None]
