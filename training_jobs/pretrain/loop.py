"""The pretraining step and evaluation: plain torch, the same code for one process, DDP and FSDP2."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from training_jobs.pretrain.data import BlockSampler
from training_jobs.pretrain.distributed import Runtime, all_reduce_sum, gradient_sync


@dataclass(frozen=True)
class LoopSettings:
    micro_batch_size: int
    gradient_accumulation_steps: int
    max_grad_norm: float
    eval_batches: int
    seed: int


class PretrainLoop:
    """Optimizer steps over seeded block order, and evaluation over a fixed set of blocks."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        blocks: tuple[torch.Tensor, torch.Tensor],
        *,
        runtime: Runtime,
        settings: LoopSettings,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.train_blocks, self.eval_blocks = blocks
        self.runtime = runtime
        self.settings = settings
        self.sampler = BlockSampler(len(self.train_blocks), settings.seed)

    def _autocast(self) -> torch.autocast:
        """bf16 autocast on GPUs; float32 on CPUs, where bf16 matmuls are slow."""
        device = self.runtime.device.type
        return torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")

    def train_step(self, step: int) -> float:
        """Optimizer step `step` (from 1) over its accumulated micro-batches; returns the mean loss.

        The blocks of micro-batch m on rank r sit at a stream position that depends only on the
        step, so a resumed run sees the same data as an uninterrupted one.
        """
        settings, runtime = self.settings, self.runtime
        self.model.train()
        total = torch.zeros((), device=runtime.device)
        accumulation = settings.gradient_accumulation_steps
        for micro in range(accumulation):
            stream = ((step - 1) * accumulation + micro) * runtime.world_size + runtime.rank
            rows = self.sampler.indices(stream * settings.micro_batch_size, settings.micro_batch_size)
            batch = self.train_blocks[rows].to(runtime.device)
            with gradient_sync(self.model, enabled=micro == accumulation - 1):
                with self._autocast():
                    loss = self.model(input_ids=batch, labels=batch).loss / accumulation
                loss.backward()
            total += loss.detach()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), settings.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(all_reduce_sum(total) / runtime.world_size)

    def evaluate(self) -> float:
        """Mean token loss over the eval blocks. Every rank runs the same number of forward passes
        (FSDP needs that), wrapping around a small eval set."""
        settings, runtime = self.settings, self.runtime
        self.model.eval()
        per_pass = settings.micro_batch_size * runtime.world_size
        passes = min(settings.eval_batches, math.ceil(len(self.eval_blocks) / per_pass))
        sums = torch.zeros(2, device=runtime.device)
        with torch.no_grad():
            for index in range(passes):
                start = (index * runtime.world_size + runtime.rank) * settings.micro_batch_size
                rows = torch.arange(start, start + settings.micro_batch_size) % len(self.eval_blocks)
                batch = self.eval_blocks[rows].to(runtime.device)
                with self._autocast():
                    loss = self.model(input_ids=batch, labels=batch).loss.float()
                sums[0] += loss * len(rows)
                sums[1] += len(rows)
        total = all_reduce_sum(sums)
        return float(total[0] / total[1])
