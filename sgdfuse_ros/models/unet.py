"""Denoising U-Net of the stage-2 refiner: x0-prediction conditioned on the initial fusion and the masks.

    input  : [x_t (noisy residual, out_channels), condition (cond_channels)] at full resolution
    encoder: level 0 at full res, each next level at half the size (stride-2 conv), a residual block each;
             a middle block at the coarsest level
    decoder: upsample (bilinear) + skip concat + residual block per level, back to full res
    head   : HFAH on the decoder features of every level (or a plain conv for the ablation) -> Tanh

Every residual block is modulated by the timestep (sinusoidal embedding -> MLP -> per-channel scale and
shift, FiLM). ``t`` is a float tensor (N,) so the network exports to ONNX with the timestep as an input.
Any input size works: the input is padded (replicate) to a multiple of 2^(levels-1) and cropped back.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .hfah import ConvHead, HFAHead
from .layers import conv

HEADS = ("hfah", "conv")


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (N,) -> (N, dim) of float timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    """conv3x3 -> SiLU -> FiLM(t) -> conv3x3, plus a (1x1 if needed) skip, then SiLU."""

    def __init__(self, cin: int, cout: int, time_dim: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv(cin, cout), conv(cout, cout)
        self.film = nn.Linear(time_dim, 2 * cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(temb)[:, :, None, None].chunk(2, dim=1)
        h = self.act(self.conv1(x)) * (1 + scale) + shift
        return self.act(self.skip(x) + self.conv2(h))


class RefinerUNet(nn.Module):
    """``forward(x_t, t, cond) -> x0_hat`` in [-1, 1], shape (N, out_channels, H, W)."""

    def __init__(self, cond_channels: int = 5, out_channels: int = 1, widths: Sequence[int] = (16, 32, 64),
                 time_dim: int = 64, head: str = "hfah", head_dim: int = 8) -> None:
        super().__init__()
        if head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {head!r}")
        if len(widths) < 2:
            raise ConfigError(f"a U-Net needs >= 2 levels, got widths {list(widths)}")
        widths = [int(w) for w in widths]
        self.multiple = 2 ** (len(widths) - 1)
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = conv(out_channels + cond_channels, widths[0])
        self.enc = nn.ModuleList(ResBlock(w, w, time_dim) for w in widths)
        self.down = nn.ModuleList(conv(a, b, stride=2) for a, b in itertools.pairwise(widths))
        self.mid = ResBlock(widths[-1], widths[-1], time_dim)
        self.dec = nn.ModuleList(ResBlock(widths[i + 1] + widths[i], widths[i], time_dim)
                                 for i in range(len(widths) - 1))
        if head == "hfah":
            self.head: nn.Module = HFAHead(widths, out_channels, head_dim)
        else:
            self.head = ConvHead(widths, out_channels)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h, w = x_t.shape[-2:]
        pad_h, pad_w = (-h) % self.multiple, (-w) % self.multiple
        x = nn.functional.pad(torch.cat([x_t, cond], dim=1), (0, pad_w, 0, pad_h), mode="replicate")
        temb = self.time_mlp(timestep_embedding(t, self.time_dim))
        x = self.stem(x)
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x, temb)
            if i < len(self.down):
                skips.append(x)
                x = self.down[i](x)
        x = self.mid(x, temb)
        features = [x]
        for i in reversed(range(len(self.dec))):
            up = nn.functional.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.dec[i](torch.cat([up, skips[i]], dim=1), temb)
            features.append(x)
        out = self.head(features[::-1])  # finest first
        return out[..., :h, :w]
