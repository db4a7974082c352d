"""Training the tiny detector from scratch, and k-fold cross-validated predictions per input type.

Folds: the evaluation images (MSRS test) are split into ``folds`` parts, stratified by day/night (names
ending in D/N); each part is predicted by a detector trained on the other parts (plus, optionally, every
image of extra labelled sets). Every input type gets the same folds, seed, schedule and architecture, so
AP differences come from the images alone. Training the *detector* on evaluation images is the one allowed
use of them for training (it is the measuring tool); no fusion model ever sees them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from . import CLASSES
from .boxes import Boxes
from .tiny_detector import INPUT_SIZE, STRIDE, TinyCenterNet, TinyDetector, to_network_grid, to_tensor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1200  # 400 left fused/VIS inputs badly under-trained (IR's hot blobs are learnt first)
    batch: int = 8
    crop: tuple[int, int] = (160, 128)  # width, height of training crops in network pixels (320x240 grid)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    object_crop_fraction: float = 0.8  # crops centred near a random object; the rest anywhere
    size_weight: float = 1.0
    offset_weight: float = 1.0
    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.folds < 2:
            raise ConfigError(f"tiny detector: need steps >= 1, batch >= 1, folds >= 2; got {self}")
        cw, ch = self.crop
        if cw % 16 or ch % 16 or cw > INPUT_SIZE[0] or ch > INPUT_SIZE[1]:
            raise ConfigError(f"crop {self.crop} must be multiples of 16 within {INPUT_SIZE}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Sample:
    """One training image on the network grid: uint8 (240, 320, 3) and boxes in network pixels."""

    image: np.ndarray
    boxes: Boxes


def make_targets(boxes: Boxes, out_hw: tuple[int, int], num_classes: int) -> dict[str, np.ndarray]:
    """CenterNet targets at stride 4: Gaussian centre heatmaps, log box size and offset at centre cells."""
    h, w = out_hw
    heat = np.zeros((num_classes, h, w), np.float32)
    size = np.zeros((2, h, w), np.float32)
    offset = np.zeros((2, h, w), np.float32)
    mask = np.zeros((h, w), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for (x0, y0, x1, y1), cls in zip(boxes.xyxy / STRIDE, boxes.classes, strict=True):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < w and 0 <= iy < h):
            continue
        bw, bh = max(x1 - x0, 0.25), max(y1 - y0, 0.25)
        sx, sy = max(bw / 6, 0.35), max(bh / 6, 0.35)
        gauss = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        heat[cls] = np.maximum(heat[cls], gauss)
        heat[cls, iy, ix] = 1.0
        size[:, iy, ix] = np.log(bw), np.log(bh)
        offset[:, iy, ix] = cx - ix, cy - iy
        mask[iy, ix] = 1.0
    return {"heat": heat, "size": size, "offset": offset, "mask": mask}


def centernet_loss(output: torch.Tensor, target: Mapping[str, torch.Tensor], size_weight: float = 1.0,
                   offset_weight: float = 1.0) -> torch.Tensor:
    """Focal loss on the heatmaps (alpha 2, beta 4) + L1 on log-size and offset at object centres."""
    num_classes = target["heat"].shape[1]
    pred = torch.sigmoid(output[:, :num_classes]).clamp(1e-4, 1 - 1e-4)
    gt = target["heat"]
    pos = gt.eq(1).float()
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred ** 2 * (1 - gt) ** 4 * (1 - pos)
    n_pos = pos.sum().clamp(min=1.0)
    focal = -(pos_loss.sum() + neg_loss.sum()) / n_pos
    mask = target["mask"][:, None]
    size_pred, offset_pred = output[:, num_classes:num_classes + 2], output[:, num_classes + 2:]
    size_l1 = (F.l1_loss(size_pred, target["size"], reduction="none") * mask).sum()
    offset_l1 = (F.l1_loss(offset_pred, target["offset"], reduction="none") * mask).sum()
    return focal + (size_weight * size_l1 + offset_weight * offset_l1) / n_pos


def random_crop(sample: Sample, config: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, Boxes]:
    """A crop (mostly around a random object) with a random horizontal flip; boxes whose centre is inside."""
    cw, ch = config.crop
    img_h, img_w = sample.image.shape[:2]
    boxes = sample.boxes
    if len(boxes) and rng.random() < config.object_crop_fraction:
        x0, y0, x1, y1 = boxes.xyxy[rng.integers(len(boxes))]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top = int(cx - rng.uniform(8, cw - 8)), int(cy - rng.uniform(8, ch - 8))
    else:
        left, top = int(rng.integers(0, img_w - cw + 1)), int(rng.integers(0, img_h - ch + 1))
    left, top = min(max(left, 0), img_w - cw), min(max(top, 0), img_h - ch)
    crop = sample.image[top:top + ch, left:left + cw]
    xyxy = boxes.xyxy - np.float32([left, top, left, top])
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    inside = (centre[:, 0] >= 0) & (centre[:, 0] < cw) & (centre[:, 1] >= 0) & (centre[:, 1] < ch)
    xyxy = np.clip(xyxy[inside], 0, [cw, ch, cw, ch]).astype(np.float32)
    classes = boxes.classes[inside]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
        xyxy = np.stack([cw - xyxy[:, 2], xyxy[:, 1], cw - xyxy[:, 0], xyxy[:, 3]], axis=1).astype(np.float32)
    return np.ascontiguousarray(crop), Boxes.make(xyxy, classes)


def train_detector(samples: Sequence[Sample], config: TrainConfig, seed: int,
                   num_classes: int = len(CLASSES)) -> TinyCenterNet:
    """Train a fresh ``TinyCenterNet`` on ``samples`` (AdamW, cosine learning rate, random crops)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = TinyCenterNet(num_classes)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    def warmup_cosine(step: int) -> float:
        return min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / config.steps))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine)
    out_hw = (config.crop[1] // STRIDE, config.crop[0] // STRIDE)
    net.train()
    for step in range(config.steps):
        crops, targets = [], []
        for index in rng.integers(0, len(samples), config.batch):
            crop, boxes = random_crop(samples[index], config, rng)
            crops.append(crop)
            targets.append(make_targets(boxes, out_hw, num_classes))
        x = to_tensor(np.stack(crops))
        target = {k: torch.from_numpy(np.stack([t[k] for t in targets])) for k in targets[0]}
        loss = centernet_loss(net(x), target, config.size_weight, config.offset_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == config.steps - 1:
            log.debug("step %d loss %.3f", step, loss.item())
    return net.eval()


def fold_of(names: Sequence[str], folds: int) -> dict[str, int]:
    """Fold index per name, stratified by the last character (MSRS: D = day, N = night), round-robin."""
    assignment: dict[str, int] = {}
    for group in sorted({n[-1] for n in names}):
        for i, name in enumerate(sorted(n for n in names if n[-1] == group)):
            assignment[name] = i % folds
    return assignment


def cross_validated_predictions(
    images: Mapping[str, np.ndarray],
    labels: Mapping[str, Boxes],
    eval_names: Sequence[str],
    train_names: Sequence[str],
    config: TrainConfig,
) -> dict[str, Boxes]:
    """Out-of-fold detections (image pixels) for every name in ``eval_names``.

    ``images``: RGB uint8 of every eval and train name (any size); ``labels``: their boxes in image pixels.
    """
    def sample(name: str) -> Sample:
        small, sx, sy = to_network_grid(images[name])
        b = labels[name]
        xyxy = (b.xyxy / np.float32([sx, sy, sx, sy])).astype(np.float32)
        return Sample(small, Boxes(xyxy, b.classes, b.scores))

    samples = {name: sample(name) for name in [*eval_names, *train_names]}
    folds = fold_of(eval_names, config.folds)
    predictions: dict[str, Boxes] = {}
    for k in range(config.folds):
        start = time.perf_counter()
        train = [samples[n] for n in eval_names if folds[n] != k] + [samples[n] for n in train_names]
        detector = TinyDetector(train_detector(train, config, seed=config.seed * 100 + k))
        for name in (n for n in eval_names if folds[n] == k):
            predictions[name] = detector(images[name])
        log.info("fold %d/%d: trained on %d images in %.0f s", k + 1, config.folds, len(train),
                 time.perf_counter() - start)
    return predictions
