"""Token blocks for causal LM training, and a sampler whose order is a function of the step.

Because the block order depends only on the seed and the position in the stream, a run resumed
from a checkpoint at step N feeds exactly the blocks the uninterrupted run would have fed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from training_jobs.common.jsonl import DatasetError
from training_jobs.common.models import END_OF_TEXT


def token_blocks(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], seq_length: int) -> torch.Tensor:
    """The texts tokenised, joined with a document separator and cut into `[n, seq_length]` blocks
    (the incomplete tail is dropped)."""
    separator = tokenizer.get_vocab().get(END_OF_TEXT, tokenizer.eos_token_id)
    stream: list[int] = []
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    for ids in encoded:
        stream += [*ids, separator]
    count = len(stream) // seq_length
    return torch.tensor(stream[: count * seq_length], dtype=torch.long).view(count, seq_length)


def train_and_eval_blocks(
    tokenizer: PreTrainedTokenizerBase,
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    seq_length: int,
    eval_share: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and eval blocks; when the eval texts fill no block, the last train blocks are held out."""
    train = token_blocks(tokenizer, train_texts, seq_length)
    held_out = token_blocks(tokenizer, eval_texts, seq_length)
    if len(held_out) == 0:
        cut = max(1, int(len(train) * eval_share))
        train, held_out = train[:-cut], train[-cut:]
    if len(train) == 0:
        raise DatasetError(
            f"the corpus fills no training block of {seq_length} tokens; add text or lower --seq_length"
        )
    return train, held_out


class BlockSampler:
    """Block indices for any position of an endless stream of seeded per-epoch permutations."""

    def __init__(self, num_blocks: int, seed: int) -> None:
        self._num_blocks = num_blocks
        self._seed = seed
        self._epoch = -1
        self._order = torch.empty(0, dtype=torch.long)

    def indices(self, start: int, count: int) -> torch.Tensor:
        """The blocks at stream positions `start .. start + count - 1`."""
        picked = []
        for position in range(start, start + count):
            epoch, offset = divmod(position, self._num_blocks)
            if epoch != self._epoch:
                generator = torch.Generator().manual_seed(self._seed + epoch)
                self._order = torch.randperm(self._num_blocks, generator=generator)
                self._epoch = epoch
            picked.append(int(self._order[offset]))
        return torch.tensor(picked, dtype=torch.long)
