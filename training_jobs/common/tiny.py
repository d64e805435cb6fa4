"""The inputs of the `--tiny` presets, built on the spot when a job is not given its own.

A tiny job needs data and, past pretraining, a model to start from: the sample export's data
sets, a tiny model pretrained on their corpus and, for policy optimization, a tiny reward model.
They are built once in a `tiny-inputs/` folder beside the job's output folder and reused, so jobs
writing to sibling folders (`out/finetune`, `out/reward`, ...) share them, and a tiny job stands
alone while running the same code as the full-size pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training_jobs.common.args import apply_preset
from training_jobs.common.jsonl import write_jsonl


def apply_tiny(preset: Mapping[str, Any], *args: object) -> None:
    """Apply a job's tiny preset, on one CPU thread: a model this small gains nothing from more,
    and on a busy laptop two spinning OpenMP threads can make it ten times slower."""
    import torch

    apply_preset(preset, *args)
    torch.set_num_threads(1)


def tiny_inputs(output_dir: Path) -> Path:
    """The shared folder of tiny inputs for a job writing to `output_dir`."""
    return output_dir.parent / "tiny-inputs"


def tiny_export(root: Path) -> Path:
    """The sample interaction export as a JSONL file."""
    from training_jobs.data.sample import sample_records

    path = root / "export.jsonl"
    if not path.is_file():
        write_jsonl(path, sample_records())
    return path


def tiny_datasets(root: Path) -> Path:
    """Folder with sft/, preference/ and corpus/ built from the sample export."""
    from training_jobs.data.build import DataArguments
    from training_jobs.data.build import main as build

    directory = root / "data"
    if not (directory / "dataset_card.json").is_file():
        build(DataArguments(output_dir=str(directory), export_path=str(tiny_export(root))))
    return directory


def tiny_base_model(root: Path) -> Path:
    """A tiny Llama pretrained for a few steps on the sample corpus (tokenizer included)."""
    from training_jobs.pretrain.train import PretrainArguments
    from training_jobs.pretrain.train import main as pretrain

    directory = root / "base"
    if not (directory / "config.json").is_file():
        corpus = tiny_datasets(root) / "corpus"
        pretrain(PretrainArguments(output_dir=str(directory), data_dir=str(corpus), tiny=True))
    return directory


def tiny_reward_model(root: Path) -> Path:
    """A tiny reward model trained from the tiny base on the sample preference pairs."""
    from training_jobs.rlhf.reward import RewardArguments
    from training_jobs.rlhf.reward import main as train_reward

    directory = root / "reward"
    if not (directory / "config.json").is_file():
        train_reward(
            RewardArguments(
                output_dir=str(directory),
                model_name_or_path=str(tiny_base_model(root)),
                data_dir=str(tiny_datasets(root) / "preference"),
                tiny=True,
            )
        )
    return directory
