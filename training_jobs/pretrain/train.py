"""Pretrain a Llama-style causal LM from scratch: a plain torch loop under torchrun, DDP or FSDP2.

The corpus is `train.jsonl` (+ `eval.jsonl`) of `{"text": ...}` rows, as `training_jobs.data.build`
writes it. A byte-level BPE tokenizer is trained on it unless one is given. bf16 autocast on GPUs,
gradient accumulation, cosine schedule with warmup, a DCP checkpoint every `--save_steps` into the
checkpoint folder (synced to S3 on SageMaker), automatic resume from the newest complete checkpoint
at the step after it, eval perplexity, tokens/s and MFU in the log, and the final model in HF format
(with tokenizer, chat template and generation config) in the output folder, with `metrics.json`.

Usage:
    python -m training_jobs.pretrain.train --tiny --output_dir outputs/pretrain
    torchrun --nproc_per_node=2 -m training_jobs.pretrain.train --tiny --parallelism fsdp \\
        --output_dir outputs/pretrain-fsdp
    torchrun --nproc_per_node=8 -m training_jobs.pretrain.train --data_dir outputs/data/corpus \\
        --hidden_size 768 --num_layers 12 --num_heads 12 --seq_length 1024 --max_steps 5000
    genai-stack train pretrain --tiny

On SageMaker the corpus comes from the channel `corpus`; launch with
`genai-stack train launch pretrain --instance-count 2` (torchrun on every node).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from training_jobs.common.args import JobArguments, make_job_parser, run_job
from training_jobs.common.sagemaker import SageMakerEnvironment
from training_jobs.common.tiny import apply_tiny

if TYPE_CHECKING:
    import torch
    from trl.scripts.utils import TrlParser

    from training_jobs.pretrain.distributed import Runtime

logger = logging.getLogger(__name__)


@dataclass
class PretrainArguments(JobArguments):
    data_dir: str | None = field(
        default=None,
        metadata={"help": "Corpus folder with train.jsonl (and eval.jsonl). Default: channel 'corpus'."},
    )
    checkpoint_dir: str | None = field(
        default=None,
        metadata={
            "help": "Checkpoints, and resume from them. Default: /opt/ml/checkpoints on SageMaker, "
            "else <output_dir>/checkpoints."
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "An existing tokenizer; default: train a byte-level BPE on the corpus."},
    )
    vocab_size: int = field(default=32000, metadata={"help": "Vocabulary of the tokenizer trained here."})
    hidden_size: int = field(default=768, metadata={"help": "Model width."})
    num_layers: int = field(default=12, metadata={"help": "Decoder layers."})
    num_heads: int = field(default=12, metadata={"help": "Attention heads."})
    intermediate_size: int = field(
        default=2560, metadata={"help": "MLP width (about 125M parameters by default)."}
    )
    seq_length: int = field(default=1024, metadata={"help": "Tokens per training block."})
    micro_batch_size: int = field(default=8, metadata={"help": "Blocks per forward pass on each rank."})
    gradient_accumulation_steps: int = field(
        default=4, metadata={"help": "Micro-batches per optimizer step."}
    )
    max_steps: int = field(
        default=2000, metadata={"help": "Optimizer steps in total (a resumed run counts on)."}
    )
    learning_rate: float = field(default=6e-4, metadata={"help": "Peak learning rate."})
    warmup_steps: int = field(default=100, metadata={"help": "Linear warmup before the cosine decay."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW decay of matrices (not norms)."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping."})
    parallelism: Literal["ddp", "fsdp"] = field(
        default="ddp",
        metadata={"help": "Under torchrun: replicate (ddp) or shard (fsdp, FSDP2 fully_shard)."},
    )
    save_steps: int = field(default=200, metadata={"help": "Checkpoint every this many steps."})
    eval_steps: int = field(default=200, metadata={"help": "Evaluate every this many steps."})
    eval_batches: int = field(default=20, metadata={"help": "Micro-batches per rank in an evaluation."})
    log_steps: int = field(default=10, metadata={"help": "Log loss, tokens/s and MFU every this many steps."})
    keep_checkpoints: int = field(default=2, metadata={"help": "Complete checkpoints kept on disk."})
    peak_tflops: float | None = field(
        default=None, metadata={"help": "Peak TFLOP/s of one device for MFU; default: known GPUs' bf16 peak."}
    )


TINY: dict[str, Any] = {
    "vocab_size": 512,
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "intermediate_size": 256,
    "seq_length": 64,
    "micro_batch_size": 4,
    "gradient_accumulation_steps": 2,
    "max_steps": 20,
    "learning_rate": 3e-3,
    "warmup_steps": 3,
    "save_steps": 10,
    "eval_steps": 10,
    "eval_batches": 2,
    "log_steps": 5,
}


def main(args: PretrainArguments) -> dict[str, Any]:
    """Train (or resume) and export; returns the metrics written to `metrics.json`."""
    from training_jobs.pretrain import distributed as dist_utils
    from training_jobs.pretrain.data import train_and_eval_blocks
    from training_jobs.pretrain.loop import LoopSettings, PretrainLoop
    from training_jobs.pretrain.model import flops_per_token

    if args.tiny:
        apply_tiny(TINY, args)
    env = SageMakerEnvironment.from_environ()
    runtime = dist_utils.init_runtime()
    output_dir = env.output_dir(args.output_dir, "pretrain")
    checkpoint_dir = env.checkpoints(args.checkpoint_dir, output_dir)
    hosts = list(env.hosts) or ["local"]
    logger.info(
        "host %s of %s, rank %d of %d on %s",
        env.current_host,
        hosts,
        runtime.rank,
        runtime.world_size,
        runtime.device,
    )
    corpus_dir = env.require_channel(
        "corpus",
        args.data_dir,
        "--data_dir",
        (lambda: _tiny_corpus(output_dir, runtime)) if args.tiny else None,
    )
    train_texts, eval_texts = _read_corpus(corpus_dir)
    tokenizer = _tokenizer(args, train_texts, checkpoint_dir, runtime)
    blocks = train_and_eval_blocks(tokenizer, train_texts, eval_texts, args.seq_length)
    config, model, parameters = _model(args, tokenizer, runtime)
    optimizer, scheduler = _optimizer(model, args)
    state = dist_utils.TrainState(model, optimizer, scheduler)
    resume = dist_utils.latest_checkpoint(checkpoint_dir)
    start_step = dist_utils.load_checkpoint(resume, state) if resume else 0
    if resume:
        logger.info("resumed from %s: continuing at step %d", resume, start_step + 1)
    settings = LoopSettings(
        args.micro_batch_size,
        args.gradient_accumulation_steps,
        args.max_grad_norm,
        args.eval_batches,
        args.seed,
    )
    loop = PretrainLoop(model, optimizer, scheduler, blocks, runtime=runtime, settings=settings)
    meter = _Meter(
        tokens_per_step=args.micro_batch_size
        * args.gradient_accumulation_steps
        * runtime.world_size
        * args.seq_length,
        flops_per_token=flops_per_token(parameters, args.num_layers, args.hidden_size, args.seq_length),
        peak_flops=_peak_flops(args, runtime),
    )
    logger.info("%d parameters, %d tokens per step", parameters, meter.tokens_per_step)
    evaluations: list[dict[str, float]] = []
    for step in range(start_step + 1, args.max_steps + 1):
        started = time.perf_counter()
        loss = loop.train_step(step)
        meter.add(loss, time.perf_counter() - started, first=step == start_step + 1)
        if step % args.log_steps == 0 or step == args.max_steps:
            logger.info("train %s", json.dumps(meter.record(step, scheduler.get_last_lr()[0])))
        if step % args.eval_steps == 0 and step < args.max_steps:
            evaluations.append(_evaluation(step, loop.evaluate()))
        if step % args.save_steps == 0 or step == args.max_steps:
            dist_utils.save_checkpoint(checkpoint_dir, step, state, runtime, args.keep_checkpoints)
    evaluations.append(_evaluation(args.max_steps, loop.evaluate()))
    metrics: dict[str, Any] = {
        "parameters": parameters,
        "steps": args.max_steps,
        "resumed_from_step": start_step,
        "world_size": runtime.world_size,
        "parallelism": args.parallelism if runtime.world_size > 1 else "single",
        **meter.summary(),
        "eval_loss": evaluations[-1]["eval_loss"],
        "eval_perplexity": evaluations[-1]["eval_perplexity"],
        "evaluations": evaluations,
    }
    weights = dist_utils.full_state_dict(model)
    if runtime.is_main:
        _export(config, weights, tokenizer, output_dir, metrics)
    runtime.close()
    return metrics


class _Meter:
    """Loss, tokens/s and MFU per logging window, and over the whole run (its first step aside:
    it pays for allocation and warm-up)."""

    def __init__(self, tokens_per_step: int, flops_per_token: float, peak_flops: float | None) -> None:
        self.tokens_per_step = tokens_per_step
        self.flops_per_token = flops_per_token
        self.peak_flops = peak_flops
        self.history: list[dict[str, float | None]] = []
        self._window: list[tuple[float, float]] = []
        self._run_seconds = 0.0
        self._run_steps = 0

    def add(self, loss: float, seconds: float, first: bool) -> None:
        self._window.append((loss, seconds))
        if not first:
            self._run_seconds += seconds
            self._run_steps += 1

    def _rates(self, steps: int, seconds: float) -> tuple[float | None, float | None]:
        from training_jobs.pretrain.model import mfu

        if not steps or not seconds:
            return None, None
        throughput = self.tokens_per_step * steps / seconds
        return throughput, mfu(throughput, self.flops_per_token, self.peak_flops) if self.peak_flops else None

    def record(self, step: int, learning_rate: float) -> dict[str, float | None]:
        """The window's averages, kept in the history; starts a new window."""
        throughput, utilisation = self._rates(len(self._window), sum(s for _, s in self._window))
        record = {
            "step": step,
            "loss": sum(loss for loss, _ in self._window) / len(self._window),
            "learning_rate": learning_rate,
            "tokens_per_second": throughput,
            "mfu": utilisation,
        }
        self.history.append(record)
        self._window = []
        return record

    def summary(self) -> dict[str, Any]:
        throughput, utilisation = self._rates(self._run_steps, self._run_seconds)
        return {
            "tokens_per_step": self.tokens_per_step,
            "flops_per_token": self.flops_per_token,
            "tokens_per_second": throughput,
            "mfu": utilisation,
            "final_train_loss": self.history[-1]["loss"] if self.history else None,
            "history": self.history,
        }


