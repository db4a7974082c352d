import numpy as np
import pytest

from sgdfuse_ros.config import PipelineConfig, build_pipeline, pipeline_from_spec
from sgdfuse_ros.datasets import find_pairs
from sgdfuse_ros.errors import ConfigError, InputError
from sgdfuse_ros.images import write_image
from sgdfuse_ros.methods import available_methods
from sgdfuse_ros.pipeline import FusionPipeline

rng = np.random.default_rng(1)


def test_result_is_rgb_on_the_visible_grid_with_timings():
    ir = rng.integers(0, 65535, (60, 80), dtype=np.uint16)
    vis = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    result = FusionPipeline("average")(ir, vis)
    assert result.fused.dtype == np.uint8 and result.fused.shape == (120, 160, 3)
    assert {"preprocess", "initial", "postprocess"} <= result.timings.keys()
    assert result.initial is None and result.initial_luma is None and result.masks == {}
    assert result.luma.dtype == np.float32 and result.luma.shape == (120, 160)


def test_masks_and_refiner_hooks_are_called_in_order():
    calls = []

    def masks(pair):
        calls.append("masks")
        return {"ir": pair.ir > 0.5, "vis": pair.vis > 0.5}

    def refiner(pair, initial, m):
        calls.append("refiner")
        assert set(m) == {"ir", "vis"}
        return initial * 0.5

    ir = np.full((16, 16), 255, np.uint8)
    vis = np.zeros((16, 16), np.uint8)
    result = FusionPipeline("average", masks=masks, refiner=refiner)(ir, vis)
    assert calls == ["masks", "refiner"]
    assert result.initial is not None and int(result.initial[0, 0, 0]) == 128
    assert int(result.fused[0, 0, 0]) == 64  # the refiner's output, not the initial image
    np.testing.assert_allclose(result.initial_luma, 0.5, atol=1e-6)  # unrounded, before colour
    np.testing.assert_allclose(result.luma, 0.25, atol=1e-6)


def test_unknown_method_and_bad_config_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown fusion method 'nope'"):
        FusionPipeline("nope")
    with pytest.raises(ConfigError, match="unknown pipeline option"):
        PipelineConfig.from_dict({"methd": "gff"})
    with pytest.raises(ConfigError, match="homography needs 9"):
        PipelineConfig.from_dict({"input.homography": [1.0, 0.0]})
    with pytest.raises(ConfigError, match="thermal_percentiles"):
        PipelineConfig.from_dict({"input.thermal_percentiles": (99, 1)})
    with pytest.raises(ConfigError, match="unknown pipeline"):
        pipeline_from_spec("nope")


def test_classic_baselines_are_registered():
    assert {"average", "gff"} <= set(available_methods())


def test_yaml_config_builds_the_pipeline(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("pipeline:\n  stage1: {method: average}\n  input: {homography: [1, 0, 0, 0, 1, 0, 0, 0, 1]}\n")
    label, pipeline = pipeline_from_spec(str(path))
    assert label == "p" and pipeline.method_name == "average" and pipeline.homography.shape == (3, 3)
    assert build_pipeline(PipelineConfig.from_dict({"stage1.method": "average"})).homography is None
    label, pipeline = pipeline_from_spec(f"{path}:input.thermal_percentiles=[2, 98]")
    assert label == f"{path}:input.thermal_percentiles=[2, 98]" and pipeline.method_name == "average"
    assert pipeline.homography is not None and tuple(pipeline.thermal_percentiles) == (2.0, 98.0)


def test_spec_overrides_change_options_and_are_checked():
    label, pipeline = pipeline_from_spec("average:masks.source=offline")
    assert label == "average:masks.source=offline" and pipeline.masks is not None
    assert pipeline_from_spec("average")[1].masks is None
    with pytest.raises(ConfigError, match=r"name:group\.key=value"):
        pipeline_from_spec("average:masks")
    with pytest.raises(ConfigError, match="unknown pipeline option"):
        pipeline_from_spec("gff:stepz=4")
    with pytest.raises(ConfigError, match=r"unknown pipeline option 'refiner_steps' \(now 'refiner\.steps'\)"):
        pipeline_from_spec("gff:refiner_steps=4")  # the flat name of before the grouping
    with pytest.raises(ConfigError, match="refiner"):
        pipeline_from_spec("gff:refiner.steps=-1")


def test_find_pairs_reports_unmatched_names(tmp_path):
    img = np.zeros((16, 16), np.uint8)
    for name in ("a", "b"):
        write_image(tmp_path / "ir" / f"{name}.png", img)
    for name in ("a", "c"):
        write_image(tmp_path / "vi" / f"{name}.jpg", img)
    pairs, unmatched = find_pairs(tmp_path)
    assert [p.name for p in pairs] == ["a"] and unmatched == ["ir/b.png", "vi/c.jpg"]
    with pytest.raises(InputError, match="subfolder"):
        find_pairs(tmp_path / "ir")


def test_yaml_specs_read_plain_and_ros_parameter_files(tmp_path):
    from pathlib import Path

    from sgdfuse_ros.config import read_ros_params_yaml
    from sgdfuse_ros.stream.node_params import params_from_flat

    node_file = Path(__file__).resolve().parents[1] / "config" / "sgdfuse.yaml"
    values = read_ros_params_yaml(node_file)
    values.pop("autostart", None)
    assert PipelineConfig.from_yaml(node_file) == params_from_flat(values)[1]  # what the node would run
    (tmp_path / "plain.yaml").write_text("pipeline:\n  stage1: {method: average}\n  refiner.steps: 2\n")
    config = PipelineConfig.from_yaml(tmp_path / "plain.yaml")
    assert (config.stage1.method, config.refiner.steps) == ("average", 2)
    (tmp_path / "renamed.yaml").write_text("fusion:\n  ros__parameters:\n    pipeline: {stage1: {method: gff}}\n")
    assert PipelineConfig.from_yaml(tmp_path / "renamed.yaml").stage1.method == "gff"
    (tmp_path / "typo.yaml").write_text("refiner: {stepz: 2}\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml: unknown pipeline option 'refiner\.stepz'"):
        PipelineConfig.from_yaml(tmp_path / "typo.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: expected a mapping"):
        PipelineConfig.from_yaml(tmp_path / "list.yaml")
