"""Stage 2 of SGDFuse: the mask-guided diffusion refiner the pipeline calls (``pipeline.Refiner``).

``DiffusionRefiner(weights)(pair, initial, masks) -> refined luma``: initial fusion, IR and VIS are
contrast-normalised by a monotone map fitted to the initial fusion (``diffusion.contrast``, when the
checkpoint asks for it; with ``stretch.base_radius`` only the base layer is mapped, the detail layer keeps
gain 1, or the map's slope where it stands ``stretch.detail_snr`` noise sigmas above the image's grain and/or
inside the IR mask grown by ``stretch.detail_mask_radius``), then the network generates the residual over the
normalised initial fusion, conditioned on [initial, IR, VIS, IR mask, VIS mask] (``diffusion.condition``),
with ``steps`` deterministic DDIM evaluations from a fixed x_T (``noise``: a fixed-seed draw, or zero; the
same input gives the same output). The shipped weights are ``refiner_teacher.pt`` (many steps) and
``refiner_student.pt`` (the distilled few-step student that the default pipeline runs). No masks this frame
(``{}``) means zero masks. With ``bound_radius`` > 0 in the checkpoint's diffusion meta the refined luma is
clamped to the local range of [initial, IR, VIS] (``diffusion.condition.bound_to_sources``,
inside ``diffusion.graph.RefinerGraph``, so every backend and the frame graph clamp the same way). That range
is of the contrast-normalised images; ``source_bound_radius`` > 0 clamps the final refined luma to the local
range of the raw IR and VIS instead (after the sampler, here and in ``frame.graph.FrameGraph``): no pixel
leaves what the two cameras show nearby, so the overshoot figure OS (radius 3) is 0 for a radius of 3.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .diffusion.graph import RefinerGraph
from .errors import ConfigError, InputError
from .images import PreparedPair
from .runtime.base import ModelIO
from .weights import WEIGHTS_DIR

REFINERS = ("student", "teacher")
MODEL_NAME = "refiner_unet"
MAX_TIMESTEPS = 10_000  # largest diffusion schedule a checkpoint may ask for


def check_diffusion_meta(meta: dict[str, Any]) -> None:
    """A refiner checkpoint's diffusion settings, bounded before its schedule or model is built."""
    diff = meta.get("diffusion")
    needed = {"schedule", "timesteps", "residual_mu", "mode", "steps"}
    if not isinstance(diff, dict) or not needed <= diff.keys():
        raise ConfigError("a refiner checkpoint without diffusion settings (meta)")
    timesteps, steps, mu = diff["timesteps"], diff["steps"], diff["residual_mu"]
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or not 2 <= timesteps <= MAX_TIMESTEPS:
        raise ConfigError(f"diffusion timesteps must be an integer in 2..{MAX_TIMESTEPS}, got {timesteps!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= timesteps:
        raise ConfigError(f"diffusion steps must be an integer in 1..{timesteps}, got {steps!r}")
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not 0 < mu < float("inf"):
        raise ConfigError(f"diffusion residual_mu must be a finite number > 0, got {mu!r}")
    if not isinstance(diff["schedule"], str) or not isinstance(diff["mode"], str):
        raise ConfigError("diffusion schedule and mode must be names")
    stretch = diff.get("stretch") or {}
    radii = {key: diff.get(key, 0) for key in ("bound_radius", "source_bound_radius")}
    radii["stretch.detail_mask_radius"] = stretch.get("detail_mask_radius", 0)
    for key, radius in radii.items():
        if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
            raise ConfigError(f"diffusion {key} must be an integer >= 0, got {radius!r}")
    snr = stretch.get("detail_snr", 0.0)
    if isinstance(snr, bool) or not isinstance(snr, (int, float)) or not 0 <= snr < float("inf"):
        raise ConfigError(f"diffusion stretch.detail_snr must be a finite number >= 0, got {snr!r}")


class DiffusionRefiner:
    """Refines an initial fused luma with a refiner checkpoint (teacher or student)."""

    def __init__(self, weights: str | Path, steps: int | None = None, device: str = "cpu",
                 noise: str = "seeded", backend: str | None = None, engines_dir: str | Path | None = None
                 ) -> None:
        import torch

        from .diffusion.condition import initial_noise
        from .diffusion.schedule import NoiseSchedule
        from .models import load_model

        model, info = load_model(weights, expected_name=MODEL_NAME, check_meta=check_diffusion_meta)
        diff = info["meta"]["diffusion"]
        self.schedule = NoiseSchedule(diff["schedule"], int(diff["timesteps"]))
        self.mode = str(diff["mode"])
        self.mu = float(diff["residual_mu"])
        self.stretch: dict[str, float] | None = diff.get("stretch")  # contrast normalisation, fitted per frame
        self.bound_radius = int(diff.get("bound_radius", 0))  # 0: the refined luma is not clamped
        self.source_bound_radius = int(diff.get("source_bound_radius", 0))  # 0: not clamped to the raw sources
        self.steps = int(steps if steps else diff["steps"])
        if not 1 <= self.steps <= self.schedule.timesteps:
            raise ConfigError(f"refiner steps must lie in 1..{self.schedule.timesteps}, got {self.steps}")
        self.device = torch.device(device)
        self.model = model.to(self.device)
        initial_noise((1,), noise)  # an unknown kind fails here, not on the first frame
        self.noise = noise
        self.info: dict[str, Any] = info
        self.name = Path(weights).stem
        self.sampler = self.graph()  # the network and its sampler as one module (the torch path runs it)
        self.runner = None  # with a backend: the whole sampler as one graph on a sgdfuse_ros.runtime backend
        if backend is not None:
            self.runner = RefinerRunner(self, backend, engines_dir)

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        from .diffusion.condition import bound_to_sources, initial_noise
        from .diffusion.contrast import ContrastStretch, target_mask
        from .metrics.noise import immerkaer_sigma

        if initial.shape != pair.shape:
            raise InputError(f"refiner: initial fusion of shape {initial.shape}, pair of shape {pair.shape}")
        zeros = np.zeros(pair.shape, np.float32)
        images = [initial, pair.ir, pair.vis]
        if self.stretch:
            stretch = ContrastStretch.fit(initial, self.stretch["low"], self.stretch["high"], self.stretch["knee"])
            radius, snr = int(self.stretch.get("base_radius", 0)), float(self.stretch.get("detail_snr", 0.0))
            mask_radius = int(self.stretch.get("detail_mask_radius", 0))
            mask = target_mask(masks.get("ir", zeros), mask_radius) if mask_radius else None
            images = [stretch.base_only(x, radius, snr * immerkaer_sigma(x) if snr else None, mask) if radius
                      else stretch(x) for x in images]
        arrays = [*images, masks.get("ir", zeros), masks.get("vis", zeros)]
        with torch.inference_mode():
            tensors = [torch.from_numpy(np.ascontiguousarray(a, np.float32))[None, None] for a in arrays]
            if self.runner is not None:
                refined = torch.from_numpy(np.ascontiguousarray(self.runner(*arrays), np.float32))[None, None]
            else:  # the graph every backend runs, here on ``device``
                noise = initial_noise((1, 1, *pair.shape), self.noise)
                refined = self.sampler(*(t.to(self.device) for t in (*tensors, noise))).float().cpu()
            if self.source_bound_radius:
                raw = torch.from_numpy(np.stack([pair.ir, pair.vis]).astype(np.float32))[None]
                refined = bound_to_sources(refined, raw, self.source_bound_radius)
            return refined[0, 0].numpy()


    def graph(self) -> RefinerGraph:
        """This refiner's network and sampler as one module (shares the network, does not copy it)."""
        return RefinerGraph(self.model, self.schedule, self.steps, self.mode, self.mu, self.bound_radius).eval()

    @property
    def model_name(self) -> str:
        """The model name in engine files: checkpoint stem + step count (another step count, another graph)."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.name}_{self.steps}steps")


REFINER_IO = ModelIO(
    inputs=(("initial", 1), ("ir", 1), ("vis", 1), ("mask_ir", 1), ("mask_vis", 1), ("noise", 1)),
    outputs=("refined",))


class RefinerRunner:
    """Runs a ``DiffusionRefiner``'s whole sampler on a runtime backend: arrays in, refined luma out."""

    def __init__(self, refiner: DiffusionRefiner, backend: str, engines_dir: str | Path | None = None) -> None:
        from .runtime import create_runtime

        self.noise = refiner.noise
        self.runtime = create_runtime(refiner.graph(), REFINER_IO, name=refiner.model_name, backend=backend,
                                      engines_dir=engines_dir)
        self._noise: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, initial: np.ndarray, ir: np.ndarray, vis: np.ndarray, mask_ir: np.ndarray,
                 mask_vis: np.ndarray) -> np.ndarray:
        """float32 HxW arrays (one grid) -> refined luma float32 HxW."""
        from .diffusion.condition import initial_noise

        shape = initial.shape
        if shape not in self._noise:
            self._noise[shape] = initial_noise((1, 1, *shape), self.noise).numpy()
        arrays = (initial, ir, vis, mask_ir, mask_vis)
        inputs = {name: np.ascontiguousarray(a, np.float32)[None, None]
                  for (name, _), a in zip(REFINER_IO.inputs, arrays, strict=False)}
        inputs["noise"] = self._noise[shape]
        return self.runtime.run(inputs)["refined"][0, 0]


def build_refiner(name: str, steps: int = 0, weights: str | Path = "", device: str = "cpu",
                  backend: str | None = None, engines_dir: str | Path | None = None, noise: str = "seeded"
                  ) -> DiffusionRefiner | None:
    """``""`` -> None (no refiner); ``"student"`` / ``"teacher"`` -> the shipped (or given) weights."""
    if not name:
        return None
    if name not in REFINERS:
        raise ConfigError(f"refiner must be '' or one of {', '.join(REFINERS)}, got {name!r}")
    return DiffusionRefiner(weights or WEIGHTS_DIR / f"refiner_{name}.pt", steps or None, device, noise=noise,
                            backend=backend, engines_dir=engines_dir)
