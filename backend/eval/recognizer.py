"""Action / style recognizer for evaluating generated motion, trained on real motion only.

As in action-conditioned generation papers (Action2Motion, ACTOR), a classifier trained on the
real training split scores generated motion: how often it recognises the asked label (compared
with how often it recognises real held-out motion), and its penultimate features give FID and
diversity.

Model (CPU-cheap, ~0.3 M parameters): normalised 263-dim HumanML3D features (B, T, 263) ->
per-frame linear projection -> residual 1-D convolutions (kernel 5, dilations 1, 2, 4, 8: a
receptive field of 61 frames, ~3 s at 20 fps; padded frames are masked to zero after every
layer and the norms are per frame, so a clip's result does not depend on what it is batched
with) -> masked mean and max pooling -> a 128-dim feature -> one linear head per label kind
("action", and "style" when the data has styles).

Training uses random crops (``RecognizerConfig.crop_seconds``) of the train split's items whose
labels are in the vocabulary: labels seen in at least ``min_takes`` different train takes
(others would be noise); the epoch with the best validation accuracy is kept. Items are
scored on their full length.

Inputs to ``features`` / ``predict`` are **un-normalised** feature arrays (what datasets store
and generators return), normalised inside with the training data's mean/std (pass
``normalized=True`` for already-normalised input).
"""
from __future__ import annotations

import collections
import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..models.checkpoint import write_checkpoint
from ..models.layers import TimeConv
from ..motion.humanml3d import FEATURE_DIM

RECOGNIZER_FORMAT = "anima-recognizer"
RECOGNIZER_VERSION = 1
LABEL_KINDS = ("action", "style")


@dataclass
class RecognizerConfig:
    hidden: int = 128
    feature_dim: int = 128
    dilations: tuple = (1, 2, 4, 8)
    kernel: int = 5
    dropout: float = 0.1
    crop_seconds: float = 4.0
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    min_takes: int = 3
    fps: float = 20.0


class RecognizerError(ValueError):
    pass


