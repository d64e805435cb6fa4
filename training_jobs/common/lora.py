"""LoRA and QLoRA for the jobs that fine-tune a causal LM (finetune, dpo, policy), and saving
what they trained: the adapter merged into its base (default) or the adapter alone.

The adapter and the 4-bit base come from trl's `ModelConfig` flags (`--use_peft`, `--lora_r`,
`--load_in_4bit`, ...) through trl's own `get_peft_config` and `get_quantization_config`; this
module adds only what trl does not do: a plain-LoRA fallback where bitsandbytes is absent, and
merging the adapter into a full-precision copy of the base for serving.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import BitsAndBytesConfig, PreTrainedModel, PreTrainedTokenizerBase
    from trl.trainer.model_config import ModelConfig

logger = logging.getLogger(__name__)


def quantization_config(model_args: ModelConfig) -> BitsAndBytesConfig | None:
    """trl's quantization config, or None (with a log line) for `--load_in_4bit` where
    bitsandbytes is not installed: the job then trains plain LoRA instead of QLoRA."""
    from trl.trainer.utils import get_quantization_config

    quantized = model_args.load_in_4bit or model_args.load_in_8bit
    if quantized and not model_args.use_peft:
        raise ValueError("--load_in_4bit/--load_in_8bit need --use_peft: quantized weights cannot be trained")
    if quantized and importlib.util.find_spec("bitsandbytes") is None:
        logger.warning("bitsandbytes is not installed: training plain LoRA instead of QLoRA")
        return None
    config: BitsAndBytesConfig | None = get_quantization_config(model_args)
    return config


def save_trained(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    base: Path,
    merge_adapter: bool,
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
    if not merge_adapter:
        save_for_serving(model, tokenizer, output_dir)
        return "adapter"
    _, dtype = device_and_dtype()
    with tempfile.TemporaryDirectory() as adapter_dir:
        model.save_pretrained(adapter_dir)
        full = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype)
        merged = PeftModel.from_pretrained(full, adapter_dir).merge_and_unload()
    save_for_serving(merged, tokenizer, output_dir)
    return "merged"
