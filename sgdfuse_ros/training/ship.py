"""Ship trained weights: copy a run's ``model.pt`` to ``sgdfuse_ros/weights/`` and record it in the manifest.

    sgdfuse ship runs/stage1/model.pt sgdfuse_ros/weights/stage1.pt

The manifest entry (keyed by file name) holds the exact command, the data used, the git commit, sha256,
parameters, GFLOPs at 640x480, the validation metrics and where it was trained.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..models import load_model
from .data import TRAIN_CLIPS, TRAIN_IMAGE_SETS, VALIDATION, VIDEO_VAL_OFFSET, VIDEO_VAL_STRIDE, load_validation
from .loop import validate
from .losses import FusionLoss

MAX_BYTES = 10 * 1024 * 1024
TRAINED_ON = "CPU (2 cores), no GPU"


def git_commit(repo: Path) -> str:
    """``git rev-parse HEAD`` of ``repo``, or "" when there is no commit yet."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             check=False)
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_entry(path: Path) -> dict[str, Any]:
    from ..models.flops import fusion_gflops

    model, info = load_model(path)
    meta = info["meta"]
    loss = FusionLoss(**meta.get("train_config", {}).get("loss", {}))
    return {
        "model": info["model"], "config": info["config"], "command": meta.get("command", ""),
        **({"output_options": meta["output_options"]} if "output_options" in meta else {}),
        "train_config": meta.get("train_config", {}), "data": meta.get("data", {}),
        "datasets": {"image_sets": list(TRAIN_IMAGE_SETS), "video_clips": [f"m3svd/{c}" for c in TRAIN_CLIPS],
                     "video_frame_stride": "--video-stride in the command (default 10)",
                     "held_out_for_validation": {k: list(v) for k, v in VALIDATION.items()},
                     "video_validation_frames": f"index % {VIDEO_VAL_STRIDE} == {VIDEO_VAL_OFFSET} of each clip",
                     "evaluation_sets_used": "none"},
        "git_commit": git_commit(Path(__file__).resolve().parents[2]), "sha256": sha256(path),
        "bytes": path.stat().st_size, "params": sum(p.numel() for p in model.parameters()),
        "gflops_640x480": round(fusion_gflops(model, (480, 640)), 3),
        "validation": validate(model, load_validation(), loss),
        "validation_logged_in_training": meta.get("validation", {}), "trained_on": TRAINED_ON,
    }


def ship(src: Path, dst: Path) -> dict[str, Any]:
    load_model(src)  # refuse to ship a broken checkpoint
    if src.stat().st_size > MAX_BYTES:
        raise SystemExit(f"{src}: {src.stat().st_size} bytes, over the {MAX_BYTES}-byte limit for weights")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    manifest_path = dst.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[dst.name] = manifest_entry(dst)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest[dst.name]
