"""``sgdfuse eval --task det``: detection-driven evaluation (AP50 per class, day/night, bootstrap intervals).

Not a subcommand of its own: ``eval`` adds these options and hands over when ``--task det`` is given.
Inputs are always ``ir`` and ``vis`` plus the ``--methods`` pipelines; ``--methods all`` takes every
registered method and preset that can be built (learned ones whose weights are missing are skipped).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..options import split_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("detection (--task det)")
    g.add_argument("--detectors", default="hog,tiny", help="hog (pretrained, people), tiny (trained k-fold)")
    g.add_argument("--det-labels", default="common,own",
                   help="HOG: common = every input vs fusion/ labels; own = IR vs infrared/, VIS vs visible/")
    g.add_argument("--det-tiny-labels", default="common", help="the same for the tiny detector")
    g.add_argument("--det-tiny-inputs", default="ir,vis,gff,stage1,seafusion,sgdfuse",
                   help="inputs the tiny detector is trained on, those present ('all' = every input)")
    g.add_argument("--det-train-sets", default="",
                   help="labelled sets added to every training fold of the tiny detector (default: none; "
                        "msrs_train30's IR is not registered to its VIS/labels, see docs/detection.md)")
    g.add_argument("--det-reference", default="",
                   help="one of --methods, written as there: every other fused input also minus it, paired "
                        "(e.g. a previous default); default: only minus IR and minus VIS")
    g.add_argument("--det-folds", type=int, default=5, help="cross-validation folds over the evaluation set")
    g.add_argument("--det-steps", type=int, default=1200, help="training steps of the tiny detector per fold")
    g.add_argument("--det-batch", type=int, default=8, help="training batch of the tiny detector")
    g.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the images")
    g.add_argument("--seed", type=int, default=0, help="random seed (detector training, bootstrap)")
    g.add_argument("--det-cache", default="out/det_cache", help="fused images and detections for reruns")
    g.add_argument("--det-figure", default="", help="night-scene figure (default: OUT/det_night.png)")
    g.add_argument("--det-threads", type=int, default=1, help="torch threads")


def resolve_inputs(methods: str) -> dict[str, object]:
    """Input name -> pipeline (None for the raw ir/vis images); ``all``: every buildable method/preset."""
    from ..config import PRESETS, pipeline_from_spec
    from ..detection.task_eval import SOURCES
    from ..errors import SGDFuseError
    from ..methods import available_methods

    inputs: dict[str, object] = dict.fromkeys(SOURCES)
    for spec in split_list(methods):
        if spec in SOURCES:
            continue
        if spec != "all":
            name, pipeline = pipeline_from_spec(spec)
            inputs[name] = pipeline
            continue
        for candidate in [*available_methods(), *(p for p in PRESETS if p not in available_methods())]:
            try:
                name, pipeline = pipeline_from_spec(candidate)
            except SGDFuseError as err:  # a learned method whose weights are not there (yet)
                log.warning("skipping %s: %s", candidate, err)
                continue
            inputs[name] = pipeline
    return inputs


def labelled_dataset(datasets: str) -> str:
    """The one dataset of ``--datasets`` that has detection labels (others are skipped with a warning)."""
    from ..datasets import resolve_dataset
    from ..detection.labels import label_folder
    from ..errors import InputError

    labelled = []
    for name in split_list(datasets):
        try:
            label_folder(resolve_dataset(name), "fusion")
            labelled.append(name)
        except InputError as err:
            log.warning("skipping %s for --task det: %s", name, err)
    if len(labelled) != 1:
        raise InputError("--task det needs exactly one dataset with detection labels, "
                         f"got {labelled or 'none'}")
    return labelled[0]


def run(args: argparse.Namespace) -> int:
    import torch

    from ..config import config_from_spec
    from ..detection.hog import HogConfig
    from ..detection.report import night_figure, write_tables
    from ..detection.task_eval import DetEvalConfig, busiest_night_pair, run_det_eval
    from ..detection.train import TrainConfig

    torch.set_num_threads(args.det_threads)
    dataset = labelled_dataset(args.datasets)
    pipelines = resolve_inputs(args.methods)
    fusers = {name: (lambda pair, p=p: p.fuse_files(pair.ir, pair.vis).fused)
              for name, p in pipelines.items() if p is not None}
    config = DetEvalConfig(
        inputs=tuple(pipelines), dataset=dataset, train_sets=tuple(split_list(args.det_train_sets)),
        detectors=tuple(split_list(args.detectors)), protocols=tuple(split_list(args.det_labels)),
        tiny_protocols=tuple(split_list(args.det_tiny_labels)),
        tiny_inputs=None if args.det_tiny_inputs == "all" else tuple(split_list(args.det_tiny_inputs)),
        reference=config_from_spec(args.det_reference)[0] if args.det_reference else "",
        resamples=args.resamples, seed=args.seed, limit=args.limit, hog=HogConfig(),
        tiny=TrainConfig(steps=args.det_steps, batch=args.det_batch, folds=args.det_folds, seed=args.seed),
        cache_dir=Path(args.det_cache))
    figure_pair = busiest_night_pair(dataset, args.limit)
    report = run_det_eval(config, fusers, figure_pair)
    out = Path(args.out)
    paths = write_tables(report, out)
    if figure_pair is not None:
        figure = Path(args.det_figure) if args.det_figure else out / "det_night.png"
        paths.append(night_figure(report, fusers, figure_pair, figure))
    print(paths[3].read_text())
    print("written: " + ", ".join(str(p) for p in paths))
    return 0
