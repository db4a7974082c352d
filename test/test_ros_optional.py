"""The optional ROS packages: message_filters pairing and cv_bridge conversions (with working fakes), and
the auto / required / off choice of each. No DDS here."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from ros_fakes import SimpleFilter, fake_cv_bridge, fake_message_filters

from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.ros.optional import optional_module, use_optional
from sgdfuse_ros.ros.sync_message_filters import MessageFiltersSync
from sgdfuse_ros.stream.encodings import STEP_TOO_SMALL, BadMessage, decode, encode, to_pipeline_input
from sgdfuse_ros.stream.sync import OUT_OF_ORDER, QUEUE_OVERFLOW, UNMATCHED, SyncConfig, make_synchronizer

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def test_use_optional_auto_required_and_off():
    module = fake_message_filters()
    assert use_optional("p", None, module, "message_filters") is True  # auto, importable
    assert use_optional("p", None, None, "message_filters") is False  # auto, missing: the core
    assert use_optional("p", False, module, "message_filters") is False
    assert use_optional("p", True, module, "message_filters") is True
    with pytest.raises(ConfigError, match=r"sync\.implementation asks for message_filters.*message-filters"):
        use_optional("sync.implementation", True, None, "message_filters")


def test_optional_module_sees_what_is_importable(monkeypatch):
    monkeypatch.setitem(sys.modules, "message_filters", None)  # import raises ImportError
    assert optional_module("message_filters") is None
    fake = fake_message_filters()
    monkeypatch.setitem(sys.modules, "message_filters", fake)
    assert optional_module("message_filters") is fake


# -- message_filters behind the core's accounting --


def message(stamp_ns: int, tag: str) -> SimpleNamespace:
    stamp = SimpleNamespace(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp), tag=tag)


def stamp_of(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class Rig:
    """Two sources (thermal 0, RGB 1) into ``MessageFiltersSync``; messages tagged "bad" are refused."""

    def __init__(self, **config) -> None:
        self.sources = [SimpleFilter(), SimpleFilter()]
        self.sets: list[tuple[str, ...]] = []
        self.refused: list[str] = []
        self.sync = MessageFiltersSync(fake_message_filters(), self.sources, SyncConfig(**config),
                                       lambda *msgs: self.sets.append(tuple(m.tag for m in msgs)),
                                       accept=self.accept, stamp_ns=stamp_of)

    def accept(self, index: int, msg) -> bool:
        if msg.tag.startswith("bad"):
            self.refused.append(msg.tag)
            return False
        return True

    def send(self, index: int, stamp_ns: int, tag: str) -> None:
        self.sources[index].signalMessage(message(stamp_ns, tag))

    def balanced(self) -> bool:
        stats, pending = self.sync.snapshot()
        return all(stats.received[i] == stats.matched[i] + stats.dropped_total(i) + pending[i] for i in (0, 1))


def test_message_filters_pairs_in_source_order_like_the_core_on_clean_streams():
    rig = Rig(slop=0.02)
    core_sets: list[tuple[str, ...]] = []
    core = make_synchronizer(SyncConfig(slop=0.02, min_interval=0.02),
                             lambda *msgs: core_sets.append(tuple(m.tag for m in msgs)))
    for k in range(10):
        t = T0 + k * 33 * MS
        for index, stamp, tag in ((1, t, f"rgb{k}"), (0, t + 5 * MS, f"ir{k}")):
            rig.send(index, stamp, tag)
            core.add(index, stamp, message(stamp, tag))
    assert rig.sets == [(f"ir{k}", f"rgb{k}") for k in range(10)]  # thermal first, as the sources
    assert rig.sets == core_sets
    stats = rig.sync.stats
    assert stats.sets == 10 and stats.matched == [10, 10] and stats.received == [10, 10]
    assert rig.balanced() and rig.sync.pending() == [0, 0]


def test_refused_messages_never_reach_message_filters():
    rig = Rig(slop=0.02)
    rig.send(0, T0, "bad-ir")
    rig.send(1, T0, "rgb0")
    assert rig.sets == [] and rig.refused == ["bad-ir"]
    rig.send(0, T0 + 2 * MS, "ir0")
    assert rig.sets == [("ir0", "rgb0")]
    assert rig.sync.stats.received == [1, 1] and rig.balanced()


def test_every_drop_is_counted_with_a_reason():
    rig = Rig(slop=0.01, queue_size=3)
    for k in range(5):  # RGB alone: the queue holds 3, the 2 oldest overflow
        rig.send(1, T0 + k * 100 * MS, f"rgb{k}")
    stats, pending = rig.sync.snapshot()
    assert pending == [0, 3] and stats.dropped[QUEUE_OVERFLOW] == [0, 2] and stats.max_queue[1] == 3
    rig.send(1, T0 + 400 * MS, "rgb4-again")  # the same stamp as a queued message replaces it
    stats = rig.sync.stats
    assert stats.dropped[OUT_OF_ORDER] == [0, 1] and rig.sync.pending() == [0, 3]
    rig.send(0, T0 + 402 * MS, "ir4")
    assert rig.sets == [("ir4", "rgb4-again")]
    assert rig.balanced()
    rig.sync.close()
    stats, pending = rig.sync.snapshot()
    assert pending == [0, 0] and stats.dropped["end_of_stream"] == [0, 2] and rig.balanced()
    assert sum(stats.dropped[UNMATCHED]) == 0


def test_exact_policy_uses_time_synchronizer():
    rig = Rig(policy="exact")
    rig.send(0, T0, "ir0")
    rig.send(1, T0 + 1 * MS, "rgb-late")  # 1 ms apart: never an exact pair
    rig.send(1, T0, "rgb0")
    assert rig.sets == [("ir0", "rgb0")]
    assert rig.sync.pending() == [0, 1] and rig.balanced()


def test_accounting_stays_exact_on_a_random_stream():
    rng = np.random.default_rng(3)
    rig = Rig(slop=0.01, queue_size=4)
    for k in range(300):
        index = int(rng.integers(0, 2))
        stamp = T0 + int(rng.integers(0, 60)) * 5 * MS  # repeats, reordering, gaps
        rig.send(index, stamp, "bad" if rng.random() < 0.05 else f"m{k}")
        assert rig.balanced()
    stats = rig.sync.stats
    assert stats.sets > 0 and sum(map(sum, stats.dropped.values())) > 0


# -- cv_bridge conversions --

sensor_msgs = pytest.importorskip("sensor_msgs.msg")


@pytest.fixture
def bridge(monkeypatch):
    module = fake_cv_bridge()
    monkeypatch.setitem(sys.modules, "cv_bridge", module)
    return module


def image_msg(img: np.ndarray, encoding: str, *, pad: int = 0, bigendian: bool = False):
    from std_msgs.msg import Header

    from sgdfuse_ros.ros.conversions import array_to_image_msg

    msg = array_to_image_msg(img, encoding, Header(frame_id="cam"))
    if bigendian:
        msg.data = img.astype(img.dtype.newbyteorder(">")).tobytes()
        msg.is_bigendian = 1
    if pad:
        rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
        msg.data = np.pad(rows, ((0, 0), (0, pad))).tobytes()
        msg.step += pad
    return msg


def test_converter_choice(bridge, monkeypatch):
    from sgdfuse_ros.ros.conversions import image_converter

    assert image_converter("auto").name == "cv_bridge"
    assert image_converter("true").name == "cv_bridge"
    assert image_converter("false").name == "core"
    monkeypatch.setitem(sys.modules, "cv_bridge", None)
    assert image_converter("auto").name == "core"
    with pytest.raises(ConfigError, match="use_cv_bridge asks for cv_bridge"):
        image_converter("true")


@pytest.mark.parametrize(("encoding", "shape", "dtype", "pad", "bigendian"), [
    ("mono16", (5, 7), np.uint16, 6, True), ("mono8", (5, 7), np.uint8, 3, False),
    ("bgr8", (4, 6, 3), np.uint8, 0, False), ("rgba8", (4, 6, 4), np.uint8, 8, False),
])
def test_cv_bridge_decodes_like_the_core(bridge, encoding, shape, dtype, pad, bigendian):
    from sgdfuse_ros.ros.conversions import CvBridgeImages

    img = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    msg = image_msg(img, encoding, pad=pad, bigendian=bigendian)
    got, order = CvBridgeImages(bridge).to_array(msg)
    want, want_order = to_pipeline_input(msg)
    assert bridge.CvBridge.calls["imgmsg_to_cv2"] == 1
    assert order == want_order and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_cv_bridge_bad_messages_keep_their_kind_and_never_reach_the_bridge(bridge):
    from sgdfuse_ros.ros.conversions import CvBridgeImages

    msg = image_msg(np.zeros((4, 6), np.uint8), "mono8")
    msg.step = 3
    with pytest.raises(BadMessage) as err:
        CvBridgeImages(bridge).to_array(msg)
    assert err.value.kind == STEP_TOO_SMALL and bridge.CvBridge.calls["imgmsg_to_cv2"] == 0


def test_cv_bridge_output_messages_carry_the_header_and_pixels(bridge):
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    from sgdfuse_ros.ros.conversions import CoreImages, CvBridgeImages

    rgb = np.random.default_rng(1).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    header = Header(stamp=Time(sec=3, nanosec=7), frame_id="rgb_camera")
    msg = CvBridgeImages(bridge).to_msg(rgb, "bgr8", header)
    core = CoreImages().to_msg(rgb, "bgr8", header)
    assert bridge.CvBridge.calls["cv2_to_imgmsg"] == 1
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (3, 7, "rgb_camera")
    assert msg.header is not header  # a copy: the input message is not shared
    assert (msg.encoding, msg.width, msg.height, msg.step) == (core.encoding, core.width, core.height, core.step)
    assert bytes(msg.data) == bytes(core.data)
    np.testing.assert_array_equal(decode(msg), rgb)


def test_fusing_through_cv_bridge_gives_the_core_bytes(bridge):
    from std_msgs.msg import Header

    from sgdfuse_ros.config import PipelineConfig, build_pipeline
    from sgdfuse_ros.ros.conversions import CoreImages, CvBridgeImages
    from sgdfuse_ros.stream.fusion import fuse_messages

    rng = np.random.default_rng(2)
    thermal = image_msg(rng.integers(0, 65535, (24, 32), dtype=np.uint16), "mono16", pad=4)
    rgb = image_msg(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), "bgr8")
    pipeline = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average", "masks.source": "none"}))
    header = Header(frame_id="rgb_camera")
    frames = [fuse_messages(pipeline, thermal, rgb, encoding="rgb8", decode=conv.to_array,
                            encode_image=lambda img, enc, conv=conv: conv.to_msg(img, enc, header))
              for conv in (CvBridgeImages(bridge), CoreImages())]
    assert bridge.CvBridge.calls == {"imgmsg_to_cv2": 2, "cv2_to_imgmsg": 1}
    assert bytes(frames[0].images["fused"].data) == bytes(frames[1].images["fused"].data)
    assert encode(decode(frames[0].images["fused"]), "rgb8").data == bytes(frames[1].images["fused"].data)


def test_the_adapter_pairs_as_message_filters_does_not_as_the_core():
    """docs/node.md's example: RGB at 0 and 33 ms, thermal at 19 ms between them, slop 20 ms."""
    rig = Rig(slop=0.02)
    core_sets: list[tuple[str, ...]] = []
    core = make_synchronizer(SyncConfig(slop=0.02), lambda *msgs: core_sets.append(tuple(m.tag for m in msgs)))
    for index, ms, tag in [(1, 0, "rgb0"), (0, 19, "ir19"), (1, 33, "rgb33"), (0, 52, "ir52"), (1, 66, "rgb66")]:
        rig.send(index, T0 + ms * MS, tag)
        core.add(index, T0 + ms * MS, message(T0 + ms * MS, tag))
    assert rig.sets == [("ir19", "rgb0"), ("ir52", "rgb33")]  # greedy: the partner queued on arrival
    assert core_sets == [("ir19", "rgb33")]  # optimal: the closer frame that came next
    assert rig.balanced()
