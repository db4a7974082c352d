"""Multi-Scale Feature Enhancement Module (IR branch of the SGDFuse stage-1 network).

    x -> 1x1 ------------------------------------------------+
    x -> 3x3 -+                                               |
    x -> 5x5 -+- concat -> depthwise 3x3 -> pointwise 1x1 ---(+)-> act -> SE channel attention -> (+ x)
    x -> 7x7 -+
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import conv


class SqueezeExcitation(nn.Module):
    """SE channel attention: global average -> bottleneck MLP (1x1 convs) -> sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(nn.functional.relu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class MSFEM(nn.Module):
    """Multi-scale convolutions (1/3/5/7), depthwise-separable mixing, SE attention and a residual path."""

    def __init__(self, channels: int, branch_channels: int | None = None) -> None:
        super().__init__()
        b = branch_channels or channels // 2
        self.shallow = nn.Conv2d(channels, channels, 1)
        self.branches = nn.ModuleList([conv(channels, b, k) for k in (3, 5, 7)])
        self.depthwise = conv(3 * b, 3 * b, 3, groups=3 * b)
        self.pointwise = nn.Conv2d(3 * b, channels, 1)
        self.act = nn.LeakyReLU(0.1, inplace=True)
        self.attention = SqueezeExcitation(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multi = torch.cat([self.act(branch(x)) for branch in self.branches], dim=1)
        multi = self.pointwise(self.act(self.depthwise(multi)))
        return x + self.attention(self.act(multi + self.shallow(x)))
