"""Every knob of the runtime, in one pydantic-settings model validated at start-up.

Values come from `GENAI_STACK_*` environment variables (the names are in `functions.contract`)
or from keyword arguments (the CLI passes `data_dir`). With nothing set, every adapter is the
embedded one, so the assistant runs on a laptop without an AWS account.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.contract import (
    EMBEDDING_DIMENSION,
    ENV_PREFIX,
    ChatModelKind,
    EmbedderKind,
    GuardrailEngine,
    SpaceType,
    StoreKind,
    VectorStoreKind,
)

TITAN_DIMENSIONS = (256, 512, 1024)
#: The longest question the API's schema admits; `max_question_chars` may only lower it.
MAX_QUESTION_CHARS = 4000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Where the embedded adapters keep their files (vector index, SQLite database).
    data_dir: Path = Path(".genai-stack")

    # Adapters
    vector_store: VectorStoreKind = VectorStoreKind.EMBEDDED
    embedder: EmbedderKind = EmbedderKind.LOCAL
    chat_model: ChatModelKind = ChatModelKind.EXTRACTIVE
    store: StoreKind = StoreKind.SQLITE

    # The AWS adapters' resources (the CDK stack sets them)
    opensearch_endpoint: str | None = None
    opensearch_index: str = "genai-stack-chunks"
    # The k-NN space the stack built the index with (`search.space_type`): how scores read back.
    opensearch_space_type: SpaceType = SpaceType.INNER_PRODUCT
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_endpoint_name: str | None = None
    chat_model_id: str = "amazon.nova-lite-v1:0"
    chat_endpoint_name: str | None = None
    checkpoint_dir: Path | None = None
    conversations_table: str | None = None
    feedback_table: str | None = None
    escalation_topic_arn: str | None = None
    documents_bucket: str | None = None
    training_data_bucket: str | None = None
    pseudonym_secret_arn: str | None = None
    retention_days: int = Field(default=365, ge=1, le=3650)
    idempotency_table: str | None = None
    # Reviewers' preference pairs and choices (`functions.feedback.reviews`); the SQLite file without it.
    reviews_table: str | None = None
    embedding_dimension: int = Field(default=EMBEDDING_DIMENSION, ge=1, le=16000)

    # Per-user question limit on /v1/query (signed-in users; `functions.limits`). The table holds
    # the counters in AWS; without it each process counts on its own (the local server).
    quota_table: str | None = None
    questions_per_window: int = Field(default=20, ge=1, description="questions per user per window")
    question_window_seconds: int = Field(default=60, ge=1, le=86_400)

    # Guest sessions for visitors who are not signed in (`functions.guests`): a token lives this
    # long and may ask this many questions, spending at most this many model tokens. The key is
    # the secret's, or a file in data_dir locally.
    # `guest_token_required`: a question without a signed-in user must carry a guest token (the
    # stack sets it where no JWT authorizer stands in front of the route).
    guest_session_seconds: int = Field(default=1800, ge=60, le=86_400)
    guest_questions: int = Field(default=20, ge=1, le=1000, description="questions per guest session")
    guest_tokens: int = Field(
        default=40_000, ge=1, description="prompt + completion tokens per guest session (model usage)"
    )
    guest_secret_arn: str | None = None
    guest_token_required: bool = False

    # Signed-in customers' Cognito tokens, verified by the app itself where no API Gateway JWT
    # authorizer stands in front of it (the streaming function URL; `functions.customers`): the
    # user pool's issuer URL and the app client's id, set by the stack as for the authorizer.
    cognito_issuer: str | None = None
    cognito_client_id: str | None = None

    # Request limits
    max_question_chars: int = Field(default=MAX_QUESTION_CHARS, ge=1, le=MAX_QUESTION_CHARS)
    # Request bodies above this are refused with a 413 before they are read whole or parsed
    # (the largest valid body, a guardrails check with its sources, is about 120 kB of text).
    max_request_bytes: int = Field(default=512 * 1024, ge=1024, le=10 * 1024 * 1024)

    # How long a write to the embedded SQLite file waits for another process's lock before it
    # is a 503 (the caller retries) instead of holding the request.
    database_busy_timeout: float = Field(default=1.0, gt=0.0, le=30.0, description="seconds")
    max_k: int = Field(default=50, ge=1, le=1000)

    # Retrieval: how many chunks reach the prompt, and how the two rankings are fused.
    top_k: int = Field(default=5, ge=1, le=50)
    candidate_pool: int = Field(default=50, ge=1, le=1000, description="hits taken from each ranking")
    # 0.65: SciFact nDCG@10 stays above 0.70 (BM25-heavy claims) while paraphrased support questions,
    # which share few words with their answer, lean on the dense side (make bench shows both).
    dense_weight: float = Field(
        default=0.65, ge=0.0, le=1.0, description="weight of the dense ranking in the fusion"
    )
    # Confidence gate: when the best passage's cosine similarity to the question is below this,
    # the assistant says it does not know and offers a human. Calibrated for MiniLM on the dev set
    # (tests/fixtures/dev_questions.jsonl): the highest value that keeps the hand-off for
    # answerable questions at or under 10%. Recalibrate when the embedder changes.
    min_relevance: float = Field(default=0.39, ge=0.0, le=1.0)
    # Optional reranker (Amazon Bedrock Rerank), e.g.
    # arn:aws:bedrock:eu-west-1::foundation-model/amazon.rerank-v1:0. With it, hits are ordered by
    # its scores and the gate compares them with rerank_min_relevance (uncalibrated: no account here).
    rerank_model_arn: str | None = None
    rerank_min_relevance: float = Field(default=0.5, ge=0.0, le=1.0)

    # Chunking
    chunk_size: int = Field(default=800, ge=100, le=8000, description="characters per chunk")
    chunk_overlap: int = Field(default=100, ge=0)

    # Values that look like PII but are meant to be public (the support desk's address and phone):
    # exact values, or "@domain" for a whole mail domain. JSON list in the environment.
    pii_allowlist: tuple[str, ...] = ()

    # Guardrails: the policy file (thresholds, actions, denied topics, allowed PII and
    # link hosts; functions/guardrails/policy.json when unset), and which engine applies it:
    # the embedded detectors, or Amazon Bedrock Guardrails (the stack creates the guardrail).
    guardrail_policy_path: Path | None = None
    guardrail_engine: GuardrailEngine = GuardrailEngine.EMBEDDED
    bedrock_guardrail_id: str | None = None
    bedrock_guardrail_version: str = "DRAFT"

    # Answers
    max_answer_sentences: int = Field(default=3, ge=1, le=10)
    # The extractive answerer scores each sentence by the question's words it holds plus this
    # weight times its MiniLM similarity to the question (0 turns the similarity off).
    answer_semantic_weight: float = Field(default=0.5, ge=0.0, le=2.0)
    max_new_tokens: int = Field(default=256, ge=1, le=4096)
    rephrase_similarity: float = Field(default=0.8, ge=0.0, le=1.0)

    # Prompts (functions/rag/prompt_templates/variants.toml names the variants): the variant that
    # answers, or an A/B split, JSON {"zero-shot": 0.5, "few-shot": 0.5} (weights, any scale):
    # each conversation gets one variant by a hash of its id, on every turn and every process.
    prompt_variant: str = "zero-shot"
    prompt_split: dict[str, float] = Field(default_factory=dict)

    # An OpenAI-compatible chat model (chat_model=openai): a vLLM, TGI or llama.cpp server, or a
    # hosted API, at this base URL (e.g. http://localhost:8080/v1) serving this model name. The
    # API key comes from the secret (AWS; the stack sets its ARN) or from GENAI_STACK_OPENAI_API_KEY;
    # a local server may need none.
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: SecretStr | None = None
    openai_api_key_secret_arn: str | None = None
    openai_timeout: float = Field(default=30.0, gt=0.0, le=600.0, description="seconds per request")

    # Follow-ups: how many earlier turns a follow-up is resolved against, the condense prompt's
    # token budget for them (LLM chat models), and how far a rewritten follow-up's query vector
    # leans towards the previous question (embedded default).
    followup_history_turns: int = Field(default=6, ge=1, le=50)
    followup_token_budget: int = Field(default=1000, ge=50, le=32000)
    followup_previous_weight: float = Field(default=0.5, ge=0.0, le=2.0)

    # Intents (`functions.intents`): each question is tagged by a classifier over its embedding.
    # The packaged artefact reads the local MiniLM's vectors; with another embedder, tagging is
    # off unless `intent_model_path` names an artefact trained on it (checked at start-up). An
    # order-status question without an order number is asked for it, and a request for a person
    # is handed off, when the classifier is at least `intent_route_min_probability` sure.
    intent_tagging: bool = True
    intent_model_path: Path | None = None
    intent_route_min_probability: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        if self.top_k > self.candidate_pool:
            raise ValueError("top_k must not exceed candidate_pool")
        required = {
            "opensearch_endpoint": self.vector_store is VectorStoreKind.OPENSEARCH,
            "embedding_endpoint_name": self.embedder is EmbedderKind.SAGEMAKER,
            "chat_endpoint_name": self.chat_model is ChatModelKind.SAGEMAKER,
            "checkpoint_dir": self.chat_model is ChatModelKind.LOCAL_CHECKPOINT,
            "openai_base_url": self.chat_model is ChatModelKind.OPENAI,
            "openai_model": self.chat_model is ChatModelKind.OPENAI,
            "conversations_table": self.store is StoreKind.DYNAMODB,
            "feedback_table": self.store is StoreKind.DYNAMODB,
            "escalation_topic_arn": self.store is StoreKind.DYNAMODB,
            "bedrock_guardrail_id": self.guardrail_engine is GuardrailEngine.BEDROCK,
        }
        if (self.cognito_issuer is None) != (self.cognito_client_id is None):
            raise ValueError(
                f"{ENV_PREFIX}COGNITO_ISSUER and {ENV_PREFIX}COGNITO_CLIENT_ID are set together or not at all"
            )
        missing = [name for name, needed in required.items() if needed and not getattr(self, name)]
        if missing:
            names = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in missing)
            raise ValueError(f"the configured adapters need {names}")
        if self.embedder is EmbedderKind.LOCAL and self.embedding_dimension != EMBEDDING_DIMENSION:
            raise ValueError(f"the local embedder gives {EMBEDDING_DIMENSION}-dimensional vectors")
        if self.embedder is EmbedderKind.BEDROCK and self.embedding_dimension not in TITAN_DIMENSIONS:
            raise ValueError(
                f"Titan Text Embeddings v2 gives {TITAN_DIMENSIONS} dimensions, "
                f"not {self.embedding_dimension}"
                " (GENAI_STACK_EMBEDDING_DIMENSION)"
            )
        from functions.rag.prompts import check_variants

        try:
            check_variants(self.prompt_variant, self.prompt_split)
        except ValueError as error:
            raise ValueError(f"{ENV_PREFIX}PROMPT_VARIANT or {ENV_PREFIX}PROMPT_SPLIT: {error}") from None
        from functions.guardrails.config import DEFAULT_POLICY_PATH, load_policy

        load_policy(self.guardrail_policy_path or DEFAULT_POLICY_PATH)  # a bad policy fails start-up
        if self.intent_tagging and self.intent_model_path is not None:
            from functions.intents.classifier import embedder_identity, load_model

            load_model(self.intent_model_path, embedder=embedder_identity(self))  # fits the embedder
        return self

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "genai-stack.sqlite3"

    @property
    def exports_dir(self) -> Path:
        """Where `genai-stack export` writes by default, and where erasure looks for a user's rows."""
        return self.data_dir / "exports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once (at cold start)."""
    return Settings()
