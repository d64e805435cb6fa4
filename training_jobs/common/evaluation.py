"""Metrics on held-out data, shared by the jobs' own reports and by `training_jobs.evaluate`.

All of them work from chat messages through the tokenizer's chat template, so a model is scored
on the same prompts it is served with.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from transformers import GenerationMixin, PreTrainedModel, PreTrainedTokenizerBase

Messages = list[dict[str, str]]
_WORDS = re.compile(r"\w+")


def token_f1(prediction: str, reference: str) -> float:
    """Word-overlap F1 of two answers (SQuAD's answer metric, lower-cased, punctuation ignored)."""
    predicted = Counter(_WORDS.findall(prediction.lower()))
    expected = Counter(_WORDS.findall(reference.lower()))
    overlap = sum((predicted & expected).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def completion_logprobs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Messages],
    completions: Sequence[str],
    *,
    max_length: int = 1024,
    batch_size: int = 8,
) -> list[tuple[float, int]]:
    """Per example, the summed log-probability of the assistant completion and its token count."""
    import torch

    results: list[tuple[float, int]] = []
    for start in range(0, len(prompts), batch_size):
        rows: list[list[int]] = []
        prompt_lengths: list[int] = []
        pairs = zip(prompts[start : start + batch_size], completions[start : start + batch_size], strict=True)
        for prompt, completion in pairs:
            rows.append(
                _encode(tokenizer, _render(tokenizer, [*prompt, _assistant(completion)]))[:max_length]
            )
            prompt_lengths.append(len(_encode(tokenizer, _render(tokenizer, prompt, generation_prompt=True))))
        width = max(len(row) for row in rows)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=model.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=model.device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
        for index, (row, prompt_length) in enumerate(zip(rows, prompt_lengths, strict=True)):
            scored = logprobs[index, prompt_length - 1 : len(row) - 1]
            results.append((float(scored.sum()), scored.numel()))
    return results


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Messages],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 8,
) -> list[str]:
    """Greedy answers to chat prompts, decoded without special tokens."""
    import torch

    answers: list[str] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    try:
        for start in range(0, len(prompts), batch_size):
            texts = [
                _render(tokenizer, prompt, generation_prompt=True)
                for prompt in prompts[start : start + batch_size]
            ]
            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
                model.device
            )
            with torch.no_grad():
                # every causal LM class generates; PreTrainedModel's type does not say so
                generator = cast("GenerationMixin", model)
                output = generator.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            answers += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return [answer.strip() for answer in answers]


def reward_scores(
    reward_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Messages],
    completions: Sequence[str],
    *,
    max_length: int = 1024,
    batch_size: int = 8,
) -> list[float]:
    """The reward model's scalar score of each prompt + assistant completion."""
    import torch

    scores: list[float] = []
    for start in range(0, len(prompts), batch_size):
        pairs = zip(prompts[start : start + batch_size], completions[start : start + batch_size], strict=True)
        texts = [_render(tokenizer, [*prompt, _assistant(completion)]) for prompt, completion in pairs]
        batch = tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max_length,
            add_special_tokens=False,
        ).to(reward_model.device)
        with torch.no_grad():
            scores += reward_model(**batch).logits[:, 0].float().tolist()
    return scores


def _render(tokenizer: PreTrainedTokenizerBase, messages: Messages, generation_prompt: bool = False) -> str:
    """A chat as the model sees it, through the tokenizer's own chat template."""
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=False)
    return str(text)


def _assistant(content: str) -> dict[str, str]:
    return {"role": "assistant", "content": content}


def _encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of a rendered chat; the template already placed every special token."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
