"""Hierarchical Feature Aggregation Head (SGDFuse's output head).

    decoder features at every level -> 1x1 conv to ``dim`` -> bilinear upsampling to full resolution
    -> concatenation -> spatial attention (sigmoid(7x7 conv of [channel mean, channel max])) -> 3x3 convs
    -> Tanh

Coarse levels bring context (object extent, the masks' regions), the full-resolution level brings edges;
the spatial attention lets the head weight the aggregated features per pixel. Plain ops only (ONNX).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .layers import conv


class SpatialAttention(nn.Module):
    """x * sigmoid(conv7x7([mean over channels, max over channels])) (CBAM's spatial branch)."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = conv(2, 1, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class HFAHead(nn.Module):
    """Aggregates decoder features ``[full, 1/2, 1/4, ...]`` (finest first) to ``out_channels``, [-1, 1]."""

    def __init__(self, in_channels: Sequence[int], out_channels: int = 1, dim: int = 8,
                 convs: int = 3) -> None:
        super().__init__()
        if convs < 2:
            raise ConfigError(f"HFAHead needs >= 2 convs, got {convs}")
        self.reduce = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in in_channels)
        width = dim * len(in_channels)
        self.attention = SpatialAttention()
        layers: list[nn.Module] = []
        for i in range(convs - 1):
            layers += [conv(width if i == 0 else 2 * dim, 2 * dim), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.out = conv(2 * dim, out_channels)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        size = features[0].shape[-2:]
        ups = [self.reduce[0](features[0])]
        for reduce, f in zip(self.reduce[1:], features[1:], strict=True):
            ups.append(nn.functional.interpolate(reduce(f), size=size, mode="bilinear", align_corners=False))
        x = self.attention(torch.cat(ups, dim=1))
        return torch.tanh(self.out(self.body(x)))


class ConvHead(nn.Module):
    """The "no HFAH" ablation: one 3x3 conv on the finest decoder features, then Tanh."""

    def __init__(self, in_channels: Sequence[int], out_channels: int = 1) -> None:
        super().__init__()
        self.out = conv(in_channels[0], out_channels)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.out(features[0]))
