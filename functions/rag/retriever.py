"""Hybrid retrieval: embed the query, search the store, and judge whether the hits are good enough."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from functions.errors import InvalidRequestError
from functions.rag.documents import ScoredChunk, SearchQuery
from functions.rag.embedders import Embedder
from functions.rag.vectorstore import VectorStore


@dataclass(frozen=True)
class RetrievalConfig:
    top_k: int = 5
    candidate_pool: int = 50
    dense_weight: float = 0.6
    min_relevance: float = 0.45


@dataclass(frozen=True)
class Retrieval:
    hits: list[ScoredChunk]
    confident: bool

    @property
    def top_relevance(self) -> float:
        return max((hit.relevance for hit in self.hits), default=0.0)


class Retriever:
    def __init__(self, store: VectorStore, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config

    def retrieve(
        self, text: str, k: int | None = None, filters: Mapping[str, str | int | float | bool] | None = None
    ) -> Retrieval:
        """The best `k` chunks; `confident` says whether the best of them clears `min_relevance`."""
        filters = dict(filters or {})
        for name, value in filters.items():
            if not isinstance(value, str | int | float | bool):
                raise InvalidRequestError(
                    f"filter {name!r} must be a single value, not {type(value).__name__}"
                )
        k = k or self.config.top_k
        query = SearchQuery(
            text=text,
            vector=self.embedder.embed_query(text),
            k=k,
            filters={name: str(value) for name, value in filters.items()},
            candidate_pool=max(self.config.candidate_pool, k),
            dense_weight=self.config.dense_weight,
        )
        hits = self.store.search(query)
        return Retrieval(hits=hits, confident=self.confident_in(hits))

    def confident_in(self, hits: Sequence[ScoredChunk]) -> bool:
        """The confidence gate: does the best of these chunks clear `min_relevance`?"""
        return any(hit.relevance >= self.config.min_relevance for hit in hits)
