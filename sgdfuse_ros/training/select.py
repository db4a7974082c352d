"""Model selection on the train split's validation set, by the evaluation's own criterion.

    sgdfuse select runs/a/model.pt runs/b/model.pt --out docs/results/stage1_selection
    sgdfuse select sgdfuse sgdfuse-teacher:refiner.steps=4 --baselines stage1 --out DIR

Candidates are fusion-model checkpoints (``.pt``, run alone) or pipeline specs (as ``sgdfuse eval
--methods`` takes them: presets, methods, YAML files, ``name:key=value`` overrides); the refiner's
candidates are judged against stage 1 (``--baselines stage1``).

Rule (it never looks at an evaluation set; history in docs/stage1.md): in each validation group
("pairs": held-out train pairs; "video": held-out frames of the train clips) count the 9 metrics on which
the candidate's group mean beats each baseline (default ``average`` and ``gff``); a candidate whose median
noise ratio in a group is above ``MAX_NR`` (1.0: more grain than the noisier source) wins nothing in
that group (noise gate; the ratio allows for the grain of rounding the fused image to uint8,
``gate_noise_ratio``), and one that fails the gate in every group is not selected at all; the candidate
with the most wins, summed over groups and baselines, is selected; a tie goes to the better mean rank over
the 9 metrics.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..images import to_gray_u8
from ..metrics import DEFAULT_METRICS, MEDIAN, NOISE_METRICS, compute_metrics, immerkaer_sigma, summarise
from ..metrics import to_gray_u8 as matlab_gray
from .data import Sample, load_validation

if TYPE_CHECKING:
    from ..pipeline import FusionPipeline

BASELINES = ("average", "gff")
MAX_NR = 1.0  # noise gate: a group's median NR above this wins nothing there (docs/stage1.md, issue 22)
ROUNDING_VARIANCE = 1.0 / 12.0  # grey levels^2 that rounding an image to uint8 adds (a uniform quantiser)
GATE_NR = "NR gate"  # the gate's noise ratio (``gate_noise_ratio``); its group median is ``GATE_NR + MEDIAN``
GroupMeans = dict[str, dict[str, float]]  # group -> metric -> mean
Fuse = Callable[[np.ndarray, np.ndarray], np.ndarray]  # uint8 IR, VIS luma -> uint8 fused luma


def gate_noise_ratio(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """sigma(F) / sqrt(max(sigma(IR), sigma(VIS))^2 + 1/12), Immerkaer sigmas of uint8 images: NR with the
    grain that rounding the fused image to uint8 adds allowed for. Where the sources are cleaner than that
    rounding (sigma below about 0.3 grey levels, as on the validation pairs) plain NR measures the rounding,
    and even the average of the two sources measures above 1 (docs/stage1.md, fourth round)."""
    ref = max(immerkaer_sigma(ir), immerkaer_sigma(vis))
    return immerkaer_sigma(fused) / float(np.sqrt(ref * ref + ROUNDING_VARIANCE))


def group_means(fuse: Fuse, samples: list[Sample]) -> GroupMeans:
    """Mean of each metric per validation group for a fusion function on uint8 luma, and the median of each
    noise figure (``NR med``, ``OS med``: reported beside the rule; ``NR gate med``: the noise gate's)."""
    per_group: dict[str, list[dict[str, float]]] = {}
    for s in samples:
        fused = fuse(s.ir, s.vis)
        row = compute_metrics(fused, s.ir, s.vis, DEFAULT_METRICS + NOISE_METRICS)
        per_group.setdefault(s.group, []).append({**row, GATE_NR: gate_noise_ratio(fused, s.ir, s.vis)})
    return {g: summarise(rs, DEFAULT_METRICS, (*NOISE_METRICS, GATE_NR)) for g, rs in per_group.items()}


def group_sizes(samples: list[Sample]) -> dict[str, int]:
    """Frames per validation group, in the groups' order in ``samples`` (the order of ``group_means``)."""
    return dict(Counter(s.group for s in samples))


def candidate_fuse(candidate: str) -> Fuse:
    """A checkpoint (``.pt``: the model alone, torch CPU) or a pipeline spec -> a uint8 luma fusion function."""
    if candidate.split(":")[0].endswith(".pt"):
        import torch

        from ..methods.learned import run_model
        from ..models import load_model

        model, _ = load_model(candidate)
        model.eval()
        return lambda ir, vis: to_gray_u8(run_model(model, ir / np.float32(255), vis / np.float32(255),
                                                    torch.device("cpu")))
    from ..config import pipeline_from_spec

    return pipeline_fuse(pipeline_from_spec(candidate)[1])


def pipeline_fuse(pipeline: FusionPipeline) -> Fuse:
    """A pipeline as a uint8 luma fusion function (its RGB output to gray as the reference metric code does)."""
    return lambda ir, vis: matlab_gray(pipeline(ir, vis).fused)


def gated(means: dict[str, float], max_nr: float = MAX_NR) -> bool:
    """A group's means pass the noise gate: median gate NR at most ``max_nr`` (a row without it passes)."""
    return means.get(GATE_NR + MEDIAN, 0.0) <= max_nr


def wins(candidate: GroupMeans, baseline: GroupMeans, max_nr: float = MAX_NR) -> int:
    """Metrics (summed over the groups where ``candidate`` passes the noise gate) on which it is strictly
    higher than ``baseline``."""
    return sum(candidate[g][k] > baseline[g][k] for g in candidate if gated(candidate[g], max_nr)
               for k in DEFAULT_METRICS)


def mean_rank(name: str, table: dict[str, GroupMeans]) -> float:
    """Mean rank (1 = best) of ``name`` among the rows of ``table`` over every group and metric."""
    ranks = []
    for g in table[name]:
        for k in DEFAULT_METRICS:
            ranks.append(1 + sum(other[g][k] > table[name][g][k] for other in table.values()))
    return float(np.mean(ranks))


def choose(table: dict[str, GroupMeans], candidates: list[str], baselines: tuple[str, ...] = BASELINES,
           max_nr: float = MAX_NR) -> tuple[dict[str, dict[str, object]], str | None]:
    """Apply the rule to a table holding the baselines and the candidates: (scores per candidate, chosen; None
    when every candidate fails the noise gate in every group)."""
    scores: dict[str, dict[str, object]] = {
        c: {"wins": {b: wins(table[c], table[b], max_nr) for b in baselines}, "mean_rank": mean_rank(c, table),
            "gated_out": [g for g in table[c] if not gated(table[c][g], max_nr)]}
        for c in candidates}
    eligible = [c for c in candidates if len(scores[c]["gated_out"]) < len(table[c])]
    if not eligible:  # every candidate is grainier than its sources in every group: nothing is selected
        return scores, None
    best = max(eligible, key=lambda c: (sum(scores[c]["wins"].values()), -scores[c]["mean_rank"]))
    return scores, best


def select(candidates: list[str], baselines: tuple[str, ...] = BASELINES,
           fuse_for: Callable[[str], Fuse] = candidate_fuse, max_nr: float = MAX_NR) -> dict[str, object]:
    """Score the baselines and candidates on the validation set and apply the rule (``fuse_for``: name -> fusion)."""
    samples = load_validation()
    table = {name: group_means(fuse_for(name), samples) for name in (*baselines, *candidates)}
    scores, best = choose(table, list(candidates), baselines, max_nr)
    return {"rule": __doc__.split("Rule ", 1)[1].strip(), "max_nr": max_nr, "groups": group_sizes(samples),
            "baselines": list(baselines), "means": table, "scores": scores, "selected": best}


def report(result: dict[str, object], out: Path | None) -> None:
    """Print the scores and the choice; write ``selection.json`` to ``out`` when given."""
    for name, groups in result["means"].items():
        noise = ", ".join(f"{g} NR {m['NR med']:.3f} (gate {m[GATE_NR + MEDIAN]:.3f}) OS {m['OS med']:.3f}"
                          for g, m in groups.items() if "NR med" in m)
        print(f"{name}: median {noise}")
    for c, s in result["scores"].items():
        gate = f" (NR gate: no wins on {', '.join(s['gated_out'])})" if s["gated_out"] else ""
        print(f"{c}: wins {s['wins']} mean rank {s['mean_rank']:.2f}{gate}")
    print(f"selected: {result['selected'] or 'none (every candidate fails the noise gate in every group)'}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "selection.json").write_text(json.dumps(result, indent=1))
