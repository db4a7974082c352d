"""The frame graph: parity with the per-stage pipeline (shipped weights), its tensor ops against numpy/OpenCV,
ONNX Runtime with uint8 in and out through FusionPipeline, and its ops against TensorRT's ONNX parser list.

The full-set parity (all pairs of msrs_test and roadscene) is scripts/frame_graph_parity.py; here a sample
pair of each. CUDA and TensorRT tests run only where a GPU (and tensorrt) exist.
"""

from __future__ import annotations

import importlib.util
from collections import Counter

import cv2
import numpy as np
import pytest
import torch

from sgdfuse_ros.cli.export import pipeline_frame_graph
from sgdfuse_ros.config import build_pipeline, config_from_spec
from sgdfuse_ros.diffusion.contrast import ContrastStretch, target_mask
from sgdfuse_ros.frame import ops
from sgdfuse_ros.frame.graph import FrameSpec
from sgdfuse_ros.frame.runner import frame_graph
from sgdfuse_ros.images import gray_view, read_image, resize_to, thermal_to_float, warp_to
from sgdfuse_ros.metrics.noise import immerkaer_sigma

HAS_CUDA = torch.cuda.is_available()
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None

# ONNX operators TensorRT's ONNX parser supports (onnx-tensorrt docs/operators.md, TensorRT 8.5, the oldest
# release JetPack 5.1 ships; later releases only add operators). Ops marked N there are left out.
TENSORRT_ONNX_OPS = frozenset([
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
    "AveragePool", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Concat", "Constant",
    "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace",
    "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike",
    "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GRU", "HardSwish",
    "HardSigmoid", "Identity", "If", "ImageScaler", "InstanceNormalization", "IsNaN", "LeakyRelu",
    "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LRN", "LSTM", "LpNormalization", "LpPool",
    "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization", "Min", "Mod", "Mul", "Neg",
    "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "Pad", "ParametricSoftplus", "Pow", "PRelu",
    "QuantizeLinear", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range",
    "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
    "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize",
    "ReverseSequence", "RNN", "RoiAlign", "Round", "ScaledTanh", "Scan", "Scatter", "ScatterElements",
    "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice",
    "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tan",
    "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Upsample", "Where",
    "Xor",
])


@pytest.fixture(scope="module")
def default_cpu():
    torch.set_num_threads(2)
    return build_pipeline(config_from_spec("default")[1].replace({"runtime.backend": "cpu"}))


def graph_image(pipeline, ir: np.ndarray, vis: np.ndarray, masks: dict[str, np.ndarray],
                homography: np.ndarray | None = None) -> np.ndarray:
    gray = gray_view(ir)
    spec = FrameSpec.of(gray, vis, "rgb", masks=bool(masks))
    graph = frame_graph(spec, pipeline.fuse_fn.module, pipeline.refiner, pipeline.thermal_percentiles, homography)
    args = [torch.from_numpy(np.ascontiguousarray(gray)), torch.from_numpy(vis)]
    args += [torch.from_numpy(masks["ir"]), torch.from_numpy(masks["vis"])] if masks else []
    with torch.inference_mode():
        return graph(*args).numpy()


def grey_level_p99(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.percentile(np.abs(a.astype(np.int16) - b.astype(np.int16)), 99))


@pytest.mark.parametrize("name", ["msrs_00055D.png", "roadscene_FLIR_06307.jpg"])
def test_the_frame_graph_gives_the_per_stage_image(default_cpu, samples_dir, name):
    ir, vis = (read_image(samples_dir / side / name) for side in ("ir", "vi"))
    result = default_cpu(ir, vis)
    assert result.masks and result.luma is not None  # the per-stage path ran (cpu backend)
    out = graph_image(default_cpu, ir, vis, result.masks)
    assert out.dtype == np.uint8 and out.shape == result.fused.shape
    assert grey_level_p99(out, result.fused) <= 1.0


