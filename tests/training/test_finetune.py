"""Supervised fine-tuning: LoRA merged into the base, QLoRA with the adapter saved on its own."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.training.conftest import metrics_of, run_cli


def test_lora_sft_reports_held_out_quality_and_saves_a_merged_model(
    sft_model: Path, pretrained: Path, datasets_dir: Path
) -> None:
    from transformers import AutoTokenizer

    from training_jobs.common.evaluation import generate_answers, token_f1
    from training_jobs.common.models import load_causal_lm
    from training_jobs.common.trainer import load_chat_set
    from training_jobs.finetune.sft import TINY

    metrics = metrics_of(sft_model)
    assert metrics["saved"] == "merged"
    assert metrics["quantized_4bit"] is False
    assert math.isfinite(metrics["eval_loss"]) and metrics["eval_perplexity"] == pytest.approx(
        math.exp(metrics["eval_loss"])
    )
    assert metrics["eval_examples"] > 0
    # the F1 is that of the saved model's greedy answers to the first held-out prompts
    sample = load_chat_set(datasets_dir / "sft", "eval")[: TINY["max_eval_answers"]]
    answers = generate_answers(
        load_causal_lm(sft_model),
        AutoTokenizer.from_pretrained(sft_model),
        [row["prompt"] for row in sample],
        max_new_tokens=TINY["max_new_tokens"],
    )
    f1 = [token_f1(a, row["completion"][0]["content"]) for a, row in zip(answers, sample, strict=True)]
    assert metrics["answer_f1"] == pytest.approx(sum(f1) / len(f1))
    assert metrics["base_model"] == str(pretrained.resolve())
    assert (sft_model / "model.safetensors").is_file()
    assert not (sft_model / "adapter_config.json").exists()
    assert (sft_model / "checkpoints").is_dir()  # trainer checkpoints, resumable after an interruption


def test_qlora_trains_a_4bit_base_and_saves_the_adapter_with_its_base_path(
    workspace: Path, datasets_dir: Path, pretrained: Path
) -> None:
    pytest.importorskip(
        "bitsandbytes", reason="QLoRA needs bitsandbytes (the job falls back to LoRA without it)"
    )
    directory = workspace / "models" / "qlora"
    run_cli(
        "finetune",
        "--tiny",
        "--load_in_4bit",
        "--no_merge_adapter",
        "--model_name_or_path",
        str(pretrained),
        "--data_dir",
        str(datasets_dir / "sft"),
        "--output-dir",
        str(directory),
    )
    metrics = metrics_of(directory)
    assert metrics["quantized_4bit"] is True
    assert metrics["saved"] == "adapter"
    adapter = json.loads((directory / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(pretrained.resolve())
    assert adapter["r"] == 8  # the tiny preset's rank


def test_finetuning_resumes_from_its_last_trainer_checkpoint(
    tmp_path: Path, datasets_dir: Path, pretrained: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import shutil

    directory = tmp_path / "finetune"
    args = [
        "finetune",
        "--tiny",
        "--model_name_or_path",
        str(pretrained),
        "--data_dir",
        str(datasets_dir / "sft"),
    ]
    run_cli(*args, "--output-dir", str(directory))
    shutil.rmtree(directory / "checkpoints" / "checkpoint-4")  # the spot instance went away after step 2
    with caplog.at_level(logging.INFO, logger="training_jobs.common.trainer"):
        run_cli(*args, "--output-dir", str(directory))
    assert f"resuming from {directory / 'checkpoints' / 'checkpoint-2'}" in caplog.text
