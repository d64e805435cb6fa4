"""GPU training benchmark: pretraining throughput and MFU of a ~125M-parameter Llama in bf16 on one
GPU, and the step time of LoRA fine-tuning (and QLoRA, when bitsandbytes is importable) on a
~1.1B-parameter Llama.

It times the project's own code: the pretraining job's step (`PretrainLoop`: bf16 autocast over
float32 master weights, AdamW, gradient clipping) on random tokens, and a LoRA adapter built from
the fine-tuning jobs' LoRA defaults (trl's `get_peft_config`) on a bf16 base. Models are built
from a config, so nothing is downloaded. A few warm-up steps are excluded; the median step time
is reported. It takes about two minutes on an H100-class GPU and writes one JSON file.

MFU counts 6N + 12·L·H·S FLOPs per token (PaLM) against the GPU's dense bf16 peak from
`training_jobs.pretrain.model.PEAK_BF16_TFLOPS` (or --peak-tflops).

Usage (from the repository root; needs torch, transformers and peft):
    python -m bench.gpu_train_bench                  # on a GPU: writes bench/results/gpu_train_bench.json
    python -m bench.gpu_train_bench --smoke          # toy sizes, on a CPU, in seconds
    python -m bench.gpu_train_bench --output /tmp/bench.json --peak-tflops 989
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from training_jobs.common.trainer import LORA_DEFAULTS
from training_jobs.pretrain.distributed import Runtime
from training_jobs.pretrain.loop import LoopSettings, PretrainLoop
from training_jobs.pretrain.model import flops_per_token, llama_config, mfu, peak_flops

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "gpu_train_bench.json"


@dataclass(frozen=True)
class Shape:
    """A Llama's size and the batch it is timed with."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    seq_length: int
    micro_batch_size: int

    def config(self) -> Any:
        return llama_config(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.seq_length,
        )


#: The pretraining job's default model (about 125M parameters) and a batch an H100 holds easily.
PRETRAIN = Shape(32000, 768, 12, 12, 2560, 1024, 16)
#: TinyLlama-1.1B's shape, a size people fine-tune with LoRA on one GPU.
LORA = Shape(32000, 2048, 22, 32, 5632, 1024, 8)
SMOKE_PRETRAIN = Shape(512, 64, 2, 4, 256, 64, 4)
SMOKE_LORA = Shape(512, 64, 2, 4, 256, 64, 4)


def timed_steps(step: Callable[[], object], warmup: int, steps: int, device: torch.device) -> list[float]:
    """Seconds per step after `warmup` untimed steps, with the GPU's queue drained around each."""
    for _ in range(warmup):
        step()
    seconds = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return seconds


def bench_pretrain(shape: Shape, device: torch.device, peak: float | None, steps: int) -> dict[str, Any]:
    """The pretraining job's optimizer step on random tokens."""
    from transformers import LlamaForCausalLM, get_cosine_schedule_with_warmup

    torch.manual_seed(0)
    with device:
        model = LlamaForCausalLM(shape.config())
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95))
    scheduler = get_cosine_schedule_with_warmup(optimizer, 0, steps + 10)
    blocks = torch.randint(0, shape.vocab_size, (shape.micro_batch_size * 8, shape.seq_length))
    loop = PretrainLoop(
        model,
        optimizer,
        scheduler,
        (blocks, blocks[: shape.micro_batch_size]),
        runtime=Runtime(rank=0, world_size=1, device=device),
        settings=LoopSettings(shape.micro_batch_size, 1, 1.0, 1, 0),
    )
    counter = iter(range(1, 10_000))
    seconds = timed_steps(lambda: loop.train_step(next(counter)), warmup=3, steps=steps, device=device)
    step_seconds = statistics.median(seconds)
    tokens_per_step = shape.micro_batch_size * shape.seq_length
    throughput = tokens_per_step / step_seconds
    per_token = flops_per_token(parameters, shape.num_layers, shape.hidden_size, shape.seq_length)
    return {
        "shape": asdict(shape),
        "parameters": parameters,
        "precision": "bf16 autocast, fp32 master weights" if device.type == "cuda" else "fp32",
        "tokens_per_step": tokens_per_step,
        "step_seconds_median": step_seconds,
        "step_seconds": seconds,
        "tokens_per_second": throughput,
        "flops_per_token": per_token,
        "mfu": mfu(throughput, per_token, peak) if peak else None,
        "peak_memory_gb": torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None,
    }


