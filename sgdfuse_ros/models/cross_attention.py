"""Cross-modal fusion: channel cross-attention in both directions (IR<-VIS, VIS<-IR), then a merge."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ChannelAttention, GatedConvFFN, LayerNorm2d, conv


class ChannelCrossAttention(ChannelAttention):
    """Queries from ``x``, keys/values from ``context``; channel attention (linear in the pixel count)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__(dim, heads)
        self.q = nn.Sequential(nn.Conv2d(dim, dim, 1), conv(dim, dim, 3, groups=dim))
        self.kv = nn.Sequential(nn.Conv2d(dim, dim * 2, 1), conv(dim * 2, dim * 2, 3, groups=dim * 2))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.attend(self.q(x), *self.kv(context).chunk(2, dim=1))


class CrossModalFusion(nn.Module):
    """IR attends to VIS and VIS attends to IR; both enriched streams are merged (1x1) and refined (FFN)."""

    def __init__(self, dim: int, heads: int = 2, ffn_expansion: float = 2.0) -> None:
        super().__init__()
        self.norm_ir = LayerNorm2d(dim)
        self.norm_vis = LayerNorm2d(dim)
        self.ir_from_vis = ChannelCrossAttention(dim, heads)
        self.vis_from_ir = ChannelCrossAttention(dim, heads)
        self.merge = nn.Conv2d(dim * 2, dim, 1)
        self.norm_out = LayerNorm2d(dim)
        self.ffn = GatedConvFFN(dim, ffn_expansion)

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        n_ir, n_vis = self.norm_ir(ir), self.norm_vis(vis)
        ir = ir + self.ir_from_vis(n_ir, n_vis)
        vis = vis + self.vis_from_ir(n_vis, n_ir)
        x = self.merge(torch.cat([ir, vis], dim=1))
        return x + self.ffn(self.norm_out(x))
