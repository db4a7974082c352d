"""Shared fixtures: the research data beside the checkout (tests that need it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgdfuse_ros.datasets import shared_root

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_root()
    if root is None:
        pytest.skip("shared/data is absent (set SGDFUSE_SHARED to the folder holding data/)")
    return root / "data"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return REPO / "samples"
