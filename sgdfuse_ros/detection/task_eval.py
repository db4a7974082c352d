"""Detection-driven evaluation: the same detectors on IR, VIS and every fused output -> AP50 with intervals.

Protocols (which labels score which input):
- ``common``: every input is scored against the ``fusion`` labels (objects annotated on a fused image), so
  all inputs answer the same question: how many of the scene's objects does the detector find?
- ``own``: IR against ``infrared``, VIS against ``visible``, fused inputs against ``fusion`` (upstream's
  per-modality convention). VIS labels omit people one cannot see at night (38 night people in MSRS test
  vs 206 in ``fusion``), so ``own`` APs of different inputs measure different tasks and are not compared.

Detectors: ``hog`` (pretrained, people only) and ``tiny`` (trained per input and protocol, k-fold, see
``train.py``). Images of every input, HOG detections and out-of-fold tiny detections are cached under
``cache_dir`` with a key of their inputs, so a rerun only computes what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..datasets import Pair, find_pairs, resolve_dataset
from ..errors import InputError
from ..images import read_image, resize_to, thermal_to_float, to_gray_u8, write_image
from . import CLASSES
from .ap import APEstimate, ClassMatches, ap_with_interval, match_image, paired_difference
from .boxes import Boxes
from .hog import PERSON, HogConfig, HogPersonDetector
from .labels import load_labels
from .train import TrainConfig

log = logging.getLogger(__name__)

SOURCES = ("ir", "vis")
OWN_LABELS = {"ir": "infrared", "vis": "visible"}  # fused inputs: "fusion"
PROTOCOLS = ("common", "own")
DETECTORS = ("hog", "tiny")
SPLITS = ("all", "day", "night")
CACHE_VERSION = 1


@dataclass(frozen=True)
class DetEvalConfig:
    inputs: tuple[str, ...]  # "ir", "vis" and pipeline specs (preset/method names, .yaml)
    dataset: str = "msrs_test"
    train_sets: tuple[str, ...] = ()  # labelled sets added to every training fold of the tiny detector
    detectors: tuple[str, ...] = DETECTORS
    protocols: tuple[str, ...] = PROTOCOLS
    tiny_inputs: tuple[str, ...] | None = None  # inputs the tiny detector is trained on; None = all
    tiny_protocols: tuple[str, ...] = ("common",)  # each protocol of IR/VIS is one more training
    reference: str = ""  # a fused input also subtracted from every other fused one (paired); "" = none
    resamples: int = 1000
    seed: int = 0
    limit: int | None = None
    hog: HogConfig = field(default_factory=HogConfig)
    tiny: TrainConfig = field(default_factory=TrainConfig)
    cache_dir: Path = Path("out/det_cache")

    def __post_init__(self) -> None:
        bad = [d for d in self.detectors if d not in DETECTORS]
        bad += [p for p in (*self.protocols, *self.tiny_protocols) if p not in PROTOCOLS]
        if bad or not self.inputs or not self.detectors or not self.protocols:
            raise InputError(f"det eval: detectors must be in {DETECTORS}, protocols in {PROTOCOLS}, and at "
                             f"least one input; got {self.detectors}, {self.protocols}, {self.inputs}")
        if self.reference and (self.reference not in self.inputs or self.reference in SOURCES):
            raise InputError(f"det eval: the reference must be one of the fused inputs "
                             f"{[i for i in self.inputs if i not in SOURCES]}, got {self.reference!r}")

    def references(self) -> tuple[str, ...]:
        """The inputs every fused input is compared with: IR, VIS and the reference if any."""
        return (*SOURCES, *([self.reference] if self.reference else []))

    def protocols_of(self, detector: str) -> tuple[str, ...]:
        return self.protocols if detector == "hog" else self.tiny_protocols

    def runs(self, input_name: str) -> list[tuple[str, str]]:
        """(detector, protocol) pairs evaluated on ``input_name``."""
        out = [("hog", p) for p in self.protocols] if "hog" in self.detectors else []
        if "tiny" in self.detectors and (self.tiny_inputs is None or input_name in self.tiny_inputs):
            out += [("tiny", p) for p in self.tiny_protocols]
        return out


def label_variant(input_name: str, protocol: str) -> str:
    return "fusion" if protocol == "common" else OWN_LABELS.get(input_name, "fusion")


def split_of(name: str) -> str | None:
    """MSRS names end in D (day) or N (night); other sets have no split."""
    return {"D": "day", "N": "night"}.get(name[-1:])


def night_people(dataset: str, variant: str, limit: int | None = None) -> dict[str, int]:
    """Night image name -> number of labelled people in the ``variant`` labels (first ``limit`` pairs)."""
    folder = resolve_dataset(dataset)
    nights = [p.name for p in find_pairs(folder)[0][:limit or None] if split_of(p.name) == "night"]
    labels = load_labels(folder, variant, dict.fromkeys(nights, (1, 1)))
    return {n: int(np.sum(labels[n].classes == PERSON)) for n in nights}


def busiest_night_pair(dataset: str, limit: int | None = None) -> str | None:
    """The night image with the most labelled people (``fusion`` labels): the figure's scene."""
    people = night_people(dataset, "fusion", limit)
    return max(people, key=lambda n: (people[n], n)) if people else None


