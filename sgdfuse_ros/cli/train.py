"""``sgdfuse train stage1|seafusion``: train a fusion network on the train split (see training/)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from ..outputs import add_overwrite_argument
from .train_refiner import REFINER_MODELS
from .train_refiner import add_arguments as add_refiner_arguments
from .train_refiner import run as run_refiner

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a model on the train split: stage1, seafusion, the diffusion "
                                            "refiner (teacher) or distill (its few-step student)",
                              description="Train stage1 or seafusion (fusion networks), refiner (the diffusion "
                                          "teacher) or distill (the few-step student) on msrs_train30 + "
                                          "llvip_train32 + train video clips (validation pairs held out); "
                                          "recipe defaults.")
    p.add_argument("model", choices=("stage1", "seafusion", *REFINER_MODELS))
    p.add_argument("--out", required=True, help="run folder (train_state.pt, log.jsonl, model.pt)")
    p.add_argument("--steps", type=int, help="optimizer steps (recipe default)")
    p.add_argument("--batch", type=int, help="crops per step (recipe default)")
    p.add_argument("--crop", type=int, help="crop side in pixels (recipe default)")
    p.add_argument("--lr", type=float, help="peak Adam learning rate (recipe default)")
    p.add_argument("--seed", type=int, default=0, help="random seed (initialisation, crops, batches)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/train_state.pt if it exists")
    add_overwrite_argument(p)
    p.add_argument("--stop-at", type=int, help="leave after this step (split a run; continue with --resume)")
    p.add_argument("--val-every", type=int, default=250, help="validate every N steps (0: only at the end)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: share the machine)")
    p.add_argument("--video-stride", type=int, default=10, help="use every N-th frame of the train clips")
    p.add_argument("--w-intensity", type=float, help="intensity loss weight (recipe default)")
    p.add_argument("--w-gradient", type=float, help="gradient loss weight (recipe default)")
    p.add_argument("--w-ssim", type=float, help="SSIM loss weight (recipe default)")
    p.add_argument("--texture-gain", type=float, help="scale of the max-gradient target (recipe default)")
    p.add_argument("--intensity-target", choices=("max", "saliency"),
                   help="intensity loss target: max(IR, VIS) or the saliency-weighted mean (recipe default)")
    p.add_argument("--clean-gradient", action="store_true",
                   help="gradient target from guided-filtered (denoised) sources")
    p.add_argument("--augment", action="store_true",
                   help="photometric augmentation (bright IR, gain, gamma) + input noise with clean targets")
    p.add_argument("--output", choices=("residual", "blend"),
                   help="stage 1 output: residual on max(IR, VIS), or the bounded source blend (docs/stage1.md)")
    p.add_argument("--base-radius", type=int, help="stage 1 blend output: radius of the base layer's box mean")
    p.add_argument("--detail-radius", type=int,
                   help="stage 1 blend output: > 0 splits the detail into a fine ((2r+1)^2 box) and a mid layer")
    p.add_argument("--prior", choices=("average", "saliency"),
                   help="stage 1 blend output: the weights start at the average or at a saliency choice (GFF-like)")
    p.add_argument("--prior-sharpness", type=float, help="stage 1 blend output: sharpness of the saliency prior")
    p.add_argument("--detail-gains", type=lambda t: [float(g) for g in t.split(",")],
                   help="stage 1 blend output: fixed gain of each detail layer, e.g. 0.5,1.3 (default: learned)")
    p.add_argument("--bound-radius", type=int,
                   help="stage 1 blend output: clamp to the sources' range over a (2R+1)^2 window (default 0: off)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    add_refiner_arguments(p)
    p.set_defaults(func=run)


def check_output(args: argparse.Namespace) -> None:
    """The run folder, before any data or model loads: not an input, writable, and empty unless --overwrite,
    or --resume and it holds a run's train_state.pt (resuming is not overwriting)."""
    from ..outputs import check_run_folder, existing_paths
    from ..training.loop import STATE_FILE

    resuming = args.resume and (Path(args.out) / STATE_FILE).is_file()
    inputs = existing_paths([args.init_from, args.initial_weights, args.teacher, args.cache])
    check_run_folder(args.out, inputs, args.overwrite or resuming)


def run(args: argparse.Namespace) -> int:
    check_output(args)
    import torch

    from ..training.data import TrainData
    from ..training.loop import TrainConfig, train
    from ..training.recipes import get_recipe

    if args.model in REFINER_MODELS:
        return run_refiner(args)
    torch.set_num_threads(args.threads)
    recipe = get_recipe(args.model)
    weights = {k: getattr(args, f"w_{k}") for k in ("intensity", "gradient", "ssim")}
    weights["texture_gain"] = args.texture_gain
    weights["intensity_target"] = args.intensity_target
    weights["clean_gradient"] = args.clean_gradient or None
    loss = replace(recipe.loss, **{k: v for k, v in weights.items() if v is not None})
    model_config = dict(recipe.model_config)
    if args.output is not None:
        model_config["output"] = args.output
    for key in ("base_radius", "detail_radius", "prior", "prior_sharpness", "detail_gains", "bound_radius"):
        if getattr(args, key) is not None:
            model_config[key] = getattr(args, key)
    cfg = TrainConfig(
        model=args.model, out=args.out, steps=args.steps or recipe.steps, batch=args.batch or recipe.batch,
        crop=args.crop or recipe.crop, lr=args.lr or recipe.lr, seed=args.seed, loss=loss,
        model_config=model_config, val_every=args.val_every, resume=args.resume,
        stop_at=args.stop_at, augment=args.augment)
    data = TrainData.from_shared(video_stride=args.video_stride)
    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else []
    command = "sgdfuse train " + shlex.join(argv)
    summary = train(cfg, data, meta={"command": command}, progress=not args.no_progress)
    if "stopped_at" in summary:
        print(f"stopped at step {summary['stopped_at']} of {cfg.steps}; continue with --resume")
        return 0
    val = ", ".join(f"{k} {v:.4g}" for k, v in summary["validation"].items())
    print(f"wrote {cfg.out / 'model.pt'}; validation: {val}")
    return 0
