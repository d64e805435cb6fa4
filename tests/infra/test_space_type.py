"""The k-NN space is one fact: the stack builds the index with it and tells the runtime, which
reads the cluster's scores back as cosine similarities in that space (issue 11)."""

from __future__ import annotations

import json

import numpy as np
import opensearchpy
import pytest

from functions.contract import EnvVar, VectorStoreKind, handler_path
from functions.rag.documents import Chunk, SearchQuery
from functions.services import Services
from functions.settings import Settings
from tests.fake_opensearch import FakeCluster, FakeConnection
from tests.infra.conftest import Synthesized


def query_function_environment(stack: Synthesized) -> dict[str, object]:
    (function,) = (
        resource
        for resource in stack.resources("AWS::Lambda::Function").values()
        if resource["Properties"]["Handler"] == handler_path("query")
    )
    variables: dict[str, object] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_the_runtime_reads_scores_in_the_space_the_stack_built_the_index_with(
    any_stack: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the index the stack's custom resource creates, and the query function's settings
    (index,) = any_stack.resources("Custom::OpenSearchIndex").values()
    index_name, body = index["Properties"]["IndexName"], json.loads(index["Properties"]["IndexBody"])
    environment = query_function_environment(any_stack)
    assert environment[EnvVar.VECTOR_STORE] == VectorStoreKind.OPENSEARCH
    settings = Settings(
        vector_store=VectorStoreKind.OPENSEARCH,
        opensearch_endpoint="https://search-genai.eu-west-1.es.amazonaws.com",
        opensearch_index=environment[EnvVar.OPENSEARCH_INDEX],
        opensearch_space_type=environment[EnvVar.OPENSEARCH_SPACE_TYPE],
        embedder=environment[EnvVar.EMBEDDER],
        embedding_dimension=environment[EnvVar.EMBEDDING_DIMENSION],
    )
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(opensearchpy, "RequestsHttpConnection", FakeConnection)
    FakeConnection.cluster = FakeCluster()
    store = Services(settings).vector_store
    store.client.indices.create(index=index_name, body=body)  # what the custom resource does
    dimension = settings.embedding_dimension
    question, close, opposed = np.zeros(dimension), np.zeros(dimension), np.zeros(dimension)
    question[0], close[:2], opposed[:2] = 1.0, (0.9, np.sqrt(1 - 0.81)), (-0.3, np.sqrt(1 - 0.09))
    chunks = [
        Chunk(f"c{n}", text, "kb/a.md", "A", "", n, "h", None, {}) for n, text in enumerate(("close", "far"))
    ]
    store.add(chunks, [close.tolist(), opposed.tolist()])

    # WHEN the runtime searches the index
    hits = store.search(SearchQuery("nothing lexical", question.tolist(), k=2))

    # THEN the relevance the confidence gate reads is the cosine similarity
    assert {hit.chunk.chunk_id: hit.relevance for hit in hits} == {
        "c0": pytest.approx(0.9),
        "c1": pytest.approx(-0.3),
    }
