"""Train a reward model on preference pairs with trl's RewardTrainer (sequence classification).

The model (usually the SFT model) gets a one-output head and learns to score the chosen answer
above the rejected one (Bradley-Terry loss). `metrics.json` reports the pairwise accuracy on the
held-out pairs: the share of pairs whose chosen answer it scores higher. Every weight is trained.
The saved model is an `AutoModelForSequenceClassification`: the policy job and `evaluate` use it
as a scorer; it is not a chat model.

Usage:
    python -m training_jobs.rlhf.reward --tiny --output_dir outputs/reward
    python -m training_jobs.rlhf.reward --model_name_or_path outputs/finetune \\
        --data_dir outputs/data/preference --output_dir outputs/reward
    genai-stack train reward --tiny

On SageMaker the model comes from the channel `model` and the pairs from the channel `preference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_jobs.common.args import parse_job_args, run_job
from training_jobs.common.trainer import TINY_TRAINER, TrainerJobArguments

if TYPE_CHECKING:
    from trl.scripts.utils import TrlParser
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.reward_config import RewardConfig

#: Where this job differs from trl's reward defaults.
DEFAULTS: dict[str, Any] = {"learning_rate": 1e-5}

TINY: dict[str, Any] = {**TINY_TRAINER, "max_length": 128, "learning_rate": 1e-3}


def main(args: TrainerJobArguments, config: RewardConfig, model_args: ModelConfig) -> dict[str, Any]:
    """Train, measure pairwise accuracy on held-out pairs, save; returns the metrics (empty on the
    other ranks of a torchrun job)."""
    from datasets import Dataset
    from trl.trainer.reward_trainer import RewardTrainer

    from training_jobs.common.models import save_for_serving, write_report
    from training_jobs.common.sagemaker import InputError
    from training_jobs.common.tiny import one_thread
    from training_jobs.common.trainer import (
        is_main_process,
        last_checkpoint,
        prepare_preference_job,
        trained_model,
    )
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model

    if args.tiny:
        one_thread()
    if model_args.use_peft:
        raise InputError("--use_peft: the reward job trains every weight (its head is new)")
    job = prepare_preference_job(
        args, config, model_args, tiny_model=tiny_base_model, tiny_datasets=tiny_datasets
    )
    paths, tokenizer = job.paths, job.tokenizer
    trainer = RewardTrainer(
        model=str(paths.model),
        args=config,
        train_dataset=Dataset.from_list(job.train_rows),
        eval_dataset=Dataset.from_list(job.eval_rows),
        processing_class=tokenizer,
    )
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint(paths.checkpoint_dir))
    evaluation = trainer.evaluate()
    if not is_main_process():
        return {}
    save_for_serving(trained_model(trainer), tokenizer, paths.output_dir)
    metrics = {
        "train_loss": train_result.training_loss,
        "eval_loss": evaluation["eval_loss"],
        "pairwise_accuracy": evaluation["eval_accuracy"],
        "eval_margin": evaluation["eval_margin"],
        "train_pairs": len(job.train_rows),
        "eval_pairs": len(job.eval_rows),
        "base_model": str(paths.model),
    }
    write_report(paths.output_dir, metrics)
    return metrics


def tiny_reward_model(root: Path) -> Path:
    """A tiny reward model trained from the tiny base on the sample preference pairs (built once in
    the tiny-inputs folder `root`)."""
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model

    directory = root / "reward"
    if not (directory / "config.json").is_file():
        argv = [
            "--tiny",
            "--output_dir",
            str(directory),
            "--model_name_or_path",
            str(tiny_base_model(root)),
            "--data_dir",
            str(tiny_datasets(root) / "preference"),
        ]
        main(*parse_job_args(make_parser(None, argv), argv))
    return directory


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    from trl.trainer.reward_config import RewardConfig

    from training_jobs.common.trainer import make_trainer_parser

    return make_trainer_parser(
        prog, __doc__, argv, "reward", TrainerJobArguments, RewardConfig, DEFAULTS, TINY
    )


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
