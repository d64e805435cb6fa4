"""What the `--tiny` presets share: applying a preset, and the folder of tiny inputs.

A tiny job needs data and, past pretraining, a model to start from: the sample export's data
sets, a tiny model pretrained on their corpus and, for policy optimization, a tiny reward model.
Each producer builds its own on the spot (`data.sample.tiny_export`, `data.build.tiny_datasets`,
`pretrain.train.tiny_base_model`, `rlhf.reward.tiny_reward_model`), once, in a `tiny-inputs/`
folder beside the job's output folder, so jobs writing to sibling folders (`out/finetune`,
`out/reward`, ...) share them, and a tiny job stands alone while running the same code as the
full-size pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training_jobs.common.args import apply_preset


def apply_tiny(preset: Mapping[str, Any], *args: object) -> None:
    """Apply a job's tiny preset to its parsed flags, and run on one CPU thread."""
    apply_preset(preset, *args)
    one_thread()


def one_thread() -> None:
    """Run a tiny job on one CPU thread: a model this small gains nothing from more, and on a busy
    laptop two spinning OpenMP threads can make it ten times slower. (The trl jobs' tiny presets
    are parser defaults, see `common.trainer.make_trainer_parser`; this is the rest of them.)"""
    import torch

    torch.set_num_threads(1)


def tiny_inputs(output_dir: Path) -> Path:
    """The shared folder of tiny inputs for a job writing to `output_dir`."""
    return output_dir.parent / "tiny-inputs"
