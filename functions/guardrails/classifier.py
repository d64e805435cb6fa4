"""A small text classifier: logistic regression over hashed word and character n-grams.

Written by hand, not with scikit-learn: the Lambda layer carries no numpy or scikit-learn (its
size budget), and scoring a few thousand hashed features is a sum in plain Python. The trainer
(`training_jobs/guardrails/train_classifier.py`) uses the same `features` function, so training
and serving hash text identically. The artefact is a zlib-compressed file: a JSON header line
(dimension, bias, scale, training metadata) and one signed byte per weight.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).parent / "models"
_WORD = re.compile(r"[^\W_]{1,40}(?:'[^\W_]{1,10})?")
_SEGMENT = re.compile(r"[^.!?\n]{1,4000}[.!?\n]?")
MAX_CHAR_NGRAM_WORD = 24  # longer tokens (ids, payloads) add only their word feature
WINDOW_CHARS = 300


def _hash(feature: str, dimension: int) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (dimension - 1)


def features(text: str, dimension: int) -> set[int]:
    """Hashed features of a normalised text: words, word pairs, and 3- and 4-letter pieces of
    each word (so "ignorez", "ignoriere" and "ignore" share evidence across languages)."""
    words = _WORD.findall(text)
    found: set[int] = set()
    for word in words:
        found.update(_word_features(word, dimension))
    found.update(_hash(f"b:{a} {b}", dimension) for a, b in pairwise(words))
    return found


@lru_cache(maxsize=65536)
def _word_features(word: str, dimension: int) -> tuple[int, ...]:
    """A word's own features, cached: words repeat, and hashing their pieces is most of the cost."""
    hashed = [_hash("w:" + word, dimension)]
    if len(word) <= MAX_CHAR_NGRAM_WORD:
        padded = f" {word} "
        for n in (3, 4):
            hashed.extend(_hash("c:" + padded[i : i + n], dimension) for i in range(len(padded) - n + 1))
    return tuple(hashed)


def windows(text: str) -> list[str]:
    """The text itself, and for a long text its runs of sentences of about `WINDOW_CHARS`: an
    instruction hidden in a long message is scored on its own, not diluted by the rest."""
    if len(text) <= WINDOW_CHARS:
        return [text]
    pieces: list[str] = [text]
    current = ""
    for match in _SEGMENT.finditer(text):
        segment = match.group(0)
        if current and len(current) + len(segment) > WINDOW_CHARS:
            pieces.append(current)
            current = ""
        current += segment
    if current:
        pieces.append(current)
    return pieces


@dataclass(frozen=True)
class HashedLogisticModel:
    """Weights over `dimension` hashed features, quantised to signed bytes times `scale`."""

    dimension: int
    bias: float
    scale: float
    weights: array[int]
    metadata: Mapping[str, Any]

    def probability(self, text: str) -> float:
        """P(positive) of one normalised text; binary features, L2-normalised as in training."""
        return self._probability(features(text, self.dimension))

    def _probability(self, found: set[int]) -> float:
        if not found:
            return 1.0 / (1.0 + math.exp(-self.bias))
        weights = self.weights
        logit = self.bias + self.scale * sum(weights[i] for i in found) / math.sqrt(len(found))
        return 1.0 / (1.0 + math.exp(-logit))

    @property
    def threshold(self) -> float:
        """The operating point chosen by cross-validation at training time."""
        return float(self.metadata.get("threshold", 0.5))

    def score(self, texts: Iterable[str]) -> float:
        """`max_probability` rescaled so that the operating threshold lands on 0.5, the score at
        which a policy acts by default (monotone: the ranking is unchanged)."""
        probability = self.max_probability(texts)
        threshold = min(max(self.threshold, 1e-6), 1 - 1e-6)
        if probability < threshold:
            return 0.5 * probability / threshold
        return 0.5 + 0.5 * (probability - threshold) / (1.0 - threshold)

    def max_probability(self, texts: Iterable[str]) -> float:
        """The highest probability over the texts and their windows (a text's own features are
        the union of its windows', so each window is hashed once)."""
        best = 0.0
        for text in texts:
            parts = windows(text)
            if len(parts) == 1:
                best = max(best, self.probability(text))
                continue
            window_features = [features(part, self.dimension) for part in parts[1:]]
            whole = set().union(*window_features)
            best = max(best, self._probability(whole), *(self._probability(f) for f in window_features))
        return best


def save_model(
    path: Path, weights: Iterable[float], bias: float, metadata: Mapping[str, Any]
) -> HashedLogisticModel:
    """Quantise and write a model; returns what `load_model` will read back."""
    values = list(weights)
    scale = max((abs(v) for v in values), default=1.0) / 127.0 or 1.0
    quantised = array("b", (max(-127, min(127, round(v / scale))) for v in values))
    kept: dict[str, Any] = dict(metadata)
    header = {"dimension": len(values), "bias": bias, "scale": scale, "metadata": kept}
    payload = json.dumps(header).encode("utf-8") + b"\n" + quantised.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(payload, 9))
    return HashedLogisticModel(len(values), bias, scale, quantised, kept)


@cache
def load_model(path: Path) -> HashedLogisticModel:
    """Read a model written by `save_model` (once per process)."""
    payload = zlib.decompress(path.read_bytes())
    header_bytes, _, body = payload.partition(b"\n")
    header = json.loads(header_bytes)
    weights = array("b")
    weights.frombytes(body)
    if len(weights) != header["dimension"]:
        raise ValueError(f"{path}: {len(weights)} weights for dimension {header['dimension']}")
    return HashedLogisticModel(
        int(header["dimension"]), float(header["bias"]), float(header["scale"]), weights, header["metadata"]
    )
