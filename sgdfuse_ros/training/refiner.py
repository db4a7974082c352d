"""Training of the stage-2 refiner teacher (``sgdfuse train refiner``): conditional diffusion, x0-prediction.

Per training pair (train split only, ``data.TrainData``) we precompute once, and cache in
``<cache>/<initial>.npz``: the initial fusion (the deployed stage-1 network, or a classic method), the
offline masks and the pseudo-target F* (``training.target``). A step then draws random crops + flips,
noises the companded residual x_0 = mu-law(F* - initial) at a uniform timestep, predicts x0_hat and applies
``RefinerLoss`` (denoising L1 + mask-guided intensity and gradient on initial + decoded x0_hat).

``mode="direct"`` trains the same network as a single pass (x_t = 0, t = T - 1): the "no diffusion"
ablation. ``masks="zeros"`` trains without masks: the "no masks" ablation. The loop reuses
``training.loop`` (learning-rate schedule, JSONL log, resumable state); validation runs the sampler on
fixed crops of the held-out validation pairs and scores them with the fusion metrics.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..diffusion.condition import MODES, condition, refine_residual, refined_image, residual_sample
from ..diffusion.contrast import ContrastStretch
from ..diffusion.schedule import NoiseSchedule
from ..errors import ConfigError
from ..images import PreparedPair, to_gray_u8
from ..metrics.noise import immerkaer_sigma
from ..models import build_model, save_checkpoint
from ..options import split_list
from .data import Sample, TrainData
from .loop import MODEL_FILE, optimise, resume_state
from .refiner_losses import RefinerLoss
from .target import pseudo_target

log = logging.getLogger(__name__)
MODEL_NAME = "refiner_unet"
FIELDS = ("ir", "vis", "initial", "m_ir", "m_vis", "target")  # stored per pair (+ "stretch")
BATCH_FIELDS = ("ir", "vis", "initial", "m_ir", "m_vis", "target", "ir_raw", "vis_raw")  # images normalised
MASK_MODES = ("offline", "zeros")
VAL_CROP = 192
VAL_TIMESTEPS = (100, 500, 900)


@dataclass(frozen=True)
class TargetConfig:
    """The pseudo-target (``training.target``) and the contrast normalisation (``diffusion.contrast``)."""

    lam: float = 0.05  # weight of the intensity anchor against the gradient field
    mask_gain: float = 0.2  # gradient amplification inside the masks
    activity_sigma: float = 2.0  # smoothing of the gradient activity that picks the source
    initial_share: float = 0.3  # share of the initial fusion's own gradients in the target's gradient field
    stretch: bool = True  # contrast-normalise initial, IR and VIS (a map fitted to the initial fusion)
    stretch_low: float = 1.0  # percentiles of the initial fusion mapped to 0 and 1
    stretch_high: float = 99.0
    knee: float = 0.9  # start of the soft shoulder
    base_radius: int = 0  # > 0: the map acts on the (2r+1)^2 box base only, the detail keeps gain 1 (as at inference)
    detail_snr: float = 0.0  # > 0 (with base_radius): detail k noise sigmas above the grain gets the map's slope

    def __post_init__(self) -> None:
        if self.base_radius < 0 or self.detail_snr < 0:
            raise ConfigError(f"target base_radius and detail_snr must be >= 0, got {self.base_radius}, "
                              f"{self.detail_snr}")
        if self.detail_snr and not self.base_radius:
            raise ConfigError("target detail_snr acts on the base-layer map: it needs base_radius > 0")

    def fit_stretch(self, initial: np.ndarray) -> ContrastStretch | None:
        if not self.stretch:
            return None
        return ContrastStretch.fit(initial, self.stretch_low, self.stretch_high, self.knee)

    def stretch_meta(self) -> dict[str, float] | None:
        if not self.stretch:
            return None
        meta = {"low": self.stretch_low, "high": self.stretch_high, "knee": self.knee}
        if self.base_radius:
            meta["base_radius"] = self.base_radius
        if self.detail_snr:
            meta["detail_snr"] = self.detail_snr
        return meta

    def cache_key(self) -> str:
        """Short hash of the settings (a field at its default of 0 left out: older caches stay valid)."""
        settings = {k: v for k, v in asdict(self).items() if not (k in ("base_radius", "detail_snr") and v == 0)}
        return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]

    def with_changes(self, text: str) -> TargetConfig:
        """A copy with ``key=value[,key=value]`` fields changed ("" = unchanged), e.g. ``stretch_low=0.5``."""
        kinds = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        changes: dict[str, float | bool] = {}
        for item in split_list(text):
            key, sep, value = item.partition("=")
            if key not in kinds or not sep:
                raise ConfigError(f"target change {item!r}: expected key=value with key in {', '.join(kinds)}")
            try:
                changes[key] = kinds[key](float(value)) if kinds[key] in (bool, int) else float(value)
            except ValueError:
                raise ConfigError(f"target change {item!r}: {value!r} is not a number") from None
        return replace(self, **changes)


@dataclass
class RefinerTrainConfig:
    out: Path
    initial: str = "stage1"  # initial-fusion method (a registered name)
    initial_weights: str = ""  # its weights ("" = the shipped file)
    masks: str = "offline"  # offline | zeros
    mode: str = "diffusion"  # diffusion | direct
    steps: int = 3000
    batch: int = 4
    crop: int = 96
    lr: float = 1e-3
    seed: int = 0
    loss: RefinerLoss = field(default_factory=RefinerLoss)
    target: TargetConfig = field(default_factory=TargetConfig)
    model_config: dict[str, Any] = field(default_factory=lambda: {"widths": [12, 24, 48, 64]})
    schedule: str = "cosine"
    timesteps: int = 1000
    residual_mu: float = 255.0  # mu-law companding of the residual (diffusion.condition)
    sample_steps: int = 20  # the teacher's DDIM steps (stored in the checkpoint; used by validation)
    init_from: str = ""  # start from these weights (fine-tuning on a new initial fusion)
    cache: Path = Path("runs/refiner_cache")
    warmup: int = 50
    min_lr_ratio: float = 0.05
    val_every: int = 500
    val_steps: int = 4  # DDIM steps of the validation samples (cheap)
    ckpt_every: int = 50
    log_every: int = 10
    resume: bool = False
    model: str = MODEL_NAME

    def __post_init__(self) -> None:
        self.out, self.cache = Path(self.out), Path(self.cache)
        for name in ("steps", "batch", "crop", "timesteps", "sample_steps", "val_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.masks not in MASK_MODES:
            raise ConfigError(f"masks must be one of {', '.join(MASK_MODES)}, got {self.masks!r}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not (self.lr > 0 and self.residual_mu > 0):
            raise ConfigError(f"lr and residual_mu must be > 0, got {self.lr}, {self.residual_mu}")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"], d["cache"] = str(self.out), str(self.cache)
        return d

    def diffusion_meta(self) -> dict[str, Any]:
        """What the ``Refiner`` needs besides the weights (stored in the checkpoint's meta)."""
        return {"schedule": self.schedule, "timesteps": self.timesteps, "residual_mu": self.residual_mu,
                "mode": self.mode, "steps": self.sample_steps if self.mode == "diffusion" else 1,
                "initial": self.initial, "masks": self.masks, "target": asdict(self.target),
                "stretch": self.target.stretch_meta()}


# ---------------------------------------------------------------------------------------------- data
def _initial_fn(name: str, weights: str):
    from ..methods import build_method

    return build_method(name, **({"weights": weights} if weights else {}))


def _stretch_params(stretch: ContrastStretch | None, floors: list[float | None]) -> np.ndarray:
    """(lo, hi, knee, on, then the whole frame's detail floor of each image, -1 for none)."""
    head = [stretch.lo, stretch.hi, stretch.knee, 1.0] if stretch else [0, 1, 0.9, 0.0]
    return np.array(head + [-1.0 if f is None else f for f in floors], np.float32)


def _apply_stretch(params: np.ndarray, images: list[np.ndarray], base_radius: int = 0) -> list[np.ndarray]:
    """The frame's contrast map (``_stretch_params``) on each image; with ``base_radius`` on its box base only,
    with each image's detail floor (when the params hold floors and it is >= 0)."""
    if not params[3]:
        return images
    stretch = ContrastStretch(float(params[0]), float(params[1]), float(params[2]))
    floors = [float(f) if f >= 0 else None for f in params[4:]] or [None] * len(images)
    return [stretch.base_only(x, base_radius, f) if base_radius else stretch(x)
            for x, f in zip(images, floors, strict=True)]


def _weights_id(initial: str, initial_weights: str) -> str:
    """Short hash of the initial method's weights file (the shipped one by default), "none" for classic ones."""
    from ..weights import WEIGHTS_DIR

    path = Path(initial_weights) if initial_weights else WEIGHTS_DIR / f"{initial}.pt"
    return hashlib.sha1(path.read_bytes()).hexdigest()[:10] if path.is_file() else "none"


def frame_target(target: TargetConfig, ir: np.ndarray, vis: np.ndarray, initial: np.ndarray, m_ir: np.ndarray,
                 m_vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame's pseudo-target, on the images contrast-normalised by the map fitted to ``initial``, and
    that map's parameters (``_stretch_params``)."""
    snr = target.detail_snr
    params = _stretch_params(target.fit_stretch(initial),
                             [snr * immerkaer_sigma(x) if snr else None for x in (ir, vis, initial)])
    ir_n, vis_n, init_n = _apply_stretch(params, [ir, vis, initial], target.base_radius)
    return pseudo_target(ir_n, vis_n, init_n, m_ir, m_vis, lam=target.lam, mask_gain=target.mask_gain,
                         activity_sigma=target.activity_sigma, initial_share=target.initial_share), params


def prepare_arrays(samples: list[Sample], initial: str, initial_weights: str, target: TargetConfig
                   ) -> list[dict[str, np.ndarray]]:
    """Per sample: raw IR, VIS and initial fusion, offline masks (float16 HxW), the contrast map fitted to
    the initial fusion, and the pseudo-target computed on the contrast-normalised images."""
    from ..masks import MaskConfig, build_mask_source

    fuse = _initial_fn(initial, initial_weights)
    masks = build_mask_source(MaskConfig())
    out = []
    for s in tqdm(samples, desc=f"refiner data ({initial})", unit="pair"):
        ir, vis = (x.astype(np.float32) / 255 for x in (s.ir, s.vis))
        pair = PreparedPair(ir=ir, vis=vis, vis_cbcr=None)
        init = np.clip(fuse(pair.ir, pair.vis), 0.0, 1.0).astype(np.float32)
        m = masks(pair) or {k: np.zeros_like(pair.ir) for k in ("ir", "vis")}
        tgt, params = frame_target(target, pair.ir, pair.vis, init, m["ir"], m["vis"])
        arrays = {"ir": pair.ir, "vis": pair.vis, "initial": init, "m_ir": m["ir"], "m_vis": m["vis"],
                  "target": tgt}
        out.append({**{k: v.astype(np.float16) for k, v in arrays.items()}, "stretch": params})
    return out


class RefinerData:
    """Precomputed refiner arrays of the training and validation pairs; random crops with flips."""

    def __init__(self, train: list[dict[str, np.ndarray]], val: list[dict[str, np.ndarray]],
                 groups: list[str], summary: dict[str, Any], base_radius: int = 0) -> None:
        if not train:
            raise ConfigError("no refiner training samples")
        self.train, self.val, self.summary = train, val, summary
        self.base_radius = base_radius  # the contrast map on the base layer only (TargetConfig.base_radius)
        self.groups: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            self.groups.setdefault(g, []).append(i)
        self.group_names = sorted(self.groups)

    @classmethod
    def build(cls, data: TrainData, initial: str, initial_weights: str, target: TargetConfig, cache: Path
              ) -> RefinerData:
        """Precompute (or read from ``cache``) the arrays of every train and validation pair."""
        samples = data.train + data.val
        key = f"{initial}_{_weights_id(initial, initial_weights)}_{target.cache_key()}"
        path = Path(cache) / f"{key}_n{len(samples)}.npz"
        keys = (*FIELDS, "stretch")
        if path.exists():
            with np.load(path) as z:
                arrays = [{k: z[f"{i}/{k}"] for k in keys} for i in range(len(samples))]
            log.info("refiner data from %s", path)
        else:
            arrays = prepare_arrays(samples, initial, initial_weights, target)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + ".tmp.npz")
            np.savez(tmp, **{f"{i}/{k}": a[k] for i, a in enumerate(arrays) for k in keys})
            tmp.replace(path)
        n = len(data.train)
        return cls(arrays[:n], arrays[n:], [s.group for s in data.train], data.summary(), target.base_radius)

    def _crop(self, a: dict[str, np.ndarray], y: int, x: int, side: int) -> np.ndarray:
        """``BATCH_FIELDS`` of one crop: the network's (contrast-normalised) images + raw sources. A base-layer
        map is computed on the crop plus a ``base_radius`` margin: the same values as on the whole frame."""
        raw = [a[k][y:y + side, x:x + side].astype(np.float32) for k in FIELDS]
        r = self.base_radius
        h, w = a["ir"].shape
        y0, x0 = max(y - r, 0), max(x - r, 0)
        wide = [a[k][y0:min(y + side + r, h), x0:min(x + side + r, w)].astype(np.float32) for k in FIELDS[:3]]
        ir_n, vis_n, init_n = (n[y - y0:y - y0 + side, x - x0:x - x0 + side]
                               for n in _apply_stretch(a["stretch"], wide, r))
        return np.stack([ir_n, vis_n, init_n, *raw[3:], raw[0], raw[1]])

    def batch(self, rng: np.random.Generator, batch: int, crop: int) -> dict[str, torch.Tensor]:
        """``BATCH_FIELDS`` -> float32 (batch, 1, crop, crop): group-balanced random crops + flips."""
        out = np.empty((len(BATCH_FIELDS), batch, 1, crop, crop), np.float32)
        for i in range(batch):
            idx = self.groups[self.group_names[rng.integers(len(self.group_names))]]
            a = self.train[idx[rng.integers(len(idx))]]
            h, w = a["ir"].shape
            if crop > min(h, w):
                raise ConfigError(f"crop {crop} is larger than a training image ({w}x{h})")
            stack = self._crop(a, rng.integers(h - crop + 1), rng.integers(w - crop + 1), crop)
            if rng.random() < 0.5:
                stack = stack[:, :, ::-1]
            if rng.random() < 0.5:
                stack = stack[:, ::-1, :]
            out[:, i, 0] = stack
        return {k: torch.from_numpy(out[j]) for j, k in enumerate(BATCH_FIELDS)}

    def val_crops(self, crop: int = VAL_CROP) -> dict[str, torch.Tensor]:
        """Centre crops of the validation pairs (fixed: model selection compares like with like)."""
        side = min(crop, *(min(a["ir"].shape) for a in self.val))
        rows = [self._crop(a, (a["ir"].shape[0] - side) // 2, (a["ir"].shape[1] - side) // 2, side)
                for a in self.val]
        stack = np.stack(rows, axis=1)[:, :, None]
        return {k: torch.from_numpy(np.ascontiguousarray(stack[j])) for j, k in enumerate(BATCH_FIELDS)}


def batch_masks(b: dict[str, torch.Tensor], masks: str) -> tuple[torch.Tensor, torch.Tensor]:
    if masks == "zeros":
        return torch.zeros_like(b["m_ir"]), torch.zeros_like(b["m_vis"])
    return b["m_ir"], b["m_vis"]


# ---------------------------------------------------------------------------------------------- train
def training_loss(model: torch.nn.Module, schedule: NoiseSchedule, cfg: RefinerTrainConfig,
                  b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """The teacher's objective on one batch (x0-prediction at a uniform random timestep)."""
    m_ir, m_vis = batch_masks(b, cfg.masks)
    cond = condition(b["initial"], b["ir"], b["vis"], m_ir, m_vis)
    x0 = residual_sample(b["target"], b["initial"], cfg.residual_mu)
    n = x0.shape[0]
    if cfg.mode == "direct":
        t = torch.full((n,), schedule.timesteps - 1, dtype=torch.long)
        x_t = torch.zeros_like(x0)
    else:
        t = torch.randint(0, schedule.timesteps, (n,))
        x_t = schedule.q_sample(x0, t, torch.randn_like(x0))
    x0_hat = model(x_t, t.float(), cond)
    fused = refined_image(b["initial"], x0_hat, cfg.residual_mu)
    return cfg.loss(x0_hat, x0, fused, b["ir"], b["vis"], b["m_ir"], b["m_vis"])


def crop_metrics(fused: torch.Tensor, b: dict[str, torch.Tensor]) -> dict[str, float]:
    """Mean fusion metrics of (N, 1, H, W) images against the crops' IR and VIS."""
    from ..metrics import compute_metrics

    rows = [compute_metrics(to_gray_u8(fused[i, 0].numpy()), to_gray_u8(b["ir_raw"][i, 0].numpy()),
                            to_gray_u8(b["vis_raw"][i, 0].numpy())) for i in range(fused.shape[0])]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def validate_refiner(model: torch.nn.Module, schedule: NoiseSchedule, cfg: RefinerTrainConfig,
                     val: dict[str, torch.Tensor], steps: int) -> dict[str, float]:
    """Denoising loss at fixed timesteps + metrics of ``steps``-step samples on the validation crops."""
    was_training = model.training
    model.eval()
    record: dict[str, float] = {}
    m_ir, m_vis = batch_masks(val, cfg.masks)
    cond = condition(val["initial"], val["ir"], val["vis"], m_ir, m_vis)
    x0 = residual_sample(val["target"], val["initial"], cfg.residual_mu)
    gen = torch.Generator().manual_seed(1234)
    with torch.inference_mode():
        for t in VAL_TIMESTEPS if cfg.mode == "diffusion" else ():
            tt = torch.full((x0.shape[0],), t)
            x_t = schedule.q_sample(x0, tt, torch.randn(x0.shape, generator=gen))
            record[f"denoise_t{t}"] = float((model(x_t, tt.float(), cond) - x0).abs().mean())
        noise = torch.randn(x0.shape, generator=gen)
        x0_hat = refine_residual(model, schedule, cond, steps, noise, cfg.mode)
        fused = refined_image(val["initial"], x0_hat, cfg.residual_mu)
        record["sample_l1_to_target"] = float((fused - val["target"]).abs().mean())
        record.update(crop_metrics(fused, val))
    model.train(was_training)
    return record


def _initial_weights(model: torch.nn.Module, path: str) -> None:
    from ..models import load_model

    init, _ = load_model(path, expected_name=MODEL_NAME)
    model.load_state_dict(init.state_dict())


def train_refiner(cfg: RefinerTrainConfig, data: RefinerData, meta: dict[str, Any] | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Train the refiner teacher (or an ablation variant); writes OUT/model.pt and returns its meta."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    schedule = NoiseSchedule(cfg.schedule, cfg.timesteps)
    model = build_model(MODEL_NAME, **cfg.model_config).train()
    if cfg.init_from:
        _initial_weights(model, cfg.init_from)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = resume_state(cfg, model, opt, rng)
    val_batch = data.val_crops()
    _, val = optimise(cfg, model, opt, rng, step,
                      lambda: training_loss(model, schedule, cfg, data.batch(rng, cfg.batch, cfg.crop)),
                      lambda: validate_refiner(model, schedule, cfg, val_batch, cfg.val_steps),
                      f"train refiner ({cfg.mode})", progress)
    if not val:
        val = validate_refiner(model, schedule, cfg, val_batch, cfg.val_steps)
    summary = {**(meta or {}), "diffusion": cfg.diffusion_meta(),
               "train_config": {k: v for k, v in cfg.as_dict().items() if k != "resume"},
               "data": data.summary, "validation": val}
    save_checkpoint(cfg.out / MODEL_FILE, MODEL_NAME, cfg.model_config, model, summary)
    return summary


# ---------------------------------------------------------------------------------------------- ship
def ship_refiner(src: str | Path, dst: str | Path) -> dict[str, Any]:
    """Copy a refiner checkpoint into ``sgdfuse_ros/weights/`` and record it in ``manifest.json``.

    Like ``training.ship`` (command, data, commit, sha256, params, validation), plus what a refiner's cost
    needs: the sampler steps, GFLOPs per network evaluation and in total at 640x480.
    """
    import json
    import shutil

    from ..models import load_model
    from ..models.flops import refiner_gflops
    from .ship import MAX_BYTES, TRAINED_ON, git_commit, sha256

    src, dst = Path(src), Path(dst)
    model, info = load_model(src, expected_name=MODEL_NAME)
    diff = info["meta"].get("diffusion", {})
    if src.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{src}: {src.stat().st_size} bytes, over the {MAX_BYTES}-byte limit for weights")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    meta = info["meta"]
    per_eval = refiner_gflops(model)
    evaluations = 1 if diff.get("mode") == "direct" else int(diff.get("steps", 1))
    entry = {
        "model": info["model"], "config": info["config"], "command": meta.get("command", ""),
        "train_config": meta.get("train_config", meta.get("distill_config", {})), "data": meta.get("data", {}),
        "diffusion": diff, "teacher": meta.get("teacher", {}),
        "git_commit": git_commit(Path(__file__).resolve().parents[2]), "sha256": sha256(dst),
        "bytes": dst.stat().st_size, "params": sum(p.numel() for p in model.parameters()),
        "gflops_640x480": round(per_eval, 3), "evaluations": evaluations,
        "gflops_640x480_total": round(per_eval * evaluations, 3),
        "validation": meta.get("validation", {}), "trained_on": TRAINED_ON,
    }
    manifest_path = dst.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[dst.name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return entry
