"""Rank library clips by the cosine similarity of their captions to a prompt."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data.library import MotionLibrary
from ...motion.clip import Clip

# Candidates within this cosine distance of the best are treated as ties that a seed picks among.
SEED_TIE_MARGIN = 0.02
MAX_SECONDS = 60.0


@dataclass
class Match:
    index: int        # entry index in the library
    score: float      # cosine similarity of the best caption
    caption: str      # that caption


def rank(library: MotionLibrary, prompt_embedding: np.ndarray, top_k: int = 5) -> list[Match]:
    """prompt_embedding: (384,) L2-normalised. Returns up to top_k distinct clips, best first."""
    if library.caption_embeddings is None:
        raise ValueError("library captions are not embedded; call library.embed_captions()")
    sims = library.caption_embeddings.astype(np.float32) @ prompt_embedding.astype(np.float32)
    best_per_entry = np.full(len(library), -np.inf, dtype=np.float32)
    best_caption = np.zeros(len(library), dtype=np.int64)
    order = np.argsort(-sims)
    for row in order:
        e = library.caption_owner[row]
        if sims[row] > best_per_entry[e]:
            best_per_entry[e] = sims[row]
            best_caption[e] = row
    ranked = np.argsort(-best_per_entry)[:top_k]
    caps = library.captions()
    return [Match(int(i), float(best_per_entry[i]), caps[best_caption[i]][1]) for i in ranked]


def choose(matches: list[Match], seed: int | None) -> int:
    """Position in `matches` of the clip to return: the best one, or for a seed, one of the
    near-ties with the best, so that different seeds give different but fitting results."""
    if not matches:
        raise ValueError("no matches")
    if seed is None:
        return 0
    ties = [i for i, m in enumerate(matches) if matches[0].score - m.score <= SEED_TIE_MARGIN]
    return ties[int(seed) % len(ties)]


def crop(clip: Clip, seconds: float | None, seed: int | None = None) -> Clip:
    """Cut a window of `seconds` from the clip (the start chosen by the seed); a clip shorter
    than asked is returned whole, and meta['note'] says so."""
    if seconds is None:
        return clip
    n = int(round(seconds * clip.fps))
    if n >= clip.num_frames:
        out = clip.slice(0, clip.num_frames)
        if n > clip.num_frames:
            out.meta["note"] = (f"the best matching clip is {clip.seconds:.1f} s long, shorter "
                                f"than the {seconds:.1f} s asked for")
        return out
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, clip.num_frames - n + 1)) if seed is not None else 0
    return clip.slice(start, start + n)