def test_thermal_normalisation_matches_the_16_bit_percentiles():
    rng = np.random.default_rng(0)
    counts = (rng.normal(20000, 3000, (37, 53)).clip(0, 65535)).astype(np.uint16)
    counts[0, :5] = 65535  # outliers the percentiles clip
    want = thermal_to_float(counts, (1.0, 99.0))
    lo, hi = ops.percentiles(torch.from_numpy(counts.astype(np.float32)).reshape(-1), (1.0, 99.0), 0.0, 65535.0, 17)
    assert np.allclose([float(lo), float(hi)], np.percentile(counts, (1.0, 99.0)), atol=1e-3)
    got = ops.normalise_thermal(torch.from_numpy(counts.astype(np.float32)), lo, hi).numpy()
    assert np.abs(got - want).max() < 1e-5
    flat = ops.normalise_thermal(torch.full((4, 4), 7.0), torch.tensor(7.0), torch.tensor(7.0))
    assert not flat.any()  # a flat frame gives zeros, as images.to_unit_float


def test_the_contrast_stretch_matches_the_numpy_fit():
    img = np.random.default_rng(1).beta(2, 5, (41, 67)).astype(np.float32)
    stretch = ContrastStretch.fit(img, 1.0, 99.0, 0.9)
    lo, hi = ops.stretch_range(torch.from_numpy(img), 1.0, 99.0)
    assert abs(float(lo) - stretch.lo) < 1e-6 and abs(float(hi) - stretch.hi) < 1e-6
    got = ops.contrast_stretch(torch.from_numpy(img), lo, hi, 0.9).numpy()
    assert np.abs(got - stretch(img)).max() < 1e-5


@pytest.mark.parametrize("shape_in", [(96, 128), (40, 52), (61, 77)])
def test_resize_matrices_match_opencv(shape_in):
    img = np.random.default_rng(2).random(shape_in, dtype=np.float32)
    rows, cols = ops.resize_matrices(shape_in, (48, 64))
    assert np.abs(rows @ img @ cols.T - resize_to(img, (48, 64))).max() < 1e-5


def test_the_homography_warp_matches_opencv():
    img = cv2.GaussianBlur(np.random.default_rng(3).random((60, 80), dtype=np.float32), (0, 0), 3)
    h = np.array([[1.02, 0.01, 3.0], [-0.01, 0.98, -2.0], [1e-5, 0.0, 1.0]])
    want = warp_to(img, h, (50, 70))
    got = ops.warp(torch.from_numpy(img)[None, None], torch.from_numpy(ops.homography_grid(h, (60, 80), (50, 70))))
    diff = np.abs(got[0, 0].numpy() - want)  # OpenCV interpolates with 1/32-pixel fixed-point weights
    assert np.percentile(diff, 99) < 1 / 255 and diff.mean() < 5e-4


def test_a_gray_bgr_and_16_bit_frame_layouts(default_cpu, samples_dir):
    """Every layout the graph takes gives the per-stage image: BGR in, gray VIS, 16-bit IR, other IR size."""
    ir, vis = (cv2.resize(read_image(samples_dir / side / "msrs_00055D.png"), (80, 60)) for side in ("ir", "vi"))
    cases = [(ir, vis[..., ::-1].copy(), "bgr"), (ir, vis[..., 0].copy(), "rgb"),
             ((ir.astype(np.uint16) * 200 + 1000), vis, "rgb"), (cv2.resize(ir, (100, 70)), vis, "rgb")]
    for ir_, vis_, order in cases:
        pair = default_cpu.prepare(ir_, vis_, order)
        result = default_cpu.fuse_prepared(pair)
        spec = FrameSpec.of(gray_view(ir_), vis_, order)
        graph = frame_graph(spec, default_cpu.fuse_fn.module, default_cpu.refiner)
        if spec.ir_bits == 16:
            args = [torch.from_numpy(np.ascontiguousarray(gray_view(ir_)).view(np.uint8).reshape(60, 80, 2))]
        else:
            args = [torch.from_numpy(np.ascontiguousarray(gray_view(ir_)))]
        args += [torch.from_numpy(vis_), torch.from_numpy(result.masks["ir"]), torch.from_numpy(result.masks["vis"])]
        with torch.inference_mode():
            out = graph(*args).numpy()
        assert grey_level_p99(out, result.fused) <= 1.0, (spec, order)


