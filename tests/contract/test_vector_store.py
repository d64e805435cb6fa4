"""One behaviour, every VectorStore: the embedded store, the OpenSearch adapter over the fake
cluster, and (when OPENSEARCH_URL is set) the OpenSearch adapter over a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.rag.documents import Chunk, SearchQuery, make_chunk_id
from functions.rag.stores.embedded import EmbeddedVectorStore
from functions.rag.stores.opensearch import OpenSearchVectorStore
from functions.rag.stores.ports import VectorStore
from tests.fake_opensearch import FakeCluster, FakeConnection
from tests.fakes import HashingEmbedder

EMBEDDER = HashingEmbedder()
DOCUMENTS = {
    "kb/returns.md": (
        "Returns",
        ["Return unworn jackets within 45 days for a refund.", "Swimwear needs its liner."],
    ),
    "kb/shipping.md": (
        "Shipping",
        ["Express delivery takes one business day.", "Standard shipping is free over $75."],
    ),
    "kb/klarna.json": ("Payments FAQ", ["Klarna splits a purchase into four instalments."]),
}
#: The shipping page's first passage again, copied into an FAQ with other case and spacing.
COPY = {"kb/faq.json": ("Shipping FAQ", ["express  delivery takes one\nbusiness day."])}


def _opensearch_real() -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[os.environ["OPENSEARCH_URL"]], timeout=30)


STORES = [
    "embedded",
    "opensearch-fake",
    pytest.param(
        "opensearch-real",
        marks=[
            pytest.mark.opensearch,
            pytest.mark.skipif(not os.environ.get("OPENSEARCH_URL"), reason="set OPENSEARCH_URL to run"),
        ],
    ),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "embedded":
        yield EmbeddedVectorStore(tmp_path / "index", EMBEDDER.dimension)
        return
    if request.param == "opensearch-fake":
        from opensearchpy import OpenSearch

        FakeConnection.cluster = FakeCluster()
        client = OpenSearch(hosts=[{"host": "fake", "port": 9200}], connection_class=FakeConnection)
    else:
        client = _opensearch_real()
    opensearch = OpenSearchVectorStore(client, f"contract-{uuid.uuid4().hex[:8]}", EMBEDDER.dimension)
    opensearch.ensure_index()
    yield opensearch
    client.indices.delete(index=opensearch.index, ignore=[404])


def fill(store: VectorStore, *sources: str, user_id: str | None = None) -> None:
    for source in sources or tuple(DOCUMENTS):
        title, texts = (DOCUMENTS | COPY)[source]
        chunks = [
            Chunk(
                make_chunk_id(source, i, t),
                t,
                source,
                title,
                chunk_index=i,
                source_hash=f"h-{source}",
                user_id=user_id,
                metadata={"kind": source.rsplit(".", 1)[1]},
            )
            for i, t in enumerate(texts)
        ]
        store.add(chunks, EMBEDDER.embed_documents(texts))
    store.flush()


def search(store: VectorStore, text: str, k: int = 3, **filters: str) -> list[str]:
    query = SearchQuery(text, EMBEDDER.embed_query(text), k, filters, candidate_pool=10, dense_weight=0.6)
    return [hit.chunk.text for hit in store.search(query)]


def test_best_match_comes_first(store: VectorStore) -> None:
    fill(store)
    assert search(store, "express delivery business day")[0] == "Express delivery takes one business day."
    assert search(store, "klarna instalments")[0] == "Klarna splits a purchase into four instalments."


def test_relevance_is_the_cosine_similarity(store: VectorStore) -> None:
    fill(store)
    text = "swimwear liner"
    (best,) = store.search(SearchQuery(text, EMBEDDER.embed_query(text), 1, {}, 10, 0.6))
    expected = float(EMBEDDER.embed_query(text) @ EMBEDDER.embed_query(best.chunk.text))
    assert best.relevance == pytest.approx(expected, abs=1e-5)


def test_filters_on_chunk_fields_and_metadata(store: VectorStore) -> None:
    fill(store)
    assert set(search(store, "days delivery instalments", k=5, source="kb/shipping.md")) == set(
        DOCUMENTS["kb/shipping.md"][1]
    )
    assert search(store, "instalments", k=5, kind="json") == [
        "Klarna splits a purchase into four instalments."
    ]
    assert set(search(store, "refund", k=5, title="Returns")) <= set(DOCUMENTS["kb/returns.md"][1])
    assert search(store, "refund", k=5, kind="pdf") == []


def test_source_hashes_list_every_source(store: VectorStore) -> None:
    fill(store)
    assert store.source_hashes() == {source: f"h-{source}" for source in DOCUMENTS}
    assert store.count() == 5


def test_deleting_a_source_removes_all_its_chunks(store: VectorStore) -> None:
    fill(store)
    assert store.delete_sources(["kb/returns.md"]) == 2
    store.flush()
    assert "kb/returns.md" not in store.source_hashes()
    assert all("Return" not in text for text in search(store, "return jackets refund", k=5))
    assert store.count() == 3


def test_empty_store_finds_nothing(store: VectorStore) -> None:
    assert store.count() == 0
    assert search(store, "anything at all") == []


def test_the_same_passage_from_two_sources_is_returned_once(store: VectorStore) -> None:
    fill(store, "kb/shipping.md", "kb/faq.json")
    hits = search(store, "express delivery business day", k=3)
    assert len(hits) == 2  # three chunks, two passages
    assert sum("xpress" in hit for hit in hits) == 1
