"""Exact and near-duplicate detection: a normalised-text hash plus MinHash LSH (datasketch).

Support logs repeat themselves: the same question asked twice, the same answer with a different
greeting. Exact duplicates are caught by hashing normalised text; near duplicates by the Jaccard
similarity of character 5-gram sets, estimated with MinHash and looked up through LSH, so the cost
stays linear in the number of texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from datasketch import MinHash, MinHashLSH

from functions.text import fold_case_and_space

T = TypeVar("T")

NUM_PERM = 128
NGRAM = 5


def text_hash(text: str) -> str:
    """Stable hash of the folded text, the key of exact deduplication (Python's `hash` changes
    between processes)."""
    return hashlib.sha256(fold_case_and_space(text).encode("utf-8")).hexdigest()


def _minhash(text: str) -> MinHash:
    norm = fold_case_and_space(text)
    grams = {norm[i : i + NGRAM] for i in range(max(1, len(norm) - NGRAM + 1))}
    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch([gram.encode("utf-8") for gram in grams])
    return signature


@dataclass(frozen=True)
class Match:
    """An indexed text that a new text duplicates."""

    key: str
    exact: bool


class NearDuplicateIndex:
    """Texts seen so far, queried for an exact or near (Jaccard >= threshold) duplicate."""

    def __init__(self, threshold: float) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self._exact: dict[str, str] = {}
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)

    def find(self, text: str) -> Match | None:
        """The first indexed text that `text` duplicates, exact matches first."""
        exact = self._exact.get(text_hash(text))
        if exact is not None:
            return Match(exact, exact=True)
        near = sorted(self._lsh.query(_minhash(text)))
        return Match(near[0], exact=False) if near else None

    def add(self, key: str, text: str) -> None:
        """Index `text` under `key` (keys must be unique)."""
        self._exact.setdefault(text_hash(text), key)
        self._lsh.insert(key, _minhash(text))


@dataclass(frozen=True)
class DedupeCounts:
    exact: int = 0
    near: int = 0


def deduplicate(items: Sequence[T], text_of: Callable[[T], str], threshold: float) -> tuple[list[T], DedupeCounts]:
    """The items whose text duplicates no earlier item, and how many of each kind were dropped."""
    index = NearDuplicateIndex(threshold)
    kept: list[T] = []
    exact = near = 0
    for position, item in enumerate(items):
        text = text_of(item)
        match = index.find(text)
        if match is None:
            index.add(str(position), text)
            kept.append(item)
        elif match.exact:
            exact += 1
        else:
            near += 1
    return kept, DedupeCounts(exact=exact, near=near)
