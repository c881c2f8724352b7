"""Small torch layers shared by the models: time convolutions that are fast on small CPUs.

All take channels-last sequences (B, T, C). ``nn.Conv1d`` is several times slower than one
matrix product on this project's 2-core CPUs (measured 8x for kernel 5), so convolutions over
time are written as shifted copies concatenated and one ``nn.Linear``, and stride-2
down/up-sampling as a reshape plus ``nn.Linear`` (a kernel-2, stride-2 convolution).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TimeConv(nn.Module):
    """A 1-D convolution over time, (B, T, c_in) -> (B, T, c_out), zero padding at both ends
    ("same" length), odd ``kernel``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1):
        super().__init__()
        self.kernel, self.dilation = kernel, dilation
        self.linear = nn.Linear(c_in * kernel, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        pad = self.dilation * (self.kernel // 2)
        xp = F.pad(x, (0, 0, pad, pad))
        cols = torch.cat([xp[:, k * self.dilation:k * self.dilation + T]
                          for k in range(self.kernel)], dim=-1)
        return self.linear(cols)


class Downsample2(nn.Module):
    """(B, T, c_in) -> (B, T/2, c_out): each pair of rows concatenated, one linear map. T must
    be even."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(2 * c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        return self.linear(x.reshape(B, T // 2, 2 * C))


class Upsample2(nn.Module):
    """(B, T, c_in) -> (B, 2T, c_out): each row mapped to two rows, then a kernel-3 time
    convolution so that neighbouring pairs blend (no blocky 2-frame steps)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(c_in, 2 * c_out)
        self.smooth = TimeConv(c_out, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        y = self.linear(x).reshape(B, 2 * T, -1)
        return y + self.smooth(y)
