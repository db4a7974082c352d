"""Few-step student of the refiner: direct output distillation of the teacher's many-step DDIM samples.

1. A pool of training crops (train split only, the teacher's own precomputed arrays) is drawn once; for
   each crop a noise x_T is fixed and the teacher's ``teacher_steps``-step DDIM sample x0_T is computed.
2. The student (the teacher's architecture, initialised with its weights) runs its own ``student_steps``-
   step DDIM from the same x_T, unrolled with gradients, and is trained with ``RefinerLoss`` where the
   "denoise" term is L1(x0_S, x0_T) (the teacher's sample is the clean target) and the task terms
   (mask-guided intensity/gradient on the refined image) are off by default; ``target_weight`` adds
   L1(x0_S, x0*) to the pseudo-target x0* the teacher was trained on (so the student can correct where
   the teacher misses its own objective). Random sub-crops and flips
   of the pool crops (noise, condition and teacher sample cropped alike) stretch the pool.

The student checkpoint stores the same ``diffusion`` meta as the teacher with ``steps = student_steps``,
so ``Refiner`` runs it without options.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..diffusion.condition import condition, refined_image, residual_sample
from ..diffusion.sampler import ddim_sample, ddim_step, ddim_timesteps
from ..diffusion.schedule import NoiseSchedule
from ..errors import CheckpointError, ConfigError
from ..models import load_model, save_checkpoint
from .data import TrainData
from .loop import MODEL_FILE, optimise, resume_state
from .refiner import (
    MODEL_NAME,
    RefinerData,
    TargetConfig,
    batch_masks,
    crop_metrics,
)
from .refiner_losses import RefinerLoss

log = logging.getLogger(__name__)


@dataclass
class DistillConfig:
    out: Path
    teacher: str  # teacher checkpoint
    student_steps: int = 2
    teacher_steps: int = 0  # 0: the teacher's own step count
    pool: int = 384  # training crops with precomputed teacher samples
    pool_crop: int = 128
    steps: int = 1500
    batch: int = 4
    crop: int = 96
    lr: float = 2e-4
    seed: int = 0
    loss: RefinerLoss = field(default_factory=lambda: RefinerLoss(denoise=1.0, intensity=0.0, gradient=0.0))
    target_weight: float = 0.0  # weight of L1(student x0, pseudo-target x0)
    model_config: dict[str, Any] = field(default_factory=dict)  # filled from the teacher checkpoint
    cache: Path = Path("runs/refiner_cache")
    warmup: int = 20
    min_lr_ratio: float = 0.05
    val_every: int = 250
    ckpt_every: int = 50
    log_every: int = 10
    resume: bool = False

    def __post_init__(self) -> None:
        self.out, self.cache = Path(self.out), Path(self.cache)
        for name in ("student_steps", "pool", "pool_crop", "steps", "batch", "crop"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.target_weight >= 0.0:
            raise ConfigError(f"target_weight must be >= 0, got {self.target_weight}")
        if self.crop > self.pool_crop:
            raise ConfigError(f"crop {self.crop} must not exceed pool_crop {self.pool_crop}")

    @property
    def model(self) -> str:  # read by training.loop's state helpers
        return MODEL_NAME

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"], d["cache"] = str(self.out), str(self.cache)
        return d


def load_teacher(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any], dict[str, Any]]:
    """(model, checkpoint info, diffusion meta); CheckpointError if it is no diffusion refiner."""
    model, info = load_model(path, expected_name=MODEL_NAME)
    diff = info["meta"].get("diffusion")
    if not isinstance(diff, dict) or diff.get("mode") != "diffusion":
        raise CheckpointError(f"{path}: not a diffusion refiner (meta.diffusion = {diff!r})")
    return model, info, diff


def unrolled_sample(model: torch.nn.Module, schedule: NoiseSchedule, cond: torch.Tensor, noise: torch.Tensor,
                    steps: int) -> torch.Tensor:
    """``steps``-step DDIM x0 sample with gradients flowing through every network evaluation."""
    ts = ddim_timesteps(schedule.timesteps, steps)
    x = noise
    for i, t in enumerate(ts):
        x0_hat = model(x, torch.full((x.shape[0],), float(t)), cond)
        x = ddim_step(schedule, x, x0_hat, t, ts[i + 1] if i + 1 < len(ts) else -1)
    return x


def _teacher_pool(teacher: torch.nn.Module, schedule: NoiseSchedule, data: RefinerData, cfg: DistillConfig,
                  steps: int, progress: bool) -> dict[str, torch.Tensor]:
    """Pool crops (condition fields, noise) and the teacher's samples on them, cached in OUT."""
    path = cfg.out / f"pool_{cfg.pool}x{cfg.pool_crop}_t{steps}_seed{cfg.seed}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True)
    rng = np.random.default_rng(cfg.seed + 1)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    chunks: list[dict[str, torch.Tensor]] = []
    chunk = 8
    for _ in tqdm(range(0, cfg.pool, chunk), desc=f"teacher samples ({steps} steps)", disable=not progress):
        b = data.batch(rng, chunk, cfg.pool_crop)
        m_ir, m_vis = batch_masks(b, "offline")
        cond = condition(b["initial"], b["ir"], b["vis"], m_ir, m_vis)
        noise = torch.randn(b["ir"].shape, generator=gen)
        with torch.inference_mode():
            b["teacher"] = ddim_sample(lambda x, t, c=cond: teacher(x, t, c), schedule, noise, steps)
        b["noise"] = noise
        chunks.append(b)
    pool = {k: torch.cat([c[k] for c in chunks])[:cfg.pool].clone() for k in chunks[0]}
    torch.save(pool, path)
    return pool


