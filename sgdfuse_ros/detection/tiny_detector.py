"""A tiny CenterNet-style detector (fully convolutional, ~120k parameters) for detection-driven evaluation.

It is a measuring tool, not part of the fusion pipeline: the same architecture and schedule are trained
from scratch on each input type (IR, VIS, every fusion method) and the APs are compared.

- Input: RGB uint8 resized to ``INPUT_SIZE`` (320x240), scaled to [0, 1].
- Output at stride 4: per-class centre heatmaps (sigmoid), box size (log of width/height in cells) and
  the sub-cell centre offset, as in CenterNet (Zhou et al., "Objects as Points", 2019).
- Decoding: 3x3 max-pool peaks, the ``max_detections`` best, boxes back in input-image pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from . import CLASSES
from .boxes import Boxes

INPUT_SIZE = (320, 240)  # width, height the network sees
STRIDE = 4
HEATMAP_PRIOR = 0.01  # initial centre probability (bias init of the heatmap head)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class TinyCenterNet(nn.Module):
    """Backbone at strides 4/8/16/32 (cars need the large receptive field), a top-down neck back to
    stride 4, one head of ``classes + 4`` maps."""

    def __init__(self, num_classes: int = len(CLASSES), widths: tuple[int, ...] = (8, 16, 32, 48, 64),
                 neck: int = 16) -> None:
        super().__init__()
        w1, w4, w8, w16, w32 = widths
        self.num_classes = num_classes
        self.stages = nn.ModuleList([
            nn.Sequential(_conv(3, w1, 2), _conv(w1, w4, 2), _conv(w4, w4)),  # stride 4
            nn.Sequential(_conv(w4, w8, 2), _conv(w8, w8)),  # 8
            nn.Sequential(_conv(w8, w16, 2), _conv(w16, w16)),  # 16
            nn.Sequential(_conv(w16, w32, 2), _conv(w32, w32)),  # 32
        ])
        self.laterals = nn.ModuleList(nn.Conv2d(w, neck, 1) for w in (w4, w8, w16, w32))
        self.head = nn.Sequential(_conv(neck, neck), nn.Conv2d(neck, num_classes + 4, 1))
        nn.init.constant_(self.head[-1].bias[:num_classes], -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, classes + 4, H/4, W/4): heatmap logits, log-size (2), offset (2)."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        top = self.laterals[-1](features[-1])
        for lateral, f in zip(self.laterals[-2::-1], features[-2::-1], strict=True):
            top = lateral(f) + F.interpolate(top, size=f.shape[-2:], mode="nearest")
        return self.head(top)


def to_network_grid(image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """RGB/gray uint8 image -> RGB uint8 (240, 320, 3) and the (x, y) scale from network to image pixels."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise InputError("tiny detector needs a uint8 gray or RGB image")
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    small = cv2.resize(np.ascontiguousarray(rgb[..., :3]), INPUT_SIZE, interpolation=cv2.INTER_AREA)
    return small, image.shape[1] / INPUT_SIZE[0], image.shape[0] / INPUT_SIZE[1]


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) or (H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
    batch = images if images.ndim == 4 else images[None]
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))).float().div_(255.0)


def decode(output: torch.Tensor, max_detections: int = 100) -> list[Boxes]:
    """Network output (B, C + 4, h, w) -> boxes per image in network-input pixels."""
    output = output.detach()
    num_classes = output.shape[1] - 4
    heat = torch.sigmoid(output[:, :num_classes])
    peaks = heat * (F.max_pool2d(heat, 3, 1, 1) == heat)
    batch, _, h, w = heat.shape
    results = []
    for b in range(batch):
        scores, index = peaks[b].reshape(-1).topk(min(max_detections, peaks[b].numel()))
        cls = index // (h * w)
        cell = index % (h * w)
        y, x = (cell // w).float(), (cell % w).float()
        log_w, log_h, off_x, off_y = (output[b, num_classes + k].reshape(-1)[cell] for k in range(4))
        cx, cy = (x + off_x) * STRIDE, (y + off_y) * STRIDE
        bw, bh = torch.exp(log_w.clamp(max=6)) * STRIDE, torch.exp(log_h.clamp(max=6)) * STRIDE
        xyxy = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=1)
        keep = scores > 0
        results.append(Boxes.make(xyxy[keep].numpy(), cls[keep].numpy(), scores[keep].numpy()))
    return results


class TinyDetector:
    """``detector(rgb_u8) -> Boxes`` in image pixels with a trained ``TinyCenterNet``."""

    def __init__(self, net: TinyCenterNet, max_detections: int = 100) -> None:
        self.net = net.eval()
        self.max_detections = max_detections

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> Boxes:
        small, sx, sy = to_network_grid(image)
        boxes = decode(self.net(to_tensor(small)), self.max_detections)[0]
        xyxy = boxes.xyxy * np.float32([sx, sy, sx, sy])
        return Boxes(xyxy.astype(np.float32), boxes.classes, boxes.scores)
