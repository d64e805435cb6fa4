"""Measuring the guardrails: labelled data sets, per-category scores and per-detector latency.

One module serves `genai-stack eval guardrails` and the bench section, so both report the same
figures. Public sets are read from the shared folder beside the checkout, never copied in.
"""

from __future__ import annotations

import csv
import html
import zlib
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "guardrails"


def is_held_out(text: str) -> bool:
    """A fixed quarter of a public set, chosen by a hash of the text: never trained on."""
    return zlib.crc32(text.encode("utf-8")) % 4 == 0


def load_deepset(datasets: Path) -> Iterator[tuple[str, int, bool]]:
    """deepset/prompt-injections rows as (text, label, held_out)."""
    path = datasets / "prompt_injection" / "deepset_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"], int(row["label"]), is_held_out(row["text"])


def load_banking77(datasets: Path) -> Iterator[tuple[str, bool]]:
    """Banking77 customer questions (all benign) as (text, held_out)."""
    path = datasets / "intents" / "banking77_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"], is_held_out(row["text"])


def load_davidson(datasets: Path) -> Iterator[tuple[str, int, bool]]:
    """Davidson et al.'s tweets as (text, label, held_out): 1 for hate speech or offensive language."""
    path = datasets / "toxicity" / "davidson_labeled_data.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = html.unescape(row["tweet"])
            yield text, int(row["class"] != "2"), is_held_out(text)
