"""A pseudo-labelled detection set from a registered train set: HOG's people on the IR image are the labels.

    PYTHONPATH=. .venv/bin/python scripts/det_pseudo_labels.py ../shared/data/ivif/llvip_train32 \
        runs/llvip_pseudo --width 640 --min-score 0.5

Writes ``OUT/ir``, ``OUT/vi`` (both resized to ``--width``, aspect kept) and the same YOLO person boxes (HOG
on the resized IR, kept at SVM margin >= ``--min-score``) as each of the three label variants
``OUT/labels_det_yolo/{fusion,infrared,visible}``. A diagnostic, not ground
truth: on it a fused image scores by how many of the thermal image's confident people HOG still finds, so
IR itself scores 1. Train split only (``sgdfuse eval --task det --datasets OUT``); docs/refiner.md, fifth round.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from sgdfuse_ros.detection.hog import HogPersonDetector
from sgdfuse_ros.images import read_image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="a folder with ir/ and vi/")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args()
    if args.out.resolve() == args.src.resolve() or args.out.resolve().is_relative_to(args.src.resolve()):
        raise SystemExit(f"{args.out}: would write inside the source set")
    detector = HogPersonDetector()
    labels = [args.out / "labels_det_yolo" / variant for variant in ("fusion", "infrared", "visible")]
    for folder in (args.out / "ir", args.out / "vi", *labels):
        folder.mkdir(parents=True, exist_ok=True)
    people = 0
    for ir_path in sorted((args.src / "ir").iterdir()):
        name = ir_path.stem
        images = {}
        for side, path in (("ir", ir_path), ("vi", next((args.src / "vi").glob(f"{name}.*")))):
            img = read_image(path)
            h, w = img.shape[:2]
            size = (args.width, round(h * args.width / w))
            images[side] = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            bgr = images[side] if images[side].ndim == 2 else cv2.cvtColor(images[side], cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(args.out / side / f"{name}.png"), bgr)
        boxes = detector(images["ir"])
        h, w = images["ir"].shape[:2]
        lines = []
        for (x0, y0, x1, y1), score in zip(boxes.xyxy, boxes.scores, strict=True):
            if score >= args.min_score:
                cx, cy, bw, bh = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h
                lines.append(f"0 {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
        for folder in labels:
            (folder / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
        people += len(lines)
    print(f"wrote {args.out}: {people} pseudo-labelled people")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
