"""The learned in-betweener, numpy-facing: loading the shipped checkpoint and filling clips.

    model = load_inbetweener()                    # assets/models/inbetween.pt (cached)
    filled = learned_fill(model, clip, known)     # same interface as inbetween.slerp_fill

``learned_fill`` keeps every known frame bit-identical (``inbetween.pass_through``) and fills
each gap between consecutive known frames in time order, with the (already filled) frames
before the gap as the network's context: the context of a gap right after the clip's first
key is padded by holding that key, as in training. Frames before the first key / after the
last are held (like slerp_fill). A gap longer than the network's ``max_gap`` is *chunked*:
slerp poses at evenly spaced frames inside it become intermediate keys, and each chunk is
filled by the network (so very long gaps are only as informed as slerp at those frames).
Clips at another frame rate are resampled to the network's (30 fps) and back.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...motion import quat
from ..checkpoint import read_checkpoint, write_checkpoint
from ...motion.clip import Clip
from ...motion.skeleton import CANONICAL
from ...paths import REPO_ROOT
from .config import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, NUM_JOINTS, ROT_DIM,
                     InbetweenConfig, InbetweenConfigError)
from .data import from_reference, make_window, stack
from .inbetween import _check, hold_to_length, pass_through, slerp_fill
from .model import Inbetweener

DEFAULT_CHECKPOINT = REPO_ROOT / "assets" / "models" / "inbetween.pt"
_CACHE: dict = {}


class InbetweenCheckpointError(ValueError):
    """A missing, unreadable or mismatched in-betweener checkpoint; the message names it."""


def save_inbetweener(model: Inbetweener, path, data_meta: dict, training: dict) -> Path:
    """Write `model` (its config, weights, the data's licence in `data_meta`: licence,
    commercial_ok, attribution, sources; `training`: how it was trained) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ck = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
          "config": model.config.to_dict(),
          "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
          "meta": dict(data_meta), "training": dict(training)}
    return write_checkpoint(ck, path)


def load_inbetweener(path: str | Path | None = None) -> Inbetweener:
    """The in-betweener network at `path` (default: the shipped assets/models/inbetween.pt),
    in eval mode, with ``.meta`` (licence ...) and ``.training``; cached per file. Raises
    ``InbetweenCheckpointError`` naming the file if it is missing, unreadable or not an
    in-betweener checkpoint of a version this code reads."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        hint = (" (train it with `python -m backend.models.editing.train --export "
                f"{path}`)") if path == DEFAULT_CHECKPOINT else ""
        raise InbetweenCheckpointError(f"{path}: in-betweening checkpoint not found{hint}")
    key = (str(path.resolve()), path.stat().st_mtime_ns, path.stat().st_size)
    if key in _CACHE:
        return _CACHE[key]
    ck = read_checkpoint(path, "in-betweening", CHECKPOINT_FORMAT,
                         (CHECKPOINT_VERSION, CHECKPOINT_VERSION), InbetweenCheckpointError)
    try:
        config = InbetweenConfig.from_dict(dict(ck["config"]))
        model = Inbetweener(config)
        model.load_state_dict(ck["model"])
    except (KeyError, TypeError, RuntimeError, InbetweenConfigError) as e:
        raise InbetweenCheckpointError(f"{path}: checkpoint does not match the in-betweening "
                                       f"network ({type(e).__name__}: {str(e)[:200]})") from None
    model.eval()
    model.meta = dict(ck.get("meta", {}))
    model.training_info = dict(ck.get("training", {}))
    _CACHE[key] = model
    return model


def _check_canonical(clip: Clip) -> None:
    sk = clip.skeleton
    if len(sk) != NUM_JOINTS or not np.array_equal(sk.parents, CANONICAL.parents):
        raise ValueError(f"learned in-betweening needs a clip on the canonical {NUM_JOINTS}-"
                         f"joint skeleton (got {len(sk)} joints)")


def _gap_pieces(lo: int, hi: int, max_gap: int) -> list[tuple[int, int]]:
    """Split the gap between keys `lo` and `hi` into pieces of at most `max_gap` missing
    frames: [(key, next key), ...] with evenly spaced intermediate keys."""
    missing = hi - lo - 1
    if missing <= max_gap:
        return [(lo, hi)]
    n = -(-(missing + 1) // (max_gap + 1))          # pieces needed
    cuts = np.round(np.linspace(lo, hi, n + 1)).astype(int)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


@torch.no_grad()
def _fill_piece(model: Inbetweener, rots: np.ndarray, root: np.ndarray, lo: int, hi: int):
    """Fill frames lo+1..hi-1 of (rots (T, J, 4), root (T, 3)) in place, with the frames up to
    `lo` as context (held at frame 0 where the clip starts later than the context)."""
    C = model.config.context
    idx = np.concatenate([np.clip(np.arange(lo - C + 1, lo + 1), 0, None),
                          np.arange(lo + 1, hi + 1)])
    w = make_window(rots[idx], root[idx], model.config)
    b = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in stack([w]).items()}
    rows = model(b["pose_in"], b["known"], b["gap_t"], b["gap"], b["valid"])[0]
    rows = rows.numpy().astype(np.float64)[C:C + w.gap]
    r = quat.from_6d(rows[:, :ROT_DIM].reshape(w.gap, NUM_JOINTS, 6))
    r, p = from_reference(r, rows[:, ROT_DIM:], w.yaw, w.origin)
    rots[lo + 1:hi] = r
    root[lo + 1:hi] = p


def learned_fill(model: Inbetweener, clip: Clip, known: Sequence[int]) -> Clip:
    """Fill every frame of `clip` (canonical skeleton, any fps) that is not in `known` (at
    least two frame indices in 0..T-1) with the network; known frames come back
    bit-identical; frames before the first / after the last key are held. Returns a new Clip
    (meta ``inbetween="learned"``); `clip` is not modified."""
    known_arr = _check(clip, known)
    _check_canonical(clip)
    fps = float(model.config.fps)
    work, keys = clip, known_arr
    if abs(clip.fps - fps) > 1e-9:
        from ...motion.resample import resample
        work = resample(clip, fps)
        keys = np.unique(np.clip(np.round(known_arr / clip.fps * fps).astype(np.int64), 0,
                                 work.num_frames - 1))
        if keys.size < 2:
            raise ValueError(f"the known frames are closer than one frame at {fps:g} fps; "
                             "in-betweening needs two distinct keys")
    base = slerp_fill(work, keys)                    # holds outside the keys, seeds the gaps
    rots, root = base.local_rotations.copy(), base.root_translation.copy()
    # Resampled known runs leave one-frame holes between their keys (20 -> 30 fps): those
    # frames go back to known frames on the way back, so slerp is enough there.
    smallest = 1 if work is clip else 2
    for lo, hi in zip(keys[:-1].tolist(), keys[1:].tolist()):
        for a, b in _gap_pieces(lo, hi, model.config.max_gap):
            if b - a > smallest:
                _fill_piece(model, rots, root, a, b)
    made = Clip(rots, root, fps, clip.skeleton, dict(clip.meta))
    if work is not clip:                             # back to the clip's frame rate
        from ...motion.resample import resample
        made = resample(made, clip.fps)
        T = clip.num_frames
        made = hold_to_length(made, T)
    result = pass_through(made, clip, known_arr)
    result.meta.update({"inbetween": "learned"})
    return result