def _pool_batch(pool: dict[str, torch.Tensor], rng: np.random.Generator, batch: int, crop: int
                ) -> dict[str, torch.Tensor]:
    idx = rng.integers(len(pool["ir"]), size=batch)
    side = pool["ir"].shape[-1]
    out: dict[str, list[torch.Tensor]] = {k: [] for k in pool}
    for i in idx:
        y, x = rng.integers(side - crop + 1, size=2)
        flip_w, flip_h = rng.random() < 0.5, rng.random() < 0.5
        for k, v in pool.items():
            c = v[i, :, y:y + crop, x:x + crop]
            c = c.flip(-1) if flip_w else c
            out[k].append(c.flip(-2) if flip_h else c)
    return {k: torch.stack(v) for k, v in out.items()}


def _student_loss(student, schedule, cfg: DistillConfig, mu: float, b: dict[str, torch.Tensor]
                  ) -> tuple[torch.Tensor, dict[str, float]]:
    cond = condition(b["initial"], b["ir"], b["vis"], b["m_ir"], b["m_vis"])
    x0 = unrolled_sample(student, schedule, cond, b["noise"], cfg.student_steps)
    fused = refined_image(b["initial"], x0, mu)
    total, terms = cfg.loss(x0, b["teacher"], fused, b["ir"], b["vis"], b["m_ir"], b["m_vis"])
    if cfg.target_weight:
        to_target = (x0 - residual_sample(b["target"], b["initial"], mu)).abs().mean()
        total = total + cfg.target_weight * to_target
        terms["target"] = float(to_target.detach())
    return total, terms


def validate_student(student, teacher_x0: torch.Tensor, schedule, mu: float, val: dict[str, torch.Tensor],
                     steps: int) -> dict[str, float]:
    student.eval()
    cond = condition(val["initial"], val["ir"], val["vis"], val["m_ir"], val["m_vis"])
    noise = torch.randn(val["ir"].shape, generator=torch.Generator().manual_seed(1234))
    with torch.inference_mode():
        x0 = ddim_sample(lambda x, t: student(x, t, cond), schedule, noise, steps)
    student.train()
    fused = refined_image(val["initial"], x0, mu)
    teacher = refined_image(val["initial"], teacher_x0, mu)
    return {"l1_to_teacher": float((fused - teacher).abs().mean()), **crop_metrics(fused, val)}


def distill(cfg: DistillConfig, data: TrainData, meta: dict[str, Any] | None = None,
            progress: bool = True) -> dict[str, Any]:
    """Distil the teacher into a ``student_steps``-step student; writes OUT/model.pt, returns its meta."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    teacher, info, diff = load_teacher(cfg.teacher)
    steps = cfg.teacher_steps or int(diff["steps"])
    schedule = NoiseSchedule(diff["schedule"], int(diff["timesteps"]))
    mu = float(diff["residual_mu"])
    train_cfg = info["meta"].get("train_config", {})
    rdata = RefinerData.build(data, diff["initial"], train_cfg.get("initial_weights", ""),
                              TargetConfig(**diff["target"]), cfg.cache)
    torch.manual_seed(cfg.seed)
    pool = _teacher_pool(teacher, schedule, rdata, cfg, steps, progress)
    val = rdata.val_crops()
    cond = condition(val["initial"], val["ir"], val["vis"], val["m_ir"], val["m_vis"])
    noise = torch.randn(val["ir"].shape, generator=torch.Generator().manual_seed(1234))
    with torch.inference_mode():
        teacher_val = ddim_sample(lambda x, t: teacher(x, t, cond), schedule, noise, steps)

    model_config = dict(info["config"])
    student, _ = load_model(cfg.teacher, expected_name=MODEL_NAME)
    student.train()
    opt = torch.optim.Adam(student.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    cfg.model_config = model_config
    step = resume_state(cfg, student, opt, rng)
    _, record = optimise(cfg, student, opt, rng, step,
                         lambda: _student_loss(student, schedule, cfg, mu, _pool_batch(pool, rng, cfg.batch, cfg.crop)),
                         lambda: validate_student(student, teacher_val, schedule, mu, val, cfg.student_steps),
                         f"distill {cfg.student_steps}-step", progress)
    if not record:
        record = validate_student(student, teacher_val, schedule, mu, val, cfg.student_steps)
    teacher_fused = refined_image(val["initial"], teacher_val, mu)
    teacher_record = {"teacher_" + k: v for k, v in crop_metrics(teacher_fused, val).items()}
    summary = {**(meta or {}), "diffusion": {**diff, "steps": cfg.student_steps},
               "distill_config": {k: v for k, v in cfg.as_dict().items() if k != "resume"},
               "teacher": {"file": Path(cfg.teacher).name, "steps": steps,
                           "command": info["meta"].get("command")},
               "data": rdata.summary, "validation": {**record, **teacher_record}}
    save_checkpoint(cfg.out / MODEL_FILE, MODEL_NAME, model_config, student, summary)
    return summary