def _evaluation(step: int, loss: float) -> dict[str, float]:
    record = {"step": step, "eval_loss": loss, "eval_perplexity": math.exp(loss)}
    logger.info("eval %s", json.dumps(record))
    return record


def _model(args: PretrainArguments, tokenizer: Any, runtime: Runtime) -> tuple[Any, torch.nn.Module, int]:
    """Config, the model (seeded alike on every rank, then wrapped for DDP or FSDP2), parameter count."""
    import torch
    from transformers import LlamaForCausalLM

    from training_jobs.pretrain.distributed import wrap
    from training_jobs.pretrain.model import llama_config

    config = llama_config(
        vocab_size=len(tokenizer),
        tokenizer=tokenizer,
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_size=args.intermediate_size,
        max_position_embeddings=args.seq_length,
    )
    torch.manual_seed(args.seed)
    with runtime.device:
        model = LlamaForCausalLM(config)
    parameters = sum(p.numel() for p in model.parameters())
    return config, wrap(model, runtime, args.parallelism), parameters


def _optimizer(model: torch.nn.Module, args: PretrainArguments) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW (no decay on norms) with linear warmup and cosine decay."""
    import torch
    from transformers import get_cosine_schedule_with_warmup

    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.learning_rate,
        betas=(0.9, 0.95),
    )
    return optimizer, get_cosine_schedule_with_warmup(optimizer, args.warmup_steps, args.max_steps)


def tiny_base_model(root: Path) -> Path:
    """A tiny Llama pretrained for a few steps on the sample corpus, tokenizer included (built
    once in the tiny-inputs folder `root`)."""
    from training_jobs.data.build import tiny_datasets

    directory = root / "base"
    if not (directory / "config.json").is_file():
        corpus = tiny_datasets(root) / "corpus"
        main(PretrainArguments(output_dir=str(directory), data_dir=str(corpus), tiny=True))
    return directory


def _tiny_corpus(output_dir: Path, runtime: Runtime) -> Path:
    """The sample export's corpus, built by rank 0 while the others wait."""
    from training_jobs.common.tiny import tiny_inputs
    from training_jobs.data.build import tiny_datasets

    if runtime.is_main:
        tiny_datasets(tiny_inputs(output_dir))
    runtime.barrier()
    return tiny_datasets(tiny_inputs(output_dir)) / "corpus"


