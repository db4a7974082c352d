"""A set's pairs each warped onto its visible image by its own registration (``estimate_pair``), as one rig.

Some sets' pairs are offset each in its own way (msrs_train30: 30-80 px at the corners, IR-VIS edge
correlation near 0 at a plain resize), so their pairs do not share one warp and cannot stand in for a rig in
``registration_synthetic.py``. This writes the pairs that register alone (``estimate_pair``
refuses none of its checks), the IR image warped by the pair's own estimate onto the visible grid, to
``OUT/ir`` + ``OUT/vi`` (a folder the synthetic check takes as a set; outside the repository: the data's
licences), so the synthetic warps are measured against the pairs' own registration, as the check's warp error is.

    .venv/bin/python scripts/registration_own.py msrs_train30 /tmp/msrs_train30_own
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.images import read_image
from sgdfuse_ros.registration.estimate import estimate_pair


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", help="a set name or an ir/ + vi/ folder")
    ap.add_argument("out")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "ir").mkdir(parents=True, exist_ok=True)
    (out / "vi").mkdir(parents=True, exist_ok=True)
    pairs, _ = find_pairs(args.set)
    kept = 0
    for pair in pairs:
        ir, vis = read_image(pair.ir), read_image(pair.vis)
        own = estimate_pair(ir, vis)
        print(f"{pair.name}: {own.reason or f'registered (score {own.score:.3f}, margin {own.margin:.3f})'}")
        if own.reason:
            continue
        warped = cv2.warpPerspective(ir, own.homography, (vis.shape[1], vis.shape[0]), flags=cv2.INTER_LINEAR)
        name = Path(pair.name).stem + ".png"
        cv2.imwrite(str(out / "ir" / name), warped)
        cv2.imwrite(str(out / "vi" / name), cv2.imread(str(pair.vis), cv2.IMREAD_UNCHANGED))
        kept += 1
    print(f"{kept} of {len(pairs)} pairs registered, written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
