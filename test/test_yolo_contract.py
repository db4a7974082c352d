"""The contract with a YOLO node (e.g. yolo_ros): what ``fused_image`` carries, checked without DDS.

yolo_ros subscribes one ``sensor_msgs/Image`` topic (``input_image_topic``), converts it with cv_bridge and
runs the detector on it; its detections keep the image's header. So the fused message must be a plain
8-bit colour image (rgb8 or bgr8; yolo_ros's Python node treats passthrough data as BGR), sized like the
RGB camera (boxes are in RGB pixels), with the RGB frame's stamp and frame_id (so detections can be
associated with that camera frame and synchronised with other data).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")
sensor_msgs = pytest.importorskip("sensor_msgs.msg")

from builtin_interfaces.msg import Time  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from sgdfuse_ros.config import pipeline_from_spec  # noqa: E402
from sgdfuse_ros.ros.conversions import array_to_image_msg, to_image_msg  # noqa: E402
from sgdfuse_ros.stream.fusion import fuse_messages  # noqa: E402
from sgdfuse_ros.stream.node_params import NodeParams  # noqa: E402

RGB_HEADER = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="rgb_camera_optical_frame")
THERMAL_HEADER = Header(stamp=Time(sec=1_700_000_000, nanosec=120_000_000), frame_id="thermal_optical_frame")


def camera_messages(thermal_hw: tuple[int, int], rgb_hw: tuple[int, int], rgb_encoding: str):
    rng = np.random.default_rng(0)
    thermal = rng.integers(2000, 9000, thermal_hw, dtype=np.uint16)  # radiometric counts
    rgb = rng.integers(0, 256, (*rgb_hw, 3), dtype=np.uint8)
    rgb_msg = array_to_image_msg(rgb if rgb_encoding == "rgb8" else rgb[:, :, ::-1], rgb_encoding, RGB_HEADER)
    return thermal, rgb, array_to_image_msg(thermal, "mono16", THERMAL_HEADER), rgb_msg


def as_yolo_ros_sees_it(msg) -> np.ndarray:
    """cv_bridge ``imgmsg_to_cv2(msg)`` (passthrough) for an 8-bit 3-channel image: rows of ``step`` bytes."""
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    return rows[:, : msg.width * 3].reshape(msg.height, msg.width, 3)


@pytest.mark.parametrize("out_encoding", ["rgb8", "bgr8"])
@pytest.mark.parametrize("rgb_encoding", ["rgb8", "bgr8"])
def test_fused_image_is_what_a_yolo_node_expects(out_encoding: str, rgb_encoding: str) -> None:
    _, pipeline = pipeline_from_spec("average")
    thermal, rgb, thermal_msg, rgb_msg = camera_messages((256, 320), (480, 640), rgb_encoding)
    frame = fuse_messages(pipeline, thermal_msg, rgb_msg, encoding=out_encoding)
    msg = to_image_msg(frame.images["fused"], rgb_msg.header)  # what the node publishes on fused_image

    assert isinstance(msg, sensor_msgs.Image)
    assert msg.encoding == out_encoding and msg.is_bigendian == 0
    assert (msg.height, msg.width) == (rgb_msg.height, rgb_msg.width) == (480, 640)  # RGB size, not thermal
    assert msg.step == msg.width * 3 and len(msg.data) == msg.step * msg.height
    assert msg.header.stamp == RGB_HEADER.stamp and msg.header.frame_id == RGB_HEADER.frame_id
    assert msg.header is not rgb_msg.header  # a copy: later changes to the input do not leak

    pixels = as_yolo_ros_sees_it(msg)
    fused_rgb = pixels if out_encoding == "rgb8" else pixels[:, :, ::-1]
    expected = pipeline(thermal, rgb).fused  # the same fusion done on the arrays
    np.testing.assert_array_equal(fused_rgb, expected)
    assert not np.array_equal(fused_rgb, rgb)  # the thermal image did change it


def test_node_defaults_name_the_topic_and_an_encoding_a_yolo_node_reads() -> None:
    params = NodeParams()
    assert params.topics.fused == "fused_image"
    assert params.publish.encoding in ("rgb8", "bgr8")
