"""Detection-driven evaluation: AP50, bootstrap intervals, YOLO labels, HOG, the tiny detector, the driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sgdfuse_ros.detection.ap import (
    ClassMatches,
    PooledMatches,
    _weighted_ap,
    ap_with_interval,
    average_precision,
    bootstrap_aps,
    match_class,
    match_image,
    paired_difference,
)
from sgdfuse_ros.detection.boxes import Boxes, iou_matrix, nms
from sgdfuse_ros.detection.labels import label_folder, load_labels, parse_yolo_labels, read_yolo_labels
from sgdfuse_ros.errors import ConfigError, InputError

GT = Boxes.make([[10, 10, 30, 50], [100, 20, 120, 70]], [0, 0])


def ap_of(dets: Boxes, gt: Boxes = GT) -> float:
    return average_precision([match_class(dets, gt)])


# --- AP on hand-made cases --------------------------------------------------------------------------------

def test_perfect_detections_give_ap_one() -> None:
    assert ap_of(Boxes.make(GT.xyxy, [0, 0], [0.9, 0.8])) == pytest.approx(1.0)


def test_false_positive_ranked_first() -> None:
    dets = Boxes.make([[200, 200, 220, 240], *GT.xyxy], [0, 0, 0], [0.95, 0.9, 0.8])
    # precision 1/2 at recall 1/2 and 2/3 at recall 1; the envelope is 2/3 everywhere
    assert ap_of(dets) == pytest.approx(2 / 3)
    last = Boxes.make([*GT.xyxy, [200, 200, 220, 240]], [0, 0, 0], [0.9, 0.8, 0.1])
    assert ap_of(last) == pytest.approx(1.0)  # ranked below every true positive it costs nothing


def test_missed_objects_bound_recall() -> None:
    gt = Boxes.make([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], [0, 0, 0, 0])
    assert ap_of(Boxes.make(gt.xyxy[:2], [0, 0], [0.9, 0.8]), gt) == pytest.approx(0.5)
    assert ap_of(Boxes.empty(), gt) == 0.0


def test_duplicates_and_iou_threshold_and_classes() -> None:
    dup = Boxes.make([GT.xyxy[0], GT.xyxy[0] + 1], [0, 0], [0.9, 0.8])
    m = match_class(dup, GT.select(np.array([0])))
    assert m.true_positive.tolist() == [True, False]  # one object, one match
    gt = Boxes.make([[0, 0, 100, 100]], [0])
    below = Boxes.make([[0, 0, 100, 49]], [0], [1.0])  # IoU 0.49
    above = Boxes.make([[0, 0, 100, 51]], [0], [1.0])  # IoU 0.51
    assert ap_of(below, gt) == 0.0 and ap_of(above, gt) == 1.0
    other_class = match_image(Boxes.make(GT.xyxy, [2, 2], [0.9, 0.8]), GT, num_classes=3)
    assert average_precision([other_class[0]]) == 0.0 and np.isnan(average_precision([other_class[2]]))


def test_greedy_matching_by_score_takes_best_unmatched() -> None:
    gt = Boxes.make([[0, 0, 10, 20], [2, 0, 12, 20]], [0, 0])  # two overlapping people
    # the lower-scored detection overlaps the taken box most (IoU 0.90) but the free one enough (0.74)
    dets = Boxes.make([[0.5, 0, 10.5, 20], [0, 0, 10, 20]], [0, 0], [0.8, 0.9])
    m = match_class(dets, gt)
    assert m.scores.tolist() == pytest.approx([0.9, 0.8]) and m.true_positive.tolist() == [True, True]
    far = match_class(Boxes.make([[0, 0, 10, 20], [30, 0, 40, 20]], [0, 0], [0.9, 0.8]), gt)
    assert far.true_positive.tolist() == [True, False] and far.n_ground_truth == 2


def test_weighted_ap_equals_repeated_images() -> None:
    rng = np.random.default_rng(3)
    images = [ClassMatches(rng.random(5), rng.random(5) < 0.5, 4) for _ in range(5)]
    weights = np.array([[2, 0, 1, 1, 3]], float)
    repeated = [images[0]] * 2 + [images[2], images[3]] + [images[4]] * 3
    assert _weighted_ap(PooledMatches.pool(images), weights)[0] == pytest.approx(average_precision(repeated))


# --- bootstrap ------------------------------------------------------------------------------------------

def synthetic_matches(n_images: int, seed: int) -> list[ClassMatches]:
    """A detector finding ~70 % of 3 objects per image, with true positives scored higher on average."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_images):
        tp = rng.random(3) < 0.7
        fp = rng.integers(0, 3)
        scores = np.concatenate([rng.normal(0.7, 0.15, tp.sum()), rng.normal(0.4, 0.15, fp)])
        out.append(ClassMatches(scores, np.concatenate([np.ones(tp.sum(), bool), np.zeros(fp, bool)]), 3))
    return out


