"""What the trl-based jobs (finetune, reward, policy, dpo) share: their parser, paths and data.

Each of those jobs trains through a trl trainer whose `output_dir` is the checkpoint folder, so a
spot interruption resumes from the last trainer checkpoint. Under torchrun every rank trains and
evaluates; the main process alone then measures generated answers and saves the model, through
`save_for_serving`, with a `metrics.json` beside it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from training_jobs.common.args import TinyArguments, make_job_parser, set_job_defaults, wants_tiny
from training_jobs.common.jsonl import DatasetError, load_split
from training_jobs.common.sagemaker import SageMakerEnvironment

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer
    from trl.scripts.utils import TrlParser
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.reward_config import RewardConfig
    from trl.trainer.rloo_config import RLOOConfig
    from trl.trainer.sft_config import SFTConfig

    #: The config classes of the trainers the jobs use.
    TrlConfig = SFTConfig | RewardConfig | DPOConfig | GRPOConfig | RLOOConfig

logger = logging.getLogger(__name__)

#: How to get preference pairs, for the message of a job that finds none.
NO_PAIRS_HINT = (
    "pairs need a thumbs-down, escalated or rephrased answer and a thumbs-up or human answer to the same "
    "question in the export"
)

#: Where this project's trl jobs differ from trl's defaults (a YAML `--config` and flags still win).
TRAINER_DEFAULTS: dict[str, Any] = {
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.03,  # below 1, transformers reads it as a share of the steps
    "gradient_accumulation_steps": 4,
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 200,
    "save_total_limit": 2,
    "report_to": "none",
    # Set, so that trl's own default (SFT's gradient_checkpointing=True) is not read through the
    # name transformers deprecates; recomputing activations only costs time on these model sizes.
    "activation_checkpointing": False,
}

#: The LoRA defaults of the jobs that fine-tune a causal LM: trl trains every weight by default.
LORA_DEFAULTS: dict[str, Any] = {"use_peft": True, "lora_target_modules": ["all-linear"]}

#: The part of every trl job's `--tiny` preset that concerns the trainer.
TINY_TRAINER: dict[str, Any] = {
    "max_steps": 4,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "logging_steps": 1,
    "save_steps": 2,
}


@dataclass
class TrainerJobArguments(TinyArguments):
    """This project's flags of the jobs that train through a trl trainer; the trainer's flags are
    its trl config's (`--output_dir` is where the model for serving goes) and the model's are trl's
    `ModelConfig` (`--model_name_or_path`, `--use_peft`, `--load_in_4bit`, ...)."""

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
    merge_adapter: bool = field(
        default=True,
        metadata={
            "help": "With --use_peft, save the adapter merged into a full-precision copy of the base; with "
            "--no_merge_adapter, save the adapter alone (its base path in adapter_config.json)."
        },
    )


def make_trainer_parser(  # noqa: PLR0917 (each job's call names the same eight things in order)
    prog: str | None,
    description: str | None,
    argv: Sequence[str],
    job: str,
    job_arguments: type[TrainerJobArguments],
    config_class: type,
    defaults: Mapping[str, Any],
    tiny: Mapping[str, Any],
) -> TrlParser:
    """The parser of a trl job, as in trl's scripts (the job's flags, the trl config's, trl's
    `ModelConfig`), with this project's defaults: `TRAINER_DEFAULTS`, the job's `defaults`, bf16
    only where the GPU has it (trl defaults to bf16 even on CPUs), the output folder SageMaker
    expects and, when `argv` asks for `--tiny`, the `tiny` preset."""
    import torch
    from trl.trainer.model_config import ModelConfig

    parser = make_job_parser(prog, description, job_arguments, config_class, ModelConfig)
    set_job_defaults(
        parser,
        {
            **TRAINER_DEFAULTS,
            "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
            "output_dir": str(SageMakerEnvironment.from_environ().output_dir(None, job)),
            **defaults,
            **(tiny if wants_tiny(argv) else {}),
        },
    )
    return parser


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
    config: TrlConfig,
    model_args: ModelConfig,
    data_channel: str,
    *,
    tiny_model: TinyInput,
    tiny_datasets: TinyInput,
) -> JobPaths:
    """Flags, else SageMaker channels, else (with --tiny) the tiny inputs beside the output folder:
    `tiny_model` and `tiny_datasets` (a folder holding the `data_channel` folder) build them.
    The trainer's own `output_dir` is then pointed at the checkpoint folder, and its model loading
    gets `ModelConfig`'s flags (as trl's scripts pass them; `--model_init_kwargs` entries win)."""
    from training_jobs.common.tiny import tiny_inputs

    env = SageMakerEnvironment.from_environ()
    output_dir = Path(cast("str", config.output_dir))  # TrainingArguments fills in a missing one
    root = tiny_inputs(output_dir)
    model = env.require_channel(
        "model",
        model_args.model_name_or_path,
        "--model_name_or_path",
        (lambda: tiny_model(root)) if args.tiny else None,
    )
    data_dir = env.require_channel(
        data_channel,
        args.data_dir,
        "--data_dir",
        (lambda: tiny_datasets(root) / data_channel) if args.tiny else None,
    )
    checkpoint_dir = env.checkpoints(args.checkpoint_dir, output_dir)
    config.output_dir = str(checkpoint_dir)
    given = config.model_init_kwargs or {}
    if isinstance(given, str):  # `--model_init_kwargs '{"...": ...}'`, as trl's type allows
        given = json.loads(given)
    config.model_init_kwargs = {**model_loading_kwargs(model_args), **given}
    return JobPaths(output_dir, checkpoint_dir, model.resolve(), data_dir)


def model_loading_kwargs(model_args: ModelConfig) -> dict[str, Any]:
    """The `from_pretrained` arguments that trl's `ModelConfig` flags give."""
    return {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    """The trainer checkpoint to resume from, if an earlier attempt left one."""
    from transformers.trainer_utils import get_last_checkpoint

    found: str | None = None
    if checkpoint_dir.is_dir():
        found = get_last_checkpoint(str(checkpoint_dir))  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped
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
    args: TrainerJobArguments,
    config: TrlConfig,
    model_args: ModelConfig,
    *,
    tiny_model: TinyInput,
    tiny_datasets: TinyInput,
) -> PreferenceJob:
    """Resolve the job's paths, read both splits of the preference pairs (failing before any model
    loads when they are missing) and load the base model's tokenizer, ready for chat training."""
    from transformers import AutoTokenizer

    from training_jobs.common.models import ensure_chat_template

    paths = resolve_paths(
        args, config, model_args, "preference", tiny_model=tiny_model, tiny_datasets=tiny_datasets
    )
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