def ir_only_night_pairs(dataset: str, count: int) -> list[str]:
    """Night images whose people are seen in IR only: most person boxes in ``infrared`` labels beyond
    ``visible`` labels (annotated on each source alone), ties by name; those with no such person left out."""
    ir, vis = night_people(dataset, "infrared"), night_people(dataset, "visible")
    gain = {n: ir[n] - vis[n] for n in ir}
    return sorted((n for n in gain if gain[n] > 0), key=lambda n: (-gain[n], n))[:count]


# --- images of every input -------------------------------------------------------------------------------

def source_image(pair: Pair, which: str) -> np.ndarray:
    """RGB uint8 of the IR (gray in 3 channels, on the VIS grid) or VIS image of a pair."""
    vis = read_image(pair.vis)
    if which == "vis":
        if vis.dtype == np.uint8:
            return vis if vis.ndim == 3 else np.repeat(vis[..., None], 3, axis=2)
        return np.repeat(to_gray_u8(thermal_to_float(vis, (0.0, 100.0)))[..., None], 3, axis=2)
    ir = to_gray_u8(resize_to(thermal_to_float(read_image(pair.ir)), vis.shape[:2]))
    return np.repeat(ir[..., None], 3, axis=2)


def _fingerprint(*parts: object) -> str:
    digest = hashlib.sha1()
    for part in parts:
        data = part.tobytes() if isinstance(part, np.ndarray) else json.dumps(part, default=str).encode()
        digest.update(data)
    return digest.hexdigest()[:16]


def input_images(name: str, pairs: Sequence[Pair], folder: Path,
                 fuse: Callable[[Pair], np.ndarray] | None) -> dict[str, np.ndarray]:
    """RGB uint8 image of ``name`` for every pair; fused ones are cached as PNG in ``folder``.

    The cache is checked by fusing the first pair again: a different result (new weights, changed code)
    empties it.
    """
    if fuse is None:
        return {p.name: source_image(p, name) for p in pairs}
    folder.mkdir(parents=True, exist_ok=True)
    first = fuse(pairs[0])
    cached = folder / f"{pairs[0].name}.png"
    if cached.is_file() and not np.array_equal(read_image(cached), first):
        log.info("%s: cached fused images are stale, fusing again", name)
        for stale in folder.glob("*.png"):
            stale.unlink()
    images = {pairs[0].name: first}
    write_image(cached, first)
    for pair in pairs[1:]:
        path = folder / f"{pair.name}.png"
        if path.is_file():
            images[pair.name] = read_image(path)
        else:
            images[pair.name] = fuse(pair)
            write_image(path, images[pair.name])
    return images


# --- detections, cached --------------------------------------------------------------------------------

def _boxes_to_json(boxes: Boxes) -> list[list[float]]:
    rows = np.concatenate([boxes.xyxy, boxes.classes[:, None], boxes.scores[:, None]], axis=1)
    return rows.round(4).tolist()


