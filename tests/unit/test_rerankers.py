"""The reranker port: the Bedrock Rerank adapter against botocore's Stubber, and the retriever
ordering and gating hits by a reranker's scores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from functions.errors import DependencyUnavailableError
from functions.rag.rerankers import BedrockReranker
from functions.rag.retriever import Retrieval, RetrievalConfig, Retriever
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings

MODEL = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.rerank-v1:0"


def agent_runtime() -> object:
    return boto3.client(
        "bedrock-agent-runtime",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def source(text: str) -> dict[str, object]:
    return {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}}


def test_bedrock_rerank_request_and_scores_in_input_order() -> None:
    client = agent_runtime()
    with Stubber(client) as stub:
        stub.add_response(
            "rerank",
            {"results": [{"index": 1, "relevanceScore": 0.93}, {"index": 0, "relevanceScore": 0.02}]},
            {
                "queries": [{"type": "TEXT", "textQuery": {"text": "tent warranty?"}}],
                "sources": [source("Gift cards never expire."), source("Tents: 5 years.")],
                "rerankingConfiguration": {
                    "type": "BEDROCK_RERANKING_MODEL",
                    "bedrockRerankingConfiguration": {
                        "numberOfResults": 2,
                        "modelConfiguration": {"modelArn": MODEL},
                    },
                },
            },
        )
        scores = BedrockReranker(MODEL, client=client).rerank(
            "tent warranty?", ["Gift cards never expire.", "Tents: 5 years."]
        )
    assert scores == [0.02, 0.93]


def test_bedrock_rerank_throttling_is_a_dependency_error() -> None:
    client = agent_runtime()
    with Stubber(client) as stub:
        stub.add_client_error("rerank", "ThrottlingException", "slow down", 429)
        with pytest.raises(DependencyUnavailableError, match="the Bedrock reranker is unavailable"):
            BedrockReranker(MODEL, client=client).rerank("q?", ["a passage"])


class ReversingReranker:
    """Scores the hits in the reverse of the order they come in, from 0.9 down to 0.1."""

    def rerank(self, query: str, texts: Sequence[str]) -> list[float]:
        return [round(0.1 + 0.8 * n / max(1, len(texts) - 1), 6) for n in range(len(texts))]


def test_the_retriever_orders_and_gates_hits_by_the_rerankers_scores(tmp_path: Path) -> None:
    services: Services = make_services(make_settings(tmp_path / "data"))
    services.ingestor.ingest_paths([MINI_KB])
    question = "How long is the warranty on tents?"
    plain = services.retriever.retrieve(question)

    def reranked(threshold: float) -> Retrieval:
        config = RetrievalConfig(min_relevance=0.2, rerank_min_relevance=threshold)
        return Retriever(services.vector_store, services.embedder, config, ReversingReranker()).retrieve(
            question
        )

    retrieval = reranked(0.5)
    assert [hit.chunk.chunk_id for hit in retrieval.hits] == [hit.chunk.chunk_id for hit in plain.hits][::-1]
    assert retrieval.hits[0].relevance == 0.9 and retrieval.confident
    assert plain.confident and not reranked(0.95).confident  # the reranker's score, not the cosine
