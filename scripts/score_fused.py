"""Score fused images saved by ``sgdfuse eval --save-fused`` (OUT/fused/SET/METHOD/NAME.png) again, as eval does.

    .venv/bin/python scripts/score_fused.py runs/eval/fused -o runs/eval_rescored [--published ../shared/PEERS.md]

For a run stopped part-way (its reports are written at the end): every saved image is scored against its
sources with the nine metrics and the noise figures; summary.md / scores.csv as ``sgdfuse eval`` writes them.
Only pairs that every method of a set has are scored, so the methods' means cover the same pairs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.evaluation import EvalResult, PairScore, markdown_table, source_grays, write_reports
from sgdfuse_ros.evaluation.published import compare, read_published
from sgdfuse_ros.images import read_image
from sgdfuse_ros.metrics import DEFAULT_METRICS, NOISE_METRICS, compute_metrics, to_gray_u8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fused", type=Path, help="the fused/ folder of an eval run")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--published", default="", help="also write published.md (as sgdfuse eval)")
    args = parser.parse_args()
    scores: list[PairScore] = []
    for set_dir in sorted(p for p in args.fused.iterdir() if p.is_dir()):
        pairs = {p.name: p for p in find_pairs(set_dir.name)[0]}
        methods = sorted(p for p in set_dir.iterdir() if p.is_dir())
        names = set.intersection(*({f.stem for f in m.glob("*.png")} for m in methods)) & pairs.keys()
        for name in sorted(names):
            _, _, ir_gray, vis_gray = source_grays(pairs[name])
            for m in methods:
                fused = to_gray_u8(read_image(m / f"{name}.png"))
                metrics = compute_metrics(fused, ir_gray, vis_gray, DEFAULT_METRICS + NOISE_METRICS)
                scores.append(PairScore(set_dir.name, m.name, name, metrics))
        print(f"{set_dir.name}: {len(names)} pairs x {len(methods)} methods")
    result = EvalResult(scores, DEFAULT_METRICS, {}, NOISE_METRICS)
    write_reports(result, args.out)
    print(markdown_table(result.means(), result.table_names))
    if args.published:
        text = compare(result.means(), read_published(args.published), result.table_names)
        (args.out / "published.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