def _read_corpus(corpus_dir: Path) -> tuple[list[str], list[str]]:
    from training_jobs.common.jsonl import load_split, read_jsonl

    train = load_split(corpus_dir, "train", "pretraining corpus", ("text",))
    eval_file = corpus_dir / "eval.jsonl"
    held_out = read_jsonl(eval_file) if eval_file.is_file() else []
    return [row["text"] for row in train], [row["text"] for row in held_out]


def _tokenizer(args: PretrainArguments, texts: list[str], checkpoint_dir: Path, runtime: Runtime) -> Any:
    """The given tokenizer, or one trained by rank 0 and kept with the checkpoints (resume reuses it)."""
    from transformers import AutoTokenizer

    from training_jobs.common.models import ensure_chat_template
    from training_jobs.pretrain.tokenizer import train_tokenizer

    if args.tokenizer_name_or_path:
        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer_name_or_path)
        ensure_chat_template(tokenizer)
        return tokenizer
    saved = checkpoint_dir / "tokenizer"
    if runtime.is_main and not saved.is_dir():
        train_tokenizer(texts, args.vocab_size).save_pretrained(saved)
    runtime.barrier()
    return AutoTokenizer.from_pretrained(saved)


def _peak_flops(args: PretrainArguments, runtime: Runtime) -> float | None:
    """Peak FLOP/s of all devices together, for MFU; None on an unknown device."""
    import torch

    from training_jobs.pretrain.model import peak_flops

    if args.peak_tflops:
        per_device = args.peak_tflops * 1e12
    elif runtime.device.type == "cuda":
        per_device = peak_flops(torch.cuda.get_device_name(runtime.device)) or 0.0
    else:
        per_device = 0.0
    if not per_device:
        logger.info("peak FLOP/s of %s unknown: pass --peak_tflops to log MFU", runtime.device)
        return None
    return per_device * runtime.world_size


def _export(
    config: Any, weights: dict[str, Any], tokenizer: Any, output_dir: Path, metrics: dict[str, Any]
) -> None:
    """The final model in HF format, ready for serving, with the run's metrics."""
    from transformers import LlamaForCausalLM

    from training_jobs.common.models import save_for_serving, write_report

    model = LlamaForCausalLM(config)
    model.load_state_dict(weights)
    save_for_serving(model, tokenizer, output_dir)
    write_report(output_dir, metrics)
    logger.info("wrote %s: eval perplexity %.2f", output_dir, metrics["eval_perplexity"])


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    """The job's flags (`argv` is unused: its `--tiny` preset is applied in `main`)."""
    return make_job_parser(prog, __doc__, PretrainArguments)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