# ======================================================================================
# network
# ======================================================================================
class _Block(nn.Module):
    def __init__(self, ch: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = TimeConv(ch, ch, kernel, dilation)
        self.norm = nn.LayerNorm(ch)      # per frame: no statistics across time or batch
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        return (x + self.drop(F.gelu(self.norm(self.conv(x))))) * mask


class RecognizerNet(nn.Module):
    def __init__(self, config: RecognizerConfig, num_classes: dict[str, int]):
        super().__init__()
        c = config
        self.inp = nn.Linear(FEATURE_DIM, c.hidden)
        self.blocks = nn.ModuleList(_Block(c.hidden, c.kernel, d, c.dropout)
                                    for d in c.dilations)
        self.proj = nn.Linear(2 * c.hidden, c.feature_dim)
        self.drop = nn.Dropout(c.dropout)
        self.heads = nn.ModuleDict({k: nn.Linear(c.feature_dim, n)
                                    for k, n in num_classes.items() if n > 0})

    def embed(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, 263) normalised, mask (B, T) bool -> (B, feature_dim)."""
        m = mask[:, :, None].to(x.dtype)                     # (B, T, 1)
        h = self.inp(x) * m
        for b in self.blocks:
            h = b(h, m)
        n = m.sum(1).clamp_min(1.0)
        mean = h.sum(1) / n
        mx = h.masked_fill(m == 0, -1e4).amax(1)
        return self.proj(torch.cat([mean, mx], dim=-1))

    def forward(self, x, mask):
        feat = self.embed(x, mask)
        h = self.drop(F.gelu(feat))
        return feat, {k: head(h) for k, head in self.heads.items()}


# ======================================================================================
# wrapper
# ======================================================================================
def _pad(batch: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(b) for b in batch)
    x = np.zeros((len(batch), T, FEATURE_DIM), np.float32)
    mask = np.zeros((len(batch), T), bool)
    for i, b in enumerate(batch):
        x[i, :len(b)] = b
        mask[i, :len(b)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


class Recognizer:
    def __init__(self, net: RecognizerNet, config: RecognizerConfig,
                 vocab: dict[str, list[str]], mean, std, info: dict | None = None):
        self.net = net.eval()
        self.config = config
        self.vocab = {k: list(v) for k, v in vocab.items()}
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.info = dict(info or {})

    # ------------------------------------------------------------------- inference
    def _prepare(self, batch, normalized: bool) -> list[np.ndarray]:
        if isinstance(batch, np.ndarray) and batch.ndim == 2:
            batch = [batch]
        out = []
        for b in batch:
            b = np.asarray(b, np.float32)
            if b.ndim != 2 or b.shape[1] != FEATURE_DIM or len(b) == 0:
                raise RecognizerError(f"each motion must be (T, {FEATURE_DIM}) with T > 0, "
                                      f"got {b.shape}")
            out.append(b if normalized else (b - self.mean) / self.std)
        return out

    @torch.no_grad()
    def _run(self, batch, normalized: bool, batch_size: int = 64):
        seqs = self._prepare(batch, normalized)
        order = np.argsort([len(s) for s in seqs])       # similar lengths together
        feats = np.zeros((len(seqs), self.config.feature_dim), np.float32)
        logits = {k: np.zeros((len(seqs), len(v)), np.float32) for k, v in self.vocab.items()
                  if k in self.net.heads}
        self.net.eval()
        for s in range(0, len(seqs), batch_size):
            idx = order[s:s + batch_size]
            x, m = _pad([seqs[i] for i in idx])
            f, out = self.net(x, m)
            feats[idx] = f.numpy()
            for k, v in out.items():
                logits[k][idx] = v.numpy()
        return feats, logits

    def features(self, batch, normalized: bool = False) -> np.ndarray:
        """(N, feature_dim) features of N motions (each (T, 263); lengths may differ)."""
        return self._run(batch, normalized)[0]

    def predict(self, batch, normalized: bool = False) -> dict:
        """{"action": [label...], "action_probs": (N, A), "style": ..., "style_probs": ...,
        "features": (N, feature_dim)} for the label kinds this recognizer knows."""
        feats, logits = self._run(batch, normalized)
        out = {"features": feats}
        for k, lg in logits.items():
            p = torch.softmax(torch.from_numpy(lg), -1).numpy()
            out[k + "_probs"] = p
            out[k] = [self.vocab[k][i] for i in p.argmax(-1)]
        return out

    def known(self, kind: str, label) -> bool:
        return kind in self.vocab and label in self.vocab[kind]

    def evaluate(self, items, batch=None) -> dict:
        """Accuracy per label kind on dataset items (T2MItem-like: .features, .labels), counting
        only items whose label this recognizer knows. Returns {kind: acc, kind+"_n": count}."""
        from .metrics import recognition_accuracy

        items = list(items)
        pred = self.predict([it.features for it in items]) if batch is None else batch
        res = {}
        for k in self.vocab:
            if k not in pred:
                continue
            truth = [it.labels.get(k) if self.known(k, it.labels.get(k)) else None
                     for it in items]
            res[k] = recognition_accuracy(pred[k], truth)
            res[k + "_n"] = sum(t is not None for t in truth)
        return res

    # ------------------------------------------------------------------------- io
    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = asdict(self.config)
        cfg["dilations"] = list(cfg["dilations"])
        write_checkpoint({"format": RECOGNIZER_FORMAT, "version": RECOGNIZER_VERSION,
                    "config": cfg, "vocab": self.vocab,
                    "mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std),
                          "state_dict": self.net.state_dict(), "info": self.info}, path)
        return path

    @classmethod
    def load(cls, path) -> "Recognizer":
        path = Path(path)
        if not path.is_file():
            raise RecognizerError(f"recognizer not found: {path}")
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:      # torch raises many kinds for a corrupt file
            raise RecognizerError(f"{path}: unreadable recognizer checkpoint ({e})") from e
        if not isinstance(ck, dict) or ck.get("format") != RECOGNIZER_FORMAT:
            raise RecognizerError(f"{path}: not an Anima recognizer checkpoint")
        if int(ck.get("version", 0)) > RECOGNIZER_VERSION:
            raise RecognizerError(f"{path}: recognizer version {ck['version']} is newer than "
                                  f"this Anima understands ({RECOGNIZER_VERSION})")
        cfg = dict(ck["config"])
        cfg["dilations"] = tuple(cfg["dilations"])
        config = RecognizerConfig(**cfg)
        vocab = ck["vocab"]
        net = RecognizerNet(config, {k: len(v) for k, v in vocab.items()})
        try:
            net.load_state_dict(ck["state_dict"])
        except RuntimeError as e:
            raise RecognizerError(f"{path}: weights do not match the stored config ({e})") from e
        return cls(net, config, vocab, ck["mean"].numpy(), ck["std"].numpy(), ck.get("info"))


# ======================================================================================
# training
# ======================================================================================
def recognizer_vocab(items, min_takes: int) -> dict[str, list[str]]:
    """Labels seen in at least `min_takes` different takes of `items`, per kind."""
    takes: dict[str, dict[str, set]] = {k: collections.defaultdict(set) for k in LABEL_KINDS}
    for it in items:
        for k in LABEL_KINDS:
            v = it.labels.get(k)
            if isinstance(v, str):
                takes[k][v].add(it.take)
    vocab = {k: sorted(v for v, t in takes[k].items() if len(t) >= min_takes)
             for k in LABEL_KINDS}
    return {k: v for k, v in vocab.items() if len(v) >= 2}


def _targets(items, vocab) -> dict[str, np.ndarray]:
    out = {}
    for k, labels in vocab.items():
        index = {v: i for i, v in enumerate(labels)}
        out[k] = np.array([index.get(it.labels.get(k), -100) for it in items], np.int64)
    return out


def train_recognizer(dataset, epochs: int = 12, seed: int = 0,
                     config: RecognizerConfig | None = None,
                     log: Callable[[str], None] | None = None,
                     max_items: int | None = None, threads: int | None = None) -> Recognizer:
    """Train on `dataset`'s train split (real motion only), keep the epoch with the best
    validation accuracy (mean over label kinds; the last epoch when there is no val split).
    `dataset` is a T2MDataset; its mean/std normalise the input. `max_items` caps the train
    items (tests). `threads`: torch CPU threads while training (None: unchanged; 1 is much
    faster than 2 when other processes keep the cores busy, as OpenMP threads then wait on
    each other). About 100 s for Bandai + CMU on 2 free cores."""
    prev_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _train(dataset, epochs, seed, config or RecognizerConfig(), log, max_items)
    finally:
        torch.set_num_threads(prev_threads)


def _train(dataset, epochs, seed, config, log, max_items) -> Recognizer:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_all = [it for it in dataset.items if it.split == "train"]
    vocab = recognizer_vocab(train_all, config.min_takes)
    if not vocab:
        raise RecognizerError("no label with enough train takes to train a recognizer "
                              f"(need >= 2 labels of one kind, each in >= {config.min_takes} "
                              "takes)")
    def usable(items):
        return [it for it in items
                if any(it.labels.get(k) in v for k, v in vocab.items())]

    train = usable(train_all)
    if max_items is not None and len(train) > max_items:
        train = [train[i] for i in sorted(rng.choice(len(train), max_items, replace=False))]
    val = usable([it for it in dataset.items if it.split == "val"])
    mean, std = dataset.mean, dataset.std
    seqs = [((it.features - mean) / std).astype(np.float32) for it in train]
    targets = _targets(train, vocab)
    net = RecognizerNet(config, {k: len(v) for k, v in vocab.items()})
    rec = Recognizer(net, config, vocab, mean, std)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train) / config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr,
                                                total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15)
    crop = max(1, int(round(config.crop_seconds * config.fps)))
    best, best_state, history = -1.0, None, []
    t0 = time.perf_counter()
    for ep in range(epochs):
        net.train()
        perm = rng.permutation(len(train))
        total, count = 0.0, 0
        for s in range(0, len(perm), config.batch_size):
            idx = perm[s:s + config.batch_size]
            batch = []
            for i in idx:
                x = seqs[i]
                if len(x) > crop:
                    a = int(rng.integers(0, len(x) - crop + 1))
                    x = x[a:a + crop]
                batch.append(x)
            x, m = _pad(batch)
            _, out = net(x, m)
            loss = 0.0
            for k, lg in out.items():
                y = torch.from_numpy(targets[k][idx])
                if (y >= 0).any():
                    loss = loss + F.cross_entropy(lg, y, ignore_index=-100,
                                                  label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        res = rec.evaluate(val) if val else {}
        score = float(np.mean([res[k] for k in vocab if not math.isnan(res.get(k, math.nan))])) \
            if res and any(not math.isnan(res.get(k, math.nan)) for k in vocab) else float(ep)
        history.append({"epoch": ep + 1, "loss": round(total / max(count, 1), 4),
                        **{k: round(v, 4) for k, v in res.items() if k in vocab}})
        if log:
            log(f"epoch {ep + 1}/{epochs} loss {total / max(count, 1):.3f} " + " ".join(
                f"val_{k}={res[k]:.3f}" for k in vocab if k in res) +
                f" ({time.perf_counter() - t0:.0f} s)")
        if score >= best:
            best, best_state = score, copy.deepcopy(net.state_dict())
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    rec.info = {"dataset_fingerprint": dataset.fingerprint(), "epochs": epochs, "seed": seed,
                "train_items": len(train), "val_items": len(val),
                "train_seconds": round(time.perf_counter() - t0, 1), "history": history,
                "best_val_score": best if val else None}
    return rec
