"""Images of an IR/VIS pair: reading, normalisation, colour and the common grid (no ROS imports).

Conventions used by every fusion method:
- Fusion works on luma, float32 in [0, 1]. Colour comes back from the visible image's chroma
  (YCbCr, ITU-R BT.601 full range), as the fusion literature does.
- The IR image is resized onto the visible grid (bilinear, area averaging when shrinking); the output is
  RGB uint8 with the size of the visible input.
- 8-bit images are divided by 255. 16-bit thermal images (radiometric counts) are normalised robustly:
  the ``low``..``high`` percentiles map to 0..1, values outside are clipped. Float input must already lie
  in [0, 1] and contain no NaN/inf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError

MIN_SIDE = 8  # smallest image side accepted (pyramids and 7x7 kernels need some room)
# largest frame accepted (either image of a pair), in megapixels; 0 = no limit. The default pipeline peaks at
# about 1 GB per megapixel + 0.8 GB (docs/reliability.md, scripts/memory_per_megapixel.py): 5 MP peaks near 6 GB.
DEFAULT_MAX_MEGAPIXELS = 5.0
THERMAL_PERCENTILES = (1.0, 99.0)
ThermalRange = Callable[[np.ndarray], tuple[float, float]]  # 16-bit gray -> (low, high) counts mapped to 0..1


@dataclass(frozen=True)
class PreparedPair:
    """An IR/VIS pair on the visible grid, ready for fusion."""

    ir: np.ndarray  # float32 HxW in [0, 1]
    vis: np.ndarray  # float32 HxW luma in [0, 1]
    vis_cbcr: np.ndarray | None  # float32 HxWx2 chroma in [0, 1], None for a gray visible image

    @property
    def shape(self) -> tuple[int, int]:
        return self.vis.shape  # type: ignore[return-value]


def read_image(path: str | Path, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> np.ndarray:
    """Read an image file as stored (8 or 16 bit); colour images come back in RGB order.

    The size is checked against ``max_megapixels`` from the header, before the pixels are decoded; a
    truncated or corrupt file is an error (not an image padded with grey).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    _check_file_integrity(path, max_megapixels)
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f"{path}: not a readable image")
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    try:
        check_image(img, str(path))
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    return img


def _ends_with_jpeg_eoi(path: Path) -> bool:
    """Whether the file's last two bytes are a JPEG end-of-image marker (a truncated file lacks it)."""
    with open(path, "rb") as f:
        f.seek(-2, 2)
        return f.read(2) == b"\xff\xd9"


