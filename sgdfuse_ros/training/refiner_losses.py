"""Refiner losses: the denoising objective on x0 plus mask-guided fusion losses on the refined image.

With m_ir, m_vis the masks and m = max(m_ir, m_vis):
- ``denoise``: L1(x0_hat, x0) (x0-parameterisation; x0 is the scaled residual of the pseudo-target);
- ``intensity``: mean (b + mask_weight * m_ir) * |F - max(IR, VIS)| -- the brighter source, weighted
  more inside IR-salient regions (there the IR: hot targets are the brighter source);
- ``gradient``: mean (b + mask_weight * m) * | |grad F| - (1 + mask_gain * m) * max(|grad IR|, |grad VIS|) |
  (|grad| = |Sobel_x| + |Sobel_y|) -- the sharper source's texture, stronger and weighted more inside masks.

b = ``outside_weight``: 1 applies the task terms everywhere (more inside the masks); 0 only inside the salient
regions, leaving the background to the denoising term alone.

F is the refined image ``initial + residual_hat``; all tensors (N, 1, H, W).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..errors import ConfigError
from .losses import sobel_gradient


def mask_guided_intensity(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, m_ir: torch.Tensor,
                          mask_weight: float, outside_weight: float) -> torch.Tensor:
    return ((outside_weight + mask_weight * m_ir) * (fused - torch.maximum(ir, vis)).abs()).mean()


def mask_guided_gradient(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, m: torch.Tensor,
                         mask_weight: float, mask_gain: float, outside_weight: float) -> torch.Tensor:
    target = (1 + mask_gain * m) * torch.maximum(sobel_gradient(ir), sobel_gradient(vis))
    return ((outside_weight + mask_weight * m) * (sobel_gradient(fused) - target).abs()).mean()


@dataclass(frozen=True)
class RefinerLoss:
    """Weighted sum of the terms above; ``__call__`` returns (total, {term: value})."""

    denoise: float = 1.0
    intensity: float = 0.2
    gradient: float = 0.5
    mask_weight: float = 1.0  # extra weight of the task losses inside the masks
    mask_gain: float = 0.2  # gradient amplification inside the masks (as in the pseudo-target)
    outside_weight: float = 1.0  # weight of the task losses outside the masks (0: inside the masks only)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value >= 0.0:
                raise ConfigError(f"refiner loss weight {name} must be >= 0, got {value}")

    def __call__(self, x0_hat: torch.Tensor, x0: torch.Tensor, fused: torch.Tensor, ir: torch.Tensor,
                 vis: torch.Tensor, m_ir: torch.Tensor, m_vis: torch.Tensor
                 ) -> tuple[torch.Tensor, dict[str, float]]:
        m = torch.maximum(m_ir, m_vis)
        terms = {
            "denoise": (x0_hat - x0).abs().mean(),
            "intensity": mask_guided_intensity(fused, ir, vis, m_ir, self.mask_weight, self.outside_weight),
            "gradient": mask_guided_gradient(fused, ir, vis, m, self.mask_weight, self.mask_gain,
                                             self.outside_weight),
        }
        weights = asdict(self)
        total = sum(weights[name] * value for name, value in terms.items())
        return total, {name: float(value.detach()) for name, value in terms.items()}