def test_onnxruntime_runs_the_frame_graph_uint8_in_and_out(samples_dir):
    """Through FusionPipeline (what the node and `bag fuse` call): the onnxruntime backend takes the frame
    graph, uint8 frames in and out, and gives the per-stage CPU image within 1 grey level."""
    import onnx

    from sgdfuse_ros.export.onnx import export_onnx

    ir, vis = (cv2.resize(read_image(samples_dir / side / "msrs_00055D.png"), (160, 120)) for side in ("ir", "vi"))
    config = config_from_spec("default")[1]
    per_stage = build_pipeline(config.replace({"runtime.backend": "cpu"}))(ir, vis)
    pipeline = build_pipeline(config.replace({"runtime.backend": "onnxruntime"}))
    result = pipeline(ir, vis)
    assert "frame" in result.timings and "initial" not in result.timings and result.luma is None
    (spec, runtime), = pipeline.frame.runtimes.items()
    assert runtime.backend == "onnxruntime" and result.fused.dtype == np.uint8
    assert grey_level_p99(result.fused, per_stage.fused) <= 1.0
    model = onnx.load_from_string(export_onnx(pipeline.frame.graph(spec), spec.io()))
    types = {t.name: t.type.tensor_type.elem_type for t in (*model.graph.input, *model.graph.output)}
    assert types == {"ir": onnx.TensorProto.UINT8, "vis": onnx.TensorProto.UINT8, "fused": onnx.TensorProto.UINT8,
                     "mask_ir": onnx.TensorProto.FLOAT, "mask_vis": onnx.TensorProto.FLOAT}


@pytest.mark.parametrize("output_filter", [None, (0.9, 0.03)])
def test_the_frame_graph_uses_only_ops_tensorrt_parses(output_filter):
    import onnx

    from sgdfuse_ros.export.onnx import export_onnx

    graph, io, _ = pipeline_frame_graph("default", 48, 64, output_filter)
    model = onnx.load_from_string(export_onnx(graph, io))
    ops_used = Counter(node.op_type for node in model.graph.node)
    assert ops_used["Conv"] > 0 and not set(ops_used) - TENSORRT_ONNX_OPS, set(ops_used) - TENSORRT_ONNX_OPS
    for tensor in model.graph.input:  # fixed shapes: one graph per frame size
        assert all(d.dim_value > 0 for d in tensor.type.tensor_type.shape.dim), tensor.name


def test_the_in_graph_agc_uses_only_ops_tensorrt_parses(default_cpu):
    import onnx

    from sgdfuse_ros.export.onnx import export_onnx

    spec = FrameSpec((48, 64), (48, 64), ir_bits=16, masks=False, output_filter=(0.9, 0.03), agc=(0.1, 0.5))
    graph = frame_graph(spec, default_cpu.fuse_fn.module, default_cpu.refiner)
    model = onnx.load_from_string(export_onnx(graph, spec.io()))
    ops_used = {node.op_type for node in model.graph.node}
    assert "Conv" in ops_used and not ops_used - TENSORRT_ONNX_OPS, ops_used - TENSORRT_ONNX_OPS
    assert [o.name for o in model.graph.output] == ["fused", "agc_state_next", "luma_state_next"]


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_the_cuda_frame_graph_matches_the_cpu_image(samples_dir):
    ir, vis = (read_image(samples_dir / side / "msrs_00055D.png") for side in ("ir", "vi"))
    config = config_from_spec("default")[1]
    per_stage = build_pipeline(config.replace({"runtime.backend": "cpu"}))(ir, vis)
    pipeline = build_pipeline(config.replace({"runtime.backend": "cuda"}))
    first, second = pipeline(ir, vis), pipeline(ir, vis)  # capture, then a replay
    assert np.array_equal(first.fused, second.fused)
    # fp16 autocast (as the per-stage cuda backend): the refiner's mu-law decoding amplifies fp16 rounding
    # of its output up to ~5x, so up to 2 grey levels here; the float32 backends are held to 1
    assert grey_level_p99(second.fused, per_stage.fused) <= 2.0
    assert len(pipeline.frame.runtimes) == 1 and next(iter(pipeline.frame.runtimes.values())).backend == "cuda"