def test_bootstrap_interval_contains_estimate_and_narrows() -> None:
    small, samples = ap_with_interval(synthetic_matches(30, 0), n_resamples=1000, seed=1)
    large, _ = ap_with_interval(synthetic_matches(600, 0), n_resamples=1000, seed=1)
    for est in (small, large):
        assert est.low <= est.ap <= est.high
    assert (large.high - large.low) < 0.5 * (small.high - small.low)
    assert samples.shape == (1000,) and small.n_images == 30 and small.n_ground_truth == 90


def test_bootstrap_is_seeded_and_paired() -> None:
    matches = synthetic_matches(40, 2)
    a, b = bootstrap_aps(matches, 200, seed=5), bootstrap_aps(matches, 200, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, bootstrap_aps(matches, 200, seed=6))
    assert paired_difference(a, b) == (0.0, 0.0)
    with pytest.raises(InputError):
        paired_difference(a, a[:10])


# --- boxes ---------------------------------------------------------------------------------------------

def test_iou_and_nms() -> None:
    assert iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])[0] == \
        pytest.approx([1.0, 1 / 3, 0.0])
    boxes = Boxes.make([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10], [50, 50, 60, 60]], [0, 0, 1, 0],
                       [0.5, 0.9, 0.3, 0.7])
    kept = nms(boxes, 0.5)
    kept_pairs = {(int(c), round(float(s), 2)) for c, s in zip(kept.classes, kept.scores, strict=True)}
    assert kept_pairs == {(0, 0.7), (0, 0.9), (1, 0.3)}
    with pytest.raises(InputError):
        Boxes(np.zeros((2, 4), np.float32), np.zeros(3, np.int64), np.zeros(2, np.float32))


# --- labels --------------------------------------------------------------------------------------------

def test_parse_yolo_labels_to_pixels() -> None:
    boxes = parse_yolo_labels("0 0.5 0.5 0.1 0.2\n\n2 0.25 0.75 0.5 0.5  \n", width=640, height=480)
    np.testing.assert_allclose(boxes.xyxy, [[288, 192, 352, 288], [0, 240, 320, 480]])
    assert boxes.classes.tolist() == [0, 2] and len(parse_yolo_labels("", 640, 480)) == 0


@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0.1", "expected 'class cx cy w h'"),
    ("person 0.5 0.5 0.1 0.1", "not numbers"),
    ("0 0.5 0.5 0.1 nan", "normalised"),
    ("3 0.5 0.5 0.1 0.1", "class 3 outside"),
    ("0 0.5 1.5 0.1 0.1", "normalised"),
    ("0 0.5 0.5 0.0 0.1", "zero size"),
])
def test_label_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_yolo_labels("1 0.5 0.5 0.1 0.1\n" + text, 640, 480, source="x.txt")
    assert "x.txt:2" in str(err.value)