def bench_lora(shape: Shape, device: torch.device, steps: int, quantized: bool) -> dict[str, Any]:
    """Forward, backward and AdamW step of a rank-16 adapter on every linear layer."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaForCausalLM
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.utils import get_peft_config

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    if quantized:  # QLoRA: the same weights, stored in 4-bit NF4 when loaded, as the jobs load them
        quantization = BitsAndBytesConfig(  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        full = AutoModelForCausalLM.from_config(shape.config(), dtype=dtype)  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped
        parameters = sum(p.numel() for p in full.parameters())
        with tempfile.TemporaryDirectory() as saved:
            full.save_pretrained(saved)
            del full
            base = LlamaForCausalLM.from_pretrained(
                saved, quantization_config=quantization, device_map={"": device}
            )
    else:
        with device:
            base = AutoModelForCausalLM.from_config(shape.config(), dtype=dtype)  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped
        parameters = sum(p.numel() for p in base.parameters())
    adapter = get_peft_config(ModelConfig(**LORA_DEFAULTS, lora_r=16, lora_alpha=32))
    assert adapter is not None  # LORA_DEFAULTS turns use_peft on
    model = get_peft_model(base, adapter)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    batch = torch.randint(0, shape.vocab_size, (shape.micro_batch_size, shape.seq_length), device=device)

    def step() -> None:
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed_steps(step, warmup=2, steps=steps, device=device)
    step_seconds = statistics.median(seconds)
    return {
        "shape": asdict(shape),
        "base_parameters": parameters,
        "trainable_parameters": trainable,
        "base_precision": "nf4 (QLoRA)" if quantized else str(dtype).removeprefix("torch."),
        "tokens_per_step": shape.micro_batch_size * shape.seq_length,
        "step_seconds_median": step_seconds,
        "step_seconds": seconds,
        "tokens_per_second": shape.micro_batch_size * shape.seq_length / step_seconds,
        "peak_memory_gb": torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="Toy sizes and few steps, to check the script on a CPU."
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Where the JSON results go.")
    parser.add_argument("--peak-tflops", type=float, help="Peak dense bf16 TFLOP/s of the GPU, for MFU.")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu" and not args.smoke:
        parser.error("no GPU here: run with --smoke to check the script at toy size")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = args.peak_tflops * 1e12 if args.peak_tflops else peak_flops(name)
    torch.backends.cuda.matmul.allow_tf32 = True
    started = time.perf_counter()
    results: dict[str, Any] = {
        "device": name,
        "torch": torch.__version__,
        "smoke": args.smoke,
        "peak_tflops": peak / 1e12 if peak else None,
        "pretrain": bench_pretrain(
            SMOKE_PRETRAIN if args.smoke else PRETRAIN, device, peak, 3 if args.smoke else 20
        ),
        "lora": bench_lora(
            SMOKE_LORA if args.smoke else LORA, device, 3 if args.smoke else 10, quantized=False
        ),
    }
    if importlib.util.find_spec("bitsandbytes") is not None:
        results["qlora"] = bench_lora(
            SMOKE_LORA if args.smoke else LORA, device, 3 if args.smoke else 10, quantized=True
        )
    results["seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k not in ("pretrain", "lora", "qlora")}))
    for part in ("pretrain", "lora", "qlora"):
        if part in results:
            summary = {k: v for k, v in results[part].items() if k not in ("shape", "step_seconds")}
            print(part, json.dumps(summary))
    return results


if __name__ == "__main__":
    main()
