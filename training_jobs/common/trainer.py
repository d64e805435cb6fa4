"""What the trl-based jobs (finetune, reward, policy, dpo) share: flags, trl config values, data.

Each of those jobs trains through a trl trainer whose `output_dir` is the checkpoint folder, so a
spot interruption resumes from the last trainer checkpoint. Under torchrun every rank trains and
evaluates; the main process alone then measures generated answers and saves the model, through
`save_for_serving`, with a `metrics.json` beside it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from training_jobs.common.args import JobArguments
from training_jobs.common.jsonl import DatasetError, load_split
from training_jobs.common.sagemaker import SageMakerEnvironment

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer

logger = logging.getLogger(__name__)

#: How to get preference pairs, for the message of a job that finds none.
NO_PAIRS_HINT = (
    "pairs need a thumbs-down, escalated or rephrased answer and a thumbs-up or human answer to the same "
    "question in the export"
)

#: The part of every trl job's `--tiny` preset that concerns the trainer.
TINY_TRAINER: dict[str, Any] = {
    "max_steps": 4,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_length": 128,
    "logging_steps": 1,
    "save_steps": 2,
}


@dataclass
class TrainerJobArguments(JobArguments):
    """Flags of the jobs that train through a trl trainer."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Model folder to start from. Default: channel 'model'; with --tiny, a tiny pretrained "
            "base."
        },
    )
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "Data set folder with train.jsonl and eval.jsonl, as `genai-stack train data` writes it. "
            "Default: the job's SageMaker channel; with --tiny, the sample export's."
        },
    )
    checkpoint_dir: str | None = field(
        default=None,
        metadata={
            "help": "Trainer checkpoints, resumed from automatically. Default: /opt/ml/checkpoints on "
            "SageMaker, else <output_dir>/checkpoints."
        },
    )
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate (cosine schedule)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Passes over the train set."})
    max_steps: int = field(
        default=-1, metadata={"help": "Stop after this many steps (-1: num_train_epochs)."}
    )
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Examples per device and step."})
    gradient_accumulation_steps: int = field(
        default=4, metadata={"help": "Micro-batches per optimizer step."}
    )
    max_length: int = field(
        default=1024, metadata={"help": "Longest tokenised example; longer ones are cut."}
    )
    warmup_ratio: float = field(default=0.03, metadata={"help": "Share of steps for the linear warmup."})
    logging_steps: int = field(default=10, metadata={"help": "Log every this many steps."})
    save_steps: int = field(default=200, metadata={"help": "Checkpoint every this many steps."})
    activation_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations to save memory."}
    )


#: Builds a tiny input in the tiny-inputs folder it is given, returns its path (see common/tiny.py).
TinyInput = Callable[[Path], Path]


@dataclass(frozen=True)
class JobPaths:
    """Where a trl job reads and writes."""

    output_dir: Path
    checkpoint_dir: Path
    model: Path
    data_dir: Path


def resolve_paths(
    args: TrainerJobArguments,
    job: str,
    data_channel: str,
    *,
    tiny_model: TinyInput,
    tiny_datasets: TinyInput,
) -> JobPaths:
    """Flags, else SageMaker channels, else (with --tiny) the tiny inputs beside the output folder:
    `tiny_model` and `tiny_datasets` (a folder holding the `data_channel` folder) build them."""
    from training_jobs.common.tiny import tiny_inputs

    env = SageMakerEnvironment.from_environ()
    output_dir = env.output_dir(args.output_dir, job)
    root = tiny_inputs(output_dir)
    model = env.require_channel(
        "model",
        args.model_name_or_path,
        "--model_name_or_path",
        (lambda: tiny_model(root)) if args.tiny else None,
    )
    data_dir = env.require_channel(
        data_channel,
        args.data_dir,
        "--data_dir",
        (lambda: tiny_datasets(root) / data_channel) if args.tiny else None,
    )
    return JobPaths(output_dir, env.checkpoints(args.checkpoint_dir, output_dir), model.resolve(), data_dir)


def trl_config_kwargs(args: TrainerJobArguments, checkpoint_dir: Path) -> dict[str, Any]:
    """Values every trl config gets. trl defaults to bf16 even on CPUs, so it is set per device."""
    import torch

    return {
        "output_dir": str(checkpoint_dir),
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "learning_rate": args.learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_steps": args.warmup_ratio,  # below 1, transformers reads it as a share of the steps
        "num_train_epochs": args.num_train_epochs,
        "max_steps": args.max_steps,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "per_device_eval_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "activation_checkpointing": args.activation_checkpointing,
        "logging_steps": args.logging_steps,
        "save_strategy": "steps",
        "save_steps": args.save_steps,
        "save_total_limit": 2,
        "eval_strategy": "no",
        "report_to": "none",
        "seed": args.seed,
        "data_seed": args.seed,
    }


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    """The trainer checkpoint to resume from, if an earlier attempt left one."""
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(checkpoint_dir)) if checkpoint_dir.is_dir() else None
    if found:
        logger.info("resuming from %s", found)
    return found


def load_chat_set(directory: Path, split: str) -> list[dict[str, Any]]:
    """SFT chats as trl prompt-completion rows: the loss then falls on the final assistant turn only."""
    rows = load_split(directory, split, "SFT set", ("messages",))
    converted = []
    for row in rows:
        messages = row["messages"]
        if not messages or messages[-1].get("role") != "assistant":
            raise DatasetError(
                f"SFT set {directory}/{split}.jsonl: a chat does not end with an assistant turn"
            )
        converted.append({"prompt": messages[:-1], "completion": messages[-1:]})
    return converted


def load_preference_set(directory: Path, split: str) -> list[dict[str, Any]]:
    """Preference pairs in trl's conversational format."""
    return load_split(directory, split, "preference pairs", ("prompt", "chosen", "rejected"), NO_PAIRS_HINT)


@dataclass(frozen=True)
class PreferenceJob:
    """What the preference-trained jobs (reward, policy, dpo) start from."""

    paths: JobPaths
    train_rows: list[dict[str, Any]]
    eval_rows: list[dict[str, Any]]
    tokenizer: PreTrainedTokenizerBase


def prepare_preference_job(
    args: TrainerJobArguments, job: str, *, tiny_model: TinyInput, tiny_datasets: TinyInput
) -> PreferenceJob:
    """Resolve the job's paths, read both splits of the preference pairs (failing before any model
    loads when they are missing) and load the base model's tokenizer, ready for chat training."""
    from transformers import AutoTokenizer

    from training_jobs.common.models import ensure_chat_template

    paths = resolve_paths(args, job, "preference", tiny_model=tiny_model, tiny_datasets=tiny_datasets)
    train_rows = load_preference_set(paths.data_dir, "train")
    eval_rows = load_preference_set(paths.data_dir, "eval")
    tokenizer = AutoTokenizer.from_pretrained(str(paths.model))
    ensure_chat_template(tokenizer)
    return PreferenceJob(paths, train_rows, eval_rows, tokenizer)


def is_main_process() -> bool:
    """Rank 0 of a torchrun job, or the only process: the one that measures and saves the model."""
    return int(os.environ.get("RANK", "0")) == 0


def trained_model(trainer: Trainer) -> PreTrainedModel:
    """The trainer's model after training (a trl trainer always holds one; its type allows None)."""
    return cast("PreTrainedModel", trainer.model)
