"""The composition root: builds each adapter the settings ask for, on first use.

Every property imports its adapter inside itself, so a Lambda function only pays for what its
routes touch (the feedback function never loads an embedder) and the AWS path never imports the
local model stack.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from functions.contract import ChatModelKind, EmbedderKind, StoreKind, VectorStoreKind
from functions.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from functions.feedback.ports import ConversationStore, Escalation, FeedbackStore
    from functions.feedback.service import FeedbackService
    from functions.feedback.sqlite_store import SQLiteStore
    from functions.guardrails.policy import GuardrailPolicy
    from functions.rag.embedders import Embedder
    from functions.rag.pipeline import AnswerPipeline
    from functions.rag.retriever import Retriever
    from functions.rag.vectorstore import VectorStore


class AdapterNotAvailableError(RuntimeError):
    """The settings name an adapter this build does not include yet."""


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        if self.settings.embedder is EmbedderKind.LOCAL:
            from functions.rag.embedders import MiniLMEmbedder

            return MiniLMEmbedder()
        raise AdapterNotAvailableError(f"embedder {self.settings.embedder.value!r} is not available")

    @cached_property
    def vector_store(self) -> VectorStore:
        if self.settings.vector_store is VectorStoreKind.EMBEDDED:
            from functions.rag.embedded_store import EmbeddedVectorStore

            return EmbeddedVectorStore(self.settings.index_dir, self.embedder.dimension)
        raise AdapterNotAvailableError(f"vector store {self.settings.vector_store.value!r} is not available")

    @cached_property
    def retriever(self) -> Retriever:
        from functions.rag.retriever import RetrievalConfig, Retriever

        config = RetrievalConfig(
            top_k=self.settings.top_k,
            candidate_pool=self.settings.candidate_pool,
            dense_weight=self.settings.dense_weight,
            min_relevance=self.settings.min_relevance,
        )
        return Retriever(self.vector_store, self.embedder, config)

    @cached_property
    def chat_model(self) -> BaseChatModel:
        kind = self.settings.chat_model
        if kind is ChatModelKind.EXTRACTIVE:
            from functions.rag.extractive import ExtractiveChatModel

            return ExtractiveChatModel(max_sentences=self.settings.max_answer_sentences)
        if kind is ChatModelKind.LOCAL_CHECKPOINT:
            from functions.rag.local_checkpoint import LocalCheckpointChatModel

            assert self.settings.checkpoint_dir is not None  # enforced by Settings
            return LocalCheckpointChatModel(
                checkpoint_dir=self.settings.checkpoint_dir, max_new_tokens=self.settings.max_new_tokens
            )
        raise AdapterNotAvailableError(f"chat model {kind.value!r} is not available")

    @cached_property
    def guardrails(self) -> GuardrailPolicy:
        from functions.guardrails.base import Action, Stage
        from functions.guardrails.grounding import GroundingDetector
        from functions.guardrails.pii import PiiDetector
        from functions.guardrails.policy import GuardrailPolicy

        pii = PiiDetector(allow=self.settings.pii_allowlist)
        return GuardrailPolicy(
            detectors={Stage.INPUT: [pii], Stage.OUTPUT: [pii, GroundingDetector()]},
            actions={"pii": Action.REDACT, "ungrounded": Action.FLAG},
        )

    @cached_property
    def sqlite(self) -> SQLiteStore:
        from functions.feedback.sqlite_store import SQLiteStore

        return SQLiteStore(self.settings.database_path)

    @cached_property
    def conversations(self) -> ConversationStore:
        if self.settings.store is StoreKind.SQLITE:
            return self.sqlite
        raise AdapterNotAvailableError(f"store {self.settings.store.value!r} is not available")

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        if self.settings.store is StoreKind.SQLITE:
            return self.sqlite
        raise AdapterNotAvailableError(f"store {self.settings.store.value!r} is not available")

    @cached_property
    def escalation(self) -> Escalation:
        if self.settings.store is StoreKind.SQLITE:
            return self.sqlite
        raise AdapterNotAvailableError(f"store {self.settings.store.value!r} is not available")

    @cached_property
    def pipeline(self) -> AnswerPipeline:
        from functions.rag.pipeline import AnswerPipeline

        return AnswerPipeline(
            self.retriever,
            self.chat_model,
            self.guardrails,
            self.conversations,
            max_question_chars=self.settings.max_question_chars,
            rephrase_similarity=self.settings.rephrase_similarity,
        )

    @cached_property
    def feedback(self) -> FeedbackService:
        from functions.feedback.service import FeedbackService

        return FeedbackService(self.conversations, self.feedback_store, self.escalation)
