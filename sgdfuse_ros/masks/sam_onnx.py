"""SAM-family models exported to ONNX, run with ONNX Runtime (no torch at run time).

Two files (``sam_onnx_encoder``, ``sam_onnx_decoder``):
- encoder: input ``1x3x1024x1024`` float32 = the RGB image resized so that its long side is 1024, normalised
  with SAM's pixel mean/std and zero-padded bottom/right (SAM's ``preprocess``); output ``1x256x64x64``
  image embeddings. This is ``sam.image_encoder`` exported as is; MobileSAM's TinyViT encoder takes the
  same input and gives the same output.
- decoder: the official segment-anything ONNX decoder (``segment_anything.utils.onnx.SamOnnxModel``, the
  format of SAM's and MobileSAM's ``export_onnx_model.py``): inputs ``image_embeddings``, ``point_coords``,
  ``point_labels``, ``mask_input``, ``has_mask_input``, ``orig_im_size``; outputs ``masks``,
  ``iou_predictions``, ``low_res_masks``. Only ``iou_predictions`` and the 256x256 ``low_res_masks`` are
  used (see ``upscale_logits``).
``export_sam_onnx(sam, encoder_path, decoder_path)`` writes both files from any segment-anything ``Sam``.

The provider decodes a point grid one point at a time (the official decoder has a batch of one prompt),
keeps the best of the multimask outputs, filters by predicted IoU and stability, applies box NMS and
encodes the soft masks as ``SamProvider``'s predictor path does. EfficientSAM uses another preprocessing
and decoder interface and is not covered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import CheckpointError, ConfigError
from .base import check_provider_input
from .encoding import Instance, check_encoding, encode_instances
from .grid import grid_points, nms_instances, stability_score, to_rgb_u8

IMG_SIZE = 1024
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], np.float32)
DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input",
                  "orig_im_size")


def resized_shape(shape: tuple[int, int], long_side: int = IMG_SIZE) -> tuple[int, int]:
    """SAM's ``ResizeLongestSide`` target (H, W)."""
    scale = long_side / max(shape)
    return int(shape[0] * scale + 0.5), int(shape[1] * scale + 0.5)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 HxWx3 -> 1x3x1024x1024 float32, as ``Sam.preprocess`` after ``ResizeLongestSide``."""
    new_h, new_w = resized_shape(rgb.shape[:2])
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = np.zeros((IMG_SIZE, IMG_SIZE, 3), np.float32)
    out[:new_h, :new_w] = (resized - PIXEL_MEAN) / PIXEL_STD
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None])


def _session(path: str | Path, param: str, providers: list[str] | None):
    import onnxruntime as ort

    if not str(path):
        raise CheckpointError(f"{param} is empty: the ONNX SAM provider needs an encoder and a decoder file")
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{param} {path}: no such file")
    try:
        return ort.InferenceSession(str(path), providers=providers or ["CPUExecutionProvider"])
    except Exception as err:  # ONNX Runtime raises its own exception types for invalid models
        raise CheckpointError(f"{param} {path}: not a loadable ONNX model: {err}") from None


class OnnxSamProvider:
    """SAM / MobileSAM exported to ONNX (see the module doc), with the same encodings as ``SamProvider``."""

    uses_color = True

    def __init__(
        self,
        encoder: str | Path,
        decoder: str | Path,
        *,
        points_per_side: int = 16,
        encoding: str = "saliency-weighted",
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        box_nms_thresh: float = 0.7,
        max_instances: int = 64,
        min_area_frac: float = 1e-4,
        max_area_frac: float = 0.5,
        providers: list[str] | None = None,
    ) -> None:
        if not 1 <= int(points_per_side) <= 64:
            raise ConfigError(f"sam_points_per_side must lie in 1..64, got {points_per_side}")
        self.encoding = check_encoding(encoding)
        self.encoder = _session(encoder, "sam_onnx_encoder", providers)
        self.decoder = _session(decoder, "sam_onnx_decoder", providers)
        names = {i.name for i in self.decoder.get_inputs()}
        if not set(DECODER_INPUTS) <= names:
            raise CheckpointError(f"sam_onnx_decoder {decoder}: expected the segment-anything decoder inputs "
                                  f"{', '.join(DECODER_INPUTS)}, got {', '.join(sorted(names))}")
        self.encoder_input = self.encoder.get_inputs()[0].name
        self.points_per_side = int(points_per_side)
        self.pred_iou_thresh = float(pred_iou_thresh)
        self.stability_score_thresh = float(stability_score_thresh)
        self.box_nms_thresh = float(box_nms_thresh)
        self.encode_options = {"max_instances": int(max_instances), "min_area_frac": float(min_area_frac),
                               "max_area_frac": float(max_area_frac)}
        self.name = "sam-onnx"
        self.last_instance_count = 0

    def __call__(self, image: np.ndarray, modality: str) -> np.ndarray:
        check_provider_input(image, modality)
        rgb = to_rgb_u8(image)
        instances = self.predict_grid(rgb)
        self.last_instance_count = len(instances)
        luma = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return encode_instances(instances, luma, modality, self.encoding, **self.encode_options)

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        return self.encoder.run(None, {self.encoder_input: preprocess(rgb)})[0]

    def predict_grid(self, rgb: np.ndarray) -> list[Instance]:
        h, w = rgb.shape[:2]
        embeddings = self.embed(rgb)
        new_h, new_w = resized_shape((h, w))
        scale = np.array([new_w / w, new_h / h], np.float32)
        feeds = {"image_embeddings": embeddings, "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                 "has_mask_input": np.zeros(1, np.float32), "orig_im_size": np.array([h, w], np.float32),
                 "point_labels": np.array([[1.0, -1.0]], np.float32)}  # one point + SAM's padding point
        candidates = []
        for point in grid_points(self.points_per_side, (h, w)):
            coords = np.stack([point.astype(np.float32) * scale, np.zeros(2, np.float32)])[None]
            _, iou, low_res = self.decoder.run(None, {**feeds, "point_coords": coords})
            low_res, iou = (low_res[0, 1:], iou[0, 1:]) if low_res.shape[1] > 1 else (low_res[0], iou[0])
            best = int(np.argmax(iou))
            logits = upscale_logits(low_res[best], (new_h, new_w), (h, w))
            stability = stability_score(logits)
            if iou[best] > self.pred_iou_thresh and stability >= self.stability_score_thresh:
                candidates.append((logits, float(iou[best]) * stability))
        return nms_instances(candidates, self.box_nms_thresh)


def upscale_logits(low_res: np.ndarray, resized: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """``Sam.postprocess_masks`` for one 256x256 logit map: to 1024, crop the padding, to the image size.

    Done here rather than by the decoder's ``masks`` output: traced exports bake the crop of the image size
    used at export time into the graph, which is wrong for other aspect ratios.
    """
    full = cv2.resize(low_res, (IMG_SIZE, IMG_SIZE), interpolation=cv2.INTER_LINEAR)
    crop = np.ascontiguousarray(full[:resized[0], :resized[1]])
    return cv2.resize(crop, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def export_sam_onnx(sam: Any, encoder_path: str | Path, decoder_path: str | Path, opset: int = 17) -> None:
    """Write ``sam.image_encoder`` and the official ONNX decoder of a segment-anything ``Sam`` (torch)."""
    import torch
    from segment_anything.utils.onnx import SamOnnxModel

    sam = sam.cpu().eval()
    image = torch.zeros(1, 3, IMG_SIZE, IMG_SIZE)
    embed_dim = sam.prompt_encoder.embed_dim
    embed_size = tuple(sam.prompt_encoder.image_embedding_size)
    decoder_inputs = (
        torch.zeros(1, embed_dim, *embed_size),
        torch.zeros(1, 2, 2),
        torch.tensor([[1.0, -1.0]]),
        torch.zeros(1, 1, 4 * embed_size[0], 4 * embed_size[1]),
        torch.zeros(1),
        torch.tensor([480.0, 640.0]),
    )
    with torch.no_grad():
        torch.onnx.export(sam.image_encoder, (image,), str(encoder_path), input_names=["image"],
                          output_names=["image_embeddings"], opset_version=opset, dynamo=False)
        torch.onnx.export(SamOnnxModel(sam, return_single_mask=False), decoder_inputs, str(decoder_path),
                          input_names=list(DECODER_INPUTS),
                          output_names=["masks", "iou_predictions", "low_res_masks"],
                          dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
                          opset_version=opset, dynamo=False)
