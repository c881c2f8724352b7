"""The rectified-flow network over HumanML3D features (see docs/text2motion.md).

``FlowNet`` works on the straight path ``x_t = t * x1 + (1 - t) * x0`` between Gaussian noise
``x0`` (t = 0) and normalised motion features ``x1`` (t = 1), for a batch of sequences of ``T``
rows of 263 features. It predicts the clean motion ``x1`` (``ModelConfig.prediction = "x1"``,
the default: the sampler's last step lands exactly on a network output, so no noise is left
over, and temporal losses apply to it directly) or the velocity ``x1 - x0`` ("velocity"):

    frames (B, T, 263) --Linear--> (B, T, d_frame) --conv--> skip --2x (pairs->Linear)--> (B, T/4, d)
    [text token] + latent tokens + positions --> transformer (AdaLN-zero on time + text +
    length) --> tokens
    tokens --2x (Linear->pairs, conv)--> (B, T, d_frame) ++ skip --> conv --> Linear --> (B, T, 263)

All tensors are channels-last; the convolutions are ``backend.models.layers`` (matrix products,
fast on small CPUs).

Editing: ``known`` (normalised features) and ``mask`` (1 where a feature is given) enter the
frame path as two more inputs, so the same network continues, in-betweens and completes joints
(trained with random masks); the sampler also overwrites the known part of ``x_t`` with its
interpolant (``sample.py``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import Downsample2, TimeConv, Upsample2
from .config import FPS, ModelConfig
from .length import LengthPredictor


def sinusoid(x: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (..., dim) of the real values x (...)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                           device=x.device) / half)
    args = x.float()[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    """Pre-norm transformer block with AdaLN-zero conditioning (DiT)."""

    def __init__(self, d: int, heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ff = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(approximate="tanh"),
                                nn.Dropout(dropout), nn.Linear(ff_mult * d, d))
        self.ada = nn.Linear(d, 6 * d)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, c: torch.Tensor, attn_mask: torch.Tensor | None):
        B, L, d = x.shape
        s1, g1, b1, s2, g2, b2 = self.ada(c).chunk(6, dim=-1)
        h = _modulate(self.norm1(x), b1, s1)
        q, k, v = self.qkv(h).view(B, L, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = x + g1[:, None] * self.proj(a.transpose(1, 2).reshape(B, L, d))
        x = x + g2[:, None] * self.ff(_modulate(self.norm2(x), b2, s2))
        return x


class FlowNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        F_, d, df = cfg.feature_dim, cfg.d_model, cfg.d_frame
        self.frame_in = nn.Linear(F_, df)
        self.edit_in = nn.Linear(2 * F_, df, bias=False)   # no mask == all-zero mask
        self.frame_conv = TimeConv(df, df, 3)
        n_down = int(round(math.log2(cfg.down_factor)))
        if n_down == 0:
            self.down = nn.ModuleList([nn.Linear(df, d)])
            self.up = nn.ModuleList([nn.Linear(d, df)])
        else:
            self.down = nn.ModuleList(Downsample2(df if i == 0 else d, d) for i in range(n_down))
            self.up = nn.ModuleList(Upsample2(d, d if i < n_down - 1 else df)
                                    for i in range(n_down))
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.len_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        # Sentence embeddings of captions are close to each other ("a person ..."): they are
        # standardised with the training captions' per-dim mean/std (buffers, saved with the
        # weights) so the differences that matter are not drowned by the common part.
        self.register_buffer("text_mean", torch.zeros(cfg.text_dim))
        self.register_buffer("text_std", torch.ones(cfg.text_dim))
        self.text_in = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.text_token = nn.Linear(d, d)       # the text also enters as a token (MDM)
        self.null_text = nn.Parameter(torch.zeros(cfg.text_dim))
        self.blocks = nn.ModuleList(Block(d, cfg.heads, cfg.ff_mult, cfg.dropout)
                                    for _ in range(cfg.layers))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Linear(d, 2 * d)
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)
        self.merge = nn.Linear(2 * df, df)
        self.out_conv = TimeConv(df, df, 3)
        self.out = nn.Linear(df, F_)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @torch.no_grad()
    def set_text_stats(self, embeddings: torch.Tensor) -> None:
        """Standardise text input with these (N, text_dim) caption embeddings' statistics
        (the training captions; called once before training)."""
        e = torch.as_tensor(embeddings, dtype=torch.float32)
        if len(e) < 2:                     # one caption: nothing to standardise against
            return
        std = e.std(0)
        self.text_mean.copy_(e.mean(0))
        self.text_std.copy_(std.clamp_min(0.1 * float(std.median()) + 1e-6))

    def condition(self, t: torch.Tensor, text: torch.Tensor,
                  lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(conditioning vector (B, d), text feature (B, d)) of flow time t (B,), text
        embeddings (B, 384) and lengths in rows (B,)."""
        d = self.cfg.d_model
        te = self.text_in((text - self.text_mean) / self.text_std)
        c = self.time_mlp(sinusoid(t * 1000.0, d)) + te
        c = c + self.len_mlp(sinusoid(lengths.float() / FPS * 10.0, d))
        return F.silu(c), te

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor,
                lengths: torch.Tensor, known: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """The network's output (B, T, 263) at x (B, T, 263), times t (B,), text (B, 384) (use
        ``null_text`` rows for the unconditional branch), valid lengths (B,) <= T: the clean
        motion x1 (``cfg.prediction == "x1"``) or the velocity x1 - x0 ("velocity"). T must be
        a multiple of ``down_factor``; rows past a sequence's length are ignored (and zero)."""
        B, T, _ = x.shape
        f = self.cfg.down_factor
        if T % f:
            raise ValueError(f"sequence length {T} is not a multiple of {f}")
        full = bool((lengths == T).all())        # no padding: skip the masking work

        def level(n: int, factor: int) -> torch.Tensor | None:
            """(B, n, 1) 1/0 validity of the n positions of a level that has one position
            per `factor` frames (None when nothing is padded)."""
            if full:
                return None
            keep = torch.div(lengths + factor - 1, factor, rounding_mode="floor")
            return (torch.arange(n, device=x.device)[None] < keep[:, None]).to(x.dtype)[..., None]

        def masked(z: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
            return z if m is None else z * m

        valid = level(T, 1)                                                   # B,T,1
        h = self.frame_in(x)
        if mask is not None:
            h = h + self.edit_in(torch.cat([known * mask, mask], dim=-1))
        h = masked(h, valid)                                                  # B, T, df
        skip = masked(F.gelu(self.frame_conv(h)) + h, valid)
        z = skip
        for i, down in enumerate(self.down):
            z = F.gelu(down(z)) if i < len(self.down) - 1 else down(z)
            z = masked(z, level(z.shape[1], T // z.shape[1]))
        L = z.shape[1]                                                        # B, L, d
        z = z + sinusoid(torch.arange(L, device=x.device), self.cfg.d_model)[None]
        tok = level(L, T // L)
        c, te = self.condition(t, text, lengths)
        z = torch.cat([self.text_token(te)[:, None], z], dim=1)               # B, 1+L, d
        attn_mask = None if tok is None else torch.cat(
            [torch.ones_like(tok[:, :1]), tok], dim=1)[:, None, None, :, 0] > 0   # B,1,1,1+L
        for block in self.blocks:
            z = block(z, c, attn_mask)
        z = z[:, 1:]
        shift, scale = self.ada_out(c).chunk(2, dim=-1)
        z = masked(_modulate(self.norm_out(z), shift, scale), tok)            # B, L, d
        for up in self.up:
            z = F.gelu(up(z))
            z = masked(z, level(z.shape[1], T // z.shape[1]))
        h = masked(F.gelu(self.merge(torch.cat([z, skip], dim=-1))), valid)   # B, T, df
        h = masked(F.gelu(self.out_conv(h)) + h, valid)
        return masked(self.out(h), valid)


class Text2Motion(nn.Module):
    """Both trained modules under one state dict: ``flow`` (FlowNet), ``length``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.flow = FlowNet(cfg)
        self.length = LengthPredictor(cfg)

    def forward(self, x, t, text, lengths, known=None, mask=None, length_text=None):
        """(velocity, length logits or None): one call, so that DistributedDataParallel sees
        every trained parameter used."""
        v = self.flow(x, t, text, lengths, known, mask)
        return v, (self.length(length_text) if length_text is not None else None)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
