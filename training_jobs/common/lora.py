"""LoRA and QLoRA for the jobs that fine-tune a causal LM (finetune, dpo, policy), and saving
what they trained: the adapter merged into its base (default) or the adapter alone."""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass
class LoraArguments:
    use_lora: bool = field(default=True, metadata={"help": "Train a LoRA adapter instead of every weight."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scale numerator (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA path."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules that get adapters ('all-linear': all)."},
    )
    load_in_4bit: bool = field(
        default=False,
        metadata={
            "help": "QLoRA: load the base in 4-bit NF4 with bitsandbytes (plain LoRA, with a log line, "
            "when bitsandbytes is not installed)."
        },
    )
    merge_adapter: bool = field(
        default=True,
        metadata={
            "help": "Save the adapter merged into a full-precision copy of the base; with "
            "--no_merge_adapter, save the adapter alone (its base path in adapter_config.json)."
        },
    )


@dataclass
class FullTrainingLoraArguments(LoraArguments):
    """The same flags for jobs that train every weight unless asked for LoRA."""

    use_lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter instead of every weight."})


def peft_config(args: LoraArguments) -> LoraConfig | None:
    """The adapter to train, or None for full training."""
    from peft import LoraConfig

    if not args.use_lora:
        return None
    targets = args.lora_target_modules
    return LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=targets[0] if targets == ["all-linear"] else targets,
        task_type="CAUSAL_LM",
    )


def quantization_config(args: LoraArguments) -> BitsAndBytesConfig | None:
    """4-bit NF4 with double quantisation (QLoRA) when asked for and bitsandbytes is importable."""
    import torch
    from transformers import BitsAndBytesConfig

    if not args.load_in_4bit:
        return None
    if not args.use_lora:
        raise ValueError("--load_in_4bit needs --use_lora: 4-bit weights cannot be trained directly")
    if importlib.util.find_spec("bitsandbytes") is None:
        logger.warning("bitsandbytes is not installed: training plain LoRA instead of QLoRA")
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32,
    )


def save_trained(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    base: Path,
    args: LoraArguments,
    output_dir: Path,
) -> str:
    """Save for serving; returns what was saved: "full", "merged" or "adapter".

    Merging reloads the base in full precision, so a QLoRA adapter is merged into real weights
    rather than into their 4-bit approximation.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from training_jobs.common.models import device_and_dtype, save_for_serving

    if not isinstance(model, PeftModel):
        save_for_serving(model, tokenizer, output_dir)
        return "full"
    if not args.merge_adapter:
        save_for_serving(model, tokenizer, output_dir)
        return "adapter"
    _, dtype = device_and_dtype()
    with tempfile.TemporaryDirectory() as adapter_dir:
        model.save_pretrained(adapter_dir)
        full = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype)
        merged = PeftModel.from_pretrained(full, adapter_dir).merge_and_unload()
    save_for_serving(merged, tokenizer, output_dir)
    return "merged"
