"""The Embedder port. Adapters: MiniLM on the local CPU (`functions.rag.embeddings.minilm`), Amazon Bedrock
and SageMaker endpoints (`functions.rag.embeddings.aws`).

Vectors are L2-normalised. The local model returns a float32 numpy array; the AWS adapters return
lists of floats, so numpy (66 MB for arm64) stays out of the Lambda bundle. Both index and iterate
alike, which is all the runtime outside the embedded store needs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

#: One embedding: a numpy vector or a list of floats.
Vector = Any
#: A batch of embeddings, one row per text.
Vectors = Any


class Embedder(Protocol):
    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vector: ...


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two vectors, without numpy."""
    dot = sum(float(x) * float(y) for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(float(x) ** 2 for x in a)) * math.sqrt(sum(float(y) ** 2 for y in b))
    return dot / norms if norms else 0.0


class MemoizingEmbedder:
    """An embedder that remembers its recent query vectors. One question is embedded by the topic
    guardrail, by retrieval (with the previous question on a follow-up) and by the rephrase check;
    with this, each text costs one model call per request instead of up to three. Documents pass
    through (ingestion embeds each chunk once). Callers must not modify a returned vector."""

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner = inner
        self._embed_query = functools.lru_cache(maxsize=size)(inner.embed_query)

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Vector:
        return self._embed_query(text)
