"""The shipped checkpoints (``<name>.pt``, described in ``manifest.json``) live in this folder."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