def _boxes_from_json(rows: list[list[float]]) -> Boxes:
    a = np.asarray(rows, np.float64).reshape(-1, 6)
    return Boxes.make(a[:, :4], a[:, 4].astype(np.int64), a[:, 5])


def cached_detections(path: Path, key: str, compute: Callable[[], dict[str, Boxes]]) -> dict[str, Boxes]:
    """Detections per image from ``path`` when its key matches, else ``compute()`` (then saved)."""
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return {name: _boxes_from_json(rows) for name, rows in stored["detections"].items()}
    detections = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {"key": key, "detections": {n: _boxes_to_json(b) for n, b in detections.items()}}
    path.write_text(json.dumps(stored))
    return detections


# --- scoring -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class APRow:
    detector: str
    protocol: str
    input: str
    labels: str
    split: str
    cls: str
    estimate: APEstimate


@dataclass(frozen=True)
class DiffRow:
    detector: str
    protocol: str
    split: str
    cls: str
    input: str
    reference: str
    difference: float
    low: float
    high: float


@dataclass
class DetReport:
    config: DetEvalConfig
    rows: list[APRow] = field(default_factory=list)
    differences: list[DiffRow] = field(default_factory=list)
    samples: dict[tuple[str, str, str, str, str], np.ndarray] = field(default_factory=dict)
    figure_detections: dict[tuple[str, str], dict[str, Boxes]] = field(default_factory=dict)
    n_images: dict[str, int] = field(default_factory=dict)


def detector_classes(detector: str) -> tuple[int, ...]:
    return (PERSON,) if detector == "hog" else tuple(range(len(CLASSES)))


def score(report: DetReport, detector: str, protocol: str, input_name: str, variant: str,
          detections: Mapping[str, Boxes], labels: Mapping[str, Boxes]) -> None:
    """AP50 + bootstrap interval for every split and class; resamples are kept for paired differences."""
    names = sorted(detections)
    matches = {n: match_image(detections[n], labels[n], len(CLASSES)) for n in names}
    for split in SPLITS:
        subset = [n for n in names if split == "all" or split_of(n) == split]
        if not subset:
            continue
        for c in detector_classes(detector):
            per_image: list[ClassMatches] = [matches[n][c] for n in subset]
            estimate, samples = ap_with_interval(per_image, report.config.resamples, report.config.seed)
            report.rows.append(APRow(detector, protocol, input_name, variant, split, CLASSES[c], estimate))
            report.samples[(detector, protocol, input_name, split, CLASSES[c])] = samples


def compare_to_references(report: DetReport) -> None:
    """Paired bootstrap intervals of AP(fused) - AP(IR), - AP(VIS) and - AP(reference) under the common labels."""
    points = {(r.detector, r.protocol, r.input, r.split, r.cls): r.estimate.ap for r in report.rows}
    for (detector, protocol, name, split, cls), samples in report.samples.items():
        if protocol != "common" or name in SOURCES:
            continue
        for ref in report.config.references():
            if ref == name:
                continue
            ref_samples = report.samples.get((detector, protocol, ref, split, cls))
            if ref_samples is None:
                continue
            lo, hi = paired_difference(samples, ref_samples)
            point = points[(detector, protocol, name, split, cls)]
            diff = point - points[(detector, protocol, ref, split, cls)]
            report.differences.append(DiffRow(detector, protocol, split, cls, name, ref, diff, lo, hi))


# --- the driver ------------------------------------------------------------------------------------------

@dataclass
class _LabelledSet:
    folder: Path
    pairs: list[Pair]
    labels: dict[str, dict[str, Boxes]]  # variant -> name -> boxes

    @classmethod
    def load(cls, dataset: str, limit: int | None, variants: Sequence[str]) -> _LabelledSet:
        folder = resolve_dataset(dataset)
        pairs = find_pairs(folder)[0]
        pairs = pairs[:limit] if limit else pairs
        sizes = {}
        for p in pairs:
            h, w = read_image(p.vis).shape[:2]
            sizes[p.name] = (w, h)
        return cls(folder, pairs, {v: load_labels(folder, v, sizes) for v in variants})


