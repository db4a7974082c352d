"""Test doubles shared by several test modules (not a test module)."""

from __future__ import annotations

import numpy as np
import pytest
import torch


class TinyFusion(torch.nn.Module):
    """A one-conv IR/VIS model: enough to exercise backends and export quickly."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.cat([ir, vis], dim=1)))


class HalfMasks:
    """A mask source: IR mask on the left half, VIS mask on the right; reports provider "half", age 0.25 s."""

    last_provider, last_age_s = "half", 0.25

    def __call__(self, pair):
        h, w = pair.shape
        mask = np.zeros((h, w), np.float32)
        mask[:, : w // 2] = 1.0
        return {"ir": mask, "vis": 1.0 - mask}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Autouse where imported. One torch thread: tiny ops gain nothing from more, and a busy shared CPU
    makes them much slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
