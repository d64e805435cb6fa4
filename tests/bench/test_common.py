"""The bench's shared helpers: tables, percentiles, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import Options, SkipSection, markdown_table, p50_p99_ms


def test_markdown_table_writes_header_rule_and_rows() -> None:
    assert markdown_table(["a", "b"], [(1, "x"), (2, "y")]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2 | y |"


def test_markdown_table_refuses_a_row_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="2 columns"):
        markdown_table(["a", "b"], [(1, 2, 3)])


def test_percentiles_are_in_milliseconds_and_never_beyond_the_samples() -> None:
    seconds = [i / 1000 for i in range(1, 101)]  # 1 ms ... 100 ms
    p50, p99 = p50_p99_ms(seconds)
    assert p50 == pytest.approx(50.5)
    assert 99.0 <= p99 <= 100.0


def test_percentiles_need_two_samples() -> None:
    with pytest.raises(ValueError):
        p50_p99_ms([0.1])


def test_missing_scifact_skips_with_the_folder_named(tmp_path: Path) -> None:
    with pytest.raises(SkipSection, match=str(tmp_path)):
        Options(datasets=tmp_path).scifact_dir()


def test_plots_live_beside_the_report_and_are_linked_relative_to_it(tmp_path: Path) -> None:
    options = Options(output=tmp_path / "docs" / "BENCHMARKS.md")
    assert options.plots_dir == tmp_path / "docs" / "bench"
    assert options.plot_link("x.png", "alt") == "![alt](bench/x.png)"
