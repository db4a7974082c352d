"""TensorRT engines: names, sidecars, staleness checks (pure functions) and the builder (needs tensorrt).

An engine is tied to one model (the sha256 of the dynamic-shape ONNX export of its weights), one GPU
(name + compute capability), one TensorRT version, one precision and one input size, and its file name
says so::

    stage1_3f2a9c0d41be_orin-sm87_trt10.3.0_fp16_480x640.engine   (+ .json sidecar)

The sidecar records the same fields plus the engine's own sha256. Before an engine is loaded, its sidecar
is compared with what the current model, GPU and TensorRT would need: a *stale* engine (built from other
weights) or a *foreign* one (other GPU or TensorRT version) is never run; the runtime rebuilds it (when
allowed) or refuses with the command that builds a valid one. Each engine has one optimization profile
pinned to its size (min = opt = max): a camera's resolution is fixed, and a pinned profile lets TensorRT
pick the fastest kernels for exactly that size.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .onnx import model_hash, sha256_hex
from .spec import IO

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "fp16", "int8")
SIDECAR_FORMAT = 1


@dataclass(frozen=True)
class DeviceInfo:
    """What an engine is tied to besides the model: the GPU and the TensorRT version."""

    gpu: str  # torch.cuda.get_device_name(), e.g. "Orin" or "NVIDIA H100 80GB HBM3"
    compute_capability: str  # "8.7"
    tensorrt: str  # "10.3.0"


@dataclass(frozen=True)
class EngineSpec:
    model: str
    model_hash: str  # first 12 hex digits of the ONNX sha256
    device: DeviceInfo
    precision: str
    height: int
    width: int

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.model):
            raise ConfigError(f"model name {self.model!r} is not usable in a file name")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"engine precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}")
        if not re.fullmatch(r"[0-9a-f]{12}", self.model_hash):
            raise ConfigError(f"model hash must be 12 lowercase hex digits, got {self.model_hash!r}")
        if self.height < 1 or self.width < 1:
            raise ConfigError(f"engine size must be positive, got {self.height}x{self.width}")

    @property
    def stem(self) -> str:
        cc = self.device.compute_capability.replace(".", "")
        return (f"{self.model}_{self.model_hash}_{slug(self.device.gpu)}-sm{cc}_trt{self.device.tensorrt}_"
                f"{self.precision}_{self.height}x{self.width}")

    def engine_path(self, engines_dir: Path) -> Path:
        return engines_dir / f"{self.stem}.engine"

    def sidecar_path(self, engines_dir: Path) -> Path:
        return engines_dir / f"{self.stem}.json"


def import_tensorrt() -> Any:
    try:
        import tensorrt as trt
    except ImportError as err:
        raise ConfigError(f"backend 'tensorrt': the tensorrt package does not import ({err})") from None
    return trt


def slug(text: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3' (safe in a file name)."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "unknown"


def parse_shape(text: str) -> tuple[int, int]:
    """'640x480' (width x height, as cameras are named) -> (height, width)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ConfigError(f"size must look like WIDTHxHEIGHT (e.g. 640x480), got {text!r}")
    return int(match[2]), int(match[1])


def sidecar_dict(spec: EngineSpec, onnx_sha256: str, engine_sha256: str, io: IO,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format": SIDECAR_FORMAT, "model": spec.model, "model_hash": spec.model_hash,
        "onnx_sha256": onnx_sha256,
        **asdict(spec.device), "precision": spec.precision, "height": spec.height, "width": spec.width,
        "inputs": [list(i) for i in io.inputs], "outputs": list(io.outputs), "engine_sha256": engine_sha256,
        **dict(extra or {}),
    }


def compare_sidecar(meta: Mapping[str, Any], expected: EngineSpec) -> tuple[str, str]:
    """(status, reason): ``ok``, ``stale`` (other weights), ``foreign`` (other GPU/TensorRT), ``other``."""
    for key, want in (("model", expected.model), ("precision", expected.precision),
                      ("height", expected.height), ("width", expected.width)):
        if meta.get(key) != want:
            return "other", f"{key} is {meta.get(key)!r}, wanted {want!r}"
    if meta.get("model_hash") != expected.model_hash:
        return "stale", (f"built from model {meta.get('model_hash')}, the current weights export to "
                         f"{expected.model_hash}")
    dev = expected.device
    theirs = (meta.get("gpu"), meta.get("compute_capability"), meta.get("tensorrt"))
    if theirs != (dev.gpu, dev.compute_capability, dev.tensorrt):
        return "foreign", (f"built for {theirs[0]} (sm {theirs[1]}) with TensorRT {theirs[2]}; this is "
                           f"{dev.gpu} (sm {dev.compute_capability}) with TensorRT {dev.tensorrt}")
    return "ok", ""


