"""The learned in-betweener network (torch): a delta over interpolation.

Input rows (see data.py): per frame the known pose or, on missing frames, the slerp/lerp
interpolation between the last context frame and the target, plus the known flag, the
position in the gap and the gap length. A transformer encoder reads the whole window and
outputs a correction that is added to the interpolated rows of the missing frames (known
frames pass unchanged). The output layer starts at zero, so an untrained network is exactly
the interpolation baseline.

Also here: 6D -> rotation matrices and forward kinematics on the canonical skeleton in torch,
and the training loss (rotations, global joint positions, root).
"""
from __future__ import annotations

import torch
from torch import nn

from ...motion.skeleton import CANONICAL
from .config import NUM_JOINTS, POSE_DIM, ROT_DIM, InbetweenConfig


class Inbetweener(nn.Module):
    def __init__(self, config: InbetweenConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.inp = nn.Linear(POSE_DIM + 3, d)
        self.pos = nn.Parameter(torch.randn(config.max_frames, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, config.heads, d * config.ff_mult,
                                           config.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, POSE_DIM)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, pose_in, known, gap_t, gap, valid):
        """pose_in (N, L, POSE_DIM); known, gap_t, valid (N, L); gap (N,) missing frames
        -> (N, L, POSE_DIM) rows: pose_in on known frames, pose_in + delta on missing ones."""
        N, L, _ = pose_in.shape
        if L > self.config.max_frames:
            raise ValueError(f"window of {L} frames, the network takes at most "
                             f"{self.config.max_frames}")
        glen = (gap / self.config.max_gap)[:, None].expand(N, L)
        x = torch.cat([pose_in, known[..., None], gap_t[..., None], glen[..., None]], -1)
        h = self.inp(x) + self.pos[:L]
        h = self.encoder(h, src_key_padding_mask=valid < 0.5)
        delta = self.out(self.norm(h))
        return pose_in + delta * (1.0 - known)[..., None]


def matrices_from_6d(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) first two columns -> (..., 3, 3) rotation matrices (Gram-Schmidt)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = nn.functional.normalize(a1, dim=-1, eps=1e-6)
    b2 = nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=1e-6)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


class TorchFK(nn.Module):
    """Forward kinematics on the canonical skeleton (rest rotations are identity)."""

    def __init__(self):
        super().__init__()
        self.parents = [int(p) for p in CANONICAL.parents]
        self.register_buffer("offsets", torch.tensor(CANONICAL.offsets, dtype=torch.float32),
                             persistent=False)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """rows (..., POSE_DIM) -> global joint positions (..., 22, 3) (root at rows[-3:])."""
        mats = matrices_from_6d(rows[..., :ROT_DIM].unflatten(-1, (NUM_JOINTS, 6)))
        root = rows[..., ROT_DIM:]
        world_r, world_p = [], []
        for j, p in enumerate(self.parents):
            if p < 0:
                world_r.append(mats[..., j, :, :])
                world_p.append(root)
            else:
                world_r.append(world_r[p] @ mats[..., j, :, :])
                world_p.append(world_p[p] + (world_r[p] @ self.offsets[j][:, None])[..., 0])
        return torch.stack(world_p, dim=-2)


def normalized_6d(rows: torch.Tensor) -> torch.Tensor:
    """The rotation part of rows (..., POSE_DIM) made orthonormal -> (..., 22, 6)."""
    mats = matrices_from_6d(rows[..., :ROT_DIM].unflatten(-1, (NUM_JOINTS, 6)))
    return torch.cat([mats[..., 0], mats[..., 1]], -1)


def inbetween_loss(pred, true, known, valid, fk: TorchFK, weights=(1.0, 2.0, 1.0)):
    """L1 of rotations (6D), global joint positions (metres) and root over the missing frames,
    averaged per window first (so a 5-frame gap weighs as much as a 45-frame one), then over
    the batch. pred / true (N, L, POSE_DIM); known, valid (N, L). Returns (total, parts)."""
    miss = valid * (1.0 - known)
    per = miss / miss.sum(-1, keepdim=True).clamp_min(1.0)       # (N, L) frame weights
    n = float(pred.shape[0])
    rot = ((normalized_6d(pred) - normalized_6d(true)).abs().mean((-1, -2)) * per).sum() / n
    pos = ((fk(pred) - fk(true)).abs().mean((-1, -2)) * per).sum() / n
    root = ((pred[..., ROT_DIM:] - true[..., ROT_DIM:]).abs().mean(-1) * per).sum() / n
    total = weights[0] * rot + weights[1] * pos + weights[2] * root
    return total, {"rot": float(rot.detach()), "pos": float(pos.detach()),
                   "root": float(root.detach())}


def l2p(pred, true, known, valid, fk: TorchFK) -> torch.Tensor:
    """Per-window mean distance (metres) of global joint positions on missing frames (N,)."""
    miss = valid * (1.0 - known)
    d = (fk(pred) - fk(true)).norm(dim=-1).mean(-1)
    return (d * miss).sum(-1) / miss.sum(-1).clamp_min(1.0)
