"""Direct preference optimization (DPO) on preference pairs with trl's DPOTrainer: the offline
alternative to a reward model plus policy optimization.

The policy starts from the SFT model and the frozen reference is the SFT model too (a copy, or
the base under the adapter with `--use_peft`); `--beta` sets how far the policy may move from it.
`metrics.json` reports the held-out preference accuracy (the implicit reward of the chosen answer
above the rejected one) and reward margin.

Usage:
    python -m training_jobs.rlhf.dpo --tiny --output_dir outputs/dpo
    python -m training_jobs.rlhf.dpo --model_name_or_path outputs/finetune \\
        --data_dir outputs/data/preference --output_dir outputs/dpo --use_peft --beta 0.1
    genai-stack train dpo --tiny

On SageMaker the SFT model comes from the channel `model` and the pairs from the channel `preference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from training_jobs.common.args import run_job
from training_jobs.common.trainer import TINY_TRAINER, TrainerJobArguments

if TYPE_CHECKING:
    from trl.scripts.utils import TrlParser
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.model_config import ModelConfig

#: Where this job differs from trl's DPO defaults (which train every weight, as this job does).
DEFAULTS: dict[str, Any] = {"learning_rate": 5e-6}

TINY: dict[str, Any] = {**TINY_TRAINER, "max_length": 128, "learning_rate": 1e-3}


def main(args: TrainerJobArguments, config: DPOConfig, model_args: ModelConfig) -> dict[str, Any]:
    """Train on the pairs, evaluate on the held-out pairs, save for serving; returns the metrics
    (empty on the other ranks of a torchrun job)."""
    from datasets import Dataset
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.utils import get_peft_config

    from training_jobs.common.lora import quantization_config, save_trained
    from training_jobs.common.models import write_report
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
    job = prepare_preference_job(
        args, config, model_args, tiny_model=tiny_base_model, tiny_datasets=tiny_datasets
    )
    paths, tokenizer = job.paths, job.tokenizer
    trainer = DPOTrainer(
        model=str(paths.model),
        args=config,
        train_dataset=Dataset.from_list(job.train_rows),
        eval_dataset=Dataset.from_list(job.eval_rows),
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        quantization_config=quantization_config(model_args),
    )
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint(paths.checkpoint_dir))
    evaluation = trainer.evaluate()
    if not is_main_process():
        return {}
    saved = save_trained(trained_model(trainer), tokenizer, paths.model, args.merge_adapter, paths.output_dir)
    metrics = {
        "train_loss": train_result.training_loss,
        "eval_loss": evaluation["eval_loss"],
        "preference_accuracy": evaluation["eval_rewards/accuracies"],
        "reward_margin": evaluation["eval_rewards/margins"],
        "beta": config.beta,
        "train_pairs": len(job.train_rows),
        "eval_pairs": len(job.eval_rows),
        "saved": saved,
        "base_model": str(paths.model),
    }
    write_report(paths.output_dir, metrics)
    return metrics


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    from trl.trainer.dpo_config import DPOConfig

    from training_jobs.common.trainer import make_trainer_parser

    return make_trainer_parser(prog, __doc__, argv, "dpo", TrainerJobArguments, DPOConfig, DEFAULTS, TINY)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
