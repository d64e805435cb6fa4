"""Direct preference optimization (DPO) on preference pairs with trl's DPOTrainer: the offline
alternative to a reward model plus policy optimization.

The policy starts from the SFT model and the frozen reference is the SFT model too (a copy, or
the base under the adapter with `--use_lora`); `--beta` sets how far the policy may move from it.
`metrics.json` reports the held-out preference accuracy (the implicit reward of the chosen answer
above the rejected one) and reward margin.

Usage:
    python -m training_jobs.rlhf.dpo --tiny --output_dir outputs/dpo
    python -m training_jobs.rlhf.dpo --model_name_or_path outputs/finetune \\
        --data_dir outputs/data/preference --output_dir outputs/dpo --use_lora --beta 0.1
    genai-stack train dpo --tiny

On SageMaker the SFT model comes from the channel `model` and the pairs from the channel `preference`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from training_jobs.common.args import make_job_parser, run_job
from training_jobs.common.lora import FullTrainingLoraArguments, LoraArguments
from training_jobs.common.tiny import apply_tiny
from training_jobs.common.trainer import TINY_TRAINER, TrainerJobArguments

if TYPE_CHECKING:
    from trl.scripts.utils import TrlParser


@dataclass
class DPOArguments(TrainerJobArguments):
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate (cosine schedule)."})
    beta: float = field(
        default=0.1, metadata={"help": "DPO temperature: the strength of the tie to the reference."}
    )


TINY: dict[str, Any] = {**TINY_TRAINER, "learning_rate": 1e-3}


def main(args: DPOArguments, lora: LoraArguments) -> dict[str, Any]:
    """Train on the pairs, evaluate on the held-out pairs, save for serving; returns the metrics
    (empty on the other ranks of a torchrun job)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from training_jobs.common.lora import peft_config, quantization_config, save_trained
    from training_jobs.common.models import write_report
    from training_jobs.common.trainer import (
        is_main_process,
        last_checkpoint,
        prepare_preference_job,
        trained_model,
        trl_config_kwargs,
    )
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model

    if args.tiny:
        apply_tiny(TINY, args)
    job = prepare_preference_job(args, "dpo", tiny_model=tiny_base_model, tiny_datasets=tiny_datasets)
    paths, tokenizer = job.paths, job.tokenizer
    trainer = DPOTrainer(
        model=str(paths.model),
        args=DPOConfig(
            beta=args.beta, max_length=args.max_length, **trl_config_kwargs(args, paths.checkpoint_dir)
        ),
        train_dataset=Dataset.from_list(job.train_rows),
        eval_dataset=Dataset.from_list(job.eval_rows),
        processing_class=tokenizer,
        peft_config=peft_config(lora),
        quantization_config=quantization_config(lora),
    )
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint(paths.checkpoint_dir))
    evaluation = trainer.evaluate()
    if not is_main_process():
        return {}
    saved = save_trained(trained_model(trainer), tokenizer, paths.model, lora, paths.output_dir)
    metrics = {
        "train_loss": train_result.training_loss,
        "eval_loss": evaluation["eval_loss"],
        "preference_accuracy": evaluation["eval_rewards/accuracies"],
        "reward_margin": evaluation["eval_rewards/margins"],
        "beta": args.beta,
        "train_pairs": len(job.train_rows),
        "eval_pairs": len(job.eval_rows),
        "saved": saved,
        "base_model": str(paths.model),
    }
    write_report(paths.output_dir, metrics)
    return metrics


def make_parser(prog: str | None = None) -> TrlParser:
    return make_job_parser(prog, __doc__, DPOArguments, FullTrainingLoraArguments)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
