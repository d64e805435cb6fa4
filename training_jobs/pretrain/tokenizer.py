"""Train a byte-level BPE tokenizer (tokenizers) that is ready for chat from its first save."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from training_jobs.common.models import CHAT_TEMPLATE, END_OF_TEXT, IM_END, PAD, SPECIAL_TOKENS

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE (GPT-2 style: no unknown tokens) with ChatML special tokens and template.

    `<|endoftext|>` separates pretraining documents and is the BOS token; `<|im_end|>` ends a chat
    turn and is the EOS token, so generation stops after the assistant's answer.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size <= len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size must exceed the 256 bytes and {len(SPECIAL_TOKENS)} special tokens")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped **kwargs
        tokenizer_object=tokenizer, bos_token=END_OF_TEXT, eos_token=IM_END, pad_token=PAD
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast
