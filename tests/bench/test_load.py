"""Reading the locust users' final summary."""

from __future__ import annotations

import json
from pathlib import Path

from bench.load import Endpoint, read_summary


def test_summary_gives_each_request_name_its_figures(tmp_path: Path) -> None:
    figures = {"requests": 10, "failures": 1, "rps": 2.5, "p50_ms": 40.0, "p99_ms": 90.0}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"POST /v1/query": figures, "Aggregated": figures}))
    summary = read_summary(path)
    assert summary["POST /v1/query"] == Endpoint(10, 1, 2.5, 40.0, 90.0)
    assert summary["Aggregated"].succeeded == 9
