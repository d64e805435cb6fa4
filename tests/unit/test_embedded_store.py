from pathlib import Path

import numpy as np
import pytest

from functions.rag.documents import Chunk, SearchQuery, make_chunk_id
from functions.rag.stores.embedded import EmbeddedVectorStore, IndexCorruptError
from tests.fakes import HashingEmbedder

EMBEDDER = HashingEmbedder()
TEXTS = {
    "returns.md": ["Return unworn items within 45 days.", "Swimwear needs its hygiene liner."],
    "shipping.md": ["Standard shipping is free over $75.", "Express delivery takes one business day."],
    "copy.md": ["Return unworn items within 45 days."],
}


def chunks_of(source: str, category: str = "policy") -> list[Chunk]:
    return [
        Chunk(
            make_chunk_id(source, i, text),
            text,
            source,
            source.removesuffix(".md").title(),
            chunk_index=i,
            source_hash=f"hash-{source}",
            metadata={"category": category},
        )
        for i, text in enumerate(TEXTS[source])
    ]


def add(store: EmbeddedVectorStore, source: str, category: str = "policy") -> None:
    chunks = chunks_of(source, category)
    store.add(chunks, EMBEDDER.embed_documents([c.text for c in chunks]))


def search(store: EmbeddedVectorStore, text: str, k: int = 3, **filters: str) -> list[str]:
    query = SearchQuery(text, EMBEDDER.embed_query(text), k, filters, candidate_pool=10, dense_weight=0.5)
    return [hit.chunk.text for hit in store.search(query)]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedVectorStore:
    store = EmbeddedVectorStore(tmp_path / "index", EMBEDDER.dimension)
    add(store, "returns.md")
    add(store, "shipping.md", category="logistics")
    store.flush()
    return store


def test_hybrid_search_ranks_the_matching_chunk_first(store: EmbeddedVectorStore) -> None:
    assert search(store, "how many days to return items")[0] == "Return unworn items within 45 days."
    assert search(store, "express delivery")[0] == "Express delivery takes one business day."


def test_hits_report_fused_score_and_absolute_relevance(store: EmbeddedVectorStore) -> None:
    query = SearchQuery("swimwear liner", EMBEDDER.embed_query("swimwear liner"), 2, {}, 10, 0.5)
    best, second = store.search(query)
    assert best.score == pytest.approx(1.0) and best.score > second.score
    assert best.relevance == pytest.approx(
        float(EMBEDDER.embed_query("swimwear liner") @ EMBEDDER.embed_query(best.chunk.text))
    )


def test_filters_restrict_both_rankings(store: EmbeddedVectorStore) -> None:
    found = search(store, "return items within business days", category="logistics")
    assert found and set(found) <= set(TEXTS["shipping.md"])
    assert search(store, "return", source="shipping.md", category="policy") == []
    assert search(store, "anything", category="no-such-category") == []


def test_identical_passages_from_two_sources_are_returned_once(store: EmbeddedVectorStore) -> None:
    add(store, "copy.md")
    store.flush()
    results = search(store, "return unworn items 45 days", k=5)
    assert results.count("Return unworn items within 45 days.") == 1


def test_index_survives_a_restart_and_other_readers_see_new_versions(
    store: EmbeddedVectorStore, tmp_path: Path
) -> None:
    reader = EmbeddedVectorStore(tmp_path / "index", EMBEDDER.dimension)
    assert reader.count() == 4
    store.delete_sources(["shipping.md"])
    store.flush()
    assert reader.count() == 2  # picked up on the next read, no restart
    assert reader.source_hashes() == {"returns.md": "hash-returns.md"}


def test_pending_writes_are_invisible_until_flush_and_can_be_discarded(store: EmbeddedVectorStore) -> None:
    store.delete_sources(["returns.md"])
    add(store, "copy.md")
    assert store.count() == 4  # searches still see the committed version
    store.discard()
    store.flush()
    assert sorted(store.source_hashes()) == ["returns.md", "shipping.md"]


def test_only_the_live_and_previous_versions_stay_on_disk(store: EmbeddedVectorStore, tmp_path: Path) -> None:
    for _ in range(3):
        store.delete_sources(["copy.md"])
        add(store, "copy.md")
        store.flush()
    versions = sorted(p.name for p in (tmp_path / "index").iterdir() if p.is_dir())
    assert len(versions) == 2
    assert (tmp_path / "index" / "CURRENT").read_text() == versions[-1]


def test_vectors_of_the_wrong_shape_are_rejected(store: EmbeddedVectorStore) -> None:
    with pytest.raises(ValueError, match="shape"):
        store.add(chunks_of("copy.md"), np.zeros((1, 8), dtype=np.float32))


def test_an_index_built_with_another_embedder_is_refused(store: EmbeddedVectorStore, tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError, match="re-ingest"):
        EmbeddedVectorStore(tmp_path / "index", 768).count()


def test_empty_store_finds_nothing(tmp_path: Path) -> None:
    store = EmbeddedVectorStore(tmp_path / "empty", EMBEDDER.dimension)
    assert store.count() == 0 and search(store, "returns") == []


def test_numpy_blas_is_held_to_one_thread(tmp_path: Path) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # restored after the test
        EmbeddedVectorStore(tmp_path / "index", dimension=8)
        pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert pools, "numpy should have loaded a BLAS library"
        assert {pool["num_threads"] for pool in pools} == {1}
