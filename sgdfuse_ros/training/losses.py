"""Fusion losses shared by stage 1, SeAFusion and the refiner (unsupervised: no fused ground truth).

- intensity: L1(F, max(IR, VIS)) -- keep the brighter (salient) source at every pixel;
- gradient (texture): L1(|grad F|, gain * max(|grad IR|, |grad VIS|)) with |grad| = |Sobel_x| + |Sobel_y|
  (gain 1 in SeAFusion; > 1 asks for sharper texture than either source: see docs/stage1.md);
- ssim (optional): 1 - (SSIM(F, IR) + SSIM(F, VIS)) / 2, 11x11 Gaussian window.

Options that keep the objective from rewarding noise or washing out bright scenes (docs/stage1.md):
``intensity_target="saliency"`` replaces max(IR, VIS) by the saliency-weighted mean of the sources
(saliency: 11x11 mean of |x - mean(x)|, the visual saliency of Ma et al. 2017's VSM fusion), and
``clean_gradient=True`` takes the gradient target from self-guided-filtered sources (He et al. 2013, 5x5,
eps = 0.02^2: edges stay, grain below about 5 grey levels goes).

SeAFusion's content loss is ``intensity + 10 * gradient`` (the authors' loss.py, ``loss_in + 10 *
loss_grad``; the paper's alpha = 10), which is ``FusionLoss(intensity=1, gradient=10)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..models.layers import box_mean

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_gradient(x: torch.Tensor) -> torch.Tensor:
    """|Sobel_x| + |Sobel_y| of an (N, 1, H, W) tensor (replicate padding, same size out)."""
    kernel = torch.stack([_SOBEL_X, _SOBEL_X.t()]).unsqueeze(1).to(x)
    g = nn.functional.conv2d(nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), kernel)
    return g.abs().sum(dim=1, keepdim=True)


INTENSITY_TARGETS = ("max", "saliency")


def guided_smooth(x: torch.Tensor, radius: int = 2, eps: float = 0.02**2) -> torch.Tensor:
    """Self-guided filter (He et al.): flattens variations below about sqrt(eps), keeps the edges above it."""
    mean = box_mean(x, radius)
    var = (box_mean(x * x, radius) - mean * mean).clamp_min(0.0)
    a = var / (var + eps)
    return box_mean(a, radius) * x + box_mean(mean - a * mean, radius)


def saliency_target(ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Per-pixel mean of IR and VIS weighted by their saliency (11x11 mean of |x - image mean|)."""
    s_ir, s_vis = (box_mean((x - x.mean(dim=(2, 3), keepdim=True)).abs(), 5) + 1e-3 for x in (ir, vis))
    return (s_ir * ir + s_vis * vis) / (s_ir + s_vis)


def intensity_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, target: str = "max") -> torch.Tensor:
    goal = saliency_target(ir, vis) if target == "saliency" else torch.maximum(ir, vis)
    return nn.functional.l1_loss(fused, goal)


def gradient_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, gain: float = 1.0,
                  clean: bool = False) -> torch.Tensor:
    if clean:
        ir, vis = guided_smooth(ir), guided_smooth(vis)
    target = torch.maximum(sobel_gradient(ir), sobel_gradient(vis)) * gain
    return nn.functional.l1_loss(sobel_gradient(fused), target)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, dtype=torch.float32) - size // 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(1, 1, size, size)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004, Gaussian 11x11, sigma 1.5) of (N, 1, H, W) tensors, valid region."""
    w = _gaussian_window().to(x)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = nn.functional.conv2d(x, w), nn.functional.conv2d(y, w)
    sxx = nn.functional.conv2d(x * x, w) - mu_x**2
    syy = nn.functional.conv2d(y * y, w) - mu_y**2
    sxy = nn.functional.conv2d(x * y, w) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    return (num / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))).mean()


def ssim_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    return 1.0 - 0.5 * (ssim(fused, ir) + ssim(fused, vis))


@dataclass(frozen=True)
class FusionLoss:
    """Weighted sum of the terms above; ``__call__`` returns (total, {term: value})."""

    intensity: float = 1.0
    gradient: float = 10.0
    ssim: float = 0.0
    texture_gain: float = 1.0  # scale of the gradient target
    intensity_target: str = "max"  # or "saliency"
    clean_gradient: bool = False  # gradient target from guided-filtered sources

    def __post_init__(self) -> None:
        if self.intensity_target not in INTENSITY_TARGETS:
            raise ConfigError(f"intensity_target must be one of {INTENSITY_TARGETS}, got {self.intensity_target!r}")
        for name in ("intensity", "gradient", "ssim", "texture_gain"):
            if not getattr(self, name) >= 0.0:
                raise ConfigError(f"loss weight {name} must be >= 0, got {getattr(self, name)}")

    def __call__(self, fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor
                 ) -> tuple[torch.Tensor, dict[str, float]]:
        terms = {"intensity": intensity_loss(fused, ir, vis, self.intensity_target),
                 "gradient": gradient_loss(fused, ir, vis, self.texture_gain, self.clean_gradient)}
        if self.ssim > 0.0:
            terms["ssim"] = ssim_loss(fused, ir, vis)
        total = sum(getattr(self, name) * value for name, value in terms.items())
        return total, {name: float(value.detach()) for name, value in terms.items()}
