"""Choose ``MIN_MARGIN`` (registration/estimate.py) on train-split synthetic trials.

Reads the synthetic.json of ``registration_synthetic.py`` runs on train sets (one pair per trial), and for each
candidate threshold lists how many accepted lone-pair trials a margin rule keeps and their corner errors.

    .venv/bin/python scripts/registration_margin.py RUN1/synthetic.json RUN2/synthetic.json ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="synthetic.json files of train-split runs")
    ap.add_argument("--thresholds", default="0,0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08,0.1")
    ap.add_argument("--wrong-px", type=float, default=8.0, help="a trial this far off counts as a wrong warp")
    args = ap.parse_args()
    trials = [t for run in args.runs for t in json.loads(run.read_text())["trials"]
              if "refused" not in t and len(t["per_pair"]) == 1]
    error = np.array([t["error_px"] for t in trials])
    margin = np.array([t["per_pair"][0]["margin"] for t in trials])
    print(f"{len(trials)} accepted lone-pair trials; wrong (> {args.wrong_px:g} px): {(error > args.wrong_px).sum()}")
    print("| margin >= | kept | refused correct (wrong) | refused good | median px | p90 px |")
    print("|---|---|---|---|---|---|")
    for t in map(float, args.thresholds.split(",")):
        keep, wrong = margin >= t, error > args.wrong_px
        e = error[keep]
        print(f"| {t:g} | {keep.sum()} | {(~keep & wrong).sum()} | {(~keep & ~wrong).sum()} | "
              f"{np.median(e):.2f} | {np.percentile(e, 90):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
