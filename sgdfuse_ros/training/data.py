"""Training data: IR/VIS luma pairs of the TRAIN split only, random crops + flips, a fixed validation subset.

Train split (shared/data/README.md): ``msrs_train30``, ``llvip_train32`` and every ``VIDEO_STRIDE``-th
frame of the video clips ``0113_1714``, ``0117_1605``, ``0117_1620``. ``VALIDATION`` pairs are held out of
the training crops and used for model selection (loss weights, steps), together with every
``VIDEO_VAL_STRIDE``-th frame of the train clips at offset ``VIDEO_VAL_OFFSET`` (daytime scenes; never a
training frame, though a neighbour of one). Validation means weight the two groups ("pairs", "video")
equally. The evaluation sets are never read.
Images are kept in memory as uint8 luma on the VIS grid (prepared with ``images.prepare_pair``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..datasets import find_pairs, shared_root
from ..errors import ConfigError, InputError
from ..images import prepare_pair, read_image, to_gray_u8

log = logging.getLogger(__name__)

TRAIN_IMAGE_SETS = ("msrs_train30", "llvip_train32")
TRAIN_CLIPS = ("0113_1714", "0117_1605", "0117_1620")
VIDEO_STRIDE = 10
VALIDATION = {"msrs_train30": ("00002D", "00014N", "00031N"), "llvip_train32": ("010015", "010102")}
VIDEO_VAL_STRIDE, VIDEO_VAL_OFFSET = 50, 25  # frames 25, 75, 125... (training uses multiples of the stride)


@dataclass(frozen=True)
class Sample:
    name: str  # "set/NAME" or "clip/frame"
    group: str  # set or "video": sampling is balanced across groups
    ir: np.ndarray  # uint8 HxW luma
    vis: np.ndarray  # uint8 HxW luma, same grid


def _sample(name: str, group: str, ir: np.ndarray, vis: np.ndarray, vis_order: str = "rgb") -> Sample:
    pair = prepare_pair(ir, vis, vis_order)
    return Sample(name, group, to_gray_u8(pair.ir), to_gray_u8(pair.vis))


def load_image_set(name: str) -> list[Sample]:
    pairs, _ = find_pairs(name)
    return [_sample(f"{name}/{p.name}", name, read_image(p.ir), read_image(p.vis)) for p in pairs]


def load_clip(ir_path: Path, vis_path: Path, stride: int = VIDEO_STRIDE, offset: int = 0,
              group: str = "video") -> list[Sample]:
    """Frame pairs ``offset``, ``offset + stride``... of a synchronised IR/VIS clip (cv2.VideoCapture)."""
    caps = [cv2.VideoCapture(str(p)) for p in (ir_path, vis_path)]
    try:
        if not all(c.isOpened() for c in caps):
            raise InputError(f"cannot open video {ir_path} / {vis_path}")
        samples, index = [], 0
        while True:
            ok_ir, ir = caps[0].read()
            ok_vis, vis = caps[1].read()
            if not (ok_ir and ok_vis):
                break
            if index % stride == offset:
                samples.append(_sample(f"{ir_path.stem}/{index:05d}", group, ir, vis, vis_order="bgr"))
            index += 1
    finally:
        for c in caps:
            c.release()
    return samples


def _clip_paths() -> list[tuple[Path, Path]]:
    root = shared_root()
    if root is None:
        raise InputError("shared/data not found (set SGDFUSE_SHARED to the folder holding data/)")
    video = root / "data" / "video" / "m3svd"
    return [(video / "ir" / f"{c}.mp4", video / "vi" / f"{c}.mp4") for c in TRAIN_CLIPS]


def load_video_validation() -> list[Sample]:
    """The held-out validation frames of the train clips (group "video")."""
    return [s for ir, vis in _clip_paths() for s in load_clip(ir, vis, VIDEO_VAL_STRIDE, VIDEO_VAL_OFFSET)]


def load_validation() -> list[Sample]:
    """All validation samples (groups "pairs" and "video") without loading the training data."""
    pairs = [Sample(s.name, "pairs", s.ir, s.vis) for name in TRAIN_IMAGE_SETS for s in load_image_set(name)
             if s.name.split("/", 1)[1] in VALIDATION[name]]
    return pairs + load_video_validation()


class TrainData:
    """Training samples + validation samples; ``batch`` draws random crops with flips."""

    def __init__(self, train: list[Sample], val: list[Sample]) -> None:
        if not train:
            raise ConfigError("no training samples")
        self.train, self.val = train, val
        self.groups: dict[str, list[Sample]] = {}
        for s in train:
            self.groups.setdefault(s.group, []).append(s)
        self.group_names = sorted(self.groups)

    @classmethod
    def from_shared(cls, video_stride: int = VIDEO_STRIDE) -> TrainData:
        """The train split of shared/data minus the validation pairs; validation = pairs + video frames."""
        if video_stride < 1 or VIDEO_VAL_OFFSET % math.gcd(VIDEO_VAL_STRIDE, video_stride) == 0:
            raise ConfigError(f"video stride {video_stride} would train on the validation frames")
        samples = [s for name in TRAIN_IMAGE_SETS for s in load_image_set(name)]
        samples += [s for ir, vis in _clip_paths() for s in load_clip(ir, vis, video_stride)]
        held_out = {f"{k}/{n}" for k, names in VALIDATION.items() for n in names}
        train = [s for s in samples if s.name not in held_out]
        val = [Sample(s.name, "pairs", s.ir, s.vis) for s in samples if s.name in held_out]
        if len(val) != len(held_out):
            raise InputError(f"validation pairs missing: {sorted(held_out - {s.name for s in val})}")
        data = cls(train, val + load_video_validation())
        log.info("training data: %s", data.summary())
        return data

    def summary(self) -> dict[str, object]:
        val_groups: dict[str, list[str]] = {}
        for s in self.val:
            val_groups.setdefault(s.group, []).append(s.name)
        return {"train": {g: len(self.groups[g]) for g in self.group_names},
                "validation": {g: v if g == "pairs" else f"{len(v)} frames" for g, v in val_groups.items()}}

    def batch(self, rng: np.random.Generator, batch: int, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ir, vis) float32 tensors (batch, 1, crop, crop) in [0, 1]: group-balanced random crops + flips."""
        out = np.empty((2, batch, 1, crop, crop), np.uint8)
        for i in range(batch):
            group = self.groups[self.group_names[rng.integers(len(self.group_names))]]
            s = group[rng.integers(len(group))]
            h, w = s.ir.shape
            if crop > min(h, w):
                raise ConfigError(f"crop {crop} is larger than {s.name} ({w}x{h})")
            y, x = rng.integers(h - crop + 1), rng.integers(w - crop + 1)
            pair = np.stack([s.ir[y:y + crop, x:x + crop], s.vis[y:y + crop, x:x + crop]])
            if rng.random() < 0.5:
                pair = pair[:, :, ::-1]
            if rng.random() < 0.5:
                pair = pair[:, ::-1, :]
            out[:, i, 0] = pair
        t = torch.from_numpy(out).float() / 255.0
        return t[0], t[1]


