import cv2
import numpy as np
import pytest

from sgdfuse_ros.errors import InputError
from sgdfuse_ros.images import (
    prepare_pair,
    read_image,
    rgb_to_ycbcr,
    thermal_to_float,
    visible_to_ycbcr,
    write_image,
    ycbcr_to_rgb_u8,
)

rng = np.random.default_rng(0)


def test_ycbcr_round_trip_is_within_one_level():
    rgb = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    y, cbcr = rgb_to_ycbcr(rgb.astype(np.float32) / 255)
    back = ycbcr_to_rgb_u8(y, cbcr)
    assert np.abs(back.astype(int) - rgb).max() <= 1


def test_bgr_order_gives_same_luma_as_rgb():
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    y_rgb, _ = visible_to_ycbcr(rgb, "rgb")
    y_bgr, _ = visible_to_ycbcr(np.ascontiguousarray(rgb[..., ::-1]), "bgr")
    np.testing.assert_allclose(y_rgb, y_bgr, atol=1e-6)


def test_16bit_thermal_uses_robust_percentiles():
    ir = np.full((64, 64), 30000, np.uint16)
    ir[:32] = 31000
    ir[0, 0] = 65535  # one hot pixel must not crush the contrast
    out = thermal_to_float(ir)
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    assert out[40, 10] == 0.0 and out[10, 10] == 1.0


def test_flat_16bit_frame_is_black_not_nan():
    assert np.all(thermal_to_float(np.full((16, 16), 1234, np.uint16)) == 0)


def test_ir_is_resized_onto_the_visible_grid():
    ir = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    pair = prepare_pair(ir, rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    assert pair.ir.shape == pair.vis.shape == (480, 640) and pair.vis_cbcr.shape == (480, 640, 2)


def test_gray_visible_has_no_chroma():
    pair = prepare_pair(np.zeros((20, 20), np.uint8), np.zeros((20, 20), np.uint8))
    assert pair.vis_cbcr is None


@pytest.mark.parametrize(
    "img, match",
    [
        (np.zeros((1, 1), np.uint8), "too small"),
        (np.zeros((0, 0), np.uint8), "too small"),
        (np.full((16, 16), np.nan, np.float32), "NaN"),
        (np.full((16, 16), 2.0, np.float32), r"\[0, 1\]"),
        (np.zeros((16, 16, 2), np.uint8), "shape"),
        (np.zeros((16, 16), np.int32), "dtype"),
    ],
)
def test_bad_arrays_are_rejected(img, match):
    with pytest.raises(InputError, match=match):
        prepare_pair(img, np.zeros((16, 16, 3), np.uint8))


def test_homography_warps_ir_onto_visible_grid():
    ir = np.zeros((32, 32), np.uint8)
    ir[10, 10] = 255
    shift = np.array([[1, 0, 5], [0, 1, 3], [0, 0, 1]], np.float64)
    pair = prepare_pair(ir, np.zeros((32, 32), np.uint8), homography=shift)
    assert np.unravel_index(np.argmax(pair.ir), pair.ir.shape) == (13, 15)
    with pytest.raises(InputError, match="homography"):
        prepare_pair(ir, ir, homography=np.zeros((3, 3)))


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"missing\.png: no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.png: empty file"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(InputError, match=r"junk\.png: not a readable image"):
        read_image(tmp_path / "junk.png")
    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1), np.uint8))
    with pytest.raises(InputError, match=r"dot\.png: .*too small"):
        read_image(tmp_path / "dot.png")


def test_read_write_round_trip_keeps_rgb_order(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 200  # red
    back = read_image(write_image(tmp_path / "red.png", rgb))
    assert back[0, 0].tolist() == [200, 0, 0]


def test_jpeg_is_refused_when_truncated_and_read_with_trailing_bytes(tmp_path):
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8), (0, 0), 2)
    _, data = cv2.imencode(".jpg", img)
    (tmp_path / "full.jpg").write_bytes(data.tobytes())
    (tmp_path / "cut.jpg").write_bytes(data.tobytes()[: len(data) // 2])
    (tmp_path / "trailer.jpg").write_bytes(data.tobytes() + b"\0" * 16)  # padding after the end marker
    expected = read_image(tmp_path / "full.jpg")
    with pytest.raises(InputError, match=r"cut\.jpg: corrupt or truncated"):
        read_image(tmp_path / "cut.jpg")
    np.testing.assert_array_equal(read_image(tmp_path / "trailer.jpg"), expected)
