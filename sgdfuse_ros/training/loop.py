"""The training loop: Adam + warm-up/cosine LR, JSONL log, periodic validation, resumable state.

``out/`` receives ``train_state.pt`` (model + optimizer + step + RNG states, written every
``ckpt_every`` steps and at the end), ``log.jsonl`` (one JSON object per train/val record) and the final
weights ``model.pt`` (a ``models.save_checkpoint`` file).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..errors import CheckpointError, ConfigError
from ..images import to_gray_u8
from ..models import build_model, save_checkpoint
from ..models.build import checkpoint_dict
from .data import Sample, TrainData, augment
from .losses import FusionLoss

log = logging.getLogger(__name__)
STATE_FILE, LOG_FILE, MODEL_FILE = "train_state.pt", "log.jsonl", "model.pt"


@dataclass
class TrainConfig:
    model: str
    out: Path
    steps: int = 2000
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3
    seed: int = 0
    loss: FusionLoss = field(default_factory=FusionLoss)
    model_config: dict[str, Any] = field(default_factory=dict)
    warmup: int = 50
    min_lr_ratio: float = 0.05
    val_every: int = 250  # 0: validate only at the end
    ckpt_every: int = 50
    log_every: int = 10
    resume: bool = False
    stop_at: int | None = None  # leave the loop after this step (the schedule still spans ``steps``)
    augment: bool = False  # photometric augmentation + input noise with clean targets (data.augment)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        for name in ("steps", "batch", "crop"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at the last step."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def _metrics_fn():  # the metrics package may be absent while it is being written
    try:
        from ..metrics import compute_metrics
    except ImportError:
        log.warning("sgdfuse_ros.metrics.compute_metrics not importable: validation logs losses only")
        return None
    return compute_metrics


def validate(model: torch.nn.Module, samples: list[Sample], loss: FusionLoss) -> dict[str, float]:
    """Loss terms and fusion metrics of ``model`` on full-size validation pairs: the mean of the group means."""
    compute_metrics = _metrics_fn()
    records = []
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for s in samples:
            ir = torch.from_numpy(s.ir).float()[None, None] / 255.0
            vis = torch.from_numpy(s.vis).float()[None, None] / 255.0
            fused = model(ir, vis)
            total, terms = loss(fused, ir, vis)
            record = {"loss": float(total), **terms}
            if compute_metrics is not None:
                fused_u8 = to_gray_u8(fused[0, 0].numpy())
                record.update({k: float(v) for k, v in compute_metrics(fused_u8, s.ir, s.vis).items()})
            records.append((s.group, record))
    model.train(was_training)
    groups = sorted({g for g, _ in records})
    keys = records[0][1] if records else {}
    return {k: float(np.mean([np.mean([r[k] for g, r in records if g == grp]) for grp in groups])) for k in keys}


class _Log:
    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        if path.exists():  # drop records after the step we resume from (a fresh run starts empty)
            lines = path.read_text().splitlines()
            keep = [ln for ln in lines if ln and json.loads(ln)["step"] <= resume_step]
            path.write_text("".join(ln + "\n" for ln in keep))

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def _save_state(cfg: TrainConfig, model, opt, step: int, rng: np.random.Generator) -> None:
    state = {"checkpoint": checkpoint_dict(cfg.model, cfg.model_config, model), "optimizer": opt.state_dict(),
             "step": step, "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state,
             "config": {k: v for k, v in cfg.as_dict().items() if k not in ("out", "resume", "stop_at")}}
    tmp = cfg.out / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(cfg.out / STATE_FILE)


def _load_state(cfg: TrainConfig, model, opt, rng: np.random.Generator) -> int:
    path = cfg.out / STATE_FILE
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        ckpt = state["checkpoint"]
    except Exception as err:
        raise CheckpointError(f"{path}: cannot resume ({type(err).__name__}: {err})") from None
    if ckpt["model"] != cfg.model or ckpt["config"] != cfg.model_config:
        raise CheckpointError(f"{path}: was training {ckpt['model']} {ckpt['config']}, "
                              f"not {cfg.model} {cfg.model_config}")
    model.load_state_dict(ckpt["state_dict"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    rng.bit_generator.state = state["numpy_rng"]
    return int(state["step"])


def optimise(cfg: Any, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator, step: int,
             loss_fn: Callable[[], tuple[torch.Tensor, dict[str, float]]], validate_fn: Callable[[], dict[str, float]],
             desc: str, progress: bool = True, last: int | None = None) -> tuple[int, dict[str, float]]:
    """The loop every trainer shares: LR schedule, optimizer step, log, periodic validation and checkpoints.

    ``cfg`` has the ``TrainConfig`` schedule/logging fields (steps, lr, warmup, min_lr_ratio, log_every,
    val_every, ckpt_every, out) plus ``model``/``model_config``/``as_dict`` for the state file; ``loss_fn``
    draws a batch and returns (total, terms). Runs from ``step`` to ``last`` (default ``cfg.steps``) and
    returns the step reached and the last validation record ({} if none ran).
    """
    last = cfg.steps if last is None else min(cfg.steps, last)
    logger = _Log(cfg.out / LOG_FILE, step)
    start, running = time.perf_counter(), []
    val: dict[str, float] = {}
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc=desc, dynamic_ncols=True)
    while step < last:
        lr = learning_rate(cfg, step)
        for group in opt.param_groups:
            group["lr"] = lr
        total, terms = loss_fn()
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        running.append({"loss": float(total.detach()), **terms})
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps:
            mean = {k: float(np.mean([r[k] for r in running])) for k in running[0]}
            logger.write({"step": step, "kind": "train", "lr": lr, "seconds": time.perf_counter() - start, **mean})
            bar.set_postfix(loss=f"{mean['loss']:.4f}")
            running = []
        if (cfg.val_every and step % cfg.val_every == 0) or step == cfg.steps:
            val = validate_fn()
            logger.write({"step": step, "kind": "val", "seconds": time.perf_counter() - start, **val})
        if step % cfg.ckpt_every == 0 or step == last:
            _save_state(cfg, model, opt, step, rng)
    bar.close()
    return step, val


def resume_state(cfg: Any, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator) -> int:
    """The step to start from: that of ``OUT/train_state.pt`` when resuming (and it exists), else 0."""
    if not (cfg.resume and (cfg.out / STATE_FILE).exists()):
        return 0
    step = _load_state(cfg, model, opt, rng)
    log.info("resumed %s from step %d", cfg.out / STATE_FILE, step)
    return step


def train(cfg: TrainConfig, data: TrainData, meta: dict[str, Any] | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Train ``cfg.model`` on ``data``; returns the summary stored in the final checkpoint's meta."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg.model, **cfg.model_config).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = resume_state(cfg, model, opt, rng)

    def loss_fn() -> tuple[torch.Tensor, dict[str, float]]:
        ir, vis = data.batch(rng, cfg.batch, cfg.crop)
        if cfg.augment:
            ir_in, vis_in, ir, vis = augment(ir, vis, rng)
            return cfg.loss(model(ir_in, vis_in), ir, vis)
        return cfg.loss(model(ir, vis), ir, vis)

    step, val = optimise(cfg, model, opt, rng, step, loss_fn, lambda: validate(model, data.val, cfg.loss),
                         f"train {cfg.model}", progress, cfg.stop_at)
    if step < cfg.steps:
        log.info("stopped at step %d of %d; continue with resume", step, cfg.steps)
        return {"stopped_at": step}
    if not val:  # resumed at the end: validate the final weights again
        val = validate(model, data.val, cfg.loss)
    run_config = {k: v for k, v in cfg.as_dict().items() if k not in ("resume", "stop_at")}
    summary = {**(meta or {}), "train_config": run_config,
               "data": data.summary(), "validation": val}
    save_checkpoint(cfg.out / MODEL_FILE, cfg.model, cfg.model_config, model, summary)
    return summary
