"""A chat model served from a local Hugging Face checkpoint, such as one our training jobs wrote.

Any directory with a tokenizer that has a `chat_template` and a causal LM works: a full model
(`config.json` + weights) or a LoRA adapter whose `adapter_config.json` names its base model.
The model is loaded on first use; generation is greedy so answers are reproducible.

A prompt longer than the model's context window loses tokens from its middle: the head holds the
instructions and the best-ranked sources, the tail the question, and what goes is the end of the
source list, the lowest-ranked sources. (Cutting from the left, as TGI's `truncate` does, would
drop the instructions and the best source first.) Without it, a model pretrained here with a
short window would be fed positions it never saw, and answer with noise.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from functions.observability import logger

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LocalCheckpointChatModel(BaseChatModel):
    """Generates with `transformers` from `checkpoint_dir` on CPU (or the first GPU if present)."""

    checkpoint_dir: Path
    max_new_tokens: int = 256

    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "genai-stack-local-checkpoint"

    def load(self) -> tuple[Any, Any]:
        """The tokenizer and model, loaded once."""
        with self._lock:
            if self._loaded is None:
                self._loaded = _load_checkpoint(Path(self.checkpoint_dir))
            return self._loaded

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        tokenizer, model = self.load()
        chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        inputs = tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        max_new_tokens, prompt_budget = self._token_budget(model)
        prompt_length = inputs["input_ids"].shape[1]
        if prompt_length > prompt_budget:
            logger.warning(
                "prompt shortened in the middle to fit the model's context window",
                extra={"prompt_tokens": prompt_length, "kept_tokens": prompt_budget},
            )
            inputs = {name: keep_head_and_tail(tensor, prompt_budget) for name, tensor in inputs.items()}
            prompt_length = prompt_budget
        inputs = {name: tensor.to(model.device) for name, tensor in inputs.items()}
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        new_tokens = output[0, prompt_length:]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        for marker in stop or ():
            text = text.split(marker, 1)[0]
        usage = {
            "input_tokens": int(prompt_length),
            "output_tokens": int(new_tokens.shape[0]),
            "total_tokens": int(prompt_length + new_tokens.shape[0]),
        }
        message = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _token_budget(self, model: Any) -> tuple[int, int]:
        """How many tokens to generate and how many prompt tokens fit beside them: at most half
        the window is spent on the answer."""
        window = getattr(model.config, "max_position_embeddings", None)
        if not window:
            return self.max_new_tokens, 1 << 30
        max_new_tokens = min(self.max_new_tokens, window // 2)
        return max_new_tokens, window - max_new_tokens


def keep_head_and_tail(tokens: Any, budget: int) -> Any:
    """The first three quarters of `budget` tokens and the last quarter of a (batch, length)
    tensor; the middle goes."""
    import torch

    tail = budget // 4
    head = budget - tail
    return torch.cat([tokens[:, :head], tokens[:, tokens.shape[1] - tail :]], dim=1)


def _load_checkpoint(directory: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory {directory} does not exist")
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if not tokenizer.chat_template:
        raise ValueError(f"the tokenizer in {directory} has no chat_template; cannot build chat prompts")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if (directory / "adapter_config.json").exists():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(str(directory))
    else:
        model = AutoModelForCausalLM.from_pretrained(str(directory))
    return tokenizer, model.to(device).eval()
