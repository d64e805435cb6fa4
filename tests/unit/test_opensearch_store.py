"""The OpenSearch adapter's requests, checked body by body against the fake cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from functions.contract import SpaceType, knn_index_body
from functions.errors import DependencyUnavailableError, IngestError
from functions.rag.documents import Chunk, SearchQuery
from functions.rag.stores.opensearch import OpenSearchVectorStore, filter_clauses, knn_score_to_cosine
from tests.fake_opensearch import FakeCluster, FakeConnection, timeout

INDEX = "chunks"
VECTOR = [0.6, 0.8, 0.0]


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    FakeConnection.cluster = FakeCluster()
    yield FakeConnection.cluster


@pytest.fixture
def store(cluster: FakeCluster) -> OpenSearchVectorStore:
    client = OpenSearch(
        hosts=[{"host": "fake", "port": 9200}], connection_class=FakeConnection, max_retries=0
    )
    return OpenSearchVectorStore(client, INDEX, dimension=3, bulk_chunk_size=2, max_retries=0)


def chunk(number: int, source: str = "kb/a.md", text: str = "Return jackets within 45 days") -> Chunk:
    return Chunk(f"id{number}", text, source, "Returns", "Window", number, "h1", None, {"kind": "markdown"})


def test_index_is_created_once_with_the_shared_mapping(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    assert store.ensure_index() is True
    assert store.ensure_index() is False
    assert [(r.method, r.path) for r in cluster.requests] == [
        ("HEAD", "/chunks"),
        ("PUT", "/chunks"),
        ("HEAD", "/chunks"),
    ]
    assert cluster.requests[1].body == knn_index_body(3)


def test_bulk_indexing_sends_each_chunk_with_its_vector(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    store.ensure_index()
    store.add([chunk(1), chunk(2), chunk(3)], [VECTOR, VECTOR, VECTOR])
    bulks = [r for r in cluster.requests if r.path == "/_bulk"]
    assert len(bulks) == 2  # chunk size 2
    action, source = bulks[0].body[:2]
    assert action == {"index": {"_index": INDEX, "_id": "id1"}}
    assert source == {**chunk(1).to_dict(), "embedding": VECTOR, "sentence_vectors": ""}  # none computed


def test_documents_the_cluster_rejects_are_reported(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    store.ensure_index()
    cluster.rejected_ids = {"id2"}
    with pytest.raises(
        IngestError, match=r"1 of 3 chunks could not be indexed; first: id2: .*mapper_parsing"
    ):
        store.add([chunk(1), chunk(2), chunk(3)], [VECTOR] * 3)
    assert set(cluster.docs(INDEX)) == {"id1", "id3"}


def test_hybrid_search_is_one_msearch_with_knn_and_bm25(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    store.ensure_index()
    store.add([chunk(1)], [VECTOR])
    cluster.requests.clear()
    query = SearchQuery(
        "return jacket", VECTOR, k=2, filters={"source": "kb/a.md", "kind": "markdown"}, candidate_pool=20
    )
    (hit,) = store.search(query)
    (request,) = cluster.requests
    filters = [{"term": {"source": "kb/a.md"}}, {"term": {"metadata.kind": "markdown"}}]
    assert (request.method, request.path) == ("POST", "/_msearch")
    assert request.body == [
        {"index": INDEX},
        {
            "size": 20,
            "_source": {"excludes": ["embedding"]},
            "query": {
                "knn": {"embedding": {"vector": VECTOR, "k": 20, "filter": {"bool": {"filter": filters}}}}
            },
        },
        {"index": INDEX},
        {
            "size": 20,
            "_source": {"excludes": ["embedding"]},
            "query": {
                "bool": {
                    "must": [
                        {"multi_match": {"query": "return jacket", "fields": ["text", "title^2", "section"]}}
                    ],
                    "filter": filters,
                }
            },
        },
    ]
    assert hit.chunk == chunk(1) and hit.relevance == pytest.approx(1.0)


def test_lexical_only_hits_get_their_cosine_from_their_vectors(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    store.ensure_index()
    store.add([chunk(1), chunk(2, text="Express delivery")], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    cluster.requests.clear()
    # a k-NN pool of one leaves the lexical winner without a dense score
    hits = store.search(
        SearchQuery("express delivery", [1.0, 0.0, 0.0], k=2, candidate_pool=1, dense_weight=0.5)
    )
    assert {h.chunk.chunk_id: round(h.relevance, 6) for h in hits} == {"id1": 1.0, "id2": 0.0}
    mget = cluster.requests[-1]
    assert (mget.path, mget.body, mget.params) == (
        "/chunks/_mget",
        {"ids": ["id2"]},
        {"_source_includes": "embedding"},
    )


def test_deletes_by_source_and_by_user(store: OpenSearchVectorStore, cluster: FakeCluster) -> None:
    store.ensure_index()
    store.add([chunk(1), chunk(2, source="kb/b.md")], [VECTOR, VECTOR])
    assert store.delete_sources(["kb/a.md"]) == 1
    request = cluster.requests[-1]
    assert (request.path, request.body) == (
        "/chunks/_delete_by_query",
        {"query": {"terms": {"source": ["kb/a.md"]}}},
    )
    assert request.params == {"refresh": "true", "conflicts": "proceed"}


def test_source_hashes_page_through_a_composite_aggregation(
    store: OpenSearchVectorStore, cluster: FakeCluster
) -> None:
    store.ensure_index()
    store.add([chunk(1), chunk(2, source="kb/b.md")], [VECTOR, VECTOR])
    assert store.source_hashes() == {"kb/a.md": "h1", "kb/b.md": "h1"}
    searches = [r for r in cluster.requests if r.path == "/chunks/_search"]
    assert searches[0].body["aggs"]["sources"]["composite"]["sources"] == [
        {"source": {"terms": {"field": "source"}}},
        {"hash": {"terms": {"field": "source_hash"}}},
    ]
    assert searches[1].body["aggs"]["sources"]["composite"]["after"] == {"source": "kb/b.md", "hash": "h1"}


@pytest.mark.parametrize("failure", [timeout(), 503, 429])
def test_cluster_failures_become_a_503_error(
    store: OpenSearchVectorStore, cluster: FakeCluster, failure: object
) -> None:
    cluster.failures.append(failure)  # type: ignore[arg-type]
    with pytest.raises(DependencyUnavailableError, match="search cluster"):
        store.search(SearchQuery("q", VECTOR, k=1))


def test_filters_map_to_keyword_fields() -> None:
    assert filter_clauses({"title": "Returns", "user_id": "u", "colour": "red"}) == [
        {"term": {"title.raw": "Returns"}},
        {"term": {"user_id": "u"}},
        {"term": {"metadata.colour": "red"}},
    ]


@pytest.mark.parametrize("cosine", [0.9, 0.0, -0.4])
def test_knn_scores_convert_back_to_cosine(cosine: float) -> None:
    inner_product_score = cosine + 1 if cosine >= 0 else 1 / (1 - cosine)
    squared_distance = 2 - 2 * cosine  # unit vectors
    assert knn_score_to_cosine(inner_product_score, SpaceType.INNER_PRODUCT) == pytest.approx(cosine)
    assert knn_score_to_cosine((1 + cosine) / 2, SpaceType.COSINE) == pytest.approx(cosine)
    assert knn_score_to_cosine(1 / (1 + squared_distance), SpaceType.L2) == pytest.approx(cosine)


@pytest.mark.parametrize("space_type", list(SpaceType))
def test_relevance_is_the_cosine_whatever_the_index_space(
    cluster: FakeCluster, space_type: SpaceType
) -> None:
    # GIVEN an index created in this space, one passage close to the question and one opposed to it
    client = OpenSearch(
        hosts=[{"host": "fake", "port": 9200}], connection_class=FakeConnection, max_retries=0
    )
    store = OpenSearchVectorStore(client, INDEX, dimension=3, space_type=space_type, max_retries=0)
    store.ensure_index()
    close, opposed = [0.8, 0.6, 0.0], [0.0, -0.6, 0.8]  # cosines 0.96 and -0.48 with VECTOR
    store.add([chunk(1, text="close"), chunk(2, text="opposed")], [close, opposed])
    # WHEN the store searches
    hits = store.search(SearchQuery("unrelated words", VECTOR, k=2))
    # THEN each passage's relevance is its cosine similarity, the scale the confidence gate reads
    assert cluster.indices[INDEX]["body"] == knn_index_body(3, space_type=space_type)
    assert {hit.chunk.chunk_id: hit.relevance for hit in hits} == {
        "id1": pytest.approx(0.96),
        "id2": pytest.approx(-0.48),
    }
