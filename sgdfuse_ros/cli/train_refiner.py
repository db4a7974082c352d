"""``sgdfuse train refiner`` (the diffusion teacher) and ``sgdfuse train distill`` (the few-step student).

Options added to the ``train`` parser (``add_arguments``); ``run`` is called by ``train`` for these two
models. Shared options (--out, --steps, --batch, --crop, --lr, --seed, --resume, --val-every, --threads,
--video-stride, --w-intensity, --w-gradient, --no-progress) keep their meaning.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace

from ..errors import ConfigError

REFINER_MODELS = ("refiner", "distill")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("refiner / distill")
    g.add_argument("--initial", help="refiner: initial-fusion method the refiner refines (default stage1)")
    g.add_argument("--initial-weights", default="", help="refiner: weights of that method (default: shipped)")
    g.add_argument("--mode", choices=("diffusion", "direct"), help="refiner: diffusion (default) or direct "
                                                                  "(one pass, the no-diffusion ablation)")
    g.add_argument("--masks", choices=("offline", "zeros"), help="refiner: offline masks (default) or zeros")
    g.add_argument("--head", choices=("hfah", "conv"), help="refiner: output head (default hfah)")
    g.add_argument("--init-from", default="", help="refiner: start from these refiner weights (fine-tuning)")
    g.add_argument("--sample-steps", type=int, help="refiner: the teacher's DDIM steps (default 20)")
    g.add_argument("--w-denoise", type=float, help="refiner: denoising loss weight")
    g.add_argument("--w-outside", type=float, help="refiner: weight of the mask-guided losses outside the masks "
                                                   "(default 1; 0 = inside the salient regions only)")
    g.add_argument("--target", default="", help="refiner: pseudo-target changes, key=value[,key=value] "
                                                "(TargetConfig fields, e.g. stretch_low=0.5,stretch_high=99.5)")
    g.add_argument("--cache", default="runs/refiner_cache", help="precomputed training arrays")
    g.add_argument("--teacher", help="distill: the teacher checkpoint")
    g.add_argument("--student-steps", type=int, help="distill: the student's network evaluations (default 2)")
    g.add_argument("--teacher-steps", type=int, help="distill: the teacher's DDIM steps for its targets")
    g.add_argument("--w-target", type=float, help="distill: weight of L1 to the pseudo-target (default 0)")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..training.data import TrainData

    torch.set_num_threads(args.threads)
    if args.w_ssim is not None:
        raise ConfigError("--w-ssim does not apply to the refiner")
    argv = sys.argv[sys.argv.index("train") + 1:] if "train" in sys.argv else []
    command = "sgdfuse train " + shlex.join(argv) if argv else ""
    data = TrainData.from_shared(video_stride=args.video_stride)
    if args.model == "refiner":
        return _run_refiner(args, data, command)
    return _run_distill(args, data, command)


def _loss(base, args: argparse.Namespace):
    weights = {"intensity": args.w_intensity, "gradient": args.w_gradient, "denoise": args.w_denoise,
               "outside_weight": args.w_outside}
    return replace(base, **{k: v for k, v in weights.items() if v is not None})


def _run_refiner(args: argparse.Namespace, data, command: str) -> int:
    from ..training.refiner import RefinerData, RefinerTrainConfig, train_refiner

    defaults = RefinerTrainConfig(out=args.out)
    model_config = dict(defaults.model_config)
    if args.head:
        model_config["head"] = args.head
    given = {"initial": args.initial, "mode": args.mode, "masks": args.masks, "steps": args.steps,
             "batch": args.batch, "crop": args.crop, "lr": args.lr, "sample_steps": args.sample_steps}
    cfg = replace(defaults, seed=args.seed, val_every=args.val_every, resume=args.resume, cache=args.cache,
                  target=defaults.target.with_changes(args.target), initial_weights=args.initial_weights,
                  init_from=args.init_from, model_config=model_config, loss=_loss(defaults.loss, args),
                  **{k: v for k, v in given.items() if v is not None})
    rdata = RefinerData.build(data, cfg.initial, cfg.initial_weights, cfg.target, cfg.cache)
    summary = train_refiner(cfg, rdata, meta={"command": command}, progress=not args.no_progress)
    val = ", ".join(f"{k} {v:.4g}" for k, v in summary["validation"].items())
    print(f"wrote {cfg.out / 'model.pt'}; validation: {val}")
    return 0


def _run_distill(args: argparse.Namespace, data, command: str) -> int:
    from ..training.distill import DistillConfig, distill

    if not args.teacher:
        raise ConfigError("sgdfuse train distill needs --teacher (a refiner teacher checkpoint)")
    defaults = DistillConfig(out=args.out, teacher=args.teacher)
    given = {"steps": args.steps, "batch": args.batch, "crop": args.crop, "lr": args.lr,
             "student_steps": args.student_steps, "teacher_steps": args.teacher_steps,
             "target_weight": args.w_target}
    cfg = replace(defaults, seed=args.seed, val_every=args.val_every, resume=args.resume, cache=args.cache,
                  loss=_loss(defaults.loss, args), **{k: v for k, v in given.items() if v is not None})
    summary = distill(cfg, data, meta={"command": command}, progress=not args.no_progress)
    val = ", ".join(f"{k} {v:.4g}" for k, v in summary["validation"].items())
    print(f"wrote {cfg.out / 'model.pt'}; validation: {val}")
    return 0