def test_missing_label_file_and_variant(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such label file"):
        read_yolo_labels(tmp_path / "a.txt", 640, 480)
    with pytest.raises(InputError, match="no YOLO detection labels"):
        label_folder(tmp_path, "fusion")
    with pytest.raises(InputError, match="variant"):
        label_folder(tmp_path, "thermal")


def test_msrs_label_variants_exist_and_differ(shared_data: Path) -> None:
    folder = shared_data / "ivif" / "msrs_test"
    names = sorted(p.stem for p in (folder / "vi").iterdir())
    sizes = dict.fromkeys(names, (640, 480))
    counts = {v: sum(len(b) for b in load_labels(folder, v, sizes).values())
              for v in ("fusion", "infrared", "visible")}
    assert len(names) == 160 and len(set(counts.values())) == 3
    fusion = load_labels(folder, "fusion", sizes)
    assert sum(int((b.classes == 0).sum()) for b in fusion.values()) == 398  # as the data README says


# --- HOG -----------------------------------------------------------------------------------------------

def test_hog_detects_people_boxes_in_image_pixels(samples_dir: Path) -> None:
    from sgdfuse_ros.detection.hog import HogConfig, HogPersonDetector
    from sgdfuse_ros.images import read_image

    image = read_image(samples_dir / "vi" / "msrs_00055D.png")[120:360, 320:]  # two people at the right
    detector = HogPersonDetector()
    boxes = detector(image)
    assert isinstance(boxes, Boxes) and len(boxes) > 0
    assert boxes.xyxy.dtype == np.float32 and boxes.xyxy.shape[1] == 4
    assert (boxes.classes == 0).all() and len(boxes) <= detector.config.max_detections
    assert (boxes.xyxy[:, 2] > boxes.xyxy[:, 0]).all() and (boxes.xyxy[:, 3] > boxes.xyxy[:, 1]).all()
    w, h = image.shape[1], image.shape[0]
    centres = (boxes.xyxy[:, :2] + boxes.xyxy[:, 2:]) / 2
    assert ((centres >= 0) & (centres <= [w, h])).all()
    assert len(detector(image[..., 0])) > 0  # gray works too
    assert detector.smallest_person_px == pytest.approx(128 * 0.75 / 2)
    with pytest.raises(InputError):
        detector(image.astype(np.float32))
    with pytest.raises(ConfigError, match="detector"):
        HogPersonDetector(HogConfig(detector="yolo"))


# --- tiny detector ---------------------------------------------------------------------------------------

def synthetic_scene(rng: np.random.Generator) -> tuple[np.ndarray, Boxes]:
    """Dark noise with bright tall 'people' (class 0) and dimmer wide 'cars' (class 2), 320x240."""
    image = rng.integers(0, 40, (240, 320, 3)).astype(np.uint8)
    xyxy, classes = [], []
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.choice([0, 2]))
        w, h = (12, 28) if cls == 0 else (40, 20)
        x, y = int(rng.integers(0, 320 - w)), int(rng.integers(0, 240 - h))
        image[y:y + h, x:x + w] = 200 if cls == 0 else 120
        xyxy.append([x, y, x + w, y + h])
        classes.append(cls)
    return image, Boxes.make(xyxy, classes)


def test_targets_decode_and_folds() -> None:
    import torch

    from sgdfuse_ros.detection.tiny_detector import STRIDE, TinyCenterNet, decode
    from sgdfuse_ros.detection.train import fold_of, make_targets

    t = make_targets(Boxes.make([[40, 20, 52, 48]], [0]), (30, 40), num_classes=3)
    assert t["heat"][0].max() == 1.0 and np.unravel_index(t["heat"][0].argmax(), (30, 40)) == (8, 11)
    assert t["heat"][1:].max() == 0.0 and t["mask"].sum() == 1.0
    np.testing.assert_allclose(t["size"][:, 8, 11], np.log([12 / STRIDE, 28 / STRIDE]), rtol=1e-6)
    out = TinyCenterNet()(torch.zeros(2, 3, 128, 160))
    assert out.shape == (2, 7, 32, 40)
    boxes = decode(out, max_detections=5)
    assert len(boxes) == 2 and all(len(b) <= 5 and b.xyxy.shape[1] == 4 for b in boxes)
    folds = fold_of([f"{i:05d}{'DN'[i % 2]}" for i in range(20)], 5)
    for k in range(5):
        members = [n for n, f in folds.items() if f == k]
        assert len(members) == 4 and {n[-1] for n in members} == {"D", "N"}