@pytest.mark.skipif(not (HAS_CUDA and HAS_TENSORRT), reason="needs tensorrt and a CUDA device")
def test_tensorrt_parses_the_frame_graph():
    import tensorrt as trt

    from sgdfuse_ros.export.engines import parse_onnx
    from sgdfuse_ros.export.onnx import export_onnx

    graph, io, name = pipeline_frame_graph("default", 48, 64)
    parse_onnx(trt, export_onnx(graph, io), name)


def test_export_frame_writes_the_frame_graph_onnx(tmp_path, capsys):
    import json

    from sgdfuse_ros.cli import main

    assert main(["export", "frame", "--pipeline", "default", "--size", "64x48", "-o", str(tmp_path)]) == 0
    [onnx_file] = tmp_path.glob("frame_default_*.onnx")
    meta = json.loads(onnx_file.with_suffix(".json").read_text())
    assert meta["inputs"][0] == ["ir", [48, 64], "uint8"] and meta["outputs"][0] == ["fused", [48, 64, 3], "uint8"]
    # the graph the node runs by default: its output filter's state looped back by the runtime
    assert meta["state"] == [["luma_state", "luma_state_next"]] and ["luma_continues", [1], "float32"] in meta["inputs"]
    assert meta["parity_p99_grey_levels"] <= 1.0
    assert ("no TensorRT engine" in capsys.readouterr().out) == (not (HAS_CUDA and HAS_TENSORRT))


