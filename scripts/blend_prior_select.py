"""Score *untrained* stage-1 blend models (the prior alone: the learned logits start at zero) with the
selection rule on the train split's validation set -- the design loop of issue 22 (docs/stage1.md), no
training needed.

    PYTHONPATH=. python scripts/blend_prior_select.py --out docs/results/issue22_prior \\
        --variant 'avg={"base_radius": 7, "detail_radius": 1}' \\
        --variant 'sal={"base_radius": 7, "detail_radius": 1, "prior": "saliency"}' \\
        --variant 'sal_f08={"base_radius": 7, "detail_radius": 1, "prior": "saliency", "gains": [0.8, 1.0]}'

Each variant is NAME=JSON: a stage-1 model config (``output`` is always ``blend``) plus optional ``gains``,
the initial detail gain of each detail layer (set through the head's bias; 1 by default). Writes
``OUT/selection.json`` (``training.select``'s format, with the baselines average and GFF).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from sgdfuse_ros.images import to_gray_u8
from sgdfuse_ros.methods.learned import run_model
from sgdfuse_ros.models import build_model
from sgdfuse_ros.models.stage1 import MAX_DETAIL_GAIN
from sgdfuse_ros.training.select import BASELINES, Fuse, candidate_fuse, report, select


def prior_fuse(config: dict) -> Fuse:
    config = dict(config)
    gains = config.pop("gains", None)
    model = build_model("stage1", **{**config, "output": "blend"}).eval()
    if gains is not None:
        with torch.no_grad():
            for k, gain in enumerate(gains):  # s = MAX_DETAIL_GAIN * sigmoid(bias)
                model.head.bias[2 + 2 * k] = math.log(gain / (MAX_DETAIL_GAIN - gain))
    return lambda ir, vis: to_gray_u8(run_model(model, ir / np.float32(255), vis / np.float32(255),
                                                torch.device("cpu")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", action="append", required=True, help="NAME=JSON model config (see above)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    variants = dict(v.split("=", 1) for v in args.variant)
    configs = {name: json.loads(text) for name, text in variants.items()}
    result = select(list(configs), BASELINES,
                    fuse_for=lambda name: prior_fuse(configs[name]) if name in configs else candidate_fuse(name))
    result["variants"] = configs
    report(result, args.out)


if __name__ == "__main__":
    main()