def augment(ir: torch.Tensor, vis: torch.Tensor, rng: np.random.Generator, max_noise: float = 0.03
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Photometric augmentation beyond the train split's dark-thermal domain, and noise of known sigma.

    Per crop: IR gamma in [0.35, 1.5] (gamma < 1: bright IR, as in daytime FLIR with auto gain) and gain in
    [0.8, 1.25]; VIS gamma in [0.6, 1.6] and gain in [0.8, 1.25]; then, for half of the crops, Gaussian
    noise of sigma U(0, max_noise) on each input. Returns (ir_in, vis_in, ir_clean, vis_clean): the network
    sees the noisy inputs, the loss targets the clean ones, so added grain can only cost.
    """
    n = ir.shape[0]

    def draw(low: float, high: float, log: bool = False) -> torch.Tensor:
        v = np.exp(rng.uniform(np.log(low), np.log(high), n)) if log else rng.uniform(low, high, n)
        return torch.from_numpy(v).float().view(n, 1, 1, 1)

    ir_clean = (ir.clamp_min(0.0) ** draw(0.35, 1.5, log=True) * draw(0.8, 1.25)).clamp(0.0, 1.0)
    vis_clean = (vis.clamp_min(0.0) ** draw(0.6, 1.6, log=True) * draw(0.8, 1.25)).clamp(0.0, 1.0)
    noisy = torch.from_numpy(rng.random(n) < 0.5).float().view(n, 1, 1, 1)
    sigma_ir, sigma_vis = draw(0.0, max_noise) * noisy, draw(0.0, max_noise) * noisy
    g = torch.from_numpy(rng.standard_normal((2, *ir.shape))).float()
    ir_in = (ir_clean + sigma_ir * g[0]).clamp(0.0, 1.0)
    vis_in = (vis_clean + sigma_vis * g[1]).clamp(0.0, 1.0)
    return ir_in, vis_in, ir_clean, vis_clean
