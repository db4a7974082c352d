"""``bag fuse`` killed mid-run (SIGTERM, SIGKILL) leaves no half-written output, and a rerun completes.

The run is a real ``sgdfuse bag fuse`` process; its pipeline is slowed down (a sleep per pair) so that the
signal surely arrives while pairs are being fused and written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rosbags")

from sgdfuse_ros.bag.io import partial_path
from sgdfuse_ros.bag.make import BagSpec, make_bag
from sgdfuse_ros.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
FRAMES = 40
SLOW_RUN = ("import sys, time\n"
            "from sgdfuse_ros.pipeline import FusionPipeline\n"
            "from sgdfuse_ros.cli import main\n"
            "fuse = FusionPipeline.fuse_prepared\n"
            "FusionPipeline.fuse_prepared = lambda self, *a, **k: (time.sleep(0.2), fuse(self, *a, **k))[1]\n"
            "sys.exit(main(sys.argv[1:]))\n")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    rng = np.random.default_rng(0)
    for sub, shape in (("ir", (24, 32)), ("vi", (24, 32, 3))):
        (root / sub).mkdir()
        for k in range(FRAMES):
            cv2.imwrite(str(root / sub / f"{k:03d}.png"), rng.integers(0, 256, shape, np.uint8))
    make_bag(root / "ir", root / "vi", root / "bag", BagSpec(fps=10))
    return root / "bag"


def message_count(bag: Path) -> int:
    return yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]["message_count"]


def start_and_kill(clip: Path, out: Path, sig: int) -> tuple[int, bool]:
    """Start a slow ``bag fuse``, send ``sig`` once it is writing; (exit code, whether it was still running)."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, "bag", "fuse", str(clip), str(out), "--pipeline",
                             "average"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not partial_path(out).is_dir():
        time.sleep(0.05)
    time.sleep(1.0)  # a few pairs fused and written (0.2 s each, 8 s for the whole bag)
    running = proc.poll() is None
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert err.decode().strip().splitlines()[-1] == "sgdfuse bag: error: terminated (SIGTERM)"
    return proc.returncode, running


def test_sigterm_leaves_nothing(clip, tmp_path):
    code, running = start_and_kill(clip, tmp_path / "out", signal.SIGTERM)
    assert running and code == 143
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the bag nor its partial folder


def test_sigkill_leaves_no_output_and_the_rerun_completes(clip, tmp_path, capsys):
    code, running = start_and_kill(clip, tmp_path / "out", signal.SIGKILL)
    assert running and code == -signal.SIGKILL
    assert not (tmp_path / "out").exists()  # only the partial folder may remain, under a hidden name
    assert [p.name for p in tmp_path.iterdir()] == [".out.partial"]
    assert cli_main(["bag", "fuse", str(clip), str(tmp_path / "out"), "--pipeline", "average"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert message_count(tmp_path / "out") == FRAMES  # every pair (average: no masks), the last one included