def test_a_fixed_io_runtime_refuses_wrong_dtypes_and_shapes():
    from sgdfuse_ros.errors import InputError
    from sgdfuse_ros.export.spec import FixedIO
    from sgdfuse_ros.runtime.torch_cpu import TorchCpuRuntime

    class Invert(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 255 - x

    io = FixedIO((("x", (4, 6), "uint8"),), (("y", (4, 6), "uint8"),))
    runtime = TorchCpuRuntime(Invert(), io)
    x = np.arange(24, dtype=np.uint8).reshape(4, 6)
    out = runtime.run({"x": x})["y"]
    assert out.dtype == np.uint8 and np.array_equal(out, 255 - x)
    with pytest.raises(InputError, match="must be uint8 \\(4, 6\\), got float32"):
        runtime.run({"x": x.astype(np.float32)})
    with pytest.raises(InputError, match="got uint8 \\(6, 4\\)"):
        runtime.run({"x": x.T.copy()})


def test_the_refiner_output_options_match_the_per_stage_refiner(tmp_path, samples_dir):
    from sgdfuse_ros.models.build import read_checkpoint
    from sgdfuse_ros.weights import WEIGHTS_DIR

    ckpt = read_checkpoint(WEIGHTS_DIR / "refiner_student.pt")  # the student with both options set
    ckpt["meta"]["diffusion"]["bound_radius"] = 3
    ckpt["meta"]["diffusion"]["source_bound_radius"] = 3
    ckpt["meta"]["diffusion"]["stretch"]["base_radius"] = 7
    torch.save(ckpt, tmp_path / "student.pt")
    config = config_from_spec("default")[1].replace({"runtime.backend": "cpu",
                                                     "refiner.weights": str(tmp_path / "student.pt")})
    pipeline = build_pipeline(config)
    ir, vis = (read_image(samples_dir / side / "msrs_00055D.png") for side in ("ir", "vi"))
    result = pipeline(ir, vis)
    assert grey_level_p99(graph_image(pipeline, ir, vis, result.masks), result.fused) <= 1.0
    img = np.random.default_rng(2).random((40, 52)).astype(np.float32) * 0.6 + 0.1
    stretch = ContrastStretch.fit(img, 1.0, 99.0, 0.9)
    lo, hi = ops.stretch_range(torch.from_numpy(img), 1.0, 99.0)
    got = ops.base_only_stretch(torch.from_numpy(img)[None, None], lo, hi, 0.9, 3)[0, 0].numpy()
    assert np.abs(got - stretch.base_only(img, 3)).max() < 1e-5
    got = ops.base_only_stretch(torch.from_numpy(img)[None, None], lo, hi, 0.9, 3, 3.0)[0, 0].numpy()
    want = stretch.base_only(img, 3, 3.0 * immerkaer_sigma(img))
    assert np.abs(got - want).max() < 1e-5 and np.abs(want - stretch.base_only(img, 3)).max() > 0.01
    m_ir = (np.random.default_rng(3).random(img.shape) > 0.97).astype(np.float32)
    mask = ops.target_mask(torch.from_numpy(m_ir)[None, None], 2)
    assert np.array_equal(mask[0, 0].numpy(), target_mask(m_ir, 2))
    got = ops.base_only_stretch(torch.from_numpy(img)[None, None], lo, hi, 0.9, 3, 3.0, mask)[0, 0].numpy()
    want = stretch.base_only(img, 3, 3.0 * immerkaer_sigma(img), target_mask(m_ir, 2))
    assert np.abs(got - want).max() < 1e-5


def test_a_runtime_loops_a_state_output_back_to_its_input():
    """``FixedIO.state``: zeros before the first call, the last call's output after, a passed state input
    replaces the kept one, and the state output is not returned (torch CPU and ONNX Runtime alike)."""
    from sgdfuse_ros.export.onnx import export_onnx
    from sgdfuse_ros.export.spec import FixedIO
    from sgdfuse_ros.runtime.onnxrt import OnnxRuntimeRuntime
    from sgdfuse_ros.runtime.torch_cpu import TorchCpuRuntime

    class Accumulate(torch.nn.Module):
        def forward(self, x: torch.Tensor, total: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            new = total + x
            return new * 2.0, new

    io = FixedIO((("x", (2, 3), "float32"), ("total", (2, 3), "float32")),
                 (("y", (2, 3), "float32"), ("total_next", (2, 3), "float32")), (("total", "total_next"),))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for runtime in (TorchCpuRuntime(Accumulate(), io), OnnxRuntimeRuntime(export_onnx(Accumulate(), io), io)):
        assert set(runtime.run({"x": x})) == {"y"}
        assert np.array_equal(runtime.run({"x": x})["y"], 4 * x)  # the first call's total was kept
        assert np.array_equal(runtime.run({"x": x, "total": np.ones_like(x)})["y"], 2 * (x + 1))
        assert np.array_equal(runtime.run({"x": x})["y"], 2 * (2 * x + 1)), runtime.backend


def _clip(samples_dir, size=(128, 96)):
    """A 16-bit thermal clip with sensor noise: static, then a hot object entering from the left, then a
    scene cut to a much hotter scene (the AGC restarts), its visible frames noisy and mirrored at the cut."""
    ir0, vis0 = (cv2.resize(read_image(samples_dir / side / "msrs_00055D.png"), size) for side in ("ir", "vi"))
    rng = np.random.default_rng(0)
    frames = []
    for k in range(8):
        ir = ir0.astype(np.float32) * 40 + 20000 + rng.normal(0, 30, ir0.shape)
        vis = np.clip(vis0 + rng.normal(0, 2, vis0.shape), 0, 255).astype(np.uint8)
        if k >= 2:
            ir[30:50, 10 * (k - 2):10 * (k - 2) + 16] = 34000
        if k >= 6:
            ir, vis = ir + 15000, vis[:, ::-1].copy()
        frames.append((np.clip(ir, 0, 65535).astype(np.uint16), vis))
    return frames


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("cuda", marks=pytest.mark.skipif(
    not HAS_CUDA, reason="needs a CUDA device"))])
