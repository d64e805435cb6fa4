"""One question, one model call: the topic guardrail, retrieval and the rephrase check share the
query vector through `MemoizingEmbedder` (each embedded it on its own before)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from functions.rag.embeddings.ports import MemoizingEmbedder
from tests.conftest import MINI_KB, make_services, make_settings
from tests.fakes import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    """Counts the texts each method was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: Counter[str] = Counter()

    def embed_query(self, text: str) -> np.ndarray:
        self.queries[text] += 1
        return super().embed_query(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return super().embed_documents(texts)


def test_a_repeated_query_is_embedded_once_and_documents_pass_through() -> None:
    inner = CountingEmbedder()
    embedder = MemoizingEmbedder(inner, size=2)
    first = embedder.embed_query("return window")
    assert embedder.embed_query("return window") is first
    assert inner.queries["return window"] == 1
    embedder.embed_query("a")
    embedder.embed_query("b")  # the cache holds two: "return window" is dropped
    embedder.embed_query("return window")
    assert inner.queries["return window"] == 2
    calls = inner.calls
    assert embedder.embed_documents(["x", "y"]).shape == (2, inner.dimension)
    assert inner.calls == calls + 1 and embedder.dimension == inner.dimension


def test_a_follow_up_embeds_each_text_once(tmp_path: Path) -> None:
    services = make_services(make_settings(tmp_path / "data"))
    services.ingestor.ingest_paths([MINI_KB])
    inner = CountingEmbedder()
    embedder = MemoizingEmbedder(inner)
    services.retriever.embedder = embedder
    batches = inner.calls
    first = services.pipeline.answer("How many days do I have to return unworn items?")
    services.pipeline.answer("How many days do I have to return unworn shoes?", first.conversation_id)
    # retrieval, the follow-up's weighting and the rephrase check: one model call per text
    assert inner.queries and set(inner.queries.values()) == {1}
    assert inner.calls == batches  # no batch re-embeds a question the cache holds


def test_the_topic_guardrail_and_retrieval_share_one_vector_for_a_question_with_pii(tmp_path: Path) -> None:
    # GIVEN one memoizing embedder behind both the guardrails and retrieval, as Services builds it
    services = make_services(make_settings(tmp_path / "data"))
    inner = CountingEmbedder()
    services.embedder = MemoizingEmbedder(inner)  # type: ignore[misc]
    services.ingestor.ingest_paths([MINI_KB])
    question = "How many days do I have to return unworn items? Write to me at jane@example.com. " + (
        "I bought them last month and never wore them. " * 12
    )  # past any prefix a detector might cut
    # WHEN a question longer than 500 characters, with an e-mail address in it, is answered
    answer = services.pipeline.answer(question)
    # THEN the question was embedded once, redacted as retrieval reads it; the raw address never
    redacted = answer.input_guardrails.redacted_text
    assert "[EMAIL_1]" in redacted and len(redacted) > 500
    assert inner.queries[redacted] == 1
    assert not any("jane@example.com" in text for text in inner.queries)
    assert set(inner.queries.values()) == {1}
