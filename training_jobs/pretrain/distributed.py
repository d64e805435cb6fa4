"""torchrun plumbing for the pretraining loop: process group, DDP or FSDP2, checkpoints.

Checkpoints use torch.distributed.checkpoint (DCP) with the state-dict helpers, which save and load
the same way for a single process, DDP and FSDP2 (each rank writes its own shards). A checkpoint
counts as complete once rank 0 has written `trainer_state.json` into it, after every rank finished
writing, so an instance reclaimed mid-save leaves a folder that resume skips.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.checkpoint.state_dict_loader import load as dcp_load
from torch.distributed.checkpoint.state_dict_saver import save as dcp_save
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.nn.parallel import DistributedDataParallel

logger = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"

# DCP warns on every save and load of a single-process run, which is an intended use here.
warnings.filterwarnings("ignore", message="torch.distributed is disabled", category=UserWarning)


@dataclass(frozen=True)
class Runtime:
    """This process's place in the job."""

    rank: int
    world_size: int
    device: torch.device
    owns_process_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if dist.is_initialized():
            dist.barrier()

    def close(self) -> None:
        """Wait for every rank, and leave the process group if this job created it."""
        self.barrier()
        if self.owns_process_group:
            dist.destroy_process_group()


def init_runtime() -> Runtime:
    """Join the torchrun process group (NCCL on GPUs, gloo on CPUs), or run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    create = world_size > 1 and not dist.is_initialized()
    if create:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(int(os.environ.get("RANK", "0")), world_size, device, owns_process_group=create)


def wrap(model: torch.nn.Module, runtime: Runtime, parallelism: Literal["ddp", "fsdp"]) -> torch.nn.Module:
    """DDP replicates the model on every rank; FSDP2 shards each decoder layer and the rest."""
    if runtime.world_size == 1:
        return model
    if parallelism == "fsdp":
        for layer in model.model.layers:  # type: ignore[union-attr]
            fully_shard(layer)
        fully_shard(model)
        return model
    device_ids = [runtime.device.index] if runtime.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


@contextlib.contextmanager
def gradient_sync(model: torch.nn.Module, enabled: bool) -> Iterator[None]:
    """Skip the gradient all-reduce on all but the last micro-batch of an accumulation step."""
    if isinstance(model, DistributedDataParallel) and not enabled:
        with model.no_sync():
            yield
        return
    if isinstance(model, FSDPModule):
        model.set_requires_gradient_sync(enabled)
    yield


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a small tensor over all ranks (identity in a single process)."""
    if dist.is_initialized():
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


class TrainState:
    """Model, optimizer and schedule as one DCP `Stateful`."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler

    def state_dict(self) -> dict[str, Any]:
        model_state, optimizer_state = get_state_dict(self.model, self.optimizer)
        return {"model": model_state, "optimizer": optimizer_state, "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_state_dict(
            self.model, self.optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"]
        )
        self.scheduler.load_state_dict(state["scheduler"])


def _complete_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints that every rank finished writing, oldest first."""
    return sorted(path for path in directory.glob("step_*") if (path / STATE_FILE).is_file())


def latest_checkpoint(directory: Path) -> Path | None:
    """The complete checkpoint with the highest step, if any."""
    complete = _complete_checkpoints(directory)
    return complete[-1] if complete else None


def save_checkpoint(directory: Path, step: int, state: TrainState, runtime: Runtime, keep: int) -> Path:
    """Write a checkpoint of every rank's shards, mark it complete, and drop the oldest beyond `keep`."""
    path = directory / f"step_{step:08d}"
    if runtime.is_main and path.exists():
        # Left by an attempt that died mid-save (a complete one would have been resumed from).
        # Removed rather than written over: torch warns that dcp.save will stop overwriting.
        shutil.rmtree(path)
    runtime.barrier()
    dcp_save({"train": state}, checkpoint_id=str(path))
    runtime.barrier()
    if runtime.is_main:
        (path / STATE_FILE).write_text(json.dumps({"step": step}), encoding="utf-8")
        for old in _complete_checkpoints(directory)[:-keep]:
            shutil.rmtree(old)
    runtime.barrier()
    logger.info("saved checkpoint %s", path)
    return path


def load_checkpoint(path: Path, state: TrainState) -> int:
    """Restore `state` in place from a checkpoint; returns its step."""
    dcp_load({"train": state}, checkpoint_id=str(path))
    return int(json.loads((path / STATE_FILE).read_text(encoding="utf-8"))["step"])


def full_state_dict(model: torch.nn.Module) -> dict[str, Any]:
    """The unsharded weights on the CPU of rank 0 (collective: every rank must call it)."""
    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
