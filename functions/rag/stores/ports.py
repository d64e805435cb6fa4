"""The VectorStore port: the embedded index on disk and OpenSearch k-NN both implement it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from functions.rag.documents import Chunk, ScoredChunk, SearchQuery
from functions.rag.embeddings.ports import Vectors


class VectorStore(Protocol):
    """Chunks with their embeddings, searchable by text and vector together (hybrid).

    Writes (`add`, `delete_sources`) become visible to searches after `flush`,
    which the embedded store makes atomic: a failure before it leaves the previous index
    untouched, and `discard` drops the pending writes. (OpenSearch applies writes as they come;
    its `flush` refreshes.)
    """

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None: ...

    def delete_sources(self, sources: Iterable[str]) -> int: ...

    def source_hashes(self) -> dict[str, str]: ...

    def search(self, query: SearchQuery) -> list[ScoredChunk]: ...

    def count(self) -> int: ...

    def flush(self) -> None: ...

    def discard(self) -> None: ...
