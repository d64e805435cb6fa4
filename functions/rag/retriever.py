"""Hybrid retrieval: embed the query, search the store, and judge whether the hits are good enough."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from functions.errors import InvalidRequestError
from functions.rag.documents import ScoredChunk, SearchQuery
from functions.rag.embeddings.ports import Embedder, Vector
from functions.rag.rerankers import Reranker
from functions.rag.sentences import SentenceVectorCache
from functions.rag.stores.ports import VectorStore


@dataclass(frozen=True)
class RetrievalConfig:
    top_k: int = 5
    candidate_pool: int = 50
    dense_weight: float = 0.6
    min_relevance: float = 0.45
    # A resolved follow-up's query vector leans this far towards the previous question's.
    previous_weight: float = 0.5
    # With a reranker, the gate compares its scores with this instead of the cosine.
    rerank_min_relevance: float = 0.5


@dataclass(frozen=True)
class Retrieval:
    hits: list[ScoredChunk]
    confident: bool


class Retriever:
    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        config: RetrievalConfig,
        reranker: Reranker | None = None,
        sentence_vectors: SentenceVectorCache | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.reranker = reranker
        # Where the hits' ingestion-time sentence vectors go for the extractive answerer.
        self.sentence_vectors = sentence_vectors

    def retrieve(
        self,
        text: str,
        k: int | None = None,
        filters: Mapping[str, str | int | float | bool] | None = None,
        previous: str | None = None,
    ) -> Retrieval:
        """The best `k` chunks; `confident` says whether the best of them clears `min_relevance`.
        With `previous` (the question a follow-up leans on) the dense side also weighs that one."""
        filters = dict(filters or {})
        for name, value in filters.items():
            if not isinstance(value, str | int | float | bool):
                raise InvalidRequestError(
                    f"filter {name!r} must be a single value, not {type(value).__name__}"
                )
        k = k or self.config.top_k
        query = SearchQuery(
            text=text,
            vector=self._query_vector(text, previous),
            k=k,
            filters={name: str(value) for name, value in filters.items()},
            candidate_pool=max(self.config.candidate_pool, k),
            dense_weight=self.config.dense_weight,
        )
        hits = self._reranked(text, self.store.search(query))
        if self.sentence_vectors is not None:
            self.sentence_vectors.remember(hit.chunk for hit in hits)
        return Retrieval(hits=hits, confident=self.confident_in(hits))

    def _reranked(self, text: str, hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """The hits in the reranker's order, its score as their relevance (unchanged without one)."""
        if self.reranker is None or not hits:
            return hits
        scores = self.reranker.rerank(text, [hit.chunk.text for hit in hits])
        rescored = [replace(hit, relevance=score) for hit, score in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda hit: hit.relevance, reverse=True)

    def _query_vector(self, text: str, previous: str | None) -> Vector:
        vector = self.embedder.embed_query(text)
        if previous is None or self.config.previous_weight == 0.0:
            return vector
        weight = self.config.previous_weight
        blended = [
            float(a) + weight * float(b)
            for a, b in zip(vector, self.embedder.embed_query(previous), strict=True)
        ]
        norm = math.sqrt(sum(value * value for value in blended)) or 1.0
        return [value / norm for value in blended]

    def confident_in(self, hits: Sequence[ScoredChunk]) -> bool:
        """The confidence gate: does the best of these chunks clear `min_relevance` (the
        reranker's `rerank_min_relevance` when there is one)?"""
        threshold = self.config.min_relevance if self.reranker is None else self.config.rerank_min_relevance
        return any(hit.relevance >= threshold for hit in hits)
