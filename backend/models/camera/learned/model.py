"""The next-camera-pose model: a small GRU over per-frame features (``data.FEATURES``) that
predicts the pose change to the next frame (``data.TARGETS``: relative position, look and up
deltas, normalised by the training set's statistics). About 0.1 M parameters.

Checkpoint (``write_checkpoint``): {"format": FORMAT, "version": VERSION, "config": {...},
"state_dict", "target_mean" (9,), "target_std" (9,), "train": {...}, optionally "optimizer"}.
"""
from __future__ import annotations

import torch
from torch import nn

from ...checkpoint import read_checkpoint
from .data import FEATURES, TARGETS

FORMAT = "anima-camera-next-pose"
VERSION = 1


class CameraModelError(Exception):
    """A missing or unusable next-camera-pose checkpoint."""


class NextPoseModel(nn.Module):
    """features (B, L, FEATURES) -> normalised pose deltas (B, L, TARGETS), causal."""

    def __init__(self, hidden: int = 128, layers: int = 1):
        super().__init__()
        self.config = {"hidden": hidden, "layers": layers}
        self.embed = nn.Sequential(nn.Linear(FEATURES, hidden), nn.GELU())
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, TARGETS))

    def forward(self, features: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(deltas (B, L, TARGETS), GRU state (layers, B, hidden)) for ``features``."""
        out, state = self.gru(self.embed(features), state)
        return self.head(out), state


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the frames where ``mask`` (B, L) is true."""
    err = ((pred - target) ** 2).mean(dim=-1)
    return (err * mask).sum() / mask.sum().clamp(min=1)


def load_model(path) -> tuple[NextPoseModel, dict]:
    """(model in eval mode, checkpoint dict) from a checkpoint file; CameraModelError naming
    the file when it is missing or not this model's."""
    ck = read_checkpoint(path, "next-camera-pose", FORMAT, (VERSION, VERSION), CameraModelError,
                         " (train it: python -m backend.models.camera.learned.train)")
    config = ck.get("config")
    if not isinstance(config, dict) or ck.get("features") != FEATURES:
        raise CameraModelError(f"{path}: the checkpoint was made for {ck.get('features')} "
                               f"features, this Anima uses {FEATURES} (retrain it)")
    model = NextPoseModel(**config)
    try:
        model.load_state_dict(ck["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise CameraModelError(f"{path}: weights do not fit the model ({str(e)[:200]})") from None
    model.eval()
    return model, ck
