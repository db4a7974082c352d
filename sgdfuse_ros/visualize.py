"""Side-by-side image grids with labels (RGB uint8), for reports and the demo."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def as_rgb_u8(img: np.ndarray) -> np.ndarray:
    """Gray/RGB, uint8/uint16/float [0,1] -> RGB uint8 (16-bit and float are min-max stretched for display)."""
    if img.dtype != np.uint8:
        f = img.astype(np.float32)
        lo, hi = float(f.min()), float(f.max())
        img = np.round((f - lo) / (hi - lo) * 255.0 if hi > lo else f * 0.0).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return img[..., :3]


def _label(cell: np.ndarray, text: str) -> np.ndarray:
    out = cell.copy()
    scale = max(0.4, cell.shape[1] / 640)
    thickness = max(1, round(scale * 1.5))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    cv2.rectangle(out, (0, 0), (w + 8, h + base + 8), (0, 0, 0), -1)
    cv2.putText(out, text, (4, h + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def image_grid(
    rows: Sequence[Sequence[np.ndarray]],
    col_labels: Sequence[str] = (),
    cell_width: int = 320,
    gap: int = 4,
) -> np.ndarray:
    """Cells resized to ``cell_width`` (aspect kept, each row as tall as its tallest cell), labels on row 0."""
    rendered = []
    for r, row in enumerate(rows):
        cells = []
        for c, img in enumerate(row):
            rgb = as_rgb_u8(img)
            height = max(1, round(rgb.shape[0] * cell_width / rgb.shape[1]))
            cell = cv2.resize(rgb, (cell_width, height), interpolation=cv2.INTER_AREA)
            if r == 0 and c < len(col_labels):
                cell = _label(cell, col_labels[c])
            cells.append(cell)
        row_h = max(cell.shape[0] for cell in cells)
        padded = [np.pad(cell, ((0, row_h - cell.shape[0]), (0, gap), (0, 0)), constant_values=255) for cell in cells]
        rendered.append(np.pad(np.concatenate(padded, axis=1), ((0, gap), (0, 0), (0, 0)), constant_values=255))
    width = max(row.shape[1] for row in rendered)
    rendered = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rendered]
    return np.concatenate(rendered, axis=0)
