"""Transformer block of the VIS branch: Restormer-style channel ("transposed") attention + gated FFN.

Attention runs across channels, not pixels: each head builds a (C/h)x(C/h) map from all pixels, so the
cost grows linearly with H*W (a 640x480 or 1280x1024 frame is no problem), while spatial self-attention
would need an (HW)x(HW) map: 3.7e8 entries per head at 1/4 of 1280x1024.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ChannelAttention, GatedConvFFN, LayerNorm2d, conv


class ChannelSelfAttention(ChannelAttention):
    """MDTA: 1x1 + 3x3 depthwise q/k/v, L2-normalised channel attention with a learned temperature."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__(dim, heads)
        self.qkv = nn.Conv2d(dim, dim * 3, 1)
        self.qkv_dw = conv(dim * 3, dim * 3, 3, groups=dim * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attend(*self.qkv_dw(self.qkv(x)).chunk(3, dim=1))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + MDTA(LN(x)), then x + GDFN(LN(x))."""

    def __init__(self, dim: int, heads: int = 2, ffn_expansion: float = 2.0) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(dim)
        self.attn = ChannelSelfAttention(dim, heads)
        self.norm2 = LayerNorm2d(dim)
        self.ffn = GatedConvFFN(dim, ffn_expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))
