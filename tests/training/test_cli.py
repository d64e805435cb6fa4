"""`genai-stack train`: help for every job, and a `--tiny` job that builds all of its own inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import metrics_of, run_cli
from training_jobs.cli import main
from training_jobs.common.jobs import JOBS


def test_help_lists_every_job(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    listed = capsys.readouterr().out
    for name in [*JOBS, "launch"]:
        assert name in listed


@pytest.mark.parametrize("job", [*JOBS, "launch"])
def test_every_job_answers_help_with_tiny_and_output_flags(
    job: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([job, "--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: genai-stack train {job}" in text
    assert "--tiny" in text
    if job == "launch":
        assert "--instance-type" in text and "--instance-count" in text
    else:
        assert "--output-dir" in text


def test_an_unknown_job_is_refused() -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["teleport"])
    assert stopped.value.code == 2


def test_data_tiny_builds_the_sample_sets(tmp_path: Path) -> None:
    run_cli("data", "--tiny", "--output-dir", str(tmp_path / "data"))
    card = json.loads((tmp_path / "data" / "dataset_card.json").read_text())
    assert card["sft"]["train"] > 0 and card["preference"]["train"] > 0 and card["corpus"]["train"] > 0
    assert (tmp_path / "tiny-inputs" / "export.jsonl").is_file()


def test_policy_tiny_stands_alone(tmp_path: Path) -> None:
    # GIVEN nothing but the command: no data, no SFT model, no reward model
    run_cli("policy", "--tiny", "--algorithm", "rloo", "--output-dir", str(tmp_path / "policy"))
    # THEN the tiny inputs were built beside the output, once, and the policy was trained on them
    inputs = tmp_path / "tiny-inputs"
    assert (inputs / "data" / "dataset_card.json").is_file()
    assert (inputs / "base" / "config.json").is_file()
    assert (inputs / "reward" / "config.json").is_file()
    metrics = metrics_of(tmp_path / "policy")
    assert metrics["algorithm"] == "rloo"
    assert metrics["reward_model"] == str(inputs / "reward")
