"""The hostile-input matrix (issue 26, docs/reliability.md): every refused input or output of the CLI.

Each case builds a small workspace, runs one ``sgdfuse`` command in-process and asserts
- the exit code,
- one line on stderr, ``sgdfuse COMMAND: error: ...`` containing the expected words, and no traceback,
- that no file that existed before changed (sha256 of every file, symlinks by their target) and, for a
  refused command, that nothing was added either.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import yaml

pytest.importorskip("rosbags")

from sgdfuse_ros.bag.io import partial_path
from sgdfuse_ros.bag.make import BagSpec, make_bag
from sgdfuse_ros.cli import main as cli_main
from sgdfuse_ros.models import build_model, save_checkpoint
from sgdfuse_ros.models.build import read_checkpoint

H, W = 40, 56
REPO = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of the content (a symlink: its target) for everything under ``root``."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def images(folder: Path, names: list[str], ext: str = ".png", seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for sub, shape in (("ir", (H, W)), ("vi", (H, W, 3))):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            cv2.imwrite(str(folder / sub / f"{name}{ext}"), rng.integers(0, 256, shape, np.uint8))


def pair(root: Path) -> None:
    """``d/ir.png`` + ``d/vi.png``, one pair as loose files."""
    images(root / "set", ["p"])
    (root / "d").mkdir()
    (root / "set" / "ir" / "p.png").rename(root / "d" / "ir.png")
    (root / "set" / "vi" / "p.png").rename(root / "d" / "vi.png")


def fuse_args(out: str, *extra: str) -> list[str]:
    """``fuse`` of the pair ``d/ir.png`` + ``d/vi.png``; the ``average`` pipeline unless ``extra`` names one."""
    pipeline = [] if "--pipeline" in extra else ["--pipeline", "average"]
    return ["fuse", "--ir", "d/ir.png", "--vis", "d/vi.png", "-o", out, *pipeline, *extra]


def bag(root: Path, name: str = "bag", frames: int = 3, **spec: object) -> None:
    images(root / "frames", [f"{k:03d}" for k in range(frames)])
    make_bag(root / "frames" / "ir", root / "frames" / "vi", root / name, BagSpec(fps=10, **spec))


AVERAGE = "pipeline: {stage1: {method: average}, masks: {source: none}"  # without the closing brace


def params(root: Path, text: str) -> None:
    """A node parameter file: the ``average`` pipeline, then ``text`` (later keys win)."""
    (root / "p.yaml").write_text(f"/**:\n  ros__parameters:\n    {AVERAGE}}}\n" + text)


def stage1_weights(checkpoint_file: str) -> str:
    return f"stage1:stage1.weights={checkpoint_file}:runtime.backend=cpu"


def checkpoint(root: Path, name: str, change: Callable[[dict], None]) -> None:
    """A shipped checkpoint, read safely, changed by ``change`` and saved as ``name``."""
    source = "refiner_student.pt" if name.startswith("refiner") else "stage1.pt"
    ckpt = read_checkpoint(REPO / "sgdfuse_ros" / "weights" / source)
    change(ckpt)
    torch.save(ckpt, root / name)


def nan_weights(ckpt: dict) -> None:
    ckpt["state_dict"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                          for k, v in ckpt["state_dict"].items()}


def big_image(root: Path) -> None:
    """A pair whose VIS image is over the default limit of 5 MP (2600 x 2000), and a normal pair."""
    images(root / "set", ["ok", "big"])
    cv2.imwrite(str(root / "set" / "vi" / "big.png"), np.zeros((2000, 2600, 3), np.uint8))


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@dataclass
class Case:
    setup: Callable[[Path], None]
    argv: list[str]
    code: int
    words: str  # expected in the error line ("" for a success)
    adds: bool = False  # the command may add files (a success, or partial success in folder mode)
    replaces: tuple[str, ...] = ()  # existing outputs it may replace (with --overwrite)


def _symlink_out(root: Path) -> None:
    pair(root)
    (root / "outside").mkdir()
    (root / "outside" / "victim.png").write_bytes(b"not an image, must survive")
    (root / "out").mkdir()
    (root / "out" / "f.png").symlink_to(root / "outside" / "victim.png")


def _folder_existing(root: Path) -> None:
    images(root / "set", ["a", "b"])
    (root / "out").mkdir()
    (root / "out" / "a.png").write_bytes(b"earlier result")


def _readonly(root: Path) -> None:
    pair(root)


def _read_only_dir() -> str | None:
    """A folder this process cannot write (a read-only mount, or permissions when not root)."""
    for candidate in ("/proc/sys", "/sys/fs"):
        if Path(candidate).is_dir() and not os.access(candidate, os.W_OK):
            return candidate
    return None


READ_ONLY = _read_only_dir()

def _file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"earlier result")


def _frame_existing(root: Path) -> None:
    from sgdfuse_ros.cli.export import frame_target, node_output_filter

    _file(root / "out" / f"{frame_target('default', H, W, node_output_filter())[2]}.onnx")


BENCH = ["bench", "--pipelines", "average", "--backends", "cpu", "--sizes", "56x40", "--iters", "1", "-o", "out"]

CASES: dict[str, Case] = {
    # 1. data loss
    "output is an input": Case(pair, fuse_args("d/ir.png"), 2, "refusing to write over or inside the input"),
    "output folder inside the input folder": Case(
        lambda r: images(r / "set", ["a"]), ["fuse", "set", "-o", "set/ir", "--pipeline", "average"], 2,
        "refusing to write over or inside the input"),
    "existing output file": Case(lambda r: (pair(r), (r / "o.png").write_bytes(b"earlier")), fuse_args("o.png"),
                                 2, "already exists (use --overwrite"),
    "existing output in folder mode": Case(_folder_existing, ["fuse", "set", "-o", "out", "--pipeline", "average"],
                                           2, "already exist"),
    "symlink in the output folder is not followed": Case(_symlink_out, fuse_args("out/f.png"), 2, "already exists"),
    "symlink replaced, its target untouched (--overwrite)": Case(_symlink_out, fuse_args("out/f.png", "--overwrite"),
                                                                 0, "", replaces=("out/f.png",)),
    # 2. no size limit
    "frame over the pixel limit": Case(
        lambda r: (big_image(r), (r / "d").mkdir(), (r / "set/vi/big.png").rename(r / "d/vi.png"),
                   (r / "set/ir/big.png").rename(r / "d/ir.png")),
        fuse_args("o.png"), 2, "exceeds the limit of 5 MP"),
    "folder: a large pair fails, the others are fused": Case(
        big_image, ["fuse", "set", "-o", "out", "--pipeline", "average"], 1, "", adds=True),
    # 3. checkpoint denial of service
    "checkpoint asks for a huge model": Case(
        lambda r: (pair(r), checkpoint(r, "big.pt", lambda c: c.update(config={"dim": 40000}))),
        fuse_args("o.png", "--pipeline", stage1_weights("big.pt")), 2, "expected numbers in 0..4096"),
    "checkpoint config does not fit its weights": Case(
        lambda r: (pair(r), checkpoint(r, "wide.pt", lambda c: c.update(config={"dim": 4000}))),
        fuse_args("o.png", "--pipeline", stage1_weights("wide.pt")), 2, "weights do not fit config"),
    "checkpoint asks for a huge schedule": Case(
        lambda r: (pair(r), checkpoint(r, "refiner_t.pt", lambda c: c["meta"]["diffusion"].update(timesteps=3e9))),
        fuse_args("o.png", "--pipeline", "stage1:refiner.name=student:refiner.weights=refiner_t.pt"), 2,
        "timesteps must be an integer"),
    "checkpoint config is a list": Case(
        lambda r: (pair(r), checkpoint(r, "list.pt", lambda c: c.update(config=[1, 2]))),
        fuse_args("o.png", "--pipeline", stage1_weights("list.pt")), 2, "config must be a mapping"),
    # 4. singular or NaN homography
    "singular homography": Case(pair, fuse_args("o.png", "--pipeline", "average:input.homography=[0,0,0,0,0,0,0,0,0]"),
                                2, "homography is singular"),
    "NaN homography": Case(pair, fuse_args("o.png", "--pipeline", "average:input.homography=[.nan,0,0,0,1,0,0,0,1]"), 2,
                           "input.homography[0]: expected a finite number"),
    "homography mapping the image off the grid": Case(
        pair, fuse_args("o.png", "--pipeline", "average:input.homography=[1,0,5000,0,1,0,0,0,1]"), 2,
        "of the 56x40 RGB grid"),
    "bag fuse with a singular homography": Case(
        lambda r: (bag(r), params(r, f"    {AVERAGE}, input: {{homography: [1,2,3,2,4,6,0,0,1]}}}}\n")),
        ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2, "homography is singular"),
    # 5. silent failures
    "infinite slop": Case(lambda r: (bag(r), params(r, "    sync: {slop: .inf}\n")),
                          ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2, "sync.slop: expected a finite"),
    "infinite diagnostics period": Case(lambda r: (bag(r), params(r, "    diagnostics_period: .inf\n")),
                                        ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2, "diagnostics_period"),
    "invalid topic name": Case(lambda r: (bag(r), params(r, "    topics: {fused: 'fused image'}\n")),
                               ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2, "not a valid ROS 2 topic"),
    # 6. bags
    "truncated input bag (read as far as it goes)": Case(
        lambda r: (bag(r, frames=6), truncate(next((r / "bag").glob("*.mcap")), 0.7)),
        ["bag", "fuse", "bag", "out", "--pipeline", "average"], 1, "", adds=True),
    "garbage input bag": Case(lambda r: (bag(r), next((r / "bag").glob("*.mcap")).write_bytes(b"\x89MCAP0\r\n" * 9)),
                              ["bag", "fuse", "bag", "out", "--pipeline", "average"], 2, "unreadable bag"),
    "0-byte input bag": Case(lambda r: (bag(r), truncate(next((r / "bag").glob("*.mcap")), 0.0)),
                             ["bag", "fuse", "bag", "out", "--pipeline", "average"], 2, "unreadable bag"),
    "empty bag": Case(lambda r: _empty_bag(r),
                      ["bag", "fuse", "bag", "out", "--pipeline", "average"], 2, "no messages on /thermal/image"),
    "missing topic": Case(lambda r: bag(r, thermal_topic="/flir/image"),
                          ["bag", "fuse", "bag", "out", "--pipeline", "average"], 2, "no messages on /thermal/image"),
    "bag output exists": Case(lambda r: (bag(r), (r / "out").mkdir()),
                              ["bag", "fuse", "bag", "out", "--pipeline", "average"], 2, "already exists"),
    "bag output inside the input bag": Case(bag, ["bag", "fuse", "bag", "bag/out", "--pipeline", "average"], 2,
                                            "refusing to write over or inside the input"),
    "no pair fusable": Case(lambda r: (bag(r), params(r, "    require_same_size: true\n"
                                                         f"    {AVERAGE}, input: {{max_megapixels: 0.001}}}}\n")),
                            ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2, "no pair was fused"),
    # 7. the documented node YAML as a pipeline file
    "config/sgdfuse.yaml as --pipeline": Case(
        pair, fuse_args("o.png", "--pipeline", f"{REPO}/config/sgdfuse.yaml:runtime.backend=cpu"), 0, "", adds=True),
    # 8. raw tracebacks
    "output is not an image file": Case(pair, fuse_args("out.txt"), 2, "output must be an image file"),
    "output is a folder": Case(lambda r: (pair(r), (r / "o.png").mkdir()), fuse_args("o.png"), 2, "is a folder"),
    "output parent is a file": Case(lambda r: (pair(r), (r / "f").write_text("x")), fuse_args("f/o.png"), 2,
                                    "is a file"),
    "output folder is a file (folder mode)": Case(
        lambda r: (images(r / "set", ["a"]), (r / "out").write_text("x")),
        ["fuse", "set", "-o", "out", "--pipeline", "average"], 2, "is a file"),
    "bad --json path": Case(lambda r: (bag(r), (r / "f").write_text("x")),
                            ["bag", "fuse", "bag", "out", "--pipeline", "average", "--json", "f/r.json"], 2,
                            "is a file"),
    "override refiner.steps=abc": Case(pair, fuse_args("o.png", "--pipeline", "stage1:refiner.steps=abc"), 2,
                                       "refiner.steps: expected an integer"),
    "override input.homography=5": Case(pair, fuse_args("o.png", "--pipeline", "gff:input.homography=5"), 2,
                                  "input.homography: expected a list"),
    "override input.thermal_percentiles=5": Case(
        pair, fuse_args("o.png", "--pipeline", "gff:input.thermal_percentiles=5"), 2,
        "input.thermal_percentiles: expected a list"),
    "override stage1.weights=123": Case(pair, fuse_args("o.png", "--pipeline", "stage1:stage1.weights=123"), 2,
                                 "stage1.weights: expected a string"),
    # 9. silently wrong output
    "truncated JPEG": Case(lambda r: (images(r / "set", ["p"], ".jpg"), (r / "d").mkdir(),
                                      (r / "set/ir/p.jpg").rename(r / "d/ir.png"),
                                      (r / "set/vi/p.jpg").rename(r / "d/vi.png"), truncate(r / "d/vi.png")),
                           fuse_args("o.png"), 2, "corrupt or truncated image"),
    "NaN weights": Case(lambda r: (pair(r), checkpoint(r, "nan.pt", nan_weights)),
                        fuse_args("o.png", "--pipeline", stage1_weights("nan.pt")), 2, "NaN or inf"),
    "same-stem inputs": Case(lambda r: (images(r / "set", ["x"]), images(r / "set", ["x"], ".jpg")),
                             ["fuse", "set", "-o", "out", "--pipeline", "average"], 2, "share the pair name 'x'"),
    "misspelled config section": Case(lambda r: (bag(r), params(r, "    synch: {slop: 0.05}\n")),
                                      ["bag", "fuse", "bag", "out", "--params", "p.yaml"], 2,
                                      "unknown parameter(s): synch.slop"),
    # 10. every command that writes files (the same --overwrite rule)
    "eval output folder not empty": Case(
        lambda r: (images(r / "set", ["a"]), (r / "out").mkdir(), (r / "out" / "old.md").write_text("earlier")),
        ["eval", "--methods", "average", "--datasets", "set", "-o", "out"], 2, "is not empty (use --overwrite"),
    "eval output inside the dataset": Case(lambda r: images(r / "set", ["a"]),
                                           ["eval", "--methods", "average", "--datasets", "set", "-o", "set/ir"], 2,
                                           "refusing to write over or inside the input"),
    "bench output exists": Case(lambda r: _file(r / "out" / "bench.json"), BENCH, 2, "already exist"),
    "export onnx output exists": Case(lambda r: _file(r / "out" / "stage1.onnx"),
                                      ["export", "onnx", "--models", "stage1", "-o", "out"], 2, "already exist"),
    "export frame output exists": Case(_frame_existing, ["export", "frame", "--size", "56x40", "-o", "out"], 2,
                                       "already exist"),
    "train into a used run folder": Case(lambda r: _file(r / "run" / "log.jsonl"),
                                         ["train", "stage1", "--out", "run", "--steps", "1"], 2, "is not empty"),
    "train --resume without a state to resume": Case(
        lambda r: _file(r / "run" / "model.pt"), ["train", "stage1", "--out", "run", "--resume"], 2, "is not empty"),
    "select output exists": Case(lambda r: (_file(r / "a.pt"), _file(r / "sel" / "selection.json")),
                                 ["select", "a.pt", "--out", "sel"], 2, "already exist"),
    "ship over shipped weights": Case(lambda r: (_file(r / "a.pt"), _file(r / "w" / "stage1.pt")),
                                      ["ship", "a.pt", "w/stage1.pt"], 2, "already exists (use --overwrite"),
    "ship onto its source": Case(lambda r: _file(r / "a.pt"), ["ship", "a.pt", "a.pt"], 2,
                                 "refusing to write over or inside the input"),
    "pair names listed": Case(lambda r: images(r / "set", ["a", "b"]),
                              ["grid", "--dataset", "set", "--pairs", "a.png", "--methods", "average", "-o", "g.png"],
                              2, "no pairs named a.png; --pairs takes pair names (file names without suffix): a, b"),
}


def markdown_table() -> str:
    """The matrix as docs/reliability.md shows it."""
    rows = ["| case | command | exit | error line contains |", "|---|---|---|---|"]
    for name, case in CASES.items():
        command = " ".join(case.argv).replace(f"{REPO}/", "")
        rows.append(f"| {name} | `sgdfuse {command}` | {case.code} | {case.words or '(no error)'} |")
    return "\n".join(rows)


def _empty_bag(root: Path) -> None:
    from sgdfuse_ros.bag.io import IMAGE_TYPE, open_writer, typestore

    with open_writer(root / "bag") as writer:
        writer.add_connection("/thermal/image", IMAGE_TYPE, typestore=typestore())


def run_case(case: Case, root: Path, capsys, *extra: str) -> tuple[int, str, str]:
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = cli_main([*extra, *case.argv])
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name, tmp_path, capsys):
    case = CASES[name]
    case.setup(tmp_path)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code, out, err = run_case(case, tmp_path, capsys)
    after = snapshot(tmp_path)
    assert code == case.code, (out, err)
    assert "Traceback" not in err
    if case.words:
        lines = [line for line in err.splitlines() if line.startswith("sgdfuse ")]
        assert len(lines) == 1 and ": error: " in lines[0] and case.words in lines[0], err
    kept = {k: v for k, v in before.items() if k not in case.replaces}
    assert {k: after.get(k) for k in kept} == kept, "an input or pre-existing file changed"
    if not case.adds:
        assert set(after) == set(before), f"files added: {sorted(set(after) - set(before))}"
    assert not [k for k in after if ".partial" in k or k.endswith(".tmp")], "temporary output left behind"


def test_symlink_replaced_not_followed(tmp_path, capsys):
    CASES["symlink replaced, its target untouched (--overwrite)"].setup(tmp_path)
    victim = (tmp_path / "outside" / "victim.png").read_bytes()
    assert run_case(CASES["symlink replaced, its target untouched (--overwrite)"], tmp_path, capsys)[0] == 0
    assert not (tmp_path / "out" / "f.png").is_symlink() and cv2.imread(str(tmp_path / "out" / "f.png")) is not None
    assert (tmp_path / "outside" / "victim.png").read_bytes() == victim


def test_folder_with_a_large_pair_fuses_the_others(tmp_path, capsys):
    big_image(tmp_path)
    code, out, _ = run_case(CASES["folder: a large pair fails, the others are fused"], tmp_path, capsys)
    assert code == 1 and (tmp_path / "out" / "ok.png").is_file() and not (tmp_path / "out" / "big.png").exists()
    assert "failed: big:" in out and "exceeds the limit of 5 MP" in out


@pytest.mark.skipif(READ_ONLY is None, reason="no read-only folder here")
def test_read_only_output_folder(tmp_path, capsys):
    pair(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_case(Case(pair, fuse_args(f"{READ_ONLY}/o.png"), 2, ""), tmp_path, capsys)
    assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before


def test_debug_shows_the_traceback(tmp_path, capsys):
    pair(tmp_path)
    code, _, err = run_case(Case(pair, fuse_args("d/ir.png"), 2, ""), tmp_path, capsys, "--debug")
    assert code == 2 and "Traceback" in err and "refusing to write over" in err.splitlines()[-1]


def test_missing_input_is_reported_before_any_model_or_heavy_import(tmp_path):
    """Issue 24: the check runs before the pipeline configuration (and torch) is imported."""
    script = ("import sys; from sgdfuse_ros.cli import main; code = main(['fuse', '--ir', 'missing.png', '--vis', "
              "'missing.png', '-o', 'o.png']); print(code, 'torch' in sys.modules, 'sgdfuse_ros.config' in "
              "sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert run.stdout.split() == ["2", "False", "False"], run.stderr
    assert run.stderr.strip() == "sgdfuse fuse: error: missing.png: no such file"


def test_checkpoint_bounds_are_checked_before_the_model_is_built(tmp_path, monkeypatch):
    """A config asking for a huge model never reaches the model's constructor."""
    from sgdfuse_ros.errors import CheckpointError
    from sgdfuse_ros.models import build as build_module
    from sgdfuse_ros.models import load_model

    model = build_model("stage1")
    save_checkpoint(tmp_path / "ok.pt", "stage1", {}, model)
    ckpt = torch.load(tmp_path / "ok.pt", weights_only=True)
    ckpt["config"] = {"dim": 40000}
    torch.save(ckpt, tmp_path / "huge.pt")
    built = []
    monkeypatch.setitem(build_module.MODELS, "stage1", lambda **config: built.append(config))
    with pytest.raises(CheckpointError, match=r"expected numbers in 0\.\.4096"):
        load_model(tmp_path / "huge.pt")
    assert built == []


