"""OpenCV's pretrained HOG + linear-SVM pedestrian detector, made to see small people.

MSRS people are often 20-40 px tall, smaller than the detector's window (a person ~96 px tall in the
64x128 INRIA window, ~72 px in the 48x96 Daimler window), so the image is upscaled first; the multi-scale
search then covers people from ``smallest_person_px`` upwards. The defaults were chosen on the training
split (msrs_train30: INRIA vs Daimler, x2 vs x3, box shrink), never on the evaluation sets.
OpenCV's own grouping is off: every window above ``hit_threshold`` is kept with its SVM score, and greedy
NMS keeps the best of overlapping ones, so the score ranks detections for AP. People only (class 0).
Needs OpenCV 4.x (5.0 dropped ``HOGDescriptor``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError, InputError
from .boxes import Boxes, nms

PERSON = 0
_WINDOWS = {"inria": (64, 128), "daimler": (48, 96)}


@dataclass(frozen=True)
class HogConfig:
    detector: str = "inria"  # "inria" (64x128, OpenCV's default people detector) or "daimler" (48x96)
    upscale: float = 2.0  # image upscaling before the search
    scale_step: float = 1.1  # pyramid step of detectMultiScale
    win_stride: int = 8  # pixels (in the upscaled image)
    hit_threshold: float = -0.5  # SVM margin; low, so AP sees the whole precision-recall curve
    keep_width: float = 0.6  # the person inside a detection window: this fraction of its width...
    keep_height: float = 0.75  # ...and of its height, centred (the window has a margin around the person)
    nms_iou: float = 0.3
    max_detections: int = 100  # per image, best first


class HogPersonDetector:
    """``detector(rgb_or_gray_u8) -> Boxes`` of people (pixels of the input image, scores = SVM margin)."""

    def __init__(self, config: HogConfig | None = None) -> None:
        self.config = config or HogConfig()
        c = self.config
        if c.detector not in _WINDOWS:
            raise ConfigError(f"HOG detector must be one of {', '.join(_WINDOWS)}, got {c.detector!r}")
        if c.upscale < 1.0 or c.scale_step <= 1.0 or c.win_stride < 1:
            raise ConfigError(f"HOG: need upscale >= 1, scale_step > 1, win_stride >= 1; got {c}")
        if not hasattr(cv2, "HOGDescriptor"):
            raise ConfigError("this OpenCV has no HOGDescriptor (OpenCV 5 removed it): install opencv<5")
        window = _WINDOWS[c.detector]
        if c.detector == "daimler":
            self.hog = cv2.HOGDescriptor(window, (16, 16), (8, 8), (8, 8), 9)
            self.hog.setSVMDetector(cv2.HOGDescriptor_getDaimlerPeopleDetector())
        else:
            self.hog = cv2.HOGDescriptor()
            self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    @property
    def smallest_person_px(self) -> float:
        """Height (input pixels) of the smallest person the search can find."""
        return _WINDOWS[self.config.detector][1] * self.config.keep_height / self.config.upscale

    def __call__(self, image: np.ndarray) -> Boxes:
        return self.finish(self.windows(image))

    def finish(self, windows: Boxes) -> Boxes:
        """Detection windows -> person boxes (window margin removed) after NMS."""
        c = self.config
        centre = (windows.xyxy[:, :2] + windows.xyxy[:, 2:]) / 2
        half = (windows.xyxy[:, 2:] - windows.xyxy[:, :2]) / 2 * np.float32([c.keep_width, c.keep_height])
        xyxy = np.concatenate([centre - half, centre + half], axis=1)
        people = Boxes(xyxy.astype(np.float32), windows.classes, windows.scores)
        return nms(people, c.nms_iou, c.max_detections)

    def windows(self, image: np.ndarray) -> Boxes:
        """Every window above ``hit_threshold``, in input pixels, before NMS."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise InputError("HOG detector needs a uint8 gray or RGB image")
        gray = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        c = self.config
        big = cv2.resize(gray, None, fx=c.upscale, fy=c.upscale, interpolation=cv2.INTER_LINEAR)
        win_w, win_h = _WINDOWS[c.detector]
        if big.shape[0] < win_h or big.shape[1] < win_w:
            return Boxes.empty()
        rects, weights = self.hog.detectMultiScale(
            big, hitThreshold=c.hit_threshold, winStride=(c.win_stride, c.win_stride), padding=(8, 8),
            scale=c.scale_step, groupThreshold=0)  # groupThreshold=0: no grouping, scores kept
        if len(rects) == 0:
            return Boxes.empty()
        rects = np.asarray(rects, np.float32).reshape(-1, 4)
        xyxy = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1) / np.float32(c.upscale)
        return Boxes.make(xyxy, np.full(len(xyxy), PERSON), np.asarray(weights, np.float32).reshape(-1))