def check_engine(engines_dir: Path, expected: EngineSpec) -> tuple[str, str]:
    """Status of the engine named for ``expected``: ok, missing, stale, foreign or invalid (+ the reason)."""
    engine, sidecar = expected.engine_path(engines_dir), expected.sidecar_path(engines_dir)
    if not engine.is_file():
        return "missing", f"{engine.name} does not exist"
    if not sidecar.is_file():
        return "invalid", f"{engine.name} has no sidecar {sidecar.name}: its origin is unknown"
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return "invalid", f"{sidecar.name}: unreadable sidecar ({err})"
    status, reason = compare_sidecar(meta, expected)
    if status != "ok":
        return ("invalid" if status == "other" else status), f"{engine.name}: {reason}"
    if meta.get("engine_sha256") != sha256_hex(engine.read_bytes()):
        return "invalid", f"{engine.name}: file and sidecar sha256 differ (replaced, corrupt)"
    return "ok", ""


def unusable_neighbours(engines_dir: Path, expected: EngineSpec) -> list[str]:
    """Reasons why the other engines of this model/precision/size in ``engines_dir`` cannot be used."""
    reasons = []
    for sidecar in sorted(engines_dir.glob(f"{expected.model}_*.json")):
        if sidecar == expected.sidecar_path(engines_dir):
            continue
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        status, reason = compare_sidecar(meta, expected)
        if status in ("stale", "foreign"):
            reasons.append(f"{sidecar.with_suffix('.engine').name} is {status}: {reason}")
    return reasons


def build_command(spec: EngineSpec, engines_dir: Path) -> str:
    refiner = re.fullmatch(r"(.+)_(\d+)steps", spec.model)  # refiner graphs: "<checkpoint>_<N>steps"
    models = f"{refiner[1]} --refiner-steps {refiner[2]}" if refiner else spec.model
    return (f"sgdfuse export engines --models {models} --sizes {spec.width}x{spec.height} "
            f"--precision {spec.precision} --engines-dir {engines_dir}")


def locate_engine(engines_dir: Path, expected: EngineSpec,
                  build: Callable[[EngineSpec], Path] | None = None) -> Path:
    """The verified engine for ``expected``; built with ``build`` when missing/unusable, else ConfigError."""
    status, reason = check_engine(engines_dir, expected)
    if status == "ok":
        return expected.engine_path(engines_dir)
    problems = [reason, *unusable_neighbours(engines_dir, expected)]
    if build is None:
        size = f"{expected.width}x{expected.height}"
        raise ConfigError(f"no usable TensorRT engine for {expected.model} at {size} ({expected.precision}) "
                          f"in {engines_dir}: " + "; ".join(problems)
                          + f". Build one on this machine: {build_command(expected, engines_dir)}")
    log.warning("TensorRT: building %s (%s); this takes a while once", expected.engine_path(engines_dir).name,
                "; ".join(problems))
    return build(expected)


# --- building (needs tensorrt and a CUDA device) ---------------------------------------------------------


def current_device(trt: Any) -> DeviceInfo:
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("TensorRT engines need a CUDA device; torch.cuda.is_available() is False")
    major, minor = torch.cuda.get_device_capability()
    return DeviceInfo(torch.cuda.get_device_name(), f"{major}.{minor}", str(trt.__version__))


def timing_cache_path(engines_dir: Path, device: DeviceInfo) -> Path:
    cc = device.compute_capability.replace(".", "")
    return engines_dir / f"timing_{slug(device.gpu)}-sm{cc}_trt{device.tensorrt}.cache"


def calibration_cache_path(engines_dir: Path, spec: EngineSpec) -> Path:
    size = f"{spec.height}x{spec.width}"
    return engines_dir / f"{spec.model}_{spec.model_hash}_trt{spec.device.tensorrt}_{size}.calib"


def calibration_inputs(io: IO, height: int, width: int, count: int,
                       sets: Sequence[str] | None = None) -> list[dict[str, np.ndarray]]:
    """INT8 calibration batches from the train split only (IR/VIS models), resized to the engine size."""
    import cv2

    from ..datasets import TRAIN_SETS, find_pairs
    from ..images import prepare_pair, read_image
    from .spec import FUSION_IO

    if io != FUSION_IO:
        raise ConfigError("INT8 calibration data is only defined for IR/VIS models (stage1, seafusion);"
                          " build the other models in fp16")
    pairs = [p for name in (sets or TRAIN_SETS) for p in find_pairs(name)[0]]
    if not pairs:
        raise ConfigError("INT8 calibration: no train-split pairs found")
    step = max(1, len(pairs) // count)
    batches = []
    for pair in pairs[::step][:count]:
        prepared = prepare_pair(read_image(pair.ir), read_image(pair.vis))
        resized = {n: cv2.resize(getattr(prepared, n), (width, height), interpolation=cv2.INTER_AREA)
                   for n in ("ir", "vis")}
        batches.append({n: img[None, None].astype(np.float32) for n, img in resized.items()})
    return batches


def make_calibrator(trt: Any, batches: list[dict[str, np.ndarray]], cache: Path) -> Any:
    """An entropy calibrator feeding ``batches`` from torch CUDA tensors; reads/writes ``cache``."""
    import torch

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.pending = iter(batches)
            self.current: dict[str, torch.Tensor] = {}

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self.pending, None)
            if batch is None:
                return None
            self.current = {n: torch.from_numpy(batch[n]).cuda().contiguous() for n in names}
            return [int(self.current[n].data_ptr()) for n in names]

        def read_calibration_cache(self) -> bytes | None:
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data: Any) -> None:
            cache.write_bytes(bytes(data))

    return Calibrator()