def test_truncated_bag_is_read_as_far_as_it_goes(tmp_path, capsys):
    bag(tmp_path, frames=6)
    truncate(next((tmp_path / "bag").glob("*.mcap")), 0.7)
    assert cli_main(["bag", "fuse", str(tmp_path / "bag"), str(tmp_path / "out"), "--pipeline", "average"]) == 1
    out = capsys.readouterr().out
    assert "input truncated: read " in out and "every input message accounted for" in out
    fused = message_count(tmp_path / "out")
    assert 1 <= fused < 6 and f"fused {fused}," in out


def message_count(bag_folder: Path) -> int:
    meta = yaml.safe_load((bag_folder / "metadata.yaml").read_text())
    return meta["rosbag2_bagfile_information"]["message_count"]


def test_partial_bag_of_an_interrupted_run_is_replaced(tmp_path, capsys):
    """What SIGKILL leaves (a partial folder, no output) does not block the next run."""
    bag(tmp_path)
    partial_path(tmp_path / "out").mkdir(parents=True)
    (partial_path(tmp_path / "out") / "junk.mcap").write_bytes(b"half")
    assert cli_main(["bag", "fuse", str(tmp_path / "bag"), str(tmp_path / "out"), "--pipeline", "average"]) == 0
    assert (tmp_path / "out" / "metadata.yaml").is_file() and not partial_path(tmp_path / "out").parent.exists()
    assert message_count(tmp_path / "out") == 3  # 3 pairs, the last one included


def test_train_resume_into_its_own_run_folder_passes_the_output_check(tmp_path):
    """Resuming is not overwriting: a folder holding train_state.pt is accepted with --resume only."""
    from sgdfuse_ros.cli.train import check_output
    from sgdfuse_ros.errors import InputError

    _file(tmp_path / "run" / "train_state.pt")
    args = SimpleNamespace(out=str(tmp_path / "run"), resume=True, overwrite=False, init_from="",
                           initial_weights="", teacher=None, cache=str(tmp_path / "cache"))
    check_output(args)
    with pytest.raises(InputError, match="is not empty"):
        check_output(SimpleNamespace(**{**vars(args), "resume": False}))
    check_output(SimpleNamespace(**{**vars(args), "resume": False, "overwrite": True}))
