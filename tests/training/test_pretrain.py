"""Pretraining: one process, torchrun with DDP and FSDP2 on gloo, and resume at the right step."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.conftest import metrics_of
from training_jobs.common.jsonl import DatasetError, write_jsonl
from training_jobs.common.models import IM_END
from training_jobs.pretrain.train import PretrainArguments, main


def test_pretraining_learns_and_exports_a_chat_ready_model(pretrained: Path) -> None:
    from transformers import AutoTokenizer, GenerationConfig

    metrics = metrics_of(pretrained)
    assert metrics["resumed_from_step"] == 0
    assert metrics["history"][-1]["loss"] < metrics["history"][0]["loss"]
    assert math.isfinite(metrics["eval_perplexity"]) and metrics["eval_perplexity"] > 1
    assert metrics["tokens_per_second"] > 0
    assert metrics["mfu"] is None  # no peak FLOP/s is known for a CPU
    tokenizer = AutoTokenizer.from_pretrained(pretrained)
    assert tokenizer.chat_template and tokenizer.eos_token == IM_END
    stop = GenerationConfig.from_pretrained(pretrained).eos_token_id
    assert tokenizer.convert_tokens_to_ids(IM_END) in stop


def short_run(datasets_dir: Path, output_dir: Path, **overrides: object) -> dict:
    args = PretrainArguments(
        tiny=True,
        data_dir=str(datasets_dir / "corpus"),
        output_dir=str(output_dir),
        max_steps=8,
        save_steps=4,
        eval_steps=4,
        log_steps=1,
        **overrides,  # type: ignore[arg-type]
    )
    return main(args)


def test_resume_continues_at_the_step_after_the_checkpoint(datasets_dir: Path, tmp_path: Path) -> None:
    # GIVEN a run of 8 steps that checkpointed at steps 4 and 8
    whole = short_run(datasets_dir, tmp_path / "run")
    # WHEN the instance is reclaimed after step 4 (the later checkpoint and the export are lost)
    shutil.rmtree(tmp_path / "run" / "checkpoints" / "step_00000008")
    (tmp_path / "run" / "metrics.json").unlink()
    resumed = short_run(datasets_dir, tmp_path / "run")
    # THEN the rerun starts at step 5 and ends where the uninterrupted run ended
    assert resumed["resumed_from_step"] == 4
    assert [entry["step"] for entry in resumed["history"]] == [5, 6, 7, 8]
    losses = [entry["loss"] for entry in resumed["history"]]
    assert losses == pytest.approx([entry["loss"] for entry in whole["history"][4:]], rel=1e-5)
    assert resumed["eval_loss"] == pytest.approx(whole["eval_loss"], rel=1e-5)


def test_an_interrupted_checkpoint_is_skipped(datasets_dir: Path, tmp_path: Path) -> None:
    short_run(datasets_dir, tmp_path / "run")
    (tmp_path / "run" / "checkpoints" / "step_00000008" / "trainer_state.json").unlink()  # died mid-save
    resumed = short_run(datasets_dir, tmp_path / "run")
    assert resumed["resumed_from_step"] == 4


def test_a_corpus_too_small_for_one_block_fails_fast(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "corpus" / "train.jsonl", [{"text": "Too short."}])
    with pytest.raises(DatasetError, match="fills no training block of 64 tokens"):
        main(
            PretrainArguments(tiny=True, data_dir=str(tmp_path / "corpus"), output_dir=str(tmp_path / "out"))
        )


def torchrun(datasets_dir: Path, output_dir: Path, parallelism: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "training_jobs.pretrain.train",
        "--tiny",
        "--parallelism",
        parallelism,
        "--data_dir",
        str(datasets_dir / "corpus"),
        "--output_dir",
        str(output_dir),
        "--max_steps",
        "6",
        "--save_steps",
        "3",
        "--eval_steps",
        "3",
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((output_dir / "metrics.json").read_text())


def test_torchrun_ddp_and_fsdp2_on_two_processes_agree(datasets_dir: Path, tmp_path: Path) -> None:
    ddp = torchrun(datasets_dir, tmp_path / "ddp", "ddp")
    fsdp = torchrun(datasets_dir, tmp_path / "fsdp", "fsdp")
    assert (ddp["world_size"], ddp["parallelism"]) == (2, "ddp")
    assert (fsdp["world_size"], fsdp["parallelism"]) == (2, "fsdp")
    # same seed, same data order, same maths: replicated and sharded training reach the same loss
    assert fsdp["eval_loss"] == pytest.approx(ddp["eval_loss"], rel=1e-4)
    assert sorted(path.name for path in (tmp_path / "fsdp" / "checkpoints").glob("step_*")) == [
        "step_00000003",
        "step_00000006",
    ]
