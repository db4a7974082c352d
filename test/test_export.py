"""ONNX export (determinism, dynamic/fixed graphs, the CLI); TensorRT engine naming and staleness logic."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnx
import pytest
import torch
from fakes import TinyFusion

from sgdfuse_ros.cli import main
from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.export import engines as eng
from sgdfuse_ros.export.engines import DeviceInfo, EngineSpec, check_engine, locate_engine
from sgdfuse_ros.export.onnx import OPSET, export_onnx, model_hash, sha256_hex
from sgdfuse_ros.models import build_model, save_checkpoint
from sgdfuse_ros.runtime import FUSION_IO

ORIN = DeviceInfo("Orin", "8.7", "10.3.0")
H100 = DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "10.3.0")


def tiny(seed: int) -> TinyFusion:
    torch.manual_seed(seed)
    return TinyFusion()


# --- ONNX --------------------------------------------------------------------------------------------------

def test_export_is_deterministic_and_its_hash_follows_the_weights():
    a, b = export_onnx(tiny(0), FUSION_IO), export_onnx(tiny(0), FUSION_IO)
    assert a == b  # same weights -> same bytes -> same engine names
    digest = model_hash(a)
    assert len(digest) == 12 and digest == sha256_hex(a)[:12]
    assert model_hash(export_onnx(tiny(1), FUSION_IO)) != digest


def test_dynamic_and_fixed_graphs():
    dynamic = onnx.load_from_string(export_onnx(tiny(0), FUSION_IO))
    fixed = onnx.load_from_string(export_onnx(tiny(0), FUSION_IO, shape=(48, 64)))
    for model in (dynamic, fixed):
        onnx.checker.check_model(model)
        assert model.opset_import[0].version == OPSET
        assert [i.name for i in model.graph.input] == ["ir", "vis"]
        assert [o.name for o in model.graph.output] == ["fused"]
    dims = dynamic.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == [1, 1, "height", "width"]
    dims = fixed.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 1, 48, 64]


def test_export_writes_the_file_atomically(tmp_path):
    data = export_onnx(tiny(0), FUSION_IO, path=tmp_path / "sub" / "tiny.onnx")
    assert (tmp_path / "sub" / "tiny.onnx").read_bytes() == data
    assert not list(tmp_path.glob("sub/*.tmp"))


def test_export_onnx_cli_writes_the_refiner_graph_and_checks_parity(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "weights"
    small = {"widths": [4, 8], "time_dim": 16, "head_dim": 4}
    diffusion = {"schedule": "cosine", "timesteps": 1000, "residual_mu": 255.0, "mode": "diffusion",
                 "steps": 4}
    net = build_model("refiner_unet", **small)
    save_checkpoint(weights / "refiner_student.pt", "refiner_unet", small, net, {"diffusion": diffusion})
    out = tmp_path / "onnx"
    args = ["export", "onnx", "--models", "refiner_student", "--refiner-steps", "2",
            "--weights-dir", str(weights), "-o", str(out)]
    assert main(args) == 0
    meta = json.loads((out / "refiner_student.json").read_text())
    data = (out / "refiner_student.onnx").read_bytes()
    assert meta["sha256"] == sha256_hex(data) and meta["shape_hw"] == "dynamic"
    assert meta["model"] == "refiner_student_2steps" and meta["outputs"] == ["refined"]
    assert meta["parity_max_abs_diff"] <= 1e-4


def test_export_cli_reports_a_missing_checkpoint(tmp_path, capsys):
    args = ["export", "onnx", "--models", "stage1", "--weights-dir", str(tmp_path), "-o", str(tmp_path)]
    assert main(args) == 2
    assert "no such checkpoint file" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_export_engines_without_tensorrt_says_so(tmp_path, capsys):
    assert main(["export", "engines", "--engines-dir", str(tmp_path)]) == 2
    assert "tensorrt" in capsys.readouterr().err


# --- engine names and staleness (no tensorrt needed) -----------------------------------------------------

def spec(device: DeviceInfo = ORIN, digest: str = "0123456789ab", precision: str = "fp16") -> EngineSpec:
    return EngineSpec("stage1", digest, device, precision, 480, 640)


def test_engine_name_encodes_model_hash_gpu_tensorrt_precision_and_size(tmp_path):
    assert spec().stem == "stage1_0123456789ab_orin-sm87_trt10.3.0_fp16_480x640"
    assert spec(H100).engine_path(tmp_path).name == (
        "stage1_0123456789ab_nvidia-h100-80gb-hbm3-sm90_trt10.3.0_fp16_480x640.engine")
    assert spec().sidecar_path(tmp_path).suffix == ".json"
    assert eng.slug("NVIDIA GeForce RTX 4090 / (x)") == "nvidia-geforce-rtx-4090-x"
    assert eng.parse_shape("640x480") == (480, 640) and eng.parse_shape(" 1280X1024 ") == (1024, 1280)
    for bad in ("640", "0x480", "640x-1", "a x b"):
        with pytest.raises(ConfigError):
            eng.parse_shape(bad)
    with pytest.raises(ConfigError, match="precision"):
        spec(precision="int4")
    with pytest.raises(ConfigError, match="12 lowercase hex"):
        spec(digest="XYZ")
    with pytest.raises(ConfigError, match="file name"):
        EngineSpec("../x", "0123456789ab", ORIN, "fp16", 480, 640)
    refiner = EngineSpec("refiner_student_2steps", "0123456789ab", ORIN, "fp16", 480, 640)
    command = eng.build_command(refiner, tmp_path)
    assert "--models refiner_student --refiner-steps 2 --sizes 640x480" in command


def meta_for(s: EngineSpec, engine_bytes: bytes = b"engine") -> dict:
    return eng.sidecar_dict(s, "f" * 64, sha256_hex(engine_bytes), FUSION_IO)


def test_compare_sidecar_tells_ok_stale_foreign_and_other():
    expected = spec()
    assert eng.compare_sidecar(meta_for(expected), expected) == ("ok", "")
    status, reason = eng.compare_sidecar(meta_for(spec(digest="ffffffffffff")), expected)
    assert status == "stale" and "ffffffffffff" in reason and "0123456789ab" in reason
    status, reason = eng.compare_sidecar(meta_for(spec(H100)), expected)
    assert status == "foreign" and "H100" in reason and "Orin" in reason
    status, _ = eng.compare_sidecar(meta_for(spec(DeviceInfo("Orin", "8.7", "8.6.2"))), expected)
    assert status == "foreign"
    assert eng.compare_sidecar(meta_for(spec(precision="int8")), expected)[0] == "other"


def write_engine(folder, s: EngineSpec, engine_bytes: bytes = b"engine", meta: dict | None = None) -> None:
    s.engine_path(folder).write_bytes(engine_bytes)
    s.sidecar_path(folder).write_text(json.dumps(meta or meta_for(s, engine_bytes)))


def test_check_engine_verifies_the_sidecar_and_the_file(tmp_path):
    s = spec()
    assert check_engine(tmp_path, s)[0] == "missing"
    write_engine(tmp_path, s)
    assert check_engine(tmp_path, s) == ("ok", "")
    s.engine_path(tmp_path).write_bytes(b"tampered")
    status, reason = check_engine(tmp_path, s)
    assert status == "invalid" and "sha256" in reason
    s.sidecar_path(tmp_path).unlink()
    status, reason = check_engine(tmp_path, s)
    assert status == "invalid" and "no sidecar" in reason
    write_engine(tmp_path, s, meta=meta_for(spec(digest="ffffffffffff")))  # renamed from another model
    assert check_engine(tmp_path, s)[0] == "stale"


def test_locate_engine_returns_a_valid_engine_without_building(tmp_path):
    s = spec()
    write_engine(tmp_path, s)

    def build(_: EngineSpec):
        raise AssertionError("must not rebuild a valid engine")

    assert locate_engine(tmp_path, s, build) == s.engine_path(tmp_path)


def test_locate_engine_refuses_stale_and_foreign_engines_with_the_build_command(tmp_path):
    write_engine(tmp_path, spec(digest="ffffffffffff"))  # older weights
    write_engine(tmp_path, spec(H100))  # another GPU
    with pytest.raises(ConfigError) as err:
        locate_engine(tmp_path, spec(), build=None)
    message = str(err.value)
    assert "is stale" in message and "is foreign" in message and "does not exist" in message
    assert eng.build_command(spec(), tmp_path) in message


def test_locate_engine_rebuilds_when_allowed(tmp_path):
    write_engine(tmp_path, spec(digest="ffffffffffff"))
    built = []

    def build(s: EngineSpec):
        built.append(s)
        write_engine(tmp_path, s)
        return s.engine_path(tmp_path)

    assert locate_engine(tmp_path, spec(), build) == spec().engine_path(tmp_path)
    assert built == [spec()]
    assert check_engine(tmp_path, spec())[0] == "ok"


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None or not torch.cuda.is_available(),
                    reason="building engines needs the tensorrt package and a CUDA device")
def test_build_engine_writes_engine_sidecar_and_timing_cache(tmp_path):
    import tensorrt as trt

    from sgdfuse_ros.export.engines import build_engine, current_device, timing_cache_path

    data = export_onnx(tiny(0), FUSION_IO)
    s = EngineSpec("tiny", model_hash(data), current_device(trt), "fp16", 32, 48)
    path = build_engine(data, s, tmp_path, FUSION_IO)
    assert path == s.engine_path(tmp_path) and check_engine(tmp_path, s) == ("ok", "")
    assert timing_cache_path(tmp_path, s.device).is_file()
    meta = json.loads(s.sidecar_path(tmp_path).read_text())
    assert meta["onnx_sha256"] == sha256_hex(data) and meta["tensorrt"] == trt.__version__
    assert np.isfinite(meta["build_seconds"])
