"""What a text-to-motion training run stands on (``train.py`` runs it): the process group
(``Dist``: one CPU process or ``torchrun``), the data (``load_data``, ``provenance``), the
normalised training crops (``CropDataset``, with paraphrased captions and embedding noise:
``robust.py``), length-bucketed batches (``LengthBuckets``, ``collate``) and the caption
embeddings (``caption_embeddings``, cached in the work folder).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ...fileio import atomic_write
from ...paths import user_library_dir
from ...text.coverage import count_takes
from .config import FEATURE_DIM, TEXT_DIM, ModelConfig, TrainConfig
from .length import rows_to_bins

LIBRARY_NAMES = {"bandai": "bandai_canonical.npz", "deepmimic": "deepmimic_canonical.npz"}


class TrainError(RuntimeError):
    """A training run that cannot start (missing data ...), with a message for the user."""



# ============================================================================ distributed
class Dist:
    """Process-group facts: rank, world size, device; ``is_main`` does the logging."""

    def __init__(self, device: str | None = None):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
        if use_cuda and not torch.cuda.is_available():
            raise TrainError(f"device {device!r} asked for but CUDA is not available")
        self.device = torch.device(f"cuda:{self.local_rank}" if use_cuda else "cpu")
        if use_cuda:
            torch.cuda.set_device(self.device)
        self.initialised_here = False
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
            self.initialised_here = True

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def mean(self, value: float) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t)
        return float(t.item()) / self.world

    def close(self) -> None:
        if self.initialised_here:
            torch.distributed.destroy_process_group()


# ================================================================================= data
def library_path(name: str) -> Path:
    from ...data.library import DEFAULT_LIBRARY

    if name == "default":
        return DEFAULT_LIBRARY
    if name in LIBRARY_NAMES:
        return user_library_dir() / LIBRARY_NAMES[name]
    return Path(name)


def load_data(cfg: TrainConfig, work_dir: Path, dist: Dist, log: Callable[[str], None]):
    """The T2MDataset the config names (saved file, HumanML3D folder or libraries; a dataset
    built from libraries is cached in work_dir), filtered to commercially usable items when
    asked."""
    from ...data import t2m_dataset as T

    if cfg.dataset:
        ds = T.T2MDataset.load(cfg.dataset)
    elif cfg.humanml3d:
        ds = T.load_humanml3d(cfg.humanml3d, log=log if dist.is_main else None)
    else:
        paths = [library_path(n) for n in cfg.libraries]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise TrainError(f"motion libraries not found: {', '.join(missing)} (import them "
                             f"with `python -m backend import --shared ../shared/data`)")
        if not paths:
            raise TrainError("the training config names no data: set dataset, humanml3d or "
                             "libraries")
        key = hashlib.sha1(json.dumps([(str(p), p.stat().st_mtime, p.stat().st_size)
                                       for p in paths]).encode()).hexdigest()[:16]
        cache = work_dir / f"dataset_{key}.npz"
        if dist.is_main and not cache.is_file():
            log(f"building the dataset from {', '.join(p.name for p in paths)}")
            T.build_dataset(paths, log=log).save(cache)
        dist.barrier()
        ds = T.T2MDataset.load(cache)
    if cfg.commercial_only:
        ds = ds.filter(commercial_only=True)
    return ds


def provenance(ds) -> dict:
    """Sources, licences and the hash of the data a model is trained on (all splits: the
    val/test items are part of what the model's numbers depend on)."""
    src_meta = ds.meta.get("sources", {}) if isinstance(ds.meta.get("sources"), dict) else {}
    sources: dict = {}
    for it in ds.items:
        s = sources.setdefault(it.source, {"licence": it.licence,
                                           "commercial_ok": bool(it.commercial_ok),
                                           "items": 0, "minutes": 0.0,
                                           "attribution": src_meta.get(it.source, {}).get(
                                               "attribution", "")})
        s["items"] += 1
        s["minutes"] += it.seconds / 60.0
        s["commercial_ok"] = s["commercial_ok"] and bool(it.commercial_ok)
    for s in sources.values():
        s["minutes"] = round(s["minutes"], 2)
    licences = sorted({s["licence"] for s in sources.values()})
    # The weights carry the most restrictive licence of their data: a single non-commercial
    # licence names the model's licence (Bandai + CMU -> CC-BY-NC-4.0); otherwise all of them.
    nc = sorted({s["licence"] for s in sources.values() if not s["commercial_ok"]})
    if len(licences) == 1:
        licence = licences[0]
    elif len(nc) == 1:
        licence = nc[0]
    else:
        licence = " + ".join(licences) if licences else "unknown"
    commercial_ok = bool(sources) and all(s["commercial_ok"] for s in sources.values())
    attribution = " ".join(s["attribution"] for s in sources.values() if s["attribution"])
    splits = {}
    for it in ds.items:
        splits[it.split] = splits.get(it.split, 0) + 1
    return {"sources": sources, "licences": licences, "licence": licence,
            "commercial_ok": commercial_ok, "attribution": attribution,
            "hash": ds.fingerprint(), "items": len(ds.items), "splits": splits,
            "minutes": round(sum(it.seconds for it in ds.items) / 60.0, 2),
            "filter": ds.meta.get("filter"), "libraries": ds.meta.get("libraries"),
            "coverage": count_takes(ds.items)}     # recordings per action and style


class CropDataset(torch.utils.data.Dataset):
    """Normalised training crops: (features (T, 263), caption embedding (384,), length bin
    or -1). With probability ``p_crop`` a random sub-window of at least ``min_rows`` rows;
    otherwise the whole item (whose length then trains the length predictor)."""

    def __init__(self, items, mean, std, emb_index: dict[str, int], embeddings: np.ndarray,
                 cfg: ModelConfig, min_rows: int, p_crop: float = 0.25, epoch_size: int = 0,
                 para: list[list[str]] | None = None, p_para: float = 0.0,
                 text_noise: float = 0.0):
        self.items = items
        # robust.py: paraphrases of each item's labels, and the share of samples using them
        self.para = [[emb_index[c] for c in p] for p in para] if para else None
        self.p_para, self.text_noise = p_para, text_noise
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        self.caps = [[emb_index[c] for c in it.captions] for it in items]
        self.emb = embeddings
        self.cfg = cfg
        self.min_rows = min_rows
        self.p_crop = p_crop
        self.size = max(len(items), epoch_size)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        rng = np.random.default_rng()
        it = self.items[i % len(self.items)]
        f = it.features
        n = len(f)
        if n > self.cfg.max_frames:
            s = int(rng.integers(0, n - self.cfg.max_frames + 1))
            f, n = f[s:s + self.cfg.max_frames], self.cfg.max_frames
        length_bin = int(rows_to_bins(torch.tensor(n), self.cfg)) if len(it.features) == n \
            else -1
        if n > self.min_rows and rng.random() < self.p_crop:
            m = int(rng.integers(self.min_rows, n + 1))
            s = int(rng.integers(0, n - m + 1))
            f, n, length_bin = f[s:s + m], m, -1
        x = (f - self.mean) / self.std
        cap = self.caps[i % len(self.items)]
        if self.para and self.para[i % len(self.items)] and rng.random() < self.p_para:
            cap = self.para[i % len(self.items)]
        e = self.emb[cap[int(rng.integers(0, len(cap)))]] if cap else np.zeros(TEXT_DIM,
                                                                                 np.float32)
        if self.text_noise > 0 and cap:
            e = (e + rng.normal(0.0, self.text_noise, e.shape)).astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(e), \
            length_bin


class LengthBuckets(torch.utils.data.Sampler):
    """Batches of similar lengths (less padding: Bandai clips are ~4 s, CMU windows 10 s) on
    top of a (Distributed)Sampler: each pool of ``pool`` batches of this rank's indices is
    sorted by length and cut into batches, then the batches are shuffled."""

    def __init__(self, sampler, lengths: list[int], batch: int, seed: int, pool: int = 32):
        self.sampler, self.lengths, self.batch = sampler, lengths, batch
        self.seed, self.pool, self.epoch = seed, pool, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler) // self.batch

    def __iter__(self):
        idx = list(self.sampler)
        n = len(self.lengths)
        size = self.batch * self.pool
        batches = []
        for start in range(0, len(idx), size):
            chunk = sorted(idx[start:start + size], key=lambda i: self.lengths[i % n])
            batches += [chunk[k:k + self.batch]
                        for k in range(0, len(chunk) - self.batch + 1, self.batch)]
        order = np.random.default_rng([self.seed, self.epoch]).permutation(len(batches))
        for b in order[:len(self)]:
            yield batches[b]


