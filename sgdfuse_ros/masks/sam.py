"""Segment Anything (``segment-anything``) as a mask provider.

The user supplies a checkpoint (``sam_checkpoint``) for one of ``vit_b`` / ``vit_l`` / ``vit_h``
(``sam_model``); nothing is downloaded. The file is read with ``torch.load(weights_only=True)`` and checked
against the architecture *before* the model is built, so a vit_b file given as vit_l, or a corrupt file,
ends in a ``CheckpointError`` that says what is wrong.

Two ways to turn the image into instances (``sam_path``):
- ``generator``: ``SamAutomaticMaskGenerator`` with ``points_per_side``^2 prompts (binary masks, filtered by
  predicted IoU, stability and NMS as in the SAM paper).
- ``predictor``: one ``SamPredictor`` embedding, the same point grid decoded in batches, the best of the 3
  masks per point kept, the same filters and NMS; the masks stay *soft* (sigmoid of SAM's logits), and
  there is no RLE round trip. Cheaper for small grids.
Both end in the encodings of ``encoding.py`` (quality = predicted IoU x stability score).
On CUDA, ``fp16=True`` runs SAM under ``torch.autocast(float16)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..errors import CheckpointError, ConfigError
from .base import SAM_MODELS, SAM_PATHS, check_provider_input
from .encoding import Instance, check_encoding, encode_instances
from .grid import grid_points, nms_instances, to_rgb_u8

_PATCH_KEY = "image_encoder.patch_embed.proj.weight"


def read_sam_state_dict(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a SAM checkpoint (plain state dict, or one under "model"/"state_dict"), loaded safely."""
    if not str(checkpoint):
        raise CheckpointError("sam_checkpoint is empty: SAM needs a checkpoint file (such as "
                              "sam_vit_b_01ec64.pth of the segment-anything release); nothing is downloaded")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise CheckpointError(f"sam_checkpoint {path}: no such file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling, zip and weights-only errors all mean "not a usable checkpoint"
        raise CheckpointError(f"sam_checkpoint {path}: cannot be read as a PyTorch checkpoint "
                              f"(corrupt, or it holds more than tensors): {err}") from None
    for key in ("model", "state_dict"):
        if isinstance(data, dict) and set(data) == {key}:
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"sam_checkpoint {path}: expected a state dict of tensors, "
                              f"got {type(data).__name__}")
    return data


