"""SeAFusion (Tang, Yuan, Ma, Information Fusion 2022): the real-time reference fusion network.

Same layout as the authors' FusionNet (166,883 parameters): per modality a 3x3 conv (1->16) and two
gradient residual dense blocks (16->32->48); the two 48-channel streams are concatenated and decoded by
3x3 conv + BN + LeakyReLU layers (96->64->32->16) and a conv + BN + tanh head mapped to [0, 1].
All convolutions run at full resolution.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import conv

SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


class ConvLeaky(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(self.conv(x), 0.2)


class ConvBnLeaky(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv(cin, cout, 3)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(self.bn(self.conv(x)), 0.2)


class SobelMagnitude(nn.Module):
    """|Sobel_x| + |Sobel_y| per channel: depthwise convs set to Sobel, trainable as in the original."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_x = conv(channels, channels, 3, groups=channels, bias=False)
        self.conv_y = conv(channels, channels, 3, groups=channels, bias=False)
        kx = torch.tensor(SOBEL_X)
        with torch.no_grad():
            self.conv_x.weight.copy_(kx.expand(channels, 1, 3, 3))
            self.conv_y.weight.copy_(kx.t().expand(channels, 1, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_x(x).abs() + self.conv_y(x).abs()


class GRDB(nn.Module):
    """Gradient residual dense block: dense 3x3 convs + 1x1, plus a Sobel-gradient residual with 1x1."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.dense1 = ConvLeaky(cin, cin)
        self.dense2 = ConvLeaky(2 * cin, cin)
        self.dense_out = nn.Conv2d(3 * cin, cout, 1)
        self.sobel = SobelMagnitude(cin)
        self.grad_out = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = torch.cat([x, self.dense1(x)], dim=1)
        d = torch.cat([d, self.dense2(d)], dim=1)
        return nn.functional.leaky_relu(self.dense_out(d) + self.grad_out(self.sobel(x)), 0.1)


class SeAFusionNet(nn.Module):
    def __init__(self, channels: tuple[int, int, int] = (16, 32, 48)) -> None:
        super().__init__()
        c0, c1, c2 = channels

        def encoder() -> nn.Sequential:
            return nn.Sequential(ConvLeaky(1, c0), GRDB(c0, c1), GRDB(c1, c2))

        self.vis_encoder = encoder()
        self.ir_encoder = encoder()
        self.decoder = nn.Sequential(
            ConvBnLeaky(2 * c2, 2 * c1), ConvBnLeaky(2 * c1, 2 * c0), ConvBnLeaky(2 * c0, c0))
        self.head = conv(c0, 1, 3)
        self.head_bn = nn.BatchNorm2d(1)

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        """ir, vis: (N, 1, H, W) in [0, 1] -> fused (N, 1, H, W) in [0, 1]."""
        x = self.decoder(torch.cat([self.vis_encoder(vis), self.ir_encoder(ir)], dim=1))
        return torch.tanh(self.head_bn(self.head(x))) * 0.5 + 0.5
