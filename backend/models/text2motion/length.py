"""Length prediction: a small MLP on the MiniLM text embedding gives a distribution over clip
lengths in bins of 0.5 s from 1 s to 10 s (19 bins at the default config). It is trained with
the generator (cross-entropy on each training crop's length bin) and used when the user gives no
length: ``choose_seconds`` samples a bin with the request's seed (or takes the mode)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .config import FPS, ModelConfig

LENGTH_MODES = ("sample", "mode")


class LengthPredictor(nn.Module):
    """Logits (B, bins) over clip lengths from text embeddings (B, 384)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.length_hidden
        self.net = nn.Sequential(nn.Linear(cfg.text_dim, h), nn.GELU(), nn.Linear(h, h),
                                 nn.GELU(), nn.Linear(h, cfg.length_bins))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.net(text)


def bin_centres(cfg: ModelConfig) -> np.ndarray:
    """Length in seconds of every bin (bins,)."""
    return cfg.length_min_s + cfg.length_bin_s * np.arange(cfg.length_bins)


def rows_to_bins(rows: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Bin index (long) of lengths given in feature rows (20 per second)."""
    seconds = rows.float() / FPS
    b = torch.round((seconds - cfg.length_min_s) / cfg.length_bin_s).long()
    return b.clamp(0, cfg.length_bins - 1)


def choose_seconds(logits: torch.Tensor, seeds: list[int], cfg: ModelConfig,
                   mode: str = "sample", temperature: float = 1.0) -> list[float]:
    """One length in seconds per row of logits (B, bins): drawn from the predicted
    distribution with each row's seed (``mode="sample"``, deterministic per seed) or its most
    likely bin (``mode="mode"``)."""
    if mode not in LENGTH_MODES:
        raise ValueError(f"length mode must be one of {LENGTH_MODES}, got {mode!r}")
    centres = bin_centres(cfg)
    probs = torch.softmax(logits.float() / max(temperature, 1e-6), dim=-1).cpu().numpy()
    out = []
    for p, seed in zip(probs, seeds):
        if mode == "mode":
            b = int(np.argmax(p))
        else:
            p = p.astype(np.float64)
            p /= p.sum()
            b = int(np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x1E6]).choice(len(p), p=p))
        out.append(float(centres[b]))
    return out
