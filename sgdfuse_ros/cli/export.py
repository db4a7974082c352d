"""``sgdfuse export onnx|engines|frame``: ONNX files of the learned models, TensorRT engines for this machine,
and a pipeline's frame graph (raw uint8 frames in, the fused uint8 frame out: its ONNX, and its engine where
TensorRT and a GPU exist)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from ..options import split_list
from ..outputs import add_overwrite_argument

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4  # max |onnxruntime - torch| on [0, 1] outputs accepted by `export onnx`


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export ONNX models or build TensorRT engines",
                       description="ONNX export of the learned models and TensorRT engine building "
                                   "(see docs/runtimes.md and docs/jetson.md).")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    onnx = kinds.add_parser("onnx", help="write MODEL.onnx (+ MODEL.json) per model")
    onnx.add_argument("-o", "--out", default="engines", help="output folder (default: engines/)")
    onnx.add_argument("--size", help="fix the graph to WIDTHxHEIGHT (default: dynamic height and width)")
    onnx.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch parity check")
    engines = kinds.add_parser("engines", help="build TensorRT engines for this GPU (needs tensorrt + CUDA)")
    engines.add_argument("--engines-dir",
                         help="engine folder (default: $SGDFUSE_ENGINES, else ~/.cache/sgdfuse/engines)")
    engines.add_argument("--sizes", default="640x480,1280x1024", help="comma-separated WIDTHxHEIGHT sizes")
    engines.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "int8"))
    engines.add_argument("--calib-images", type=int, default=32,
                         help="INT8: number of train-split pairs for calibration (default 32)")
    engines.add_argument("--workspace-mb", type=int, default=1024, help="TensorRT builder workspace (MiB)")
    engines.add_argument("--force", action="store_true", help="rebuild even if a valid engine exists")
    frame = kinds.add_parser("frame", help="write a pipeline's frame graph as ONNX (+ its TensorRT engine)")
    frame.add_argument("--pipeline", default="default", help="a preset, method name or .yaml (default: default)")
    frame.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT, thermal and RGB (default 640x480)")
    frame.add_argument("-o", "--out", default="engines", help="output folder of the ONNX (default: engines/)")
    frame.add_argument("--engines-dir",
                       help="engine folder (default: $SGDFUSE_ENGINES, else ~/.cache/sgdfuse/engines)")
    frame.add_argument("--precision", default="fp16", choices=("fp32", "fp16"))
    frame.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch parity check")
    frame.add_argument("--output-smoothing", type=float, default=None,
                       help="the output filter over frames in the graph, as the node's temporal.output_smoothing "
                            "(default: the node's default; 0: the per-frame graph, no state)")
    frame.add_argument("--output-noise", type=float, default=None,
                       help="its temporal.output_noise (default: the node's default)")
    frame.set_defaults(func=run_frame)
    for q in (onnx, frame):
        add_overwrite_argument(q)
    for q in (onnx, engines):
        q.add_argument("--models", default="stage1,seafusion",
                       help="comma-separated: stage1, seafusion, refiner_student, refiner_teacher")
        q.add_argument("--refiner-steps", type=int, default=0,
                       help="refiner sampling steps unrolled in its graph (default: the checkpoint's)")
        q.add_argument("--weights-dir", help="folder of MODEL.pt checkpoints (default: the shipped weights)")
        q.set_defaults(func=run)


def _load(args: argparse.Namespace, name: str):  # -> (module, io, model name in engine files)
    from ..frame.models import load_exportable

    weights = Path(args.weights_dir) / f"{name}.pt" if args.weights_dir else None
    return load_exportable(name, weights, args.refiner_steps)


def node_output_filter(smoothing: float | None = None, noise: float | None = None) -> tuple[float, float] | None:
    """(smoothing, noise) of the output filter the node runs in its frame graph: its ``temporal.output_*``
    defaults, or the values given; None for smoothing 0 (the per-frame graph). ConfigError for values the
    node refuses."""
    from ..stream.temporal import TemporalParams

    node = TemporalParams()
    params = TemporalParams(output_smoothing=node.output_smoothing if smoothing is None else smoothing,
                            output_noise=node.output_noise if noise is None else noise)
    return (params.output_smoothing, params.output_noise) if params.output_smoothing > 0 else None


def frame_target(spec: str, height: int, width: int,
                 output_filter: tuple[float, float] | None = None) -> tuple[Any, Any, str]:
    """(pipeline config, FrameSpec, model name) of the frame graph of ``spec``, without building anything;
    ConfigError for a pipeline that has no frame graph. ``output_filter``: (smoothing, noise) of the output
    filter over frames (the node's ``temporal.output_*``), None for the per-frame graph."""
    import re

    from ..config import config_from_spec
    from ..errors import ConfigError
    from ..frame.graph import FrameSpec
    from ..methods.learned import LEARNED_METHODS

    label, config = config_from_spec(spec)
    if config.stage1.method not in LEARNED_METHODS:
        raise ConfigError(f"pipeline {spec!r}: its initial fusion {config.stage1.method!r} is not a network, so it "
                          f"has no frame graph (learned: {', '.join(LEARNED_METHODS)})")
    frame_spec = FrameSpec((height, width), (height, width), masks=config.masks.source != "none",
                           output_filter=output_filter)
    return config, frame_spec, re.sub(r"[^A-Za-z0-9_.-]+", "-", f"frame_{label}_{frame_spec.name}")


def pipeline_frame_graph(spec: str, height: int, width: int,
                         output_filter: tuple[float, float] | None = None) -> tuple[Any, Any, str]:
    """(frame graph, its FixedIO, its model name) of the pipeline ``spec`` (a preset, method or .yaml) for
    HxW uint8 thermal and RGB frames; ConfigError for a pipeline that has no frame graph."""
    from ..config import build_pipeline
    from ..frame.runner import frame_graph

    config, frame_spec, name = frame_target(spec, height, width, output_filter)
    pipeline = build_pipeline(config.replace({"runtime.backend": "cpu"}))
    assert (pipeline.masks is not None) == frame_spec.masks, "mask source 'none' is the only one without masks"
    graph = frame_graph(frame_spec, pipeline.fuse_fn.module, pipeline.refiner,  # type: ignore[attr-defined]
                        pipeline.thermal_percentiles, pipeline.homography)
    return graph, frame_spec.io(), name


def run_frame(args: argparse.Namespace) -> int:
    import importlib.util

    import numpy as np
    import torch

    from ..errors import ConfigError
    from ..export.engines import parse_shape
    from ..export.onnx import OPSET, export_onnx, sha256_hex
    from ..outputs import check_folder_output, existing_paths

    height, width = parse_shape(args.size)
    output_filter = node_output_filter(args.output_smoothing, args.output_noise)
    _, _, name = frame_target(args.pipeline, height, width, output_filter)
    check_folder_output(args.out, existing_paths([args.pipeline]), (f"{name}.onnx", f"{name}.json"), args.overwrite)
    graph, io, name = pipeline_frame_graph(args.pipeline, height, width, output_filter)
    path = Path(args.out) / f"{name}.onnx"
    data = export_onnx(graph, io, path=path)
    meta = {"model": name, "pipeline": args.pipeline, "sha256": sha256_hex(data), "opset": OPSET,
            "torch": torch.__version__, "inputs": [list(i) for i in io.inputs],
            "outputs": [list(o) for o in io.output_specs], "state": [list(pair) for pair in io.state]}
    if not args.no_check:
        from ..runtime.onnxrt import OnnxRuntimeRuntime

        inputs = io.example_inputs(seed=1)
        with torch.inference_mode():
            out = graph(*inputs.values())
        ref = (out[0] if isinstance(out, tuple) else out).numpy().astype(np.int16)
        got = OnnxRuntimeRuntime(data, io).run(inputs)["fused"].astype(np.int16)
        meta["parity_p99_grey_levels"] = p99 = float(np.percentile(np.abs(got - ref), 99))
        if p99 > 1.0:
            raise ConfigError(f"{path}: onnxruntime differs from torch by {p99:.0f} grey levels at the 99th "
                              "percentile (> 1)")
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    check = f", parity p99 {meta['parity_p99_grey_levels']:.0f} grey levels" if not args.no_check else ""
    print(f"{path}: {len(data) / 1e6:.2f} MB, sha256 {meta['sha256'][:12]}{check}")
    if importlib.util.find_spec("tensorrt") is None or not torch.cuda.is_available():
        print("no TensorRT engine: it needs the tensorrt package and a CUDA device")
        return 0
    from ..export import engines as eng
    from ..export.onnx import model_hash
    from ..runtime.select import engines_dir_or_default

    engines_dir = engines_dir_or_default(args.engines_dir)
    spec = eng.EngineSpec(name, model_hash(data), eng.current_device(eng.import_tensorrt()), args.precision,
                          height, width)
    print(f"{eng.build_engine(data, spec, engines_dir, io)}: built")
    return 0


def run(args: argparse.Namespace) -> int:
    names = split_list(args.models)
    return _onnx(args, names) if args.kind == "onnx" else _engines(args, names)


def _onnx(args: argparse.Namespace, names: list[str]) -> int:
    import numpy as np
    import torch

    from ..errors import ConfigError
    from ..export.engines import parse_shape
    from ..export.onnx import OPSET, TRACE_SIZE, export_onnx, sha256_hex
    from ..outputs import check_folder_output, existing_paths

    shape = parse_shape(args.size) if args.size else None
    checkpoints = [Path(args.weights_dir) / f"{n}.pt" for n in names] if args.weights_dir else []
    out = check_folder_output(args.out, existing_paths(checkpoints),
                              [f"{n}{s}" for n in names for s in (".onnx", ".json")], args.overwrite)
    for name in names:
        module, io, model_name = _load(args, name)
        path = out / f"{name}.onnx"
        data = export_onnx(module, io, shape=shape, path=path)
        meta = {"model": model_name, "sha256": sha256_hex(data), "opset": OPSET, "torch": torch.__version__,
                "inputs": [list(i) for i in io.inputs], "outputs": list(io.outputs),
                "shape_hw": list(shape) if shape else "dynamic"}
        if not args.no_check:
            from ..runtime.onnxrt import OnnxRuntimeRuntime

            h, w = shape or (TRACE_SIZE[0] + 7, TRACE_SIZE[1] + 5)  # dynamic: check another size than traced
            inputs = io.example_inputs(h, w, seed=1)
            with torch.inference_mode():
                ref = module(*inputs.values())
            got = OnnxRuntimeRuntime(data, io).run(inputs)[io.outputs[0]]
            meta["parity_max_abs_diff"] = diff = float(np.abs(got - ref.numpy()).max())
            if diff > PARITY_TOLERANCE:
                raise ConfigError(f"{path}: onnxruntime differs from torch by {diff:.2e} "
                                  f"(> {PARITY_TOLERANCE:g}) at {w}x{h}")
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
        check = f", parity {meta['parity_max_abs_diff']:.1e}" if "parity_max_abs_diff" in meta else ""
        print(f"{path}: {len(data) / 1e6:.2f} MB, sha256 {meta['sha256'][:12]}{check}")
    return 0


def _engines(args: argparse.Namespace, names: list[str]) -> int:
    from ..export import engines as eng
    from ..export.onnx import export_onnx, model_hash
    from ..runtime.select import engines_dir_or_default
    device = eng.current_device(eng.import_tensorrt())
    engines_dir = engines_dir_or_default(args.engines_dir)
    sizes = [eng.parse_shape(s) for s in split_list(args.sizes)]
    for name in names:
        module, io, model_name = _load(args, name)
        data = export_onnx(module, io)  # dynamic H/W: the bytes the runtime hashes to find these engines
        digest = model_hash(data)
        export_path = engines_dir / f"{model_name}_{digest}.onnx"  # kept for trtexec / inspection
        if not export_path.is_file():
            engines_dir.mkdir(parents=True, exist_ok=True)
            export_path.write_bytes(data)
        for height, width in sizes:
            spec = eng.EngineSpec(model_name, digest, device, args.precision, height, width)
            status, reason = eng.check_engine(engines_dir, spec)
            if status == "ok" and not args.force:
                print(f"{spec.engine_path(engines_dir)}: up to date")
                continue
            if status != "missing":
                log.warning("rebuilding: %s", reason)
            int8 = args.precision == "int8"
            calib = eng.calibration_inputs(io, height, width, args.calib_images) if int8 else None
            path = eng.build_engine(data, spec, engines_dir, io, workspace_mb=args.workspace_mb,
                                    calibration=calib)
            print(f"{path}: built")
    return 0