@dataclass
class _InputImages:
    """The images of one input: evaluation images and the tiny detector's extra training images."""

    name: str
    eval: dict[str, np.ndarray]
    train: dict[str, np.ndarray]

    def key(self, with_train: bool) -> str:
        ordered = [self.eval[n] for n in sorted(self.eval)]
        ordered += [self.train[n] for n in sorted(self.train)] if with_train else []
        return _fingerprint(*ordered)


def run_det_eval(config: DetEvalConfig, fusers: Mapping[str, Callable[[Pair], np.ndarray]],
                 figure_pair: str | None = None) -> DetReport:
    """Detect on every input, score every protocol; ``fusers``: input name -> pair -> fused RGB uint8."""
    missing = [i for i in config.inputs if i not in SOURCES and i not in fusers]
    if missing:
        raise InputError(f"no pipeline for input(s) {', '.join(missing)}")
    variants = sorted({label_variant(i, p) for i in config.inputs for _, p in config.runs(i)})
    evaluation = _LabelledSet.load(config.dataset, config.limit, variants)
    train_sets = [_LabelledSet.load(name, None, variants) for name in config.train_sets] \
        if "tiny" in config.detectors else []
    if {p.name for t in train_sets for p in t.pairs} & {p.name for p in evaluation.pairs}:
        raise InputError("a training set shares image names with the evaluation set")
    report = DetReport(config)
    report.n_images = {s: sum(1 for p in evaluation.pairs if s in ("all", split_of(p.name))) for s in SPLITS}
    cache = Path(config.cache_dir)
    tag = evaluation.folder.name
    for name in config.inputs:
        log.info("input %s: images", name)
        fuse = fusers.get(name)
        data = _InputImages(
            name, input_images(name, evaluation.pairs, cache / "images" / tag / name, fuse),
            {k: v for t in train_sets for k, v in
             input_images(name, t.pairs, cache / "images" / t.folder.name / name, fuse).items()})
        for detector, protocol in config.runs(name):
            variant = label_variant(name, protocol)
            labels = evaluation.labels[variant]
            if detector == "hog":
                detections = _hog_detections(data, config.hog, cache / "detections" / tag)
            else:
                train_labels = {k: v for t in train_sets for k, v in t.labels[variant].items()}
                detections = _tiny_detections(data, variant, labels, train_labels, config.tiny,
                                              cache / "detections" / tag)
            score(report, detector, protocol, name, variant, detections, labels)
            if protocol == "common" and figure_pair in detections:
                report.figure_detections[(detector, name)] = {figure_pair: detections[figure_pair]}
    compare_to_references(report)
    return report


def _hog_detections(data: _InputImages, hog_config: HogConfig, folder: Path) -> dict[str, Boxes]:
    key = _fingerprint(CACHE_VERSION, data.key(with_train=False), asdict(hog_config))
    hog = HogPersonDetector(hog_config)

    def detect() -> dict[str, Boxes]:
        log.info("input %s: HOG on %d images", data.name, len(data.eval))
        return {n: hog(img) for n, img in data.eval.items()}

    return cached_detections(folder / f"hog__{data.name}.json", key, detect)


def _tiny_detections(data: _InputImages, variant: str, eval_labels: Mapping[str, Boxes],
                     train_labels: Mapping[str, Boxes], train_config: TrainConfig,
                     folder: Path) -> dict[str, Boxes]:
    from .train import cross_validated_predictions

    eval_names, train_names = sorted(data.eval), sorted(data.train)
    label_key = [_boxes_to_json(eval_labels[n]) for n in eval_names] + \
        [_boxes_to_json(train_labels[n]) for n in train_names]
    key = _fingerprint(CACHE_VERSION, data.key(with_train=True), train_config.to_dict(), label_key)

    def train_and_predict() -> dict[str, Boxes]:
        log.info("input %s: tiny detector, %d folds x %d steps, %s labels", data.name, train_config.folds,
                 train_config.steps, variant)
        return cross_validated_predictions({**data.eval, **data.train}, {**eval_labels, **train_labels},
                                           eval_names, train_names, train_config)

    extra = f"__plus_{len(train_names)}_train" if train_names else ""  # runs with and without them coexist
    return cached_detections(folder / f"tiny__{data.name}__{variant}{extra}.json", key, train_and_predict)