def _check_file_integrity(path: Path, max_megapixels: float) -> None:
    """Size from the header (checked against the limit). A JPEG that does not end with its end-of-image
    marker (truncated, or trailing data) is fully decoded once to tell which: OpenCV only warns on a
    truncated JPEG while it fills the missing rows with grey."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            check_pixels(width, height, max_megapixels, str(path))
            if im.format == "JPEG" and not _ends_with_jpeg_eoi(path):
                im.load()
    except InputError:
        raise
    except UnidentifiedImageError:
        return  # a format Pillow does not know: OpenCV decides
    except Image.DecompressionBombError as err:
        raise InputError(f"{path}: {err}") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise InputError(f"{path}: corrupt or truncated image ({err})") from None


def write_image(path: str | Path, rgb_or_gray: np.ndarray) -> Path:
    """Write an RGB (or gray) uint8 image atomically (``outputs.atomic_path``); the folder is created."""
    from .outputs import write_bytes_atomic

    path = Path(path)
    img = rgb_or_gray if rgb_or_gray.ndim == 2 else cv2.cvtColor(rgb_or_gray, cv2.COLOR_RGB2BGR)
    try:
        ok, data = cv2.imencode(path.suffix or ".png", img)
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"{path}: could not encode the image (unsupported file type {path.suffix!r}?)")
    return write_bytes_atomic(path, data.tobytes())


def check_image(img: np.ndarray, name: str = "image") -> None:
    """Raise InputError unless ``img`` is a usable 2-D gray or 3/4-channel image."""
    if not isinstance(img, np.ndarray):
        raise InputError(f"{name}: expected a numpy array, got {type(img).__name__}")
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
        raise InputError(f"{name}: expected HxW or HxWx{{1,3,4}}, got shape {img.shape}")
    if min(img.shape[:2]) < MIN_SIDE:
        raise InputError(f"{name}: image of {img.shape[1]}x{img.shape[0]} is too small (min side {MIN_SIDE})")
    if img.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise InputError(f"{name}: unsupported dtype {img.dtype}")
    if img.dtype.kind == "f":
        if not np.isfinite(img).all():
            raise InputError(f"{name}: contains NaN or inf")
        if img.min() < 0.0 or img.max() > 1.0:
            raise InputError(f"{name}: float images must lie in [0, 1] (got {img.min():.3g}..{img.max():.3g})")


def check_pixels(width: int, height: int, max_megapixels: float, name: str = "image") -> None:
    """Raise InputError when a ``width`` x ``height`` image exceeds ``max_megapixels`` (0: no limit)."""
    if max_megapixels and width * height > max_megapixels * 1e6:
        raise InputError(f"{name}: {width}x{height} ({width * height / 1e6:.1f} MP) exceeds the limit of "
                         f"{max_megapixels:g} MP (input.max_megapixels)")


def gray_view(img: np.ndarray) -> np.ndarray | None:
    """HxW view of a single-channel image: as is, or channel 0 of one or equal channels; None for true colour."""
    if img.ndim == 2:
        return img
    if img.shape[2] == 1 or (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])):
        return img[..., 0]
    return None


def _single_channel(img: np.ndarray) -> np.ndarray:
    """Gray view of an image (``gray_view``), or BT.601 luma of a true colour one."""
    gray = gray_view(img)
    if gray is not None:
        return gray
    rgb = img[..., :3].astype(np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def to_unit_float(img: np.ndarray, percentiles: tuple[float, float] = THERMAL_PERCENTILES,
                  thermal_range: ThermalRange | None = None) -> np.ndarray:
    """Scale an image to float32 [0, 1]: /255 for uint8, robust percentiles for uint16, as-is for floats.

    ``thermal_range`` replaces the uint16 percentiles of this frame by its own (low, high), e.g. smoothed ones.
    """
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        lo, hi = np.percentile(img, percentiles) if thermal_range is None else thermal_range(img)
        if hi <= lo:  # flat frame: no contrast to stretch
            return np.zeros(img.shape, np.float32)
        return np.clip((img.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)
    return img.astype(np.float32)


def thermal_to_float(ir: np.ndarray, percentiles: tuple[float, float] = THERMAL_PERCENTILES,
                     thermal_range: ThermalRange | None = None) -> np.ndarray:
    """IR image (8/16-bit or float, gray or replicated RGB) -> float32 HxW in [0, 1]."""
    check_image(ir, "infrared image")
    gray = _single_channel(ir)
    if ir.dtype.kind == "u" and gray.dtype != ir.dtype:  # luma of a true colour IR image
        gray = np.round(gray).astype(ir.dtype)
    return to_unit_float(gray, percentiles, thermal_range)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 RGB [0, 1] -> (Y, CbCr) in [0, 1], BT.601 full range."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = (b - y) * 0.564 + 0.5
    cr = (r - y) * 0.713 + 0.5
    return y.astype(np.float32), np.stack([cb, cr], axis=-1).astype(np.float32)


def ycbcr_to_rgb_u8(y: np.ndarray, cbcr: np.ndarray | None) -> np.ndarray:
    """Luma [0, 1] (+ chroma) -> RGB uint8; without chroma the image is gray in 3 channels."""
    if cbcr is None:
        gray = np.round(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    cb, cr = cbcr[..., 0] - 0.5, cbcr[..., 1] - 0.5
    r = y + 1.403 * cr
    g = y - 0.714 * cr - 0.344 * cb
    b = y + 1.773 * cb
    rgb = np.stack([r, g, b], axis=-1)
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def visible_to_ycbcr(vis: np.ndarray, order: str = "rgb") -> tuple[np.ndarray, np.ndarray | None]:
    """Visible image (gray, RGB/BGR, 8/16-bit or float) -> (luma, chroma or None)."""
    check_image(vis, "visible image")
    if order not in ("rgb", "bgr"):
        raise InputError(f"visible image: channel order must be 'rgb' or 'bgr', got {order!r}")
    if vis.ndim == 2 or vis.shape[2] == 1:
        return to_unit_float(vis.reshape(vis.shape[:2]), (0.0, 100.0)), None
    rgb = vis[..., :3] if order == "rgb" else vis[..., 2::-1]
    return rgb_to_ycbcr(to_unit_float(np.ascontiguousarray(rgb), (0.0, 100.0)))


def resize_to(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize an HxW(xC) float image to ``shape`` (H, W): area when shrinking, bilinear otherwise."""
    if img.shape[:2] == shape:
        return img
    shrink = img.shape[0] > shape[0] and img.shape[1] > shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(img, (shape[1], shape[0]), interpolation=interp)


def warp_to(img: np.ndarray, homography: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Warp an IR image onto the visible grid with a 3x3 homography (IR pixel -> VIS pixel)."""
    h = np.asarray(homography, np.float64)
    if h.shape != (3, 3) or not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
        raise InputError(f"homography must be a finite, invertible 3x3 matrix, got {h.tolist()}")
    return cv2.warpPerspective(img, h, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def prepare_pair(
    ir: np.ndarray,
    vis: np.ndarray,
    vis_order: str = "rgb",
    percentiles: tuple[float, float] = THERMAL_PERCENTILES,
    homography: np.ndarray | None = None,
    thermal_range: ThermalRange | None = None,
) -> PreparedPair:
    """Normalise both images and put the IR image on the visible grid (resize, or warp by a homography)."""
    ir_f = thermal_to_float(ir, percentiles, thermal_range)
    vis_y, vis_cbcr = visible_to_ycbcr(vis, vis_order)
    on_grid = resize_to(ir_f, vis_y.shape) if homography is None else warp_to(ir_f, homography, vis_y.shape)
    return PreparedPair(ir=on_grid, vis=vis_y, vis_cbcr=vis_cbcr)


def to_gray_u8(y: np.ndarray) -> np.ndarray:
    """float [0, 1] luma -> uint8."""
    return np.round(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)
