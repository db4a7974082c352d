"""The `sgdfuse` CLI end to end on tiny folders: bad inputs are reported and the rest still processed."""

import csv

import numpy as np
import pytest

from sgdfuse_ros.cli import main
from sgdfuse_ros.images import read_image, write_image

rng = np.random.default_rng(2)


@pytest.fixture
def pair_folder(tmp_path):
    root = tmp_path / "set"
    for name in ("a", "b", "c"):
        write_image(root / "ir" / f"{name}.png", rng.integers(0, 256, (48, 64), dtype=np.uint8))
        write_image(root / "vi" / f"{name}.png", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    (root / "ir" / "b.png").write_bytes(b"corrupt")  # unreadable
    write_image(root / "ir" / "lonely.png", np.zeros((48, 64), np.uint8))  # no partner
    return root


def test_fuse_one_pair(tmp_path, pair_folder, capsys):
    out = tmp_path / "one.png"
    assert main(["fuse", "--ir", str(pair_folder / "ir/a.png"), "--vis", str(pair_folder / "vi/a.png"),
                 "-o", str(out), "--pipeline", "average"]) == 0
    assert read_image(out).shape == (48, 64, 3)


def test_fuse_folder_processes_good_pairs_and_names_bad_ones(tmp_path, pair_folder, capsys):
    out = tmp_path / "out"
    assert main(["fuse", str(pair_folder), "-o", str(out), "--pipeline", "average"]) == 1
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    assert "fused 2 of 3 pairs" in printed
    assert "b.png: not a readable image" in printed and "ir/lonely.png: no partner" in printed


def test_missing_file_is_a_clear_error_with_exit_2(tmp_path, capsys):
    code = main(["fuse", "--ir", str(tmp_path / "nope.png"), "--vis", str(tmp_path / "nope2.png"), "-o",
                 str(tmp_path / "x.png")])
    assert code == 2 and "nope.png: no such file" in capsys.readouterr().err


def test_eval_writes_reports_and_records_failures(tmp_path, pair_folder, capsys):
    out = tmp_path / "eval"
    code = main(["eval", "--methods", "average,gff", "--datasets", str(pair_folder), "-o", str(out)])
    assert code == 1  # one corrupt pair, one unmatched name
    for name in ("summary.md", "summary.csv", "scores.csv", "metrics.png", "grid_set.jpg"):
        assert (out / name).stat().st_size > 0
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert {(r["method"], r["pair"]) for r in rows if not r["error"]} == {
        (m, p) for m in ("average", "gff") for p in ("a", "c")}
    assert all("not a readable image" in r["error"] for r in rows if r["pair"] == "b")
    summary = list(csv.DictReader((out / "summary.csv").open()))
    gff = next(r for r in summary if r["method"] == "gff")
    avg = next(r for r in summary if r["method"] == "average")
    assert float(gff["SF"]) > float(avg["SF"])  # averaging blurs: lowest spatial frequency
    assert float(avg["NR med"]) < 1.0 and all(r["NR"] for r in rows if not r["error"])  # noise beside the nine
    assert "| method | EN | MI | SD | SF | AG | VIF | Qabf | SCD | SSIM | NR med | OS med |" in capsys.readouterr().out


def test_eval_writes_published_md_beside_its_reports(tmp_path, pair_folder, capsys):
    peers = tmp_path / "peers.md"
    peers.write_text("| set | method | SF | EN |\n|---|---|---|---|\n| set | blur | 0.001 | 99 |\n")
    out = tmp_path / "eval"
    main(["eval", "--methods", "average", "--datasets", str(pair_folder), "-o", str(out), "--published", str(peers)])
    text = (out / "published.md").read_text()
    assert "| blur (published) |" in text and "- average vs blur: **1 of 2** (SF)" in text
    assert "| EN | SF | NR med | OS med |" in text and "| blur (published) | **99** | 0.001 | – | – |" in text
    assert main(["eval", "--methods", "average", "--datasets", str(pair_folder), "-o", str(tmp_path / "x"),
                 "--published", str(tmp_path / "missing.md")]) == 2
    assert not (tmp_path / "x").exists()  # the bad file stopped it before any work


def test_demo_writes_fused_images_and_grid(tmp_path, samples_dir, capsys):
    assert main(["demo", "-o", str(tmp_path), "--pipeline", "average", "--frames", "4"]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 0
    assert len(list(tmp_path.glob("*_fused.png"))) == len(list((samples_dir / "ir").iterdir()))


def test_mask_perturbation_variants_change_only_the_masks(tmp_path, pair_folder):
    from sgdfuse_ros.cli.eval import perturbed_variants
    from sgdfuse_ros.config import PipelineConfig, build_pipeline
    from sgdfuse_ros.errors import ConfigError
    from sgdfuse_ros.images import prepare_pair

    base = build_pipeline(PipelineConfig.from_dict({"stage1.method": "average", "masks.source": "offline"}))
    variants = perturbed_variants({"p": base}, "erode:3,dilate:3")
    assert set(variants) == {"p+erode:3", "p+dilate:3"}
    pair = prepare_pair(read_image(pair_folder / "ir/a.png"), read_image(pair_folder / "vi/a.png"))
    plain, eroded, dilated = base.masks(pair), variants["p+erode:3"].masks(pair), variants["p+dilate:3"].masks(pair)
    for key in ("ir", "vis"):
        assert (eroded[key] <= plain[key] + 1e-6).all() and (dilated[key] >= plain[key] - 1e-6).all()
    assert base.masks is not variants["p+erode:3"].masks
    with pytest.raises(ConfigError, match="uses masks"):
        no_masks = PipelineConfig.from_dict({"stage1.method": "average", "masks.source": "none"})
        perturbed_variants({"avg": build_pipeline(no_masks)}, "erode:3")


def test_eval_ablations_writes_one_table_and_counts_failed_pairs(tmp_path, pair_folder, capsys):
    out = tmp_path / "abl"
    code = main(["eval", "--ablations", "--datasets", str(pair_folder), "--limit", "0", "-o", str(out),
                 "--ablation-dir", str(tmp_path / "not_trained")])
    table = (out / "ablations.md").read_text()
    assert code == 1 and "b.png" in table  # the corrupt pair is listed, the others scored
    assert "| stage 1 | set |" in table and "| full (default: student, 1 step, x_T = 0) | set |" in table
    assert "| full, seeded x_T | set |" in table
    assert "short run: no HFAH: not trained" in table
