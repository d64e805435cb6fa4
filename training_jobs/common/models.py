"""Model and tokenizer I/O shared by the jobs, and the chat-template contract with serving.

Every model directory a job writes holds the weights (or a LoRA adapter), a tokenizer with a
`chat_template` and a `generation_config.json` whose end-of-sequence ids stop at the end of the
assistant's turn, so `functions`' local-checkpoint chat model can load any of them with
`AutoTokenizer` + `AutoModelForCausalLM` (or `AutoPeftModelForCausalLM` for an adapter) and prompt
it with `apply_chat_template(messages, add_generation_prompt=True)`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from training_jobs.common.sagemaker import SageMakerEnvironment

if TYPE_CHECKING:
    import torch
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

END_OF_TEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
PAD = "<|pad|>"
#: The special tokens of tokenizers trained from scratch, in id order.
SPECIAL_TOKENS = (END_OF_TEXT, IM_START, IM_END, PAD)

#: ChatML, as Qwen and many others use it; set on tokenizers that come without a template.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
#: Default answer length of a saved model; serving may ask for other lengths.
MAX_NEW_TOKENS = 256
ADAPTER_CONFIG = "adapter_config.json"
METRICS_FILE = "metrics.json"


def ensure_chat_template(tokenizer: PreTrainedTokenizerBase) -> None:
    """Give a base model's tokenizer what chat training needs: a template and a padding token."""
    if tokenizer.chat_template is None:
        logger.warning("the tokenizer has no chat template; using ChatML (%s ... %s)", IM_START, IM_END)
        tokenizer.chat_template = CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def generation_config(tokenizer: PreTrainedTokenizerBase) -> GenerationConfig:
    """Greedy decoding that stops at the tokenizer's end of sequence or at ChatML's end of turn."""
    from transformers import GenerationConfig

    vocab = tokenizer.get_vocab()
    stop = [tokenizer.eos_token_id] + [vocab[t] for t in (IM_END, END_OF_TEXT) if t in vocab]
    return GenerationConfig(  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped **kwargs
        eos_token_id=list(dict.fromkeys(i for i in stop if i is not None)),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        do_sample=False,
        max_new_tokens=MAX_NEW_TOKENS,
    )


def save_for_serving(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: Path) -> None:
    """Write weights (or an adapter, for a peft model), tokenizer and generation config."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    generation_config(tokenizer).save_pretrained(directory)


def write_report(directory: Path, report: dict[str, Any], name: str = METRICS_FILE) -> None:
    """A job's results as JSON beside its model and, on SageMaker, in SM_OUTPUT_DATA_DIR as well
    (the job's output.tar.gz, where a job's results are looked for); logged too."""
    text = json.dumps(report, indent=2) + "\n"
    for folder in (directory, SageMakerEnvironment.from_environ().output_data_dir):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
    logger.info("%s %s", name, json.dumps(report))


def is_adapter(path: str | Path) -> bool:
    """Whether a directory holds a LoRA adapter rather than full weights."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def device_and_dtype() -> tuple[torch.device, torch.dtype]:
    """This process's GPU (its torchrun local rank) in bfloat16 when there is one, else the CPU in
    float32."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))), torch.bfloat16
    return torch.device("cpu"), torch.float32


def load_reward_model(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A reward model written by the reward job, with its tokenizer, ready for scoring."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device, dtype = device_and_dtype()
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1, dtype=dtype)
    return model.to(device).eval(), AutoTokenizer.from_pretrained(str(path))


def load_causal_lm(path: str | Path) -> PreTrainedModel:
    """A model directory written by any job (adapters merged into their base), ready for inference."""
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    device, dtype = device_and_dtype()
    if is_adapter(path):
        model = AutoPeftModelForCausalLM.from_pretrained(str(path), dtype=dtype).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    return cast("PreTrainedModel", model.to(device).eval())  # from_pretrained is untyped
