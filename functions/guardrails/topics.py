"""Denied and off-topic requests: embedding similarity to the policy's topic examples, weighed
against similarity to the store's own scope.

A question is denied when it is closer to a denied topic's examples ("which shares should I
buy?") than to any example of what the store helps with, by a margin; "can I pay in shares of
three instalments?" stays in scope because a scope example is closer still. The embedder is the
project's (MiniLM locally, Titan in AWS), so no extra model ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from functions.guardrails.base import CheckContext, Finding, Span
from functions.guardrails.config import DeniedTopic
from functions.rag.embeddings.ports import Embedder, Vector, cosine

MIN_SIMILARITY = 0.45  # below this a question resembles no denied topic at all (MiniLM cosine)
MARGIN = 0.1  # how much closer to a denied topic than to the scope a question must be
SLOPE = 5.0  # score rises from 0.5 at the margin to 1.0 at 0.1 beyond it


class TopicDetector:
    category = "denied_topic"

    def __init__(
        self, embedder: Embedder, topics: Sequence[DeniedTopic], scope_examples: Sequence[str]
    ) -> None:
        self.embedder = embedder
        self.topics = tuple(topics)
        self.scope_examples = tuple(scope_examples)

    @cached_property
    def _topic_vectors(self) -> list[tuple[str, list[Vector]]]:
        return [(topic.name, list(self.embedder.embed_documents(topic.examples))) for topic in self.topics]

    @cached_property
    def _scope_vectors(self) -> list[Vector]:
        return list(self.embedder.embed_documents(self.scope_examples)) if self.scope_examples else []

    def similarities(self, text: str) -> tuple[str | None, float, float]:
        """(closest denied topic, its similarity, the closest scope example's similarity). The
        text is embedded whole, as retrieval embeds it (the model truncates what it cannot read),
        so a memoizing embedder serves both with one call."""
        if not self.topics:
            return None, 0.0, 0.0
        vector = self.embedder.embed_query(text)
        name, best = max(
            ((name, max(cosine(vector, v) for v in vectors)) for name, vectors in self._topic_vectors),
            key=lambda item: item[1],
        )
        scope = max((cosine(vector, v) for v in self._scope_vectors), default=0.0)
        return name, best, scope

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        name, topic, scope = self.similarities(context.embedding_text(text))
        if name is None or topic < MIN_SIMILARITY:
            return None
        margin = topic - scope
        score = min(1.0, max(0.0, 0.5 + SLOPE * (margin - MARGIN)))
        if score < 0.2:
            return None
        return Finding(self.category, round(score, 3), (Span(0, len(text), name.upper()),), name)
