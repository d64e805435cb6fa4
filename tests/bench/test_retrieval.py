"""The retrieval bench's embedder that remembers question vectors across the weight sweep."""

from __future__ import annotations

from collections.abc import Sequence

from bench.retrieval import RememberedQueries


class CountingEmbedder:
    dimension = 2

    def __init__(self) -> None:
        self.queries = 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return [float(len(text)), 1.0]


def test_each_question_is_embedded_once() -> None:
    inner = CountingEmbedder()
    remembered = RememberedQueries(inner)
    assert remembered.embed_query("ab") == remembered.embed_query("ab") == [2.0, 1.0]
    remembered.embed_query("abc")
    assert inner.queries == 2
    assert remembered.dimension == 2
    assert remembered.embed_documents(["x"]) == [[1.0, 0.0]]
