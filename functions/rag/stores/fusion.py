"""Fusion of the lexical (BM25) and dense (k-NN) rankings into one.

Each ranking's candidate scores are min-max normalised to [0, 1] within the query, then combined
as a weighted arithmetic mean, `w * dense + (1 - w) * lexical`; a candidate missing from one
ranking scores 0 there. This is the same computation as OpenSearch's `normalization-processor`
(`min_max` + `arithmetic_mean` with weights), so the embedded store and OpenSearch rank alike.

Why not reciprocal-rank fusion: RRF throws away how far apart the scores are. On SciFact plain RRF
gains over either ranking, but on paraphrased support questions (few shared words, BM25 noisy)
it lost to dense alone; a weighted score fusion leaning to the dense side keeps most of both
gains. The weight is `Settings.dense_weight`; `make bench` reports both data sets.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def min_max_normalise(scores: Mapping[Key, float]) -> dict[Key, float]:
    """Scale scores to [0, 1]; when all are equal every candidate gets 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    span = high - low
    return {key: (value - low) / span for key, value in scores.items()}


def fuse_scores(
    dense: Mapping[Key, float], lexical: Mapping[Key, float], dense_weight: float
) -> list[tuple[Key, float]]:
    """Candidates of both rankings with their fused score, best first (ties keep dense order)."""
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError("dense_weight must be within [0, 1]")
    dense_norm = min_max_normalise(dense)
    lexical_norm = min_max_normalise(lexical)
    keys = list(dict.fromkeys([*dense, *lexical]))
    fused = {
        key: dense_weight * dense_norm.get(key, 0.0) + (1.0 - dense_weight) * lexical_norm.get(key, 0.0)
        for key in keys
    }
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)


def distinct_passages(
    fused: Iterable[tuple[Key, float]], passage_of: Callable[[Key], str], k: int
) -> list[tuple[Key, float]]:
    """The first `k` candidates of a ranking, each passage once: the same text indexed from two
    sources (an FAQ answer copied into a policy page) is cited once, at its best rank.
    `passage_of` gives a candidate's folded text (`functions.text.fold_case_and_space`) or a hash of it."""
    kept: list[tuple[Key, float]] = []
    seen: set[str] = set()
    for key, score in fused:
        passage = passage_of(key)
        if passage in seen:
            continue
        seen.add(passage)
        kept.append((key, score))
        if len(kept) == k:
            break
    return kept
