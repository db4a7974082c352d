"""Published reference tables (PEERS.md-style Markdown) read and set beside our means."""

from __future__ import annotations

import pytest

from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.evaluation.published import compare, read_published

TABLE = """# Published methods

Some prose with a | pipe that is not a table.

| set (pairs) | method | EN | SF | SSIM |
|---|---|---|---|---|
| alpha (3) | ref | 6.0 | 10.0 | 0.50 |
| | other | **7.0** | — | 0.40 |
| beta (1) | ref | 5.0 | 8.0 | 0.45 |

| something else | value |
|---|---|
| x | 1 |
"""


def test_read_published_carries_the_set_and_skips_what_is_not_a_number(tmp_path):
    path = tmp_path / "peers.md"
    path.write_text(TABLE)
    table = read_published(path)
    assert table == {("alpha", "ref"): {"EN": 6.0, "SF": 10.0, "SSIM": 0.5},
                     ("alpha", "other"): {"EN": 7.0, "SSIM": 0.4},
                     ("beta", "ref"): {"EN": 5.0, "SF": 8.0, "SSIM": 0.45}}


def test_compare_counts_strict_wins_on_the_metrics_every_reference_gives(tmp_path):
    path = tmp_path / "peers.md"
    path.write_text(TABLE)
    ours = {("alpha", "mine"): {"EN": 6.5, "SF": 12.0, "SSIM": 0.40}, ("gamma", "mine"): {"EN": 1.0}}
    text = compare(ours, read_published(path), ["EN", "SF", "SSIM"])
    assert "| ref (published) | 6 | **0.5** |" in text
    assert "| mine | 6.5 | 0.4 |" in text  # SF is not shown: 'other' does not give it
    assert "- mine vs ref: **1 of 2** (EN)" in text
    assert "- mine vs other: **0 of 2** (none)" in text  # a tie (SSIM 0.40) is not a win
    assert "### gamma\n\nNo published numbers for this set." in text


def test_read_published_rejects_a_missing_file_or_one_without_a_table(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_published(tmp_path / "missing.md")
    (tmp_path / "prose.md").write_text("no table here\n")
    with pytest.raises(ConfigError, match="no Markdown table"):
        read_published(tmp_path / "prose.md")

