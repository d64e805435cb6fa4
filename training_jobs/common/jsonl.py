"""JSON Lines in and out, and the data-set checks that make a job fail fast on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from training_jobs.common.sagemaker import InputError


class DatasetError(InputError):
    """A data set is missing, malformed or empty; the message names the file and what it lacks."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a `.jsonl` file; a line that is not one stops with its line number."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write one object per line (creating the folder); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def load_split(
    directory: Path, split: str, what: str, keys: tuple[str, ...], hint: str = ""
) -> list[dict[str, Any]]:
    """`<directory>/<split>.jsonl` as written by `training_jobs.data.build`, checked for content.

    `what` names the set in messages ("SFT set", "preference pairs"); `hint` says how to get a
    non-empty one.
    """
    path = directory / f"{split}.jsonl"
    if not path.is_file():
        raise DatasetError(f"{what}: {path} not found (build it with `genai-stack train data`)")
    rows = read_jsonl(path)
    if not rows:
        raise DatasetError(f"{what}: {path} holds no examples" + (f"; {hint}" if hint else ""))
    missing = [key for key in keys if key not in rows[0]]
    if missing:
        raise DatasetError(f"{what}: {path} rows lack {missing}; expected the keys {list(keys)}")
    return rows
