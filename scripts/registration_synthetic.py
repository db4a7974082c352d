"""Synthetic check of ``sgdfuse calibrate``: registered pairs, IR warped by known random homographies.

Each trial draws one random warp (rotation +-5 deg, scale +-10 %, shift +-20 px, mild perspective). A *rig*
trial warps ``--pairs-per-trial`` pairs of one camera pair by it, as a user's rig gives several pairs with one
warp: frames of one clip, or images of one set (msrs_test and llvip_test12 each come from one rig;
roadscene's pairs were registered and cropped one by one, each to its own size, so there both images of each pair
are resized to the trial's first pair's size, which keeps them registered, and stand in for a rig). A *lone*
trial warps a single pair (a stress test: nothing corroborates it). The warped IR images and the untouched
visible ones go to ``registration.calibrate``. The error of a trial is the mean distance of the four
IR image corners mapped by the estimate and by the true inverse warp (visible pixels), against two references:
``nominal`` takes the pairs as perfectly registered (truth = inverse warp), ``warp`` takes the estimate on the
unwarped pairs as their registration (truth = that estimate after the inverse warp) and so measures how well the
known warp is recovered, apart from the pairs' own residual misregistration. A refused trial has no error; the
tables give the statistics over the registered trials and over all trials with a refusal counted as a failure.
Then the failure cases: flat images (little structure), IR of unrelated scenes (pairs disagree / edges do not
match), a shift leaving little overlap and a clip hidden by smoke must each be refused.

    .venv/bin/python scripts/registration_synthetic.py -o docs/results/registration
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sgdfuse_ros.bag.pairs import video_pairs
from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.images import read_image
from sgdfuse_ros.registration import RegistrationError, calibrate
from sgdfuse_ros.registration.estimate import corners, estimate_pair, project

SETS = ("video:0113_1714,0117_1605", "roadscene", "llvip_test12", "msrs_test")
SMOKE_CLIP = "0117_1620"  # a training clip whose visible image is mostly hidden by smoke: must be refused


def random_warp(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """IR -> warped IR: rotation and scale about the centre, mild perspective, then a shift."""
    h, w = shape
    a, s = np.deg2rad(rng.uniform(-5, 5)), rng.uniform(0.9, 1.1)
    centre = np.array([[1, 0, (w - 1) / 2], [0, 1, (h - 1) / 2], [0, 0, 1]])
    rot = np.array([[s * np.cos(a), -s * np.sin(a), 0], [s * np.sin(a), s * np.cos(a), 0], [0, 0, 1]])
    persp = np.eye(3)
    # the farthest corner of a 640x480 image moves by 11 px in the median, up to 24 px
    persp[2, :2] = rng.uniform(-1e-4, 1e-4, 2) * 640 / max(w, h)
    shift = np.array([[1, 0, rng.uniform(-20, 20)], [0, 1, rng.uniform(-20, 20)], [0, 0, 1]])
    return shift @ centre @ persp @ rot @ np.linalg.inv(centre)


def load_set(spec: str, count: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``count`` pairs spread over a set (name or folder) or over video clips (``video:clip1,clip2``)."""
    if spec.startswith("video:"):
        clips = spec.split(":", 1)[1].split(",")
        per = -(-count // len(clips))
        pairs = [(f"{clip}#{k}", ir, vis) for clip in clips for k, (ir, vis) in enumerate(video_pairs(clip, per))]
        return pairs[:count]
    pairs, _ = find_pairs(spec)
    idx = np.unique(np.linspace(0, len(pairs) - 1, count).round().astype(int))
    return [(pairs[i].name, read_image(pairs[i].ir), read_image(pairs[i].vis)) for i in idx]


def _camera(name: str) -> str:
    """The camera pair a pair comes from: its clip (``clip#k``), or one camera for a whole image set."""
    return name.split("#")[0] if "#" in name else ""


def resized(pair: tuple[str, np.ndarray, np.ndarray], shape: tuple[int, int]) -> tuple[str, np.ndarray, np.ndarray]:
    """A pair with both images resized to ``shape`` (H, W); unchanged when it has that size already."""
    name, ir, vis = pair
    if ir.shape[:2] == shape and vis.shape[:2] == shape:
        return pair
    size = (shape[1], shape[0])
    return name, cv2.resize(ir, size, interpolation=cv2.INTER_AREA), cv2.resize(vis, size, interpolation=cv2.INTER_AREA)


def run_trials(spec: str, pool: list, trials: int, per_trial: int, rng: np.random.Generator, own_cache: dict,
               design: str) -> list[dict]:
    """``trials`` trials on one set, each ``per_trial`` pairs of one camera pair warped by one random warp.

    A trial's pairs are drawn at random from the pool's pairs of one camera pair (one clip, or the set), as a
    capture's frames spread over it; its first pair sets the size. ``own_cache`` keeps each unwarped pair's own
    estimate (``estimate_pair``), which recurs in later trials with other warps.
    """
    rows = []
    for trial in range(trials):
        camera = _camera(pool[rng.integers(len(pool))][0])
        # one camera pair per trial: frames of one clip, or pairs of one set on one grid (roadscene's pairs were
        # each cropped to a size of their own: both images of a pair are resized to the first pair's size,
        # which keeps the pair registered)
        candidates = [p for p in pool if _camera(p[0]) == camera]
        chosen = np.sort(rng.choice(len(candidates), min(per_trial, len(candidates)), replace=False))
        shape = candidates[chosen[0]][1].shape[:2]
        picks = [resized(candidates[k], shape) for k in chosen]
        warp = random_warp(rng, shape)
        warped = [(cv2.warpPerspective(ir, warp, (shape[1], shape[0])), vis) for _, ir, vis in picks]
        t = time.perf_counter()
        row = {"set": spec, "design": design, "trial": trial, "pairs": [n for n, _, _ in picks]}
        try:
            cal = calibrate(warped)
            for name, ir, vis in picks:
                if (name, shape) not in own_cache:
                    own_cache[name, shape] = estimate_pair(ir, vis)
            own = calibrate([(ir, vis) for _, ir, vis in picks],
                            estimates=[own_cache[name, shape] for name, _, _ in picks]).homography
            c = corners(shape)
            err = np.linalg.norm(project(cal.homography, c) - project(np.linalg.inv(warp), c), axis=1)
            rel = np.linalg.norm(project(cal.homography, c) - project(own @ np.linalg.inv(warp), c), axis=1)
            row.update(error_px=float(rel.mean()), nominal_error_px=float(err.mean()),
                       own_offset_px=float(np.linalg.norm(project(own, c) - c, axis=1).mean()),
                       residual_px=cal.residual_px, score_before=cal.score_before, score_after=cal.score_after,
                       used=cal.pairs_used, joint=cal.joint)
            estimates = cal.per_pair
        except RegistrationError as e:
            row.update(error_px=float("inf"), nominal_error_px=float("inf"), refused=str(e))
            estimates = []
        row["per_pair"] = [{"correlation": p.correlation, "score": p.score, "margin": p.margin,
                            "reason": p.reason} for p in estimates]
        row["seconds"] = time.perf_counter() - t
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def failure_cases(spec: str, pool: list, per_trial: int) -> list[dict]:
    """Flat IR, IR of unrelated scenes and a 70 % shift (little overlap): each must be refused."""
    _, ir0, vis0 = pool[0]
    shape = vis0.shape[:2]
    flat = (np.full_like(ir0, 128), vis0)
    unrelated = [(pool[(k + len(pool) // 2) % len(pool)][1], pool[k][2]) for k in range(per_trial)]
    unrelated = [(ir, vis) for ir, vis in unrelated if ir.shape[:2] == vis.shape[:2]] or unrelated[:1]
    far = np.array([[1.0, 0, 0.7 * shape[1]], [0, 1, 0], [0, 0, 1]])
    far_pair = (cv2.warpPerspective(ir0, far, (shape[1], shape[0])), vis0)
    found = []
    for case, pairs in (("flat thermal image", [flat]), ("thermal of unrelated scenes", unrelated),
                        ("thermal shifted by 70 % of the width", [far_pair])):
        found.append(refusal(spec, case, pairs))
    return found


def refusal(spec: str, case: str, pairs: list) -> dict:
    try:
        cal = calibrate(pairs)
        found = {"set": spec, "case": case, "refused": False, "result": cal.summary()}
    except RegistrationError as e:
        found = {"set": spec, "case": case, "refused": True, "reason": str(e)}
    print(json.dumps(found), flush=True)
    return found


def p90_all(errors: np.ndarray) -> float:
    """90th percentile over all trials, a refusal (inf) included: no interpolation, so inf when over 10 % failed."""
    return float(np.quantile(errors, 0.9, method="inverted_cdf"))


def summarise(rows: list[dict]) -> dict:
    """Error statistics over the registered trials, and over all trials with a refusal counted as a failure."""
    errors = np.array([r["error_px"] for r in rows])
    nominal = np.array([r["nominal_error_px"] for r in rows])
    ok = np.isfinite(errors)
    return {"trials": len(rows), "pairs": len({(r["set"], p) for r in rows for p in r["pairs"]}),
            "refused_trials": int((~ok).sum()),
            "median_corner_error_px": float(np.median(errors[ok])) if ok.any() else None,
            "p90_corner_error_px": float(np.percentile(errors[ok], 90)) if ok.any() else None,
            "median_nominal_error_px": float(np.median(nominal[ok])) if ok.any() else None,
            "p90_nominal_error_px": float(np.percentile(nominal[ok], 90)) if ok.any() else None,
            "all_median_px": float(np.median(errors)), "all_p90_px": p90_all(errors),
            "within_4px": float((errors <= 4.0).mean())}


def table(rows: list[dict], sets: list[str]) -> list[str]:
    lines = ["| set | trials | registered | warp error: median px | p90 px | max px | nominal error: median px | "
             "p90 px | all trials (a refusal = a failure): median px | p90 px | within 4 px | refused (reason) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def stats(e: np.ndarray) -> str:
        return f"{np.median(e):.2f} | {np.percentile(e, 90):.2f} | {e.max():.2f}" if e.size else "- | - | -"

    def reasons(sel: list) -> str:
        found = sorted({r["refused"].split(" (")[0].split(":")[0] for r in sel if "refused" in r})
        return f"{sum('refused' in r for r in sel)}" + (f" ({'; '.join(found)})" if found else "")

    for spec in [*sets, "all"]:
        sel = [r for r in rows if r["set"] == spec or spec == "all"]
        if not sel:
            continue
        every = np.array([r["error_px"] for r in sel])
        e, n = every[np.isfinite(every)], np.array([r["nominal_error_px"] for r in sel if np.isfinite(r["error_px"])])
        nom = f"{np.median(n):.2f} | {np.percentile(n, 90):.2f}" if n.size else "- | -"
        name = "**all**" if spec == "all" else spec
        lines.append(f"| {name} | {len(sel)} | {e.size} | {stats(e)} | {nom} | {np.median(every):.2f} | "
                     f"{p90_all(every):.2f} | {(every <= 4.0).mean():.0%} | {reasons(sel)} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default="docs/results/registration")
    ap.add_argument("--trials-per-set", type=int, default=16)
    ap.add_argument("--lone-trials-per-set", type=int, default=16, help="trials of one pair each (0: none)")
    ap.add_argument("--pairs-per-set", type=int, default=24, help="the pool a trial's pairs are drawn from")
    ap.add_argument("--pairs-per-trial", type=int, default=8, help="as calibrate's default --pairs")
    ap.add_argument("--sets", default=";".join(SETS), help="';'-separated sets (names, folders, video:clips)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = args.sets.split(";")
    rows, lone, refusals, own_cache = [], [], [], {}
    for spec in sets:
        pool = load_set(spec, args.pairs_per_set)
        rows += run_trials(spec, pool, args.trials_per_set, args.pairs_per_trial, rng, own_cache, "rig")
        lone += run_trials(spec, pool, args.lone_trials_per_set, 1, rng, own_cache, "lone")
        refusals += failure_cases(spec, pool, args.pairs_per_trial)
    refusals.append(refusal(SMOKE_CLIP, "visible image hidden by smoke", video_pairs(SMOKE_CLIP, args.pairs_per_trial)))
    summary = {"rig": summarise(rows) if rows else None, "lone": summarise(lone) if lone else None,
               "refusals_correct": sum(r["refused"] for r in refusals), "refusal_cases": len(refusals)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"summary": summary, "trials": rows + lone, "refusals": refusals}
    (out / "synthetic.json").write_text(json.dumps(report, indent=1))
    lines = []
    if rows:
        lines += [f"Rig trials ({args.pairs_per_trial} pairs of one set per trial, one warp):", "",
                  *table(rows, sets), ""]
    if lone:
        lines += ["Lone-pair trials (one pair per trial):", "", *table(lone, sets), ""]
    lines += ["| set | failure case | refused | reason / result |", "|---|---|---|---|"]
    lines += [f"| {r['set']} | {r['case']} | {'yes' if r['refused'] else '**no**'} | "
              f"{r.get('reason', r.get('result'))} |" for r in refusals]
    (out / "synthetic.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
