"""Where night person AP50 goes: recall and false positives of cached detections (docs/detection.md).

Reads the detections ``sgdfuse eval --task det`` cached (``out/det_cache/detections/<set>/<detector>__<input>.json``)
and scores the night images of msrs_test against the ``fusion`` labels, as the AP does (same matching), then
prints per input: the highest recall any threshold reaches, and the false positives ranked above the first
detection that reaches recall 0.2 / 0.3 / 0.4 (more of them: a lower precision at that recall).

    python scripts/det_night_errors.py ir vis sgdfuse sgdfuse_prev stage1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sgdfuse_ros.datasets import find_pairs, resolve_dataset
from sgdfuse_ros.detection import CLASSES
from sgdfuse_ros.detection.ap import match_image
from sgdfuse_ros.detection.boxes import Boxes
from sgdfuse_ros.detection.hog import PERSON
from sgdfuse_ros.detection.labels import load_labels
from sgdfuse_ros.detection.task_eval import split_of
from sgdfuse_ros.images import read_image

RECALLS = (0.2, 0.3, 0.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="input names of the detection cache (ir, vis, methods)")
    parser.add_argument("--dataset", default="msrs_test")
    parser.add_argument("--detector", default="hog")
    parser.add_argument("--cache", default="out/det_cache", help="sgdfuse eval --det-cache")
    args = parser.parse_args()
    folder = resolve_dataset(args.dataset)
    pairs = [p for p in find_pairs(folder)[0] if split_of(p.name) == "night"]
    labels = load_labels(folder, "fusion", {p.name: read_image(p.vis).shape[1::-1] for p in pairs})
    print("| input | max recall | " + " | ".join(f"FP before recall {r}" for r in RECALLS) + " |")
    print("|---|---|" + "---|" * len(RECALLS))
    for name in args.inputs:
        path = Path(args.cache) / "detections" / folder.name / f"{args.detector}__{name}.json"
        stored = json.loads(path.read_text())["detections"]
        scores, hits, n_truth = [], [], 0
        for pair in pairs:
            rows = np.asarray(stored[pair.name], np.float64).reshape(-1, 6)
            boxes = Boxes.make(rows[:, :4], rows[:, 4].astype(np.int64), rows[:, 5])
            person = match_image(boxes, labels[pair.name], len(CLASSES))[PERSON]
            scores.append(person.scores)
            hits.append(person.true_positive)
            n_truth += person.n_ground_truth
        order = np.argsort(-np.concatenate(scores), kind="stable")
        hit = np.concatenate(hits)[order]
        recall, false = np.cumsum(hit) / n_truth, np.cumsum(~hit)
        cells = [str(false[i]) if (i := np.searchsorted(recall, r)) < len(false) else "never" for r in RECALLS]
        print(f"| {name} | {recall[-1]:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
