"""RLHF: the reward model, policy optimization with GRPO and RLOO, and DPO."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from tests.training.conftest import metrics_of
from training_jobs.common.jsonl import DatasetError, write_jsonl
from training_jobs.common.trainer import TINY_TRAINER


def assert_share_of_pairs(share: float, pairs: int) -> None:
    """`share` counts pairs: trl averages per evaluation batch, so the held-out pairs must fit one."""
    assert 0 < pairs <= TINY_TRAINER["per_device_train_batch_size"]
    assert share * pairs == pytest.approx(round(share * pairs))


def test_reward_model_reports_pairwise_accuracy_on_held_out_pairs(
    reward_model: Path, sft_model: Path
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    metrics = metrics_of(reward_model)
    assert_share_of_pairs(metrics["pairwise_accuracy"], metrics["eval_pairs"])
    assert metrics["base_model"] == str(sft_model.resolve())
    model = AutoModelForSequenceClassification.from_pretrained(reward_model)
    assert model.config.num_labels == 1
    assert AutoTokenizer.from_pretrained(reward_model).chat_template


@pytest.mark.parametrize("algorithm", ["grpo", "rloo"])
def test_policy_optimization_against_the_reward_model(
    algorithm: str, policy_models: dict[str, Path], sft_model: Path, reward_model: Path
) -> None:
    metrics = metrics_of(policy_models[algorithm])
    assert metrics["algorithm"] == algorithm
    assert metrics["beta"] > 0  # the KL tie to the SFT reference
    assert metrics["base_model"] == str(sft_model.resolve())
    assert metrics["reward_model"] == str(reward_model)
    assert math.isfinite(metrics["eval_reward_before"]) and math.isfinite(metrics["eval_reward_after"])
    assert metrics["saved"] == "full"
    assert (policy_models[algorithm] / "model.safetensors").is_file()


def test_policy_optimization_refuses_to_drop_the_kl_tie(tmp_path: Path) -> None:
    from training_jobs.common.args import parse_job_args
    from training_jobs.rlhf.policy import main, make_parser

    for algorithm in ("grpo", "rloo"):
        argv = ["--algorithm", algorithm, "--beta", "0", "--output_dir", str(tmp_path)]
        with pytest.raises(ValueError, match="--beta must be > 0"):
            main(*parse_job_args(make_parser(None, argv), argv))


def test_dpo_trains_an_adapter_against_the_sft_reference(dpo_adapter: Path, sft_model: Path) -> None:
    metrics = metrics_of(dpo_adapter)
    assert_share_of_pairs(metrics["preference_accuracy"], metrics["eval_pairs"])
    assert metrics["beta"] == 0.1
    assert metrics["saved"] == "adapter"
    adapter = json.loads((dpo_adapter / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(sft_model.resolve())


@pytest.mark.parametrize("job", ["reward", "dpo", "policy"])
def test_a_preference_set_without_pairs_stops_the_job_with_the_reason(
    job: str, tmp_path: Path, pretrained: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from training_jobs.cli import main

    for split in ("train", "eval"):
        write_jsonl(tmp_path / "preference" / f"{split}.jsonl", [])
    extra = ["--reward_model_name_or_path", str(pretrained)] if job == "policy" else []
    with caplog.at_level(logging.ERROR):
        status = main(
            [
                job,
                "--model_name_or_path",
                str(pretrained),
                "--data_dir",
                str(tmp_path / "preference"),
                "--output-dir",
                str(tmp_path / "out"),
                *extra,
            ]
        )
    assert status == 2
    assert "preference pairs" in caplog.text and "holds no examples" in caplog.text
    assert "thumbs-down, escalated or rephrased answer" in caplog.text


def test_rows_without_the_pair_keys_are_rejected(tmp_path: Path, pretrained: Path) -> None:
    from training_jobs.common.args import parse_job_args
    from training_jobs.rlhf.reward import main, make_parser

    write_jsonl(tmp_path / "preference" / "train.jsonl", [{"messages": []}])
    argv = [
        "--model_name_or_path",
        str(pretrained),
        "--data_dir",
        str(tmp_path / "preference"),
        "--output_dir",
        str(tmp_path / "out"),
    ]
    with pytest.raises(DatasetError, match=r"lack \['prompt', 'chosen', 'rejected'\]"):
        main(*parse_job_args(make_parser(None, argv), argv))
