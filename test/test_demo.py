"""``sgdfuse demo`` without DDS: the offline fallback when ``unshare -n`` is not permitted, the re-execution
under ``unshare -n`` (command line only), and the preview video. The node path is in test/ros/test_demo_node.py."""

from __future__ import annotations

import cv2
import pytest

from sgdfuse_ros.bag.io import open_reader
from sgdfuse_ros.cli import main
from sgdfuse_ros.ros import netns


def topic_counts(bag) -> dict[str, int]:
    with open_reader(bag) as reader:
        return {c.topic: c.msgcount for c in reader.connections}


def video_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def test_without_unshare_the_clip_is_fused_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(netns, "only_loopback", lambda: False)
    monkeypatch.setattr(netns, "unshare_flags", lambda: None)
    monkeypatch.setattr(netns, "run_in_private_netns", lambda argv, flags: pytest.fail("must not re-execute"))
    assert main(["demo", "-o", str(tmp_path), "--pipeline", "average", "--frames", "4"]) == 0
    printed = capsys.readouterr().out
    assert "`unshare -n` is not permitted here, so DDS stays off" in printed
    assert "pairs: synced 4, fused 4" in printed and "every input message accounted for" in printed
    assert (tmp_path / "grid.png").is_file() and len(list(tmp_path.glob("*_fused.png"))) == 4
    assert topic_counts(tmp_path / "clip_bag") == {"/thermal/image": 4, "/rgb/image": 4}
    assert topic_counts(tmp_path / "fused_bag")["/fused_image"] == 4
    assert video_frames(tmp_path / "preview.mp4") == 4


def test_outside_a_private_namespace_the_demo_reexecutes_itself_under_unshare(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(netns, "only_loopback", lambda: False)
    monkeypatch.setattr(netns, "unshare_flags", lambda: ["-n"])
    monkeypatch.setattr(netns, "run_in_private_netns", lambda argv, flags: calls.append((argv, flags)) or 0)
    assert main(["demo", "-o", str(tmp_path), "--pipeline", "average", "--frames", "3", "--rate", "0.5"]) == 0
    ((argv, flags),) = calls
    assert flags == ["-n"]
    assert argv[1:3] == ["-m", "sgdfuse_ros"] and argv[3] == "demo"
    options = dict(zip(argv[4::2], argv[5::2], strict=False))
    assert options["-o"] == str(tmp_path) and options["--pipeline"] == "average"
    assert options["--frames"] == "3" and options["--rate"] == "0.5"
    assert not (tmp_path / "grid.png").exists()  # the work happens in the re-executed process


def test_a_reexecuted_demo_that_still_sees_other_interfaces_refuses_dds(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(netns, "only_loopback", lambda: False)
    monkeypatch.setenv(netns.MARK, "1")
    assert main(["demo", "-o", str(tmp_path), "--pipeline", "average"]) == 2
    assert "no DDS" in capsys.readouterr().err
