"""The model's shape, and the arithmetic behind tokens/s and MFU (model FLOPs utilisation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import LlamaConfig, PreTrainedTokenizerBase

#: Dense bf16 tensor-core peak per GPU, in TFLOP/s, from the vendors' data sheets (SXM parts).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.0),
    ("H100", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
)


def llama_config(
    *,
    vocab_size: int,
    hidden_size: int,
    num_layers: int,
    num_heads: int,
    intermediate_size: int,
    max_position_embeddings: int,
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> LlamaConfig:
    """A Llama config sized by arguments, with the tokenizer's special ids when there is one."""
    from transformers import LlamaConfig

    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id if tokenizer else None,
        eos_token_id=tokenizer.eos_token_id if tokenizer else None,
        pad_token_id=tokenizer.pad_token_id if tokenizer else None,
        tie_word_embeddings=True,
    )


def flops_per_token(parameters: int, num_layers: int, hidden_size: int, seq_length: int) -> float:
    """Training FLOPs per token: 6N for the weights plus 12·L·H·S for attention (PaLM, appendix B).

    With tied embeddings, counting the embedding matrix once accounts for the output projection.
    """
    return 6.0 * parameters + 12.0 * num_layers * hidden_size * seq_length


def peak_flops(device_name: str) -> float | None:
    """Peak bf16 FLOP/s of one GPU by its name, or None when the name is not in the table."""
    for marker, tflops in PEAK_BF16_TFLOPS:
        if marker in device_name:
            return tflops * 1e12
    return None


def mfu(tokens_per_second: float, flops_per_token: float, peak_flops_total: float) -> float:
    """Achieved model FLOP/s as a fraction of the hardware's peak (all devices together)."""
    return tokens_per_second * flops_per_token / peak_flops_total
