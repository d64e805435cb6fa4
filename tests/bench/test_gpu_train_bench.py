"""The GPU benchmark script runs end to end at toy size on a CPU, so a GPU's time is not wasted."""

from __future__ import annotations

import json
from pathlib import Path


def test_gpu_bench_smoke_writes_its_results(tmp_path: Path) -> None:
    from bench.gpu_train_bench import main

    results = main(["--smoke", "--output", str(tmp_path / "bench.json")])
    assert json.loads((tmp_path / "bench.json").read_text()) == results
    assert results["pretrain"]["tokens_per_second"] > 0
    assert results["pretrain"]["parameters"] > 0
    assert results["lora"]["step_seconds_median"] > 0
    assert 0 < results["lora"]["trainable_parameters"] < results["lora"]["base_parameters"]