@pytest.mark.parametrize("masks", ["offline", "none"])
def test_a_smoothed_stream_gives_the_per_stage_video(samples_dir, masks, backend):
    """The stream's temporal state (the AGC: its range as an input where the host prepares the masks' pair,
    else inside the graph; the smoothed masks; the output filter in the graph with its state looped back by
    the runtime) through the frame graph off the cpu backend gives the per-stage CPU video, frame by frame,
    including the AGC restart at the scene cut; and the filter does act (frames differ from per-frame)."""
    from sgdfuse_ros.stream.temporal import PER_FRAME, StreamTemporal, TemporalParams

    config = config_from_spec("default")[1].replace({"masks.source": masks})
    per_stage = build_pipeline(config.replace({"runtime.backend": "cpu"}))
    graph = build_pipeline(config.replace({"runtime.backend": backend}))
    tolerance = 2.0 if backend == "cuda" else 1.0  # fp16 autocast, as test_the_cuda_frame_graph_matches_the_cpu_image
    streams = [StreamTemporal(TemporalParams()) for _ in range(2)]
    acted = 0
    for ir, vis in _clip(samples_dir):
        want, got = per_stage(ir, vis, "rgb", streams[0]), graph(ir, vis, "rgb", streams[1])
        assert "frame" in got.timings and "initial" not in got.timings and "initial" in want.timings
        assert grey_level_p99(got.fused, want.fused) <= tolerance
        acted += grey_level_p99(got.fused, graph(ir, vis, "rgb").fused) > 1.0
    assert streams[0].agc.resets == streams[1].agc.resets == 1
    assert abs(streams[0].agc.state[1] - streams[1].agc.state[1]) < 0.1  # the same range (counts), either way
    (spec, runtime), = ((s, r) for s, r in graph.frame.runtimes.items() if s.output_filter)
    assert (spec.thermal_range, spec.agc is not None) == ((True, False) if masks == "offline" else (False, True))
    assert runtime.backend == backend
    if backend == "onnxruntime":  # the host keeps the state; on cuda it stays on the device (PackedStaging.state)
        assert set(runtime.state) == {"luma_state"}
    assert acted >= 2
    assert StreamTemporal(PER_FRAME).smooths is False  # the per-frame stream is fused without state


def test_bag_fuse_runs_the_frame_graph_with_the_temporal_state(tmp_path, samples_dir, monkeypatch):
    """`bag fuse` (the node's fusion step, ``stream.fusion.fuse_messages``) on the onnxruntime backend with the
    default temporal state fuses every pair through the frame graph, with the output filter inside it."""
    from sgdfuse_ros.cli import main
    from sgdfuse_ros.frame.runner import FrameRunner

    for k, (ir, vis) in enumerate(_clip(samples_dir, (96, 72))[:4]):
        for sub, img in (("ir", ir), ("vi", vis[..., ::-1])):
            (tmp_path / sub).mkdir(exist_ok=True)
            cv2.imwrite(str(tmp_path / sub / f"{k:03d}.png"), img)
    assert main(["bag", "make", "--ir", str(tmp_path / "ir"), "--vis", str(tmp_path / "vi"), "-o",
                 str(tmp_path / "in"), "--fps", "10", "--thermal-encoding", "mono16"]) == 0
    specs = []
    call = FrameRunner.__call__

    def spy(self, spec, *args, **kwargs):
        specs.append(spec)
        return call(self, spec, *args, **kwargs)

    monkeypatch.setattr(FrameRunner, "__call__", spy)
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    sync: {min_interval: 0.05}\n")  # the temporal defaults
    assert main(["bag", "fuse", str(tmp_path / "in"), str(tmp_path / "out"), "--params", str(params),
                 "--pipeline", "sgdfuse:runtime.backend=onnxruntime"]) == 0
    assert len(specs) == 4 and all(s.output_filter and s.thermal_range for s in specs)
