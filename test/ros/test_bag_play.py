"""``sgdfuse bag play`` over DDS: every message, in order, at the recorded rate; restamping; remapping."""

from __future__ import annotations

import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from sgdfuse_ros.bag.io import IMAGE_TYPE, image_message, open_writer, typestore  # noqa: E402
from sgdfuse_ros.ros.bag_play import play_bag  # noqa: E402
from sgdfuse_ros.ros.conversions import stamp_ns  # noqa: E402
from sgdfuse_ros.stream.encodings import encode  # noqa: E402

N, PERIOD = 12, 50_000_000  # 20 Hz
T0 = 1_600_000_000 * 1_000_000_000


@pytest.fixture
def small_bag(tmp_path):
    store = typestore()
    img = encode(np.arange(12 * 16, dtype=np.uint16).reshape(12, 16), "mono16")
    with open_writer(tmp_path / "b") as writer:
        conn = writer.add_connection("/cam/image", IMAGE_TYPE, typestore=store)
        for k in range(N):
            t = T0 + k * PERIOD
            msg = image_message(store, img, t, f"f{k}")
            writer.write(conn, t + 1000, store.serialize_cdr(msg, IMAGE_TYPE))
    return tmp_path / "b"


@pytest.mark.parametrize(("rate", "restamp"), [(1.0, False), (2.0, True)])
def test_play(ros, spin, wait_for, small_bag, rate, restamp):
    sink = rclpy.create_node("play_sink")
    got: list[tuple[float, Image]] = []
    sink.create_subscription(Image, "/played/image", lambda m: got.append((time.monotonic(), m)),
                             QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    player = rclpy.create_node("player")
    spin(sink)
    try:
        start_ns = player.get_clock().now().nanoseconds
        counts = play_bag(player, small_bag, rate=rate, remap={"/cam/image": "/played/image"},
                          restamp=restamp, wait_subscribers=1)
        assert counts == {"/played/image": N}
        assert wait_for(lambda: len(got) == N)
        assert [m.header.frame_id for _, m in got] == [f"f{k}" for k in range(N)]  # all, in order
        arrival_span = got[-1][0] - got[0][0]
        assert arrival_span >= 0.9 * (N - 1) * PERIOD / 1e9 / rate  # paced by the recorded receive times
        stamps = [stamp_ns(m.header.stamp) for _, m in got]
        if restamp:  # onto the playback clock, spacing divided by the rate
            assert np.diff(stamps).tolist() == [PERIOD // 2] * (N - 1)
            assert abs(stamps[0] - start_ns) < 2e9
        else:
            assert stamps == [T0 + k * PERIOD for k in range(N)]
        np.testing.assert_array_equal(np.frombuffer(bytes(got[0][1].data), np.uint16).reshape(12, 16),
                                      np.arange(12 * 16).reshape(12, 16))
    finally:
        sink.destroy_node()
        player.destroy_node()
