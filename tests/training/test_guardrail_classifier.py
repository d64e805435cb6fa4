"""The guardrail classifiers' artefacts are reproducible: the trainer is deterministic, and each
shipped artefact records the digest of the rows it was trained on, which the script still builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.guardrails.classifier import load_model
from functions.guardrails.evaluation import DEFAULT_DATASETS
from training_jobs.guardrails import written_data
from training_jobs.guardrails.train_classifier import TASKS, pool_fingerprint, train


def test_training_twice_on_the_same_rows_writes_the_same_bytes(tmp_path: Path) -> None:
    pool = written_data.examples()
    first = train(pool, "injection", 0.005, tmp_path / "first.bin")
    second = train(pool, "injection", 0.005, tmp_path / "second.bin")
    assert first == second and first["pool_sha256"] == pool_fingerprint(pool)
    assert (tmp_path / "first.bin").read_bytes() == (tmp_path / "second.bin").read_bytes()


@pytest.mark.skipif(
    not (DEFAULT_DATASETS / "prompt_injection").is_dir(),
    reason="the shared data sets are not beside the checkout",
)
@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_shipped_artefact_was_trained_on_the_rows_the_script_builds(task: str) -> None:
    build_pool, artefact, _ = TASKS[task]
    metadata = load_model(artefact).metadata
    pool = build_pool(DEFAULT_DATASETS)
    assert metadata["pool_sha256"] == pool_fingerprint(pool)
    assert (metadata["rows"], metadata["task"]) == (len(pool), task)
