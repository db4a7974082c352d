"""YOLO detection labels: one ``NAME.txt`` per image, a line ``class cx cy w h`` per object (normalised 0..1).

MSRS's labels (``labels_det_yolo/``) come in three variants annotated on different images: ``fusion/``
(on a fused image), ``infrared/`` and ``visible/``. An empty file means an image without objects; a missing
file is an error here (every evaluated image must have been annotated).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import CLASSES
from .boxes import Boxes

LABEL_VARIANTS = ("fusion", "infrared", "visible")
COORD_TOLERANCE = 1e-3  # upstream files have centres/sizes a hair outside [0, 1]


def parse_yolo_labels(text: str, width: int, height: int, num_classes: int = len(CLASSES),
                      source: str = "labels") -> Boxes:
    """YOLO label text -> ``Boxes`` in pixels (clipped to the image); raises InputError naming file:line."""
    xyxy, classes = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{source}:{number}"
        if len(fields) != 5:
            raise InputError(f"{where}: expected 'class cx cy w h', got {len(fields)} field(s): "
                             f"{line.strip()!r}")
        try:
            cls = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            raise InputError(f"{where}: not numbers: {line.strip()!r}") from None
        if not 0 <= cls < num_classes:
            raise InputError(f"{where}: class {cls} outside 0..{num_classes - 1}")
        values = np.array([cx, cy, w, h])
        outside = values.min() < -COORD_TOLERANCE or values.max() > 1 + COORD_TOLERANCE
        if not np.isfinite(values).all() or outside:
            raise InputError(f"{where}: coordinates must be normalised to [0, 1], got {line.strip()!r}")
        if w <= 0 or h <= 0:
            raise InputError(f"{where}: box of zero size: {line.strip()!r}")
        box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * [width, height, width, height]
        xyxy.append(np.clip(box, 0, [width, height, width, height]))
        classes.append(cls)
    return Boxes.make(np.array(xyxy).reshape(-1, 4), classes)


def read_yolo_labels(path: str | Path, width: int, height: int, num_classes: int = len(CLASSES)) -> Boxes:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such label file")
    return parse_yolo_labels(path.read_text(), width, height, num_classes, source=str(path))


def label_folder(dataset: Path, variant: str) -> Path:
    """``dataset/labels_det_yolo/<variant>``; InputError if the set has no such labels."""
    if variant not in LABEL_VARIANTS:
        raise InputError(f"label variant must be one of {', '.join(LABEL_VARIANTS)}, got {variant!r}")
    folder = Path(dataset) / "labels_det_yolo" / variant
    if not folder.is_dir():
        raise InputError(f"{folder}: no YOLO detection labels ({variant}) for this dataset")
    return folder


def load_labels(dataset: Path, variant: str, sizes: Mapping[str, tuple[int, int]]) -> dict[str, Boxes]:
    """Labels of one variant for every image name in ``sizes`` (name -> (width, height))."""
    folder = label_folder(dataset, variant)
    return {name: read_yolo_labels(folder / f"{name}.txt", w, h) for name, (w, h) in sizes.items()}
