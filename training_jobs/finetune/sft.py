"""Supervised fine-tuning (SFT) on support chats with LoRA (peft) or QLoRA, through trl's SFTTrainer.

The SFT set holds `{"messages": [user, assistant]}` chats; the loss falls on the assistant's answer
only. It trains a LoRA adapter by default (trl's `--use_peft`; `--use_peft false` trains every
weight); every flag of trl's `SFTConfig` and `ModelConfig` is a flag here. With `--load_in_4bit`
the base is loaded in 4-bit NF4 (QLoRA; bitsandbytes also runs on CPUs); without bitsandbytes
the job logs it and trains plain LoRA. The adapter is merged into a full-precision copy of the
base unless `--no_merge_adapter`. `metrics.json` reports the held-out loss and perplexity and
the word-overlap F1 of greedy answers against the held-out answers.

Usage:
    python -m training_jobs.finetune.sft --tiny --output_dir outputs/finetune
    python -m training_jobs.finetune.sft --model_name_or_path outputs/pretrain --data_dir outputs/data/sft \\
        --output_dir outputs/finetune --load_in_4bit --dtype bfloat16
    genai-stack train finetune --tiny

On SageMaker the base model comes from the channel `model` and the SFT set from the channel `sft`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from training_jobs.common.args import run_job
from training_jobs.common.trainer import LORA_DEFAULTS, TINY_TRAINER, TrainerJobArguments

if TYPE_CHECKING:
    from trl.scripts.utils import TrlParser
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.sft_config import SFTConfig

logger = logging.getLogger(__name__)


@dataclass
class SFTArguments(TrainerJobArguments):
    max_eval_answers: int = field(
        default=32, metadata={"help": "Held-out prompts answered for the F1 score."}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "Longest generated answer when scoring."})


#: Where this job differs from trl's SFT defaults.
DEFAULTS: dict[str, Any] = {**LORA_DEFAULTS, "learning_rate": 2e-4}

TINY: dict[str, Any] = {
    **TINY_TRAINER,
    "max_length": 128,
    "lora_r": 8,
    "lora_alpha": 16,
    "max_eval_answers": 4,
    "max_new_tokens": 16,
}


def main(args: SFTArguments, config: SFTConfig, model_args: ModelConfig) -> dict[str, Any]:
    """Fine-tune, evaluate on the held-out chats, save for serving; returns the metrics (empty on
    the other ranks of a torchrun job)."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl.trainer.sft_trainer import SFTTrainer
    from trl.trainer.utils import get_peft_config

    from training_jobs.common.evaluation import generate_answers, token_f1
    from training_jobs.common.lora import quantization_config, save_trained
    from training_jobs.common.models import ensure_chat_template, write_report
    from training_jobs.common.tiny import one_thread
    from training_jobs.common.trainer import (
        is_main_process,
        last_checkpoint,
        load_chat_set,
        resolve_paths,
        trained_model,
    )
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model

    if args.tiny:
        one_thread()
    paths = resolve_paths(
        args, config, model_args, "sft", tiny_model=tiny_base_model, tiny_datasets=tiny_datasets
    )
    train_rows = load_chat_set(paths.data_dir, "train")
    eval_rows = load_chat_set(paths.data_dir, "eval")
    tokenizer = AutoTokenizer.from_pretrained(str(paths.model))
    ensure_chat_template(tokenizer)
    quantization = quantization_config(model_args)
    trainer = SFTTrainer(
        model=str(paths.model),
        args=config,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows),
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        quantization_config=quantization,
    )
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint(paths.checkpoint_dir))
    evaluation = trainer.evaluate()
    if not is_main_process():
        return {}
    model = trained_model(trainer)
    sample = eval_rows[: args.max_eval_answers]
    model.eval()  # type: ignore[no-untyped-call, unused-ignore]  # transformers: PreTrainedModel.eval is untyped
    answers = generate_answers(
        model, tokenizer, [row["prompt"] for row in sample], max_new_tokens=args.max_new_tokens
    )
    f1 = [
        token_f1(answer, row["completion"][0]["content"]) for answer, row in zip(answers, sample, strict=True)
    ]
    saved = save_trained(model, tokenizer, paths.model, args.merge_adapter, paths.output_dir)
    metrics = {
        "train_loss": train_result.training_loss,
        "eval_loss": evaluation["eval_loss"],
        "eval_perplexity": math.exp(evaluation["eval_loss"]),
        "answer_f1": sum(f1) / len(f1),
        "train_examples": len(train_rows),
        "eval_examples": len(eval_rows),
        "quantized_4bit": quantization is not None,
        "saved": saved,
        "base_model": str(paths.model),
    }
    write_report(paths.output_dir, metrics)
    return metrics


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    from trl.trainer.sft_config import SFTConfig

    from training_jobs.common.trainer import make_trainer_parser

    return make_trainer_parser(prog, __doc__, argv, "finetune", SFTArguments, SFTConfig, DEFAULTS, TINY)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
