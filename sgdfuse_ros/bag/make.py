"""``sgdfuse bag make``: IR + VIS videos (or image folders) -> an MCAP rosbag2 with two Image topics.

Stamps are what two free-running cameras would produce: frame ``k`` of the RGB camera is stamped
``start + k / fps + jitter`` and the thermal one ``start + k / fps + thermal_offset + jitter``, with
independent uniform jitter in ``[-jitter, +jitter]`` (seeded, so a bag is reproducible). The bag's receive
time of a message equals its stamp.

A 16-bit thermal topic (``mono16``) made from 8-bit frames mimics a radiometric camera:
``counts = MONO16_OFFSET + MONO16_GAIN * value``, i.e. centi-kelvin from 273.15 K (value 0) to 313.95 K
(value 255). 16-bit input frames are written as they are.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..datasets import IMAGE_SUFFIXES
from ..errors import InputError
from ..images import to_unit_float
from ..stream.encodings import encode
from .io import IMAGE_TYPE, image_message, open_writer, typestore

log = logging.getLogger(__name__)

MONO16_OFFSET = 27315  # 0 degC in centi-kelvin
MONO16_GAIN = 16  # centi-kelvin per 8-bit step: 0..255 -> 273.15..313.95 K
THERMAL_ENCODINGS = ("mono8", "mono16")
RGB_ENCODINGS = ("rgb8", "bgr8")


@dataclass
class BagSpec:
    thermal_topic: str = "/thermal/image"
    rgb_topic: str = "/rgb/image"
    thermal_frame: str = "thermal_camera"
    rgb_frame: str = "rgb_camera"
    thermal_encoding: str = "mono8"
    rgb_encoding: str = "rgb8"
    fps: float | None = None  # None: the videos' frame rate (folders: 30)
    start_ns: int = 1_700_000_000 * 1_000_000_000
    jitter: float = 0.0  # seconds, uniform +-
    thermal_offset: float = 0.0  # seconds added to the thermal stamps
    max_frames: int = 0  # 0 = all
    seed: int = 0


@dataclass
class MadeBag:
    path: Path
    frames: int
    fps: float
    thermal_stamps: list[int]
    rgb_stamps: list[int]


def _frames(path: Path) -> tuple[Iterator[np.ndarray], float | None]:
    """Frames as stored by OpenCV (colour in BGR order), and the frame rate of a video."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path}: no image files")

        def read() -> Iterator[np.ndarray]:
            for f in files:
                img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
                if img is None:
                    raise InputError(f"{f}: not a readable image")
                yield img

        return read(), None
    cap = cv2.VideoCapture(str(path))
    if not path.is_file() or not cap.isOpened():
        raise InputError(f"{path}: not a video file or an image folder")
    fps = cap.get(cv2.CAP_PROP_FPS) or None

    def grab() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                yield frame
        finally:
            cap.release()

    return grab(), fps


def thermal_frame(frame: np.ndarray, encoding: str) -> np.ndarray:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame[:, :, :3], cv2.COLOR_BGR2GRAY)
    if encoding == "mono16":
        if gray.dtype == np.uint16:
            return gray
        return (MONO16_OFFSET + MONO16_GAIN * gray.astype(np.uint16)).astype(np.uint16)
    if gray.dtype == np.uint16:  # 16-bit frames to mono8: the same robust stretch the pipeline uses
        return np.round(to_unit_float(gray) * 255).astype(np.uint8)
    return gray


def rgb_frame(frame: np.ndarray, encoding: str) -> np.ndarray:
    if frame.dtype != np.uint8:
        raise InputError(f"visible frames must be 8-bit, got {frame.dtype}")
    bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame[:, :, :3]
    return np.ascontiguousarray(bgr if encoding == "bgr8" else bgr[:, :, ::-1])


def make_bag(ir_source: str | Path, vis_source: str | Path, out: str | Path,
             spec: BagSpec | None = None) -> MadeBag:
    spec = spec or BagSpec()
    if spec.thermal_encoding not in THERMAL_ENCODINGS:
        raise InputError(f"thermal encoding must be one of {THERMAL_ENCODINGS}, "
                         f"got {spec.thermal_encoding!r}")
    if spec.rgb_encoding not in RGB_ENCODINGS:
        raise InputError(f"RGB encoding must be one of {RGB_ENCODINGS}, got {spec.rgb_encoding!r}")
    ir_frames, ir_fps = _frames(Path(ir_source))
    vis_frames, vis_fps = _frames(Path(vis_source))
    fps = spec.fps or vis_fps or ir_fps or 30.0
    if spec.jitter < 0 or spec.jitter >= 0.5 / fps:
        raise InputError(f"jitter must lie in [0, half a frame period = {0.5 / fps:.4f} s), "
                         f"got {spec.jitter}")
    rng = random.Random(spec.seed)
    store = typestore()
    thermal_stamps: list[int] = []
    rgb_stamps: list[int] = []
    with open_writer(out) as writer:
        conn_ir = writer.add_connection(spec.thermal_topic, IMAGE_TYPE, typestore=store)
        conn_vis = writer.add_connection(spec.rgb_topic, IMAGE_TYPE, typestore=store)
        for k, (ir, vis) in enumerate(zip(ir_frames, vis_frames, strict=False)):
            if spec.max_frames and k >= spec.max_frames:
                break
            base = spec.start_ns + round(k * 1e9 / fps)
            t_vis = base + round(rng.uniform(-spec.jitter, spec.jitter) * 1e9)
            t_ir = base + round((spec.thermal_offset + rng.uniform(-spec.jitter, spec.jitter)) * 1e9)
            ir_image = encode(thermal_frame(ir, spec.thermal_encoding), spec.thermal_encoding)
            vis_image = encode(rgb_frame(vis, spec.rgb_encoding), spec.rgb_encoding)
            msgs = [(t_ir, conn_ir, ir_image, spec.thermal_frame),
                    (t_vis, conn_vis, vis_image, spec.rgb_frame)]
            for stamp, conn, image, frame_id in sorted(msgs, key=lambda m: m[0]):  # in receive-time order
                msg = image_message(store, image, stamp, frame_id)
                writer.write(conn, stamp, store.serialize_cdr(msg, IMAGE_TYPE))
            thermal_stamps.append(t_ir)
            rgb_stamps.append(t_vis)
    if not rgb_stamps:
        raise InputError(f"{ir_source} / {vis_source}: no frames")
    log.info("wrote %s: %d frame pairs at %.2f fps", out, len(rgb_stamps), fps)
    return MadeBag(Path(out), len(rgb_stamps), fps, thermal_stamps, rgb_stamps)
