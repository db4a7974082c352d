"""Small building blocks shared by the models (plain ops only, so the models export to ONNX)."""

from __future__ import annotations

import torch
from torch import nn


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, bias: bool = True) -> nn.Conv2d:
    """Same-padding 2-D convolution."""
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=bias)


class ConvAct(nn.Sequential):
    """Convolution + LeakyReLU(0.1)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(conv(cin, cout, k, stride, groups), nn.LeakyReLU(0.1, inplace=True))


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an NCHW tensor (Restormer's WithBias_LayerNorm without rearranges)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * self.weight + self.bias


class GatedConvFFN(nn.Module):
    """Restormer's gated-Dconv feed-forward network: 1x1 expand, 3x3 depthwise, GELU gate, 1x1 project."""

    def __init__(self, dim: int, expansion: float = 2.0) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.expand = nn.Conv2d(dim, hidden * 2, 1)
        self.dwconv = conv(hidden * 2, hidden * 2, 3, groups=hidden * 2)
        self.project = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.dwconv(self.expand(x)).chunk(2, dim=1)
        return self.project(nn.functional.gelu(x1) * x2)


class ChannelAttention(nn.Module):
    """Transposed (channel) attention of Restormer's MDTA: a (C/h)x(C/h) map per head, linear in the pixel count.

    Holds what the self- and cross-attention modules share: the head count, a learned temperature per head and
    the 1x1 output projection; subclasses make q, k and v.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.project = nn.Conv2d(dim, dim, 1)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q, k, v: (N, C, H, W) -> (N, C, H, W), L2-normalised q/k, softmax over channels, projected."""
        n, c, h, w = q.shape
        heads = self.heads
        q = nn.functional.normalize(q.reshape(n, heads, c // heads, h * w), dim=-1)
        k = nn.functional.normalize(k.reshape(n, heads, c // heads, h * w), dim=-1)
        v = v.reshape(n, heads, c // heads, h * w)
        attn = torch.softmax(q @ k.transpose(-2, -1) * self.temperature, dim=-1)
        return self.project((attn @ v).reshape(n, c, h, w))


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """(2r+1)^2 box mean of each channel of an (N, C, H, W) tensor, replicate border. Separable: a row mean,
    then a column mean (2(2r+1) adds per pixel instead of (2r+1)^2; a 31x31 box at 640x480 on one CPU thread:
    48 instead of 525 ms), equal to the 2-D box up to float rounding."""
    k = 2 * radius + 1
    padded = nn.functional.pad(x, (radius,) * 4, mode="replicate")
    return nn.functional.avg_pool2d(nn.functional.avg_pool2d(padded, (1, k), stride=1), (k, 1), stride=1)
