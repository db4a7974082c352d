"""``calibrate`` on real clips: the replay clips and the training clips of shared/data/video/m3svd (and, pair by
pair, the image sets given with --sets). For each clip: the homography from ``--pairs`` frames spread over the
clip, its residual, and the alignment score (IR-VIS edge correlation) before (plain resize) and after, on those
frames and on as many held-out frames between them. Writes clips.md / clips.json.

    .venv/bin/python scripts/registration_clips.py -o docs/results/registration
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sgdfuse_ros.bag.pairs import video_pairs
from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.images import read_image
from sgdfuse_ros.registration import RegistrationError, calibrate
from sgdfuse_ros.registration.estimate import _gray, pair_score

CLIPS = ("0111_1716", "1230_1202", "0113_1714", "0117_1605", "0117_1620")  # replay, then training clips


def scores(pairs: list, h: np.ndarray | None) -> float:
    return float(np.mean([pair_score(_gray(ir), _gray(vis), h) for ir, vis in pairs]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default="docs/results/registration")
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--sets", default="msrs_train30", help="image sets registered pair by pair ('' for none)")
    args = ap.parse_args()
    rows = []
    for clip in args.clips.split(","):
        frames = video_pairs(clip, 2 * args.pairs)
        used, held_out = frames[0::2], frames[1::2]
        row = {"source": clip, "pairs": len(used)}
        try:
            cal = calibrate(used, min_pairs=2)
            row.update(homography=cal.homography.ravel().tolist(), used=cal.pairs_used, residual_px=cal.residual_px,
                       score_before=cal.score_before, score_after=cal.score_after,
                       held_out_before=scores(held_out, None), held_out_after=scores(held_out, cal.homography))
        except RegistrationError as e:
            row.update(refused=str(e), score_before=scores(used, None), held_out_before=scores(held_out, None))
        rows.append(row)
        print(json.dumps(row), flush=True)
    for name in filter(None, args.sets.split(",")):
        pairs, _ = find_pairs(name)
        before, after, refused, residuals = [], [], [], []
        for p in pairs:
            pair = (read_image(p.ir), read_image(p.vis))
            b = scores([pair], None)
            try:
                cal = calibrate([pair])
                before.append(b)
                after.append(cal.score_after)
                residuals.append(cal.residual_px)
            except RegistrationError as e:
                refused.append(f"{p.name}: {e}")
                before.append(b)
                after.append(b)  # refused: nothing written, the pair keeps its resize
        row = {"source": f"{name} (each pair alone)", "pairs": len(pairs), "used": len(pairs) - len(refused),
               "score_before": float(np.mean(before)), "score_after": float(np.mean(after)),
               "residual_px": 0.0, "refused_pairs": refused}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "clips.json").write_text(json.dumps(rows, indent=1))
    lines = ["| source | pairs used | residual px | score before | score after | held-out before | held-out after |"
             " note |", "|---|---|---|---|---|---|---|---|"]
    def f(r: dict, key: str) -> str:
        return f"{r[key]:.3f}" if key in r else "-"

    for r in rows:
        note = r.get("refused", "") or (f"{len(r['refused_pairs'])} pairs refused" if r.get("refused_pairs") else "")
        lines.append(f"| {r['source']} | {r.get('used', 0)}/{r['pairs']} | {r.get('residual_px', float('nan')):.2f} | "
                     f"{f(r, 'score_before')} | {f(r, 'score_after')} | {f(r, 'held_out_before')} | "
                     f"{f(r, 'held_out_after')} | "
                     f"{note} |")
    (out / "clips.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
