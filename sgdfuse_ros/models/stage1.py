"""SGDFuse stage 1: the initial-fusion network (IR luma + VIS luma -> fused luma in [0, 1]).

    full res  : [IR, VIS] -> light detail convs ---------------------------------------------+
    1/2 res   : IR stem -> MSFEM          VIS stem -> conv                                   |
    1/4 res   : IR down -> MSFEM          VIS down -> transformer blocks                     |
                          +---- cross-modal channel attention (both directions) ----+        |
    decoder   : 1/4 -> up + [IR, VIS] skips at 1/2 -> up + detail at full res -> residual R  |
    output    : clamp(max(IR, VIS) + R, 0, 1)                                   (output="residual")
             or clamp(w B_IR + (1-w) B_VIS + s (a D_IR + (1-a) D_VIS), 0, 1)      (output="blend")

``output="blend"`` is faithful by construction (docs/stage1.md, "Blend output"): B and D are each source's
(2 base_radius + 1)^2 box base and detail; the base is a per-pixel convex blend (w in [0, 1], smoothed
over 5x5, so no grey lift and no rim beyond the sources), the detail a convex choice between the sources
(a) times a bounded gain s in (0, MAX_DETAIL_GAIN): the grain can be at most that factor of the noisier
source's. It starts as the average image (w = a = 1/2, s = 1). ``detail_gains`` fixes each layer's gain s
(the learned gain maps are then unused) and ``bound_radius`` clamps the output to the sources' local range, so
that a mid-layer gain above 1 cannot draw a halo that no source explains (docs/stage1.md, third round).
``weight_sharpness`` sets the base weight's prior apart from the detail choices' (docs/stage1.md, fourth round).

The heavy work (multi-scale convs, attention) runs at 1/2 and 1/4 resolution, so a 640x480 pair costs
about a tenth of SeAFusion's full-resolution convolutions. The network predicts a residual on top of the
pixel-wise maximum of the inputs (the target of the intensity loss): the last convolution starts at zero,
so an untrained model already keeps every bright IR target, and training only has to add texture and
contrast. Inputs of any size are padded (replicate) to a multiple of 4 and the output is cropped back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..diffusion.condition import bound_to_sources
from ..errors import ConfigError
from .cross_attention import CrossModalFusion
from .layers import ConvAct, box_mean, conv
from .msfem import MSFEM
from .transformer_block import TransformerBlock

MULTIPLE = 4  # two stride-2 stages
MAX_DETAIL_GAIN = 1.5  # blend output: bound of the detail gain s
OUTPUTS = ("residual", "blend")
PRIORS = ("average", "saliency")  # blend output: the weights' starting point
SALIENCY_RADIUS = 5  # detail saliency: 11x11 mean of |detail| (GFF: Gaussian 11x11 of |Laplacian|)
WEIGHT_SALIENCY_RADIUS = 15  # base weight prior: 31x31 mean of |x - image mean| (thermal saliency)
SALIENCY_EPS = 1e-3


def _intensity_saliency(x: torch.Tensor) -> torch.Tensor:
    """Per channel: the local mean of |x - its image mean| (hot targets on a cool background stand out)."""
    return box_mean((x - x.mean(dim=(2, 3), keepdim=True)).abs(), WEIGHT_SALIENCY_RADIUS)


class Stage1Net(nn.Module):
    def __init__(self, dim: int = 16, dim_low: int = 32, heads: int = 2, num_blocks: int = 2,
                 ffn_expansion: float = 2.0, detail_dim: int = 8, output: str = "residual",
                 base_radius: int = 2, detail_radius: int = 0, prior: str = "average",
                 prior_sharpness: float = 2.0, detail_gains: Sequence[float] | None = None,
                 bound_radius: int = 0, weight_sharpness: float | None = None) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"stage1: output must be one of {OUTPUTS}, got {output!r}")
        if prior not in PRIORS:
            raise ConfigError(f"stage1: prior must be one of {PRIORS}, got {prior!r}")
        if not 0 <= detail_radius < base_radius:
            raise ConfigError(f"stage1: detail_radius must be in [0, base_radius), got {detail_radius}")
        self.output = output
        self.base_radius = base_radius  # blend output: the base layer is the (2r+1)^2 box mean
        self.detail_radius = detail_radius  # > 0: two detail layers, x - box_d(x) and box_d(x) - base
        self.prior = prior  # blend output: what the weights start from (learned logits are added to it)
        self.prior_sharpness = prior_sharpness
        # the base weight's prior sharpness (None: prior_sharpness); larger is closer to GFF's choice of one source
        self.weight_sharpness = prior_sharpness if weight_sharpness is None else float(weight_sharpness)
        layers = 2 if detail_radius else 1
        if detail_gains is not None and (len(detail_gains) != layers
                                         or not all(0.0 <= g <= MAX_DETAIL_GAIN for g in detail_gains)):
            raise ConfigError(f"stage1: detail_gains must be {layers} values in [0, {MAX_DETAIL_GAIN}], "
                              f"got {detail_gains!r}")
        if bound_radius < 0:
            raise ConfigError(f"stage1: bound_radius must be >= 0, got {bound_radius}")
        if weight_sharpness is not None and not weight_sharpness >= 0:
            raise ConfigError(f"stage1: weight_sharpness must be >= 0, got {weight_sharpness!r}")
        if output != "blend" and (detail_gains is not None or bound_radius or weight_sharpness is not None):
            raise ConfigError("stage1: detail_gains, bound_radius and weight_sharpness need output='blend'")
        self.detail_gains = None if detail_gains is None else tuple(float(g) for g in detail_gains)
        self.bound_radius = bound_radius  # blend output: > 0 clamps to the sources' local range
        self.detail = nn.Sequential(ConvAct(2, detail_dim), ConvAct(detail_dim, detail_dim))
        self.ir_stem = ConvAct(1, dim, 3, stride=2)
        self.vis_stem = ConvAct(1, dim, 3, stride=2)
        self.ir_enhance = MSFEM(dim)
        self.vis_enhance = ConvAct(dim, dim)
        self.ir_down = ConvAct(dim, dim_low, 3, stride=2)
        self.vis_down = ConvAct(dim, dim_low, 3, stride=2)
        self.ir_low = MSFEM(dim_low)
        self.vis_low = nn.Sequential(
            *[TransformerBlock(dim_low, heads, ffn_expansion) for _ in range(num_blocks)])
        self.fusion = CrossModalFusion(dim_low, heads, ffn_expansion)
        self.up_low = nn.Conv2d(dim_low, dim, 1)
        self.decode_half = ConvAct(3 * dim, dim)
        self.decode_full = ConvAct(dim + detail_dim, detail_dim)
        # residual: gain on IR detail, gain on VIS detail, free residual; blend: logits of w, then a and s of
        # each detail layer
        self.head = conv(detail_dim, 3 if output == "residual" else 1 + 2 * layers)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        if output == "blend":  # s = MAX_DETAIL_GAIN * sigmoid(logit) starts at 1
            with torch.no_grad():
                self.head.bias[2::2] = -math.log(MAX_DETAIL_GAIN - 1.0)

    @staticmethod
    def _base(x: torch.Tensor, radius: int = 2) -> torch.Tensor:
        """Low-pass of each channel: its (2r+1)^2 box mean (replicate border)."""
        return box_mean(x, radius)

    @classmethod
    def _detail(cls, x: torch.Tensor) -> torch.Tensor:
        """High-pass of each channel: x minus its 5x5 box mean."""
        return x - cls._base(x)

    def _blend(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """w B_IR + (1-w) B_VIS + sum_k s_k (a_k D_IR,k + (1-a_k) D_VIS,k) of x = [IR, VIS]; logits [w, a_k, s_k]
        are added to the prior's (zero for ``prior="average"``)."""
        base = self._base(x, self.base_radius)
        if self.detail_radius:
            fine = self._base(x, self.detail_radius)
            details = [x - fine, fine - base]
        else:
            details = [x - base]
        saliency = self.prior == "saliency"
        w_prior = self._saliency_logit(_intensity_saliency(x), self.weight_sharpness) if saliency else 0.0
        w = torch.sigmoid(w_prior + self._base(logits[:, :1]))
        fused = w * base[:, :1] + (1.0 - w) * base[:, 1:]
        for k, detail in enumerate(details):
            a_prior = (self._saliency_logit(self._base(detail.abs(), SALIENCY_RADIUS), self.prior_sharpness)
                       if saliency else 0.0)
            a = torch.sigmoid(a_prior + logits[:, 1 + 2 * k:2 + 2 * k])
            if self.detail_gains is None:
                s = MAX_DETAIL_GAIN * torch.sigmoid(logits[:, 2 + 2 * k:3 + 2 * k])
            else:
                s = self.detail_gains[k]
            fused = fused + s * (a * detail[:, :1] + (1.0 - a) * detail[:, 1:])
        if self.bound_radius:
            fused = bound_to_sources(fused, x, self.bound_radius)
        return fused

    @staticmethod
    def _saliency_logit(saliency: torch.Tensor, sharpness: float) -> torch.Tensor:
        """sharpness * log(S_IR / S_VIS): a soft choice of the more salient source (GFF's weight map, smooth)."""
        log_s = torch.log(saliency + SALIENCY_EPS)
        return sharpness * (log_s[:, :1] - log_s[:, 1:])

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        """ir, vis: (N, 1, H, W) in [0, 1] -> fused (N, 1, H, W) in [0, 1]."""
        h, w = ir.shape[-2:]
        pad_h, pad_w = (-h) % MULTIPLE, (-w) % MULTIPLE
        x = nn.functional.pad(torch.cat([ir, vis], dim=1), (0, pad_w, 0, pad_h), mode="replicate")
        ir_p, vis_p = x[:, :1], x[:, 1:]

        ir2 = self.ir_enhance(self.ir_stem(ir_p))
        vis2 = self.vis_enhance(self.vis_stem(vis_p))
        ir4 = self.ir_low(self.ir_down(ir2))
        vis4 = self.vis_low(self.vis_down(vis2))
        low = self.fusion(ir4, vis4)

        half = self.decode_half(torch.cat([self._up(self.up_low(low)), ir2, vis2], dim=1))
        full = self.decode_full(torch.cat([self._up(half), self.detail(x)], dim=1))
        out = self.head(full)
        if self.output == "blend":
            return torch.clamp(self._blend(x, out), 0.0, 1.0)[..., :h, :w]
        detail = self._detail(x)
        residual = (out[:, :2] * detail).sum(dim=1, keepdim=True) + out[:, 2:]
        fused = torch.clamp(torch.maximum(ir_p, vis_p) + residual, 0.0, 1.0)
        return fused[..., :h, :w]
