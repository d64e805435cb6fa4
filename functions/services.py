"""The composition root: builds each adapter the settings ask for, on first use.

Every property imports its adapter inside itself, so a Lambda function only pays for what its
routes touch (the feedback function never loads an embedder) and the AWS path never imports the
local model stack (torch, numpy, bm25s).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from functions.contract import EXPORTS_PREFIX, ChatModelKind, EmbedderKind, EnvVar, StoreKind, VectorStoreKind
from functions.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from langchain_core.language_models.chat_models import BaseChatModel

    from functions.customers import CognitoTokens
    from functions.feedback.ports import ConversationStore, Escalation, FeedbackStore, ReviewStore
    from functions.feedback.pseudonyms import Pseudonymiser
    from functions.feedback.reviewers import ReviewerTokens
    from functions.feedback.reviews import ReviewService
    from functions.feedback.service import FeedbackService
    from functions.feedback.sqlite_store import SQLiteStore
    from functions.guardrails.policy import Guardrails
    from functions.guests import GuestSessions
    from functions.ingest.pipeline import Ingestor
    from functions.intents.routing import IntentRouter
    from functions.limits.quota import FixedWindowLimiter
    from functions.privacy.erasure import Eraser
    from functions.rag.embeddings.ports import Embedder
    from functions.rag.followups import FollowUpResolver
    from functions.rag.pipeline import AnswerPipeline
    from functions.rag.prompts import PromptLibrary
    from functions.rag.rerankers import Reranker
    from functions.rag.retriever import Retriever
    from functions.rag.sentences import SentenceVectorCache
    from functions.rag.stores.embedded import IndexHealth
    from functions.rag.stores.ports import VectorStore


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedder, remembering recent query vectors (`MemoizingEmbedder`)."""
        from functions.rag.embeddings.ports import MemoizingEmbedder

        return MemoizingEmbedder(self._model_embedder())

    def _model_embedder(self) -> Embedder:
        settings = self.settings
        if settings.embedder is EmbedderKind.BEDROCK:
            from functions.rag.embeddings.aws import BedrockEmbedder

            return BedrockEmbedder(settings.embedding_model_id, settings.embedding_dimension)
        if settings.embedder is EmbedderKind.SAGEMAKER:
            from functions.rag.embeddings.aws import SageMakerEmbedder

            assert settings.embedding_endpoint_name is not None  # enforced by Settings
            return SageMakerEmbedder(settings.embedding_endpoint_name, settings.embedding_dimension)
        from functions.rag.embeddings.minilm import MiniLMEmbedder

        return MiniLMEmbedder()

    @cached_property
    def vector_store(self) -> VectorStore:
        settings = self.settings
        if settings.vector_store is VectorStoreKind.OPENSEARCH:
            from functions.rag.stores.opensearch import OpenSearchVectorStore

            assert settings.opensearch_endpoint is not None  # enforced by Settings
            return OpenSearchVectorStore.for_endpoint(
                settings.opensearch_endpoint,
                settings.opensearch_index,
                settings.embedding_dimension,
                space_type=settings.opensearch_space_type,
            )
        from functions.rag.stores.embedded import EmbeddedVectorStore

        return EmbeddedVectorStore(settings.index_dir, settings.embedding_dimension)

    def index_health(self) -> IndexHealth | None:
        """Which version of the embedded index is served and whether it is the one CURRENT names;
        None for OpenSearch, whose health the domain's own alarms watch."""
        if self.settings.vector_store is not VectorStoreKind.EMBEDDED:
            return None
        from functions.rag.stores.embedded import EmbeddedVectorStore

        store = self.vector_store
        return store.health() if isinstance(store, EmbeddedVectorStore) else None

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
            previous_weight=self.settings.followup_previous_weight,
            rerank_min_relevance=self.settings.rerank_min_relevance,
        )
        return Retriever(
            self.vector_store,
            self.embedder,
            config,
            reranker=self.reranker,
            sentence_vectors=self.sentence_vectors,
        )

    @cached_property
    def sentence_vectors(self) -> SentenceVectorCache:
        """The retrieved chunks' ingestion-time sentence vectors, which the extractive answerer reads."""
        from functions.rag.sentences import SentenceVectorCache

        return SentenceVectorCache(self.embedder)

    @cached_property
    def reranker(self) -> Reranker | None:
        """Amazon Bedrock Rerank where a model is configured; none by default."""
        if self.settings.rerank_model_arn is None:
            return None
        from functions.rag.rerankers import BedrockReranker

        return BedrockReranker(self.settings.rerank_model_arn)

    @cached_property
    def chat_model(self) -> BaseChatModel:
        settings = self.settings
        kind = settings.chat_model
        if kind is ChatModelKind.BEDROCK:
            from functions.rag.chat_models.aws import BedrockConverseChatModel

            return BedrockConverseChatModel(
                model_id=settings.chat_model_id, max_tokens=settings.max_new_tokens
            )
        if kind is ChatModelKind.SAGEMAKER:
            from functions.rag.chat_models.aws import SageMakerChatModel

            assert settings.chat_endpoint_name is not None  # enforced by Settings
            return SageMakerChatModel(
                endpoint_name=settings.chat_endpoint_name, max_tokens=settings.max_new_tokens
            )
        if kind is ChatModelKind.OPENAI:
            from functions.rag.chat_models.openai import openai_chat_model

            assert settings.openai_base_url and settings.openai_model  # enforced by Settings
            return openai_chat_model(
                settings.openai_base_url,
                settings.openai_model,
                self.openai_api_key,
                max_tokens=settings.max_new_tokens,
                timeout=settings.openai_timeout,
            )
        if kind is ChatModelKind.LOCAL_CHECKPOINT:
            from functions.rag.chat_models.local_checkpoint import LocalCheckpointChatModel

            assert settings.checkpoint_dir is not None  # enforced by Settings
            return LocalCheckpointChatModel(
                checkpoint_dir=settings.checkpoint_dir, max_new_tokens=settings.max_new_tokens
            )
        from functions.rag.chat_models.extractive import ExtractiveChatModel

        weight = settings.answer_semantic_weight
        return ExtractiveChatModel(
            max_sentences=settings.max_answer_sentences,
            embedder=self.sentence_vectors if weight > 0.0 else None,
            semantic_weight=weight,
        )

    @property
    def openai_api_key(self) -> str | None:
        """The OpenAI-compatible server's key: the secret's (AWS), else the setting's, else none."""
        settings = self.settings
        if settings.openai_api_key_secret_arn:
            from functions.feedback.pseudonyms import secret_key

            return secret_key(settings.openai_api_key_secret_arn, "the OpenAI API key secret").decode()
        return settings.openai_api_key.get_secret_value() if settings.openai_api_key else None

    @cached_property
    def prompts(self) -> PromptLibrary:
        """The prompt variants; few-shot ones choose their examples with the embedder."""
        from functions.rag.prompts import PromptLibrary

        settings = self.settings
        return PromptLibrary(self.embedder, settings.prompt_variant, settings.prompt_split)

    @cached_property
    def guardrails(self) -> Guardrails:
        """The policy file's guardrails, embedded or through Amazon Bedrock (`guardrail_engine`)."""
        from functions.guardrails.factory import build_guardrails

        return build_guardrails(self.settings, lambda: self.embedder)

    @cached_property
    def sqlite(self) -> SQLiteStore:
        """The embedded store of conversations, feedback and escalations (one SQLite file)."""
        from functions.feedback.sqlite_store import SQLiteStore

        return SQLiteStore(
            self.settings.database_path, self.pseudonymiser, self.settings.database_busy_timeout
        )

    @cached_property
    def conversations(self) -> ConversationStore:
        settings = self.settings
        if settings.store is StoreKind.DYNAMODB:
            from functions.feedback.dynamodb_store import DynamoDBConversationStore

            assert settings.conversations_table is not None  # enforced by Settings
            return DynamoDBConversationStore(
                settings.conversations_table, settings.retention_days, self.pseudonymiser
            )
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
    def pseudonymiser(self) -> Pseudonymiser:
        """User id -> pseudonym, what the stores keep (`functions.feedback.pseudonyms`)."""
        from functions.feedback.pseudonyms import pseudonymiser

        return pseudonymiser(lambda: self.pseudonym_key)

    @cached_property
    def eraser(self) -> Eraser:
        """Erasure of one user's data from every store this deployment keeps it in."""
        from functions.privacy.erasure import Eraser, UserData
        from functions.privacy.exports import S3Exports

        settings = self.settings
        if settings.store is StoreKind.DYNAMODB:
            from functions.privacy.dynamodb import DynamoDBUserData

            assert settings.conversations_table and settings.feedback_table  # enforced by Settings
            stores: list[UserData] = [
                DynamoDBUserData(
                    settings.conversations_table, settings.feedback_table, settings.idempotency_table
                )
            ]
            if settings.training_data_bucket:
                stores.append(S3Exports(settings.training_data_bucket, EXPORTS_PREFIX))
            return Eraser(stores, self.pseudonymiser)  # the audit record is the log line
        from functions.privacy.exports import LocalExports

        return Eraser(
            [self.sqlite, LocalExports(settings.exports_dir)], self.pseudonymiser, audit=self.sqlite
        )

    @cached_property
    def pseudonym_key(self) -> bytes:
        """The key of the user-id pseudonyms (`functions.feedback.pseudonyms`)."""
        from functions.feedback import pseudonyms

        settings = self.settings
        if settings.pseudonym_secret_arn:
            return pseudonyms.secret_key(settings.pseudonym_secret_arn)
        if settings.store is StoreKind.DYNAMODB:
            raise ValueError(
                f"{EnvVar.PSEUDONYM_SECRET_ARN} must be set with DynamoDB stores: a key made in "
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
            followups=self.followups,
            history_turns=self.settings.followup_history_turns,
            intents=self.intents,
            prompts=self.prompts,
        )

    @cached_property
    def intents(self) -> IntentRouter | None:
        """Intent tagging and routing: on where the settings allow it and an artefact fits the
        embedder (the packaged one fits the local MiniLM); hand-offs go through the feedback
        service's escalation path, built only when a customer asks for a person."""
        settings = self.settings
        if not settings.intent_tagging:
            return None
        if settings.intent_model_path is None and settings.embedder is not EmbedderKind.LOCAL:
            from functions.observability import logger

            logger.warning("intent tagging is off: the packaged intent model reads MiniLM vectors only")
            return None
        from functions.intents.classifier import PACKAGED_MODEL, embedder_identity, load_model
        from functions.intents.routing import IntentRouter

        model = load_model(settings.intent_model_path or PACKAGED_MODEL, embedder=embedder_identity(settings))
        return IntentRouter(
            model,
            self.embedder,
            self._hand_off,
            settings.intent_route_min_probability,
        )

    def _hand_off(self, message_id: str, user_id: str | None, reason: str) -> str:
        return self.feedback.hand_off(message_id, user_id, reason)

    @cached_property
    def followups(self) -> FollowUpResolver:
        """How a follow-up becomes a standalone question: the chat model condenses it, or, for the
        extractive default (which cannot write), a deterministic rewrite."""
        from functions.rag.followups import CondenseQuestionResolver, EllipsisRewriter

        if self.settings.chat_model is ChatModelKind.EXTRACTIVE:
            return EllipsisRewriter(self.embedder)
        return CondenseQuestionResolver(self.chat_model, self.settings.followup_token_budget)

    @cached_property
    def idempotency_config(self) -> IdempotencyConfig:
        """Powertools idempotency for feedback: a DynamoDB table in AWS, the SQLite file locally."""
        from functions.feedback.idempotency import idempotency_config

        return idempotency_config()

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Tell the idempotency utility this invocation's deadline, so that a submission whose Lambda
        timed out can be retried at once instead of being refused as in progress."""
        if self.settings.idempotency_table:
            self.idempotency_config.register_lambda_context(context)

    @cached_property
    def feedback(self) -> FeedbackService:
        from functions.feedback.idempotency import dynamodb_once, sqlite_once
        from functions.feedback.service import FeedbackService

        settings = self.settings
        once = None
        if settings.idempotency_table:
            once = dynamodb_once(settings.idempotency_table, self.idempotency_config)
        elif settings.store is StoreKind.SQLITE:
            once = sqlite_once(
                settings.database_path, self.idempotency_config, settings.database_busy_timeout
            )
        return FeedbackService(self.conversations, self.feedback_store, self.escalation, once=once)

    @cached_property
    def review_store(self) -> ReviewStore:
        """Pairs to review and reviewers' choices: DynamoDB where a table is set, else the SQLite file."""
        settings = self.settings
        if settings.reviews_table:
            from functions.feedback.dynamodb_reviews import DynamoDBReviewStore

            return DynamoDBReviewStore(settings.reviews_table)
        from functions.feedback.sqlite_reviews import SQLiteReviewStore

        return SQLiteReviewStore(settings.database_path, settings.database_busy_timeout)

    @cached_property
    def reviews(self) -> ReviewService:
        from functions.feedback.reviews import ReviewService

        return ReviewService(self.review_store, self.pseudonymiser)

    @cached_property
    def reviewer_tokens(self) -> ReviewerTokens:
        """Local reviewer tokens, signed with a key file in data_dir (`genai-stack review token`);
        in the stack reviewers sign in with Cognito instead."""
        from functions.feedback import pseudonyms
        from functions.feedback.reviewers import KEY_FILE, ReviewerTokens

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return ReviewerTokens(pseudonyms.local_key(self.settings.data_dir, KEY_FILE))

    @cached_property
    def guest_sessions(self) -> GuestSessions:
        """Guest tokens signed with the stack's secret (or a key file in data_dir locally); their
        questions are counted in the question limiter's counters."""
        from functions.feedback import pseudonyms
        from functions.guests import GuestSessions

        settings = self.settings
        if settings.guest_secret_arn:
            key = pseudonyms.secret_key(settings.guest_secret_arn, "the guest-token secret")
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            key = pseudonyms.local_key(settings.data_dir, "guest-token.key")
        return GuestSessions(
            key,
            self.question_limiter.store,
            lifetime_seconds=settings.guest_session_seconds,
            questions=settings.guest_questions,
            tokens=settings.guest_tokens,
        )

    @cached_property
    def customer_tokens(self) -> CognitoTokens | None:
        """The verifier of signed-in customers' tokens where the app checks them itself (no JWT
        authorizer in front of it); None elsewhere."""
        settings = self.settings
        if settings.cognito_issuer is None or settings.cognito_client_id is None:
            return None
        from functions.customers import CognitoTokens  # PyJWT and cryptography, only where used

        return CognitoTokens.for_user_pool(settings.cognito_issuer, settings.cognito_client_id)

    @cached_property
    def question_limiter(self) -> FixedWindowLimiter:
        """Each signed-in user's questions per window: counted in DynamoDB where a table is set."""
        from functions.limits.quota import CounterStore, FixedWindowLimiter

        settings = self.settings
        store: CounterStore
        if settings.quota_table:
            from functions.limits.dynamodb import DynamoDBCounterStore

            store = DynamoDBCounterStore(settings.quota_table)
        else:
            from functions.limits.embedded import InMemoryCounterStore

            store = InMemoryCounterStore()
        return FixedWindowLimiter(store, settings.questions_per_window, settings.question_window_seconds)