def test_tiny_detector_learns_synthetic_objects() -> None:
    import torch

    from sgdfuse_ros.detection.tiny_detector import TinyDetector
    from sgdfuse_ros.detection.train import Sample, TrainConfig, train_detector

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train = [Sample(*synthetic_scene(rng)) for _ in range(12)]
    test = [synthetic_scene(rng) for _ in range(6)]
    detector = TinyDetector(train_detector(train, TrainConfig(steps=80, batch=8), seed=0))
    big = np.kron(test[0][0], np.ones((2, 2, 1), np.uint8))  # 640x480 input: boxes come back in its pixels
    assert detector(big).xyxy.max() > 320
    matches = [match_image(detector(image), truth, 3) for image, truth in test]
    assert average_precision([m[0] for m in matches]) > 0.5  # an untrained net scores ~0


# --- the driver and `sgdfuse eval --task det` -------------------------------------------------------------

def write_synthetic_set(root: Path, names: list[str]) -> Path:
    """A tiny labelled set: warm 'people' in IR, the same people dimly in VIS, labels in all three variants."""
    import cv2

    rng = np.random.default_rng(1)
    for sub in ("ir", "vi", "labels_det_yolo/fusion", "labels_det_yolo/infrared", "labels_det_yolo/visible"):
        (root / sub).mkdir(parents=True)
    for name in names:
        ir = rng.integers(10, 40, (120, 160), dtype=np.uint8)
        vis = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
        lines = []
        for x in rng.choice([10, 50, 90, 130], 2, replace=False):
            ir[30:90, x:x + 24] = 220
            vis[30:90, x:x + 24] = 90
            lines.append(f"0 {(x + 12) / 160:.4f} 0.5 {24 / 160:.4f} 0.5")
        cv2.imwrite(str(root / "ir" / f"{name}.png"), ir)
        cv2.imwrite(str(root / "vi" / f"{name}.png"), vis)
        for variant in ("fusion", "infrared", "visible"):
            (root / "labels_det_yolo" / variant / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_det_eval_driver_scores_caches_and_compares(tmp_path: Path) -> None:
    import torch

    from sgdfuse_ros.config import pipeline_from_spec
    from sgdfuse_ros.detection.task_eval import DetEvalConfig, run_det_eval
    from sgdfuse_ros.detection.train import TrainConfig

    torch.set_num_threads(1)  # small convolutions: threads only add overhead on a shared CPU
    dataset = write_synthetic_set(tmp_path / "set", ["00001D", "00002N", "00003D", "00004N"])
    _, average = pipeline_from_spec("average")
    fusers = {"average": lambda pair: average.fuse_files(pair.ir, pair.vis).fused}
    config = DetEvalConfig(inputs=("ir", "vis", "average"), dataset=str(dataset), resamples=50,
                           tiny=TrainConfig(steps=2, batch=2, folds=2), tiny_inputs=("ir", "average"),
                           tiny_protocols=("common", "own"), cache_dir=tmp_path / "cache")
    report = run_det_eval(config, fusers, figure_pair="00002N")
    hog_rows = [r for r in report.rows if r.detector == "hog"]
    assert len(hog_rows) == 3 * 2 * 3  # inputs x protocols x splits, person only
    assert len([r for r in report.rows if r.detector == "tiny"]) == 2 * 2 * 3 * 3  # + classes, ir/average
    assert {r.labels for r in report.rows if r.protocol == "own"} == {"infrared", "visible", "fusion"}
    assert all(r.estimate.n_images == {"all": 4, "day": 2, "night": 2}[r.split] for r in report.rows)
    assert {(d.input, d.reference) for d in report.differences} == {("average", "ir"), ("average", "vis")}
    assert ("tiny", "average") in report.figure_detections
    cached = sorted(p.name for p in (tmp_path / "cache" / "detections" / "set").iterdir())
    assert cached == ["hog__average.json", "hog__ir.json", "hog__vis.json", "tiny__average__fusion.json",
                      "tiny__ir__fusion.json", "tiny__ir__infrared.json"]  # average: own labels = fusion
    again = run_det_eval(config, fusers)  # everything from the cache, same numbers
    assert [(r.input, r.split, r.cls) for r in again.rows] == [(r.input, r.split, r.cls) for r in report.rows]
    np.testing.assert_allclose([r.estimate.ap for r in again.rows], [r.estimate.ap for r in report.rows],
                               atol=1e-3)  # cached scores are rounded to 4 decimals


def test_det_eval_reference_gives_paired_differences(tmp_path: Path) -> None:
    from sgdfuse_ros.config import pipeline_from_spec
    from sgdfuse_ros.detection.report import markdown_tables
    from sgdfuse_ros.detection.task_eval import DetEvalConfig, run_det_eval, source_image

    dataset = write_synthetic_set(tmp_path / "set", ["00001D", "00002N", "00003D", "00004N"])
    _, average = pipeline_from_spec("average")
    fusers = {"average": lambda pair: average.fuse_files(pair.ir, pair.vis).fused,
              "dim": lambda pair: source_image(pair, "vis")}  # another "fusion": the dim VIS people
    with pytest.raises(InputError, match="reference must be one of the fused inputs"):
        DetEvalConfig(inputs=("ir", "vis", "average"), reference="ir")
    config = DetEvalConfig(inputs=("ir", "vis", "average", "dim"), dataset=str(dataset), detectors=("hog",),
                           protocols=("common",), resamples=50, reference="average",
                           cache_dir=tmp_path / "cache")
    report = run_det_eval(config, fusers)
    assert {(d.input, d.reference) for d in report.differences} == {
        ("average", "ir"), ("average", "vis"), ("dim", "ir"), ("dim", "vis"), ("dim", "average")}
    ap = {(r.input, r.split): r.estimate.ap for r in report.rows}
    for d in (d for d in report.differences if d.reference == "average"):
        assert d.difference == pytest.approx(ap[("dim", d.split)] - ap[("average", d.split)])
        samples = [report.samples[("hog", "common", n, d.split, "person")] for n in ("dim", "average")]
        assert (d.low, d.high) == paired_difference(*samples)  # the one paired bootstrap, same resamples
    night = next(d for d in report.differences if d.reference == "average" and d.split == "night")
    assert night.difference != 0  # the two inputs do differ, so the checks above are not 0 == 0
    table = markdown_tables(report)
    assert "| − IR | − VIS | − average | vs better single |" in table
    assert f"| hog | person | night | dim | {ap[('dim', 'night')]:.3f} |" in table
    assert f"| {night.difference:+.3f} [{night.low:+.2f}, {night.high:+.2f}] |" in table


def test_eval_task_det_cli_writes_tables_and_figure(tmp_path: Path) -> None:
    import json

    from sgdfuse_ros.cli import main

    dataset = write_synthetic_set(tmp_path / "set", ["00001D", "00002N", "00003N"])
    out = tmp_path / "out"
    code = main(["eval", "--task", "det", "--datasets", str(dataset), "--methods", "average,maxabs",
                 "--detectors", "hog", "--resamples", "30", "--det-reference", "average",
                 "--det-cache", str(tmp_path / "cache"), "-o", str(out)])
    assert code == 0
    summary = (out / "det_summary.md").read_text()
    assert "| maxabs | fusion |" in summary and "Fused minus single modality and minus average" in summary
    rows = json.loads((out / "det_ap50.json").read_text())["ap50"]
    assert {r["input"] for r in rows} == {"ir", "vis", "average", "maxabs"}
    assert (out / "det_ap50.csv").read_text().startswith("detector,protocol,input,labels,split,class,ap50")
    from sgdfuse_ros.images import read_image

    figure = read_image(out / "det_night.png")
    assert figure.shape[1] > 3 * 320 - 10  # IR | VIS | fused
    with pytest.raises(SystemExit):
        main(["eval", "--task", "nope"])


def test_ir_only_night_pairs_and_grid_cli(tmp_path: Path) -> None:
    from sgdfuse_ros.cli import main
    from sgdfuse_ros.detection.task_eval import ir_only_night_pairs
    from sgdfuse_ros.images import read_image

    dataset = write_synthetic_set(tmp_path / "set", ["00001D", "00002N", "00003N", "00004N"])
    visible = dataset / "labels_det_yolo" / "visible"
    (visible / "00002N.txt").write_text("")  # both people unseen in VIS
    (visible / "00003N.txt").write_text((visible / "00003N.txt").read_text().splitlines()[0] + "\n")  # one
    (visible / "00001D.txt").write_text("")  # day: never picked
    assert ir_only_night_pairs(str(dataset), 5) == ["00002N", "00003N"]
    assert ir_only_night_pairs(str(dataset), 1) == ["00002N"]

    out = tmp_path / "grid.png"
    assert main(["grid", "--methods", "average,maxabs", "--dataset", str(dataset), "--cell-width", "100",
                 "-o", str(out)]) == 0
    grid = read_image(out)
    assert grid.shape[1] == 4 * (100 + 4) and grid.shape[0] == 2 * (75 + 4)  # 4 columns, 2 rows of 160x120
    assert main(["grid", "--methods", "average", "--dataset", str(dataset), "--pairs", "00009N",
                 "-o", str(out)]) == 2  # unknown pair: a clear error


def test_pseudo_label_script_writes_a_detection_set(tmp_path: Path, samples_dir: Path) -> None:
    """scripts/det_pseudo_labels.py: resized pairs and HOG's IR people as identical label variants, read back
    by the label reader; it refuses to write inside the source set."""
    import subprocess
    import sys

    from sgdfuse_ros.images import read_image

    script = Path(__file__).parents[1] / "scripts" / "det_pseudo_labels.py"
    env = {"PYTHONPATH": str(Path(__file__).parents[1])}
    run = subprocess.run([sys.executable, str(script), str(samples_dir), str(tmp_path / "set"), "--width", "320",
                          "--min-score", "0"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    names = sorted(p.stem for p in (samples_dir / "ir").iterdir())
    for name in names:
        ir = read_image(tmp_path / "set" / "ir" / f"{name}.png")
        assert ir.shape[1] == 320 and read_image(tmp_path / "set" / "vi" / f"{name}.png").shape[:2] == ir.shape[:2]
        texts = {v: (tmp_path / "set" / "labels_det_yolo" / v / f"{name}.txt").read_text()
                 for v in ("fusion", "infrared", "visible")}
        assert len(set(texts.values())) == 1
        read_yolo_labels(tmp_path / "set" / "labels_det_yolo" / "fusion" / f"{name}.txt", ir.shape[1], ir.shape[0])
    assert int(run.stdout.split(": ")[-1].split()[0]) > 0  # "wrote OUT: N pseudo-labelled people"
    inside = subprocess.run([sys.executable, str(script), str(tmp_path / "set"), str(tmp_path / "set" / "out")],
                            capture_output=True, text=True, env=env)
    assert inside.returncode != 0 and "inside the source set" in inside.stderr