def collate(batch, down_factor: int):
    lengths = torch.tensor([b[0].shape[0] for b in batch])
    T = int(-(-int(lengths.max()) // down_factor) * down_factor)
    x = torch.zeros(len(batch), T, FEATURE_DIM)
    for i, b in enumerate(batch):
        x[i, :b[0].shape[0]] = b[0]
    text = torch.stack([b[1] for b in batch])
    bins = torch.tensor([b[2] for b in batch])
    return x, lengths, text, bins


def caption_embeddings(items_list, work_dir: Path, dist: Dist, log,
                       extra: list[str] = ()) -> tuple[dict, np.ndarray]:
    """Embeddings of every caption and of ``extra`` texts (rank 0 encodes and caches them;
    the others read)."""
    captions = sorted({c for items in items_list for it in items for c in it.captions}
                      | set(extra))
    key = hashlib.sha1("\n".join(captions).encode()).hexdigest()[:16]
    path = work_dir / f"caption_embeddings_{key}.npy"
    if dist.is_main and not path.is_file():
        from ...text.encoder import TextEncoder
        log(f"encoding {len(captions)} captions")
        emb = TextEncoder.shared().encode(captions) if captions else \
            np.zeros((0, TEXT_DIM), np.float32)
        with atomic_write(path) as f:
            np.save(f, emb.astype(np.float32))
    dist.barrier()
    emb = np.load(path)
    return {c: i for i, c in enumerate(captions)}, emb
