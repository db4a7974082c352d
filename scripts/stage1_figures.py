"""Stage-1 figures for docs/stage1.md: CPU cost of both models (JSON) and the night-scene grid (PNG).

    .venv/bin/python scripts/stage1_figures.py            # both
    .venv/bin/python scripts/stage1_figures.py --skip-profile
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# msrs_test night scenes whose labelled pedestrians are bright in IR and dark in VIS (largest IR-VIS
# box-mean gap among night scenes with >= 2 persons): only for this figure, never for tuning.
NIGHT_SCENES = ("01024N", "00806N", "00794N", "00790N")
TILE = (320, 240)  # W, H of each cell


def profile(threads: int, runs: int) -> dict:
    import torch

    from sgdfuse_ros.bench.models import profile_model
    from sgdfuse_ros.methods.learned import WEIGHTS_DIR
    from sgdfuse_ros.models import load_model

    torch.set_num_threads(threads)
    models = {n: load_model(WEIGHTS_DIR / f"{n}.pt", expected_name=n)[0] for n in ("seafusion", "stage1")}
    result = {name: profile_model(m, (480, 640), runs=runs, warmup=1) for name, m in models.items()}
    result["latency_ratio_stage1_to_seafusion"] = (
        result["stage1"]["latency_ms_p50"] / result["seafusion"]["latency_ms_p50"])
    result["gflops_ratio_stage1_to_seafusion"] = result["stage1"]["gflops"] / result["seafusion"]["gflops"]
    result["machine"] = {"cpus": os.cpu_count(), "loadavg_1_5_15": list(os.getloadavg()),
                         "note": "shared 2-core CPU, other jobs running: compare the ratio, not absolute ms"}
    return result


def _label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 1, cv2.LINE_AA)
    return img


def night_grid(out: Path) -> Path:
    from sgdfuse_ros.datasets import resolve_dataset
    from sgdfuse_ros.images import read_image, write_image
    from sgdfuse_ros.pipeline import FusionPipeline

    folder = resolve_dataset("msrs_test")
    pipes = {name: FusionPipeline(name) for name in ("seafusion", "stage1")}
    rows = []
    for scene in NIGHT_SCENES:
        ir, vis = read_image(folder / "ir" / f"{scene}.png"), read_image(folder / "vi" / f"{scene}.png")
        ir_rgb = ir if ir.ndim == 3 else np.repeat(ir[..., None], 3, axis=2)
        cells = {f"{scene} IR": ir_rgb, "VIS": vis}
        cells.update({name: pipe(ir, vis).fused for name, pipe in pipes.items()})
        rows.append(np.hstack([_label(cv2.resize(img, TILE, interpolation=cv2.INTER_AREA), text)
                               for text, img in cells.items()]))
    return write_image(out, np.vstack(rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--skip-profile", action="store_true")
    p.add_argument("--skip-grid", action="store_true")
    args = p.parse_args()
    if not args.skip_profile:
        path = REPO / "docs" / "benchmarks" / "stage1_cpu.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(profile(args.threads, args.runs), indent=2) + "\n")
        print(f"wrote {path}")
    if not args.skip_grid:
        print(f"wrote {night_grid(REPO / 'docs' / 'images' / 'stage1_night_grid.png')}")


if __name__ == "__main__":
    main()
