"""The composition root: builds each adapter the settings ask for, on first use.

Every property imports its adapter inside itself, so a Lambda function only pays for what its
routes touch (the feedback function never loads an embedder) and the AWS path never imports the
local model stack (torch, numpy, bm25s).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from functions.contract import ChatModelKind, EmbedderKind, EnvVar, StoreKind, VectorStoreKind
from functions.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from langchain_core.language_models.chat_models import BaseChatModel

    from functions.feedback.ports import ConversationStore, Escalation, FeedbackStore
    from functions.feedback.service import FeedbackService
    from functions.feedback.sqlite_store import SQLiteStore
    from functions.guardrails.policy import Guardrails
    from functions.ingest.pipeline import Ingestor
    from functions.rag.embedders import Embedder
    from functions.rag.pipeline import AnswerPipeline
    from functions.rag.retriever import Retriever
    from functions.rag.vectorstore import VectorStore


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        settings = self.settings
        if settings.embedder is EmbedderKind.BEDROCK:
            from functions.rag.aws_embedders import BedrockEmbedder

            return BedrockEmbedder(settings.embedding_model_id, settings.embedding_dimension)
        if settings.embedder is EmbedderKind.SAGEMAKER:
            from functions.rag.aws_embedders import SageMakerEmbedder

            assert settings.embedding_endpoint_name is not None  # enforced by Settings
            return SageMakerEmbedder(settings.embedding_endpoint_name, settings.embedding_dimension)
        from functions.rag.minilm import MiniLMEmbedder

        return MiniLMEmbedder()

    @cached_property
    def vector_store(self) -> VectorStore:
        settings = self.settings
        if settings.vector_store is VectorStoreKind.OPENSEARCH:
            from functions.rag.opensearch_store import OpenSearchVectorStore

            assert settings.opensearch_endpoint is not None  # enforced by Settings
            return OpenSearchVectorStore.for_endpoint(
                settings.opensearch_endpoint, settings.opensearch_index, settings.embedding_dimension
            )
        from functions.rag.embedded_store import EmbeddedVectorStore

        return EmbeddedVectorStore(settings.index_dir, settings.embedding_dimension)

    @cached_property
    def ingestor(self) -> Ingestor:
        from functions.ingest.chunking import Chunker
        from functions.ingest.pipeline import Ingestor

        settings = self.settings
        chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
        return Ingestor(
            self.vector_store,
            self.embedder,
            chunker,
            pii_allow=settings.pii_allowlist,
            guardrails=self.guardrails,
        )

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
        settings = self.settings
        kind = settings.chat_model
        if kind is ChatModelKind.BEDROCK:
            from functions.rag.aws_chat_models import BedrockConverseChatModel

            return BedrockConverseChatModel(
                model_id=settings.chat_model_id, max_tokens=settings.max_new_tokens
            )
        if kind is ChatModelKind.SAGEMAKER:
            from functions.rag.aws_chat_models import SageMakerChatModel

            assert settings.chat_endpoint_name is not None  # enforced by Settings
            return SageMakerChatModel(
                endpoint_name=settings.chat_endpoint_name, max_tokens=settings.max_new_tokens
            )
        if kind is ChatModelKind.LOCAL_CHECKPOINT:
            from functions.rag.local_checkpoint import LocalCheckpointChatModel

            assert settings.checkpoint_dir is not None  # enforced by Settings
            return LocalCheckpointChatModel(
                checkpoint_dir=settings.checkpoint_dir, max_new_tokens=settings.max_new_tokens
            )
        from functions.rag.extractive import ExtractiveChatModel

        return ExtractiveChatModel(max_sentences=settings.max_answer_sentences)

    @cached_property
    def guardrails(self) -> Guardrails:
        """The policy file's guardrails, embedded or through Amazon Bedrock (`guardrail_engine`)."""
        from functions.guardrails.factory import build_guardrails

        return build_guardrails(self.settings, lambda: self.embedder)

    @cached_property
    def sqlite(self) -> SQLiteStore:
        """The embedded store of conversations, feedback and escalations (one SQLite file)."""
        from functions.feedback.sqlite_store import SQLiteStore

        return SQLiteStore(self.settings.database_path)

    @cached_property
    def conversations(self) -> ConversationStore:
        settings = self.settings
        if settings.store is StoreKind.DYNAMODB:
            from functions.feedback.dynamodb_store import DynamoDBConversationStore

            assert settings.conversations_table is not None  # enforced by Settings
            return DynamoDBConversationStore(settings.conversations_table, settings.retention_days)
        return self.sqlite

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        settings = self.settings
        if settings.store is StoreKind.DYNAMODB:
            from functions.feedback.dynamodb_store import DynamoDBFeedbackStore

            assert settings.feedback_table is not None  # enforced by Settings
            return DynamoDBFeedbackStore(settings.feedback_table, settings.retention_days)
        return self.sqlite

    @cached_property
    def escalation(self) -> Escalation:
        settings = self.settings
        if settings.store is StoreKind.DYNAMODB:
            from functions.feedback.dynamodb_store import SnsEscalation

            assert settings.escalation_topic_arn is not None  # enforced by Settings
            return SnsEscalation(settings.escalation_topic_arn)
        return self.sqlite

    @cached_property
    def pseudonym_key(self) -> bytes:
        """The key of the user-id pseudonyms in the training export (`functions.feedback.pseudonyms`)."""
        from functions.feedback import pseudonyms

        settings = self.settings
        if settings.pseudonym_secret_arn:
            return pseudonyms.secret_key(settings.pseudonym_secret_arn)
        if settings.store is StoreKind.DYNAMODB:
            raise ValueError(
                f"{EnvVar.PSEUDONYM_SECRET_ARN} must be set to export from DynamoDB: a key made in "
                "the function's /tmp would change with every execution environment"
            )
        return pseudonyms.local_key(settings.data_dir)

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
    def idempotency_config(self) -> IdempotencyConfig | None:
        """Powertools idempotency for feedback, where a table for it is configured (in AWS)."""
        if not self.settings.idempotency_table:
            return None
        from functions.feedback.idempotency import idempotency_config

        return idempotency_config()

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Tell the idempotency utility this invocation's deadline, so that a submission whose Lambda
        timed out can be retried at once instead of being refused as in progress."""
        if self.idempotency_config is not None:
            self.idempotency_config.register_lambda_context(context)

    @cached_property
    def feedback(self) -> FeedbackService:
        from functions.feedback.service import FeedbackService

        once = None
        if self.idempotency_config is not None:
            from functions.feedback.idempotency import dynamodb_once

            assert self.settings.idempotency_table is not None  # implied by idempotency_config
            once = dynamodb_once(self.settings.idempotency_table, self.idempotency_config)
        return FeedbackService(self.conversations, self.feedback_store, self.escalation, once=once)
