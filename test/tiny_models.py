"""Tiny torch models shared by the runtime and export tests (not a test module)."""

from __future__ import annotations

import torch


class TinyFusion(torch.nn.Module):
    """A one-conv IR/VIS model: enough to exercise backends and export quickly."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.cat([ir, vis], dim=1)))