def keep_reductions_fp32(trt: Any, network: Any, config: Any) -> int:
    """Ask for float32 in reductions, normalisations and softmax (the rest may run in fp16/int8).

    Stage 1's channel attention L2-normalises over every pixel of a 1/4-resolution map (81,920 values at
    1280x1024) and its layer norms reduce over channels: sums that lose precision or overflow in fp16.
    Returns the number of layers constrained.
    """
    names = ("REDUCE", "NORMALIZATION", "SOFTMAX")
    kinds = {getattr(trt.LayerType, k) for k in names if hasattr(trt.LayerType, k)}
    floats = (trt.float32, trt.float16)
    count = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        outputs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if layer.type not in kinds or any(out.dtype not in floats for out in outputs):
            continue  # reductions over shape / integer tensors keep their type
        layer.precision = trt.float32
        for j in range(layer.num_outputs):
            layer.set_output_type(j, trt.float32)
        count += 1
    if count:
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
    return count


def parse_onnx(trt: Any, onnx_bytes: bytes, model: str) -> tuple[Any, Any, Any]:
    """(builder, network, parser) of an ONNX model; ConfigError with the parser's errors if it fails."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(str(trt.__version__).split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConfigError(f"TensorRT could not parse the ONNX of {model}: {errors}")
    return builder, network, parser  # the parser must outlive the network's use (it owns the weights)


def build_engine(onnx_bytes: bytes, spec: EngineSpec, engines_dir: Path, io: IO, *,
                 workspace_mb: int = 1024, calibration: list[dict[str, np.ndarray]] | None = None) -> Path:
    """Parse the ONNX, build a ``spec.precision`` engine for ``spec``'s size, write it and its sidecar."""
    trt = import_tensorrt()
    if model_hash(onnx_bytes) != spec.model_hash:
        raise ConfigError(f"ONNX bytes hash to {model_hash(onnx_bytes)}, the spec says {spec.model_hash}")
    calib_cache = calibration_cache_path(engines_dir, spec)
    if spec.precision == "int8" and not calibration and not calib_cache.is_file():
        raise ConfigError("an INT8 engine needs calibration data (or an existing calibration cache)")
    engines_dir.mkdir(parents=True, exist_ok=True)
    builder, network, _parser = parse_onnx(trt, onnx_bytes, spec.model)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    profile = builder.create_optimization_profile()
    shapes = io.input_shapes(spec.height, spec.width)
    dynamic = [network.get_input(i).name for i in range(network.num_inputs) if -1 in network.get_input(i).shape]
    for name in dynamic:  # pinned to the engine's size; a fixed-shape graph (a frame graph) needs none
        profile.set_shape(name, shapes[name], shapes[name], shapes[name])
    if dynamic:
        config.add_optimization_profile(profile)
    if spec.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
        keep_reductions_fp32(trt, network, config)
    if spec.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = make_calibrator(trt, calibration or [], calib_cache)
        config.set_calibration_profile(profile)

    cache_path = timing_cache_path(engines_dir, spec.device)
    timing_cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    config.set_timing_cache(timing_cache, ignore_mismatch=False)

    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ConfigError(f"TensorRT failed to build {spec.stem} (see the TensorRT log above)")
    seconds = time.perf_counter() - start
    engine_bytes = bytes(serialized)
    cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))

    path, sidecar = spec.engine_path(engines_dir), spec.sidecar_path(engines_dir)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(engine_bytes)
    tmp.replace(path)
    extra = {"built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "build_seconds": round(seconds, 1), "workspace_mb": workspace_mb,
             "calibration_batches": len(calibration or []) if spec.precision == "int8" else 0}
    meta = sidecar_dict(spec, sha256_hex(onnx_bytes), sha256_hex(engine_bytes), io, extra)
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    log.info("TensorRT: built %s in %.0f s", path.name, seconds)
    return path
