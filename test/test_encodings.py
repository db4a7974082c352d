"""sensor_msgs/Image fields <-> numpy without ROS: every encoding, padding, byte order, bad messages."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sgdfuse_ros.errors import InputError
from sgdfuse_ros.stream.encodings import (
    DATA_SIZE_MISMATCH,
    EMPTY_DATA,
    ENCODINGS,
    STEP_TOO_SMALL,
    UNKNOWN_ENCODING,
    ZERO_SIZE,
    BadMessage,
    check_fields,
    decode,
    encode,
    encode_rgb,
    to_pipeline_input,
)


def msg(height, width, encoding, step, data, is_bigendian=0):
    return SimpleNamespace(height=height, width=width, encoding=encoding, is_bigendian=is_bigendian,
                           step=step, data=data)


def random_image(encoding: str, h: int = 6, w: int = 5) -> np.ndarray:
    enc = ENCODINGS[encoding]
    shape = (h, w) if enc.channels == 1 else (h, w, enc.channels)
    hi = 65535 if enc.dtype == np.uint16 else 255
    return np.random.default_rng(0).integers(0, hi + 1, shape).astype(enc.dtype)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_round_trip(encoding):
    img = random_image(encoding)
    fields = encode(img, encoding)
    assert fields.step == img.shape[1] * ENCODINGS[encoding].bytes_per_pixel
    assert len(fields.data) == fields.step * fields.height
    out = decode(fields)
    assert out.dtype == img.dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("encoding", ["mono8", "mono16", "rgb8", "bgra8"])
def test_padded_rows(encoding):
    img = random_image(encoding, 4, 3)
    row = img.shape[1] * ENCODINGS[encoding].bytes_per_pixel
    step = row + 7  # odd padding, filled with junk
    data = bytearray(b"\xab" * step * img.shape[0])
    raw = encode(img, encoding).data
    for r in range(img.shape[0]):
        data[r * step: r * step + row] = raw[r * row: (r + 1) * row]
    np.testing.assert_array_equal(decode(msg(4, 3, encoding, step, bytes(data))), img)


def test_big_endian_mono16():
    values = np.array([[1, 256, 4660], [65535, 0, 513]], np.uint16)
    data = values.astype(">u2").tobytes()
    out = decode(msg(2, 3, "mono16", 6, data, is_bigendian=1))
    np.testing.assert_array_equal(out, values)
    assert out.dtype == np.uint16 and out.dtype.isnative
    # the same bytes read as little-endian are different numbers: the flag matters
    assert not np.array_equal(decode(msg(2, 3, "16UC1", 6, data, is_bigendian=0)), values)


def test_eight_bit_decoding_is_zero_copy():
    data = np.arange(4 * 5 * 3, dtype=np.uint8)
    out = decode(msg(4, 5, "rgb8", 15, data))  # a rosbags message carries a numpy array
    assert np.shares_memory(out, data)


@pytest.mark.parametrize(("fields", "kind"), [
    (dict(height=4, width=4, encoding="yuv422", step=8, data=b"\0" * 32), UNKNOWN_ENCODING),
    (dict(height=0, width=0, encoding="mono8", step=0, data=b""), ZERO_SIZE),
    (dict(height=4, width=0, encoding="mono8", step=0, data=b"\0"), ZERO_SIZE),
    (dict(height=4, width=4, encoding="mono8", step=4, data=b""), EMPTY_DATA),
    (dict(height=4, width=4, encoding="rgb8", step=4, data=b"\0" * 16), STEP_TOO_SMALL),
    (dict(height=4, width=4, encoding="mono16", step=8, data=b"\0" * 31), DATA_SIZE_MISMATCH),
    (dict(height=4, width=4, encoding="mono8", step=4, data=b"\0" * 17), DATA_SIZE_MISMATCH),
])
def test_bad_messages_have_a_kind(fields, kind):
    m = msg(is_bigendian=0, **fields)
    with pytest.raises(BadMessage) as info:
        check_fields(m)
    assert info.value.kind == kind
    assert isinstance(info.value, InputError)
    with pytest.raises(BadMessage):
        decode(m)


def test_pipeline_input_drops_alpha_and_reports_order():
    rgba = random_image("rgba8")
    img, order = to_pipeline_input(encode(rgba, "rgba8"))
    assert order == "rgb" and img.shape == (*rgba.shape[:2], 3)
    np.testing.assert_array_equal(img, rgba[:, :, :3])
    _, order = to_pipeline_input(encode(random_image("bgra8"), "bgra8"))
    assert order == "bgr"
    img, order = to_pipeline_input(encode(random_image("mono16"), "mono16"))
    assert img.ndim == 2 and img.dtype == np.uint16


def test_encode_rgb_orders_channels():
    rgb = random_image("rgb8")
    np.testing.assert_array_equal(decode(encode_rgb(rgb, "bgr8")), rgb[:, :, ::-1])
    np.testing.assert_array_equal(decode(encode_rgb(rgb, "rgb8")), rgb)
    with pytest.raises(InputError, match="rgb8 or bgr8"):
        encode_rgb(rgb, "mono8")


@pytest.mark.parametrize(("img", "encoding", "match"), [
    (np.zeros((4, 4), np.uint16), "mono8", "uint8"),
    (np.zeros((4, 4, 3), np.uint8), "mono8", "HxW"),
    (np.zeros((4, 4), np.uint8), "rgb8", "HxWx3"),
    (np.zeros((4, 4), np.uint8), "jpeg", "cannot encode"),
    (np.zeros((0, 4), np.uint8), "mono8", "HxW"),
])
def test_encode_rejects_mismatched_arrays(img, encoding, match):
    with pytest.raises(InputError, match=match):
        encode(img, encoding)


def test_rosbags_image_message():
    rosbags = pytest.importorskip("rosbags.typesys")
    store = rosbags.get_typestore(rosbags.Stores.ROS2_JAZZY)
    image_cls = store.types["sensor_msgs/msg/Image"]
    stamp = store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=2)
    header = store.types["std_msgs/msg/Header"](stamp=stamp, frame_id="cam")
    img = random_image("mono16")
    f = encode(img, "mono16")
    m = image_cls(header=header, height=f.height, width=f.width, encoding=f.encoding, is_bigendian=0,
                  step=f.step, data=np.frombuffer(f.data, np.uint8))
    raw = store.serialize_cdr(m, image_cls.__msgtype__)
    np.testing.assert_array_equal(decode(store.deserialize_cdr(raw, image_cls.__msgtype__)), img)
