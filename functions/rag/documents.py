"""The records that flow through ingestion and retrieval."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A piece of a source document, the unit that is embedded, indexed and cited."""

    chunk_id: str
    text: str
    source: str
    title: str
    section: str = ""
    chunk_index: int = 0
    source_hash: str = ""
    user_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # One embedding per sentence of `text` (functions.rag.sentences.sentence_texts), computed at
    # ingestion so the answerer does not embed them per query. The stores keep them apart from
    # the JSON record (`to_dict`): a numpy array in the embedded index, a binary field in OpenSearch.
    sentence_vectors: Any = field(default=(), compare=False, repr=False)  # rows: numpy or lists

    def field_value(self, name: str) -> str | None:
        """The value a metadata filter on `name` compares against."""
        if name in FILTERABLE_FIELDS:
            value = getattr(self, name)
            return None if value is None else str(value)
        return self.metadata.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "text": self.text,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "chunk_index": self.chunk_index,
            "source_hash": self.source_hash,
            "user_id": self.user_id,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        return cls(
            chunk_id=data["chunk_id"],
            text=data["text"],
            source=data["source"],
            title=data.get("title", ""),
            section=data.get("section", ""),
            chunk_index=int(data.get("chunk_index", 0)),
            source_hash=data.get("source_hash", ""),
            user_id=data.get("user_id"),
            metadata=dict(data.get("metadata") or {}),
        )


#: Chunk attributes a filter may name directly; any other key is looked up in `metadata`.
FILTERABLE_FIELDS = frozenset({"source", "title", "section", "source_hash", "user_id"})


def make_chunk_id(source: str, index: int, text: str) -> str:
    """Stable id: the same text at the same place of the same source keeps its id."""
    digest = hashlib.sha1(f"{source}\x00{index}\x00{text}".encode(), usedforsecurity=False)
    return digest.hexdigest()


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk. `score` is the fused rank score (relative to this query's candidates);
    `relevance` is the absolute query-chunk similarity the confidence gate compares."""

    chunk: Chunk
    score: float
    relevance: float
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class SearchQuery:
    """One hybrid search: the text for BM25, its embedding for k-NN, and exact-match filters."""

    text: str
    vector: Any  # the query embedding (functions.rag.embeddings.ports.Vector), L2-normalised
    k: int
    filters: Mapping[str, str] = field(default_factory=dict)
    candidate_pool: int = 50
    dense_weight: float = 0.6
