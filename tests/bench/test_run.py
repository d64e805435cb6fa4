"""Writing sections into the report and naming the command of each."""

from __future__ import annotations

from bench.run import HEADER, merge_report, section_command

ORDER = ["retrieval", "latency", "load"]


def test_a_fresh_section_replaces_its_block_and_keeps_the_others_in_order() -> None:
    existing = merge_report("", {"load": "## Load\nold load", "retrieval": "## R\nold r"}, ORDER)
    updated = merge_report(existing, {"latency": "## L\nnew", "load": "## Load\nnew load"}, ORDER)
    assert updated.startswith(HEADER)
    assert "old r" in updated and "new load" in updated and "old load" not in updated
    assert updated.index("old r") < updated.index("## L") < updated.index("new load")


def test_merging_twice_gives_the_same_report() -> None:
    once = merge_report("", {"latency": "## L\nx"}, ORDER)
    assert merge_report(once, {}, ORDER) == once


def test_section_command_names_only_that_section_and_keeps_the_options() -> None:
    assert section_command([], "load") == "python -m bench.run --only load"
    argv = ["--only", "retrieval,latency", "--sizes", "1000", "--only=x"]
    assert section_command(argv, "latency") == "python -m bench.run --only latency --sizes 1000"
