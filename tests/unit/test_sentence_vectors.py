"""Sentence vectors computed at ingestion, kept by both stores and read by the answerer instead of
embedding the sources' sentences per question (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from opensearchpy import OpenSearch

from functions.contract import knn_index_body
from functions.ingest.chunking import Chunker
from functions.ingest.pipeline import Ingestor
from functions.rag.chat_models.extractive import ExtractiveChatModel
from functions.rag.documents import Chunk, ScoredChunk, SearchQuery
from functions.rag.prompts import PromptLibrary
from functions.rag.replies import parse_reply
from functions.rag.sentences import SentenceVectorCache, sentence_texts, split_passage
from functions.rag.stores.embedded import EmbeddedVectorStore
from functions.rag.stores.opensearch import OpenSearchVectorStore, decode_sentence_vectors
from tests.fake_opensearch import FakeCluster, FakeConnection
from tests.fakes import HashingEmbedder

PASSAGE = (
    "## Return window\n\nMost items can be sent back within 45 days. Sale items too.\n\n"
    "## Costs\n\n- UK: free return label;\n- Canada: CA$7.95 per parcel."
)


class CountingEmbedder(HashingEmbedder):
    """Counts the texts it embeds as documents."""

    def __init__(self) -> None:
        super().__init__(dimension=64)
        self.embedded: list[str] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def with_sentence_vectors(chunk: Chunk, embedder: HashingEmbedder) -> Chunk:
    return Chunk(
        **{**chunk.__dict__, "sentence_vectors": embedder.embed_documents(sentence_texts(chunk.text))}
    )


def test_a_list_item_keeps_its_heading_in_what_is_embedded() -> None:
    sentences = split_passage(PASSAGE)
    assert [s.text for s in sentences][:2] == [
        "Most items can be sent back within 45 days.",
        "Sale items too.",
    ]
    assert sentence_texts(PASSAGE)[-1] == "Costs: Canada: CA$7.95 per parcel."
    assert [s.item for s in sentences] == [False, False, True, True]


def test_ingestion_stores_one_vector_per_sentence(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "returns.md").write_text(f"# Returns\n\n{PASSAGE}\n", encoding="utf-8")
    embedder = CountingEmbedder()
    store = EmbeddedVectorStore(tmp_path / "index", embedder.dimension)
    Ingestor(store, embedder, Chunker(800, 100)).ingest_paths([tmp_path / "kb"])

    reopened = EmbeddedVectorStore(tmp_path / "index", embedder.dimension)  # read back from disk
    query = SearchQuery("return window", embedder.embed_query("return window"), 5, candidate_pool=5)
    hits = reopened.search(query)
    assert hits
    for hit in hits:
        texts = sentence_texts(hit.chunk.text)
        assert len(hit.chunk.sentence_vectors) == len(texts)
        np.testing.assert_allclose(hit.chunk.sentence_vectors, embedder.embed_documents(texts), atol=1e-6)


def test_the_answerer_embeds_no_sentence_retrieval_has_handed_over() -> None:
    embedder = CountingEmbedder()
    chunk = with_sentence_vectors(Chunk("c1", PASSAGE, "kb/returns.md", "Returns"), embedder)
    cache = SentenceVectorCache(embedder)
    cache.remember([chunk])
    embedder.embedded.clear()
    model = ExtractiveChatModel(embedder=cache)
    hits = [ScoredChunk(chunk, 1.0, 0.9)]
    messages = PromptLibrary().messages("zero-shot", hits, "How long do I have to send something back?")

    answer = parse_reply(model.invoke(messages).text).answer

    assert answer.startswith("Most items can be sent back within 45 days.")
    assert embedder.embedded == []  # the question is a query; every sentence came from the cache


def test_the_cache_falls_back_to_the_model_for_sentences_it_has_not_seen() -> None:
    embedder = CountingEmbedder()
    cache = SentenceVectorCache(embedder, size=2)
    cache.remember([with_sentence_vectors(Chunk("c1", PASSAGE, "kb/a.md", "A"), embedder)])  # 4 sentences
    embedder.embedded.clear()
    vectors = cache.embed_documents(["Costs: UK: free return label;", "Sale items too.", "Something new."])
    assert embedder.embedded == ["Sale items too.", "Something new."]  # the oldest were let go
    np.testing.assert_allclose(vectors[0], embedder.embed_query("Costs: UK: free return label;"), atol=1e-6)


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    FakeConnection.cluster = FakeCluster()
    yield FakeConnection.cluster


def test_opensearch_keeps_the_sentence_vectors_in_the_mapped_binary_field(cluster: FakeCluster) -> None:
    embedder = HashingEmbedder(dimension=8)
    client = OpenSearch(
        hosts=[{"host": "fake", "port": 9200}], connection_class=FakeConnection, max_retries=0
    )
    store = OpenSearchVectorStore(client, "chunks", dimension=8, max_retries=0)
    store.ensure_index()  # the shared mapping, "dynamic": "strict": an unmapped field is refused
    chunk = with_sentence_vectors(Chunk("c1", PASSAGE, "kb/a.md", "Returns"), embedder)
    store.add([chunk], embedder.embed_documents([chunk.text]))

    (bulk,) = [r for r in cluster.requests if r.path == "/_bulk"]
    sent = bulk.body[1]["sentence_vectors"]
    assert isinstance(sent, str)  # base64, as the binary field takes it
    np.testing.assert_allclose(decode_sentence_vectors(sent, 8), chunk.sentence_vectors, atol=1e-6)
    assert "sentence_vectors" in knn_index_body(8)["mappings"]["properties"]

    query = SearchQuery("return window", embedder.embed_query("return window"), 1, candidate_pool=5)
    (hit,) = store.search(query)
    np.testing.assert_allclose(hit.chunk.sentence_vectors, chunk.sentence_vectors, atol=1e-6)