def sam_architecture(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(encoder embed dim, encoder depth) of a segment-anything ViT state dict."""
    if _PATCH_KEY not in state:
        raise CheckpointError(f"not a segment-anything ViT checkpoint (no {_PATCH_KEY}); MobileSAM or "
                              "EfficientSAM weights need an ONNX export (see docs/masks.md)")
    blocks = {int(k.split(".")[2]) for k in state if k.startswith("image_encoder.blocks.")}
    return int(state[_PATCH_KEY].shape[0]), len(blocks)


def _model_name(arch: tuple[int, int]) -> str:
    names = [name for name, known in SAM_MODELS.items() if known == arch]
    return names[0] if names else f"a ViT with embed dim {arch[0]} and {arch[1]} blocks"


def load_sam(
    model: str, checkpoint: str | Path, *, builders: dict[str, Callable[..., Any]] | None = None
) -> torch.nn.Module:
    """Build ``sam_model_registry[model]`` and load ``checkpoint`` into it (strict), or raise clearly."""
    if model not in (builders if builders is not None else SAM_MODELS):
        raise ConfigError(f"sam_model must be one of {', '.join(builders or SAM_MODELS)}, got {model!r}")
    state = read_sam_state_dict(checkpoint)
    if builders is None:
        from segment_anything import sam_model_registry

        builders = {k: sam_model_registry[k] for k in SAM_MODELS}
    found = sam_architecture(state)
    if model in SAM_MODELS and found != SAM_MODELS[model]:
        dim, depth = SAM_MODELS[model]
        raise CheckpointError(f"sam_checkpoint {checkpoint}: holds {_model_name(found)} weights, but "
                              f"sam_model is {model} (embed dim {dim}, {depth} blocks)")
    sam = builders[model](checkpoint=None)
    try:
        sam.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[:4]
        raise CheckpointError(f"sam_checkpoint {checkpoint}: does not fit sam_model {model}: "
                              + " ".join(first)) from None
    return sam.eval()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"sam_device {device!r}: CUDA is not available here")
    return torch.device(device)


class SamProvider:
    """SAM masks for one image, encoded into one channel (see the module doc)."""

    uses_color = True

    def __init__(
        self,
        sam: torch.nn.Module | None = None,
        *,
        model: str = "vit_b",
        checkpoint: str | Path = "",
        points_per_side: int = 16,
        path: str = "generator",
        encoding: str = "saliency-weighted",
        device: str = "auto",
        fp16: bool = True,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        box_nms_thresh: float = 0.7,
        points_per_batch: int = 16,
        max_instances: int = 64,
        min_area_frac: float = 1e-4,
        max_area_frac: float = 0.5,
    ) -> None:
        if path not in SAM_PATHS:
            raise ConfigError(f"sam_path must be one of {', '.join(SAM_PATHS)}, got {path!r}")
        if not 1 <= int(points_per_side) <= 64:
            raise ConfigError(f"sam_points_per_side must lie in 1..64, got {points_per_side}")
        self.encoding = check_encoding(encoding)
        self.device = resolve_device(device)
        self.sam = (sam if sam is not None else load_sam(model, checkpoint)).to(self.device).eval()
        self.fp16 = bool(fp16) and self.device.type == "cuda"
        self.points_per_side = int(points_per_side)
        self.path = path
        self.pred_iou_thresh = float(pred_iou_thresh)
        self.stability_score_thresh = float(stability_score_thresh)
        self.box_nms_thresh = float(box_nms_thresh)
        self.points_per_batch = int(points_per_batch)
        self.encode_options = {"max_instances": int(max_instances), "min_area_frac": float(min_area_frac),
                               "max_area_frac": float(max_area_frac)}
        self.name = f"sam:{model if sam is None else 'custom'}"
        self.last_instance_count = 0

        from segment_anything import SamAutomaticMaskGenerator, SamPredictor

        if path == "generator":
            self._generator = SamAutomaticMaskGenerator(
                self.sam, points_per_side=self.points_per_side, points_per_batch=self.points_per_batch,
                pred_iou_thresh=self.pred_iou_thresh, stability_score_thresh=self.stability_score_thresh,
                box_nms_thresh=self.box_nms_thresh, output_mode="binary_mask",
            )
        else:
            self._predictor = SamPredictor(self.sam)

    def __call__(self, image: np.ndarray, modality: str) -> np.ndarray:
        check_provider_input(image, modality)
        rgb = to_rgb_u8(image)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16):
            instances = self.generate(rgb) if self.path == "generator" else self.predict_grid(rgb)
        self.last_instance_count = len(instances)
        luma = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return encode_instances(instances, luma, modality, self.encoding, **self.encode_options)

    def generate(self, rgb: np.ndarray) -> list[Instance]:
        """Instances from ``SamAutomaticMaskGenerator`` (binary masks)."""
        records = self._generator.generate(rgb)
        instances = [Instance.from_full(r["segmentation"].astype(np.float32),
                                        r["predicted_iou"] * r["stability_score"]) for r in records]
        return [inst for inst in instances if inst is not None]

    def predict_grid(self, rgb: np.ndarray) -> list[Instance]:
        """Instances from one embedding and a point grid, soft masks kept (see the module doc)."""
        from segment_anything.utils import amg

        h, w = rgb.shape[:2]
        predictor = self._predictor
        predictor.set_image(rgb)
        points = grid_points(self.points_per_side, (h, w))
        candidates: list[tuple[np.ndarray, float]] = []
        for start in range(0, len(points), self.points_per_batch):
            batch = predictor.transform.apply_coords(points[start:start + self.points_per_batch], (h, w))
            coords = torch.as_tensor(batch, dtype=torch.float32, device=self.device)[:, None, :]
            labels = torch.ones(coords.shape[:2], dtype=torch.int, device=self.device)
            logits, iou, _ = predictor.predict_torch(coords, labels, return_logits=True)
            best = iou.argmax(dim=1)
            rows = torch.arange(len(best), device=self.device)
            logits, iou = logits[rows, best].float(), iou[rows, best].float()
            stability = amg.calculate_stability_score(logits, self.sam.mask_threshold, 1.0)
            keep = (iou > self.pred_iou_thresh) & (stability >= self.stability_score_thresh)
            scores = (iou * stability)[keep].tolist()
            candidates.extend(zip(logits[keep].cpu().numpy(), scores, strict=True))
        predictor.reset_image()
        return nms_instances(candidates, self.box_nms_thresh)
