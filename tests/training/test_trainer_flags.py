"""The trl jobs' command line: the trainer's own config class and trl's ModelConfig, with this
project's defaults, the `--tiny` preset below a YAML `--config`, and explicit flags above both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training_jobs.common.args import parse_job_args


def _parse(module: str, *argv: str) -> tuple[Any, ...]:
    import importlib

    make_parser = importlib.import_module(module).make_parser
    return parse_job_args(make_parser(None, list(argv)), list(argv))


def test_each_job_parses_into_its_trainers_config_with_the_projects_defaults() -> None:
    from trl import DPOConfig, GRPOConfig, RewardConfig, RLOOConfig, SFTConfig

    expected = {
        "training_jobs.finetune.sft": (SFTConfig, 2e-4, True),
        "training_jobs.rlhf.reward": (RewardConfig, 1e-5, False),
        "training_jobs.rlhf.dpo": (DPOConfig, 5e-6, False),
        "training_jobs.rlhf.policy": (GRPOConfig, 1e-6, False),
    }
    for module, (config_class, learning_rate, lora) in expected.items():
        _, config, model_args = _parse(module)
        assert type(config) is config_class, module
        assert config.learning_rate == learning_rate, module
        assert model_args.use_peft is lora, module  # LoRA by default only where the job fine-tunes
        assert config.bf16 is False, module  # no CUDA here: trl's bf16 default would not run
        assert config.lr_scheduler_type == "cosine" and config.report_to == []
        assert config.eval_strategy == "no"
    _, rloo, _ = _parse("training_jobs.rlhf.policy", "--algorithm", "rloo", "--beta", "0.2")
    assert type(rloo) is RLOOConfig and rloo.beta == pytest.approx(0.2)
    assert _parse("training_jobs.finetune.sft")[2].lora_target_modules == "all-linear"


def test_trl_options_the_project_did_not_copy_are_flags() -> None:
    _, config, model_args = _parse(
        "training_jobs.finetune.sft",
        "--eval_strategy",
        "steps",
        "--eval_steps",
        "5",
        "--use_peft",
        "false",
        "--lora_r",
        "4",
        "--dtype",
        "bfloat16",
    )
    assert (config.eval_strategy, config.eval_steps) == ("steps", 5)
    assert (model_args.use_peft, model_args.lora_r, model_args.dtype) == (False, 4, "bfloat16")


def test_tiny_sets_defaults_that_a_config_file_and_a_flag_override(tmp_path: Path) -> None:
    args, config, _ = _parse("training_jobs.rlhf.dpo", "--tiny")
    assert args.tiny and config.max_steps == 4 and config.learning_rate == pytest.approx(1e-3)
    yaml = tmp_path / "dpo.yaml"
    yaml.write_text("max_steps: 3\nlearning_rate: 0.01\n")
    _, config, _ = _parse("training_jobs.rlhf.dpo", "--tiny", "--config", str(yaml), "--max_steps", "2")
    assert (config.max_steps, config.learning_rate) == (2, pytest.approx(0.01))
    _, config, _ = _parse("training_jobs.rlhf.dpo", "--tiny", "false")
    assert config.max_steps == -1


def test_the_output_folder_defaults_to_sagemakers_model_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _parse("training_jobs.rlhf.reward")[1].output_dir == str(Path("outputs/reward"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    assert _parse("training_jobs.rlhf.reward")[1].output_dir == str(tmp_path / "model")


def test_the_reward_job_refuses_an_adapter(tmp_path: Path) -> None:
    from training_jobs.common.sagemaker import InputError
    from training_jobs.rlhf.reward import main

    with pytest.raises(InputError, match="trains every weight"):
        main(*_parse("training_jobs.rlhf.reward", "--use_peft", "--output_dir", str(tmp_path)))


def test_the_model_flags_reach_the_trainers_model_loading(tmp_path: Path) -> None:
    from training_jobs.common.trainer import resolve_paths

    argv = ["--model_name_or_path", str(tmp_path), "--data_dir", str(tmp_path), "--dtype", "bfloat16"]
    args, config, model_args = _parse("training_jobs.rlhf.dpo", *argv, "--output_dir", str(tmp_path / "out"))
    paths = resolve_paths(args, config, model_args, "preference", tiny_model=Path, tiny_datasets=Path)
    assert config.model_init_kwargs["dtype"] == "bfloat16"
    assert config.output_dir == str(paths.checkpoint_dir) == str(tmp_path / "out" / "checkpoints")
