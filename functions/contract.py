"""Names shared by the runtime (`functions`) and the infrastructure (`infra`).

The CDK stack sets environment variables, creates the OpenSearch index and draws dashboards
from these names; the runtime reads the same names. Keeping them in one module that both import
means the two halves cannot drift. This module must stay dependency-free (standard library only):
it is imported at synth time and on the Lambda cold-start path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

ENV_PREFIX = "GENAI_STACK_"


class EnvVar(StrEnum):
    """Environment variables read by `functions.settings.Settings` (prefix + field name, upper)."""

    DATA_DIR = "GENAI_STACK_DATA_DIR"
    VECTOR_STORE = "GENAI_STACK_VECTOR_STORE"
    OPENSEARCH_ENDPOINT = "GENAI_STACK_OPENSEARCH_ENDPOINT"
    OPENSEARCH_INDEX = "GENAI_STACK_OPENSEARCH_INDEX"
    EMBEDDER = "GENAI_STACK_EMBEDDER"
    EMBEDDING_MODEL_ID = "GENAI_STACK_EMBEDDING_MODEL_ID"
    EMBEDDING_ENDPOINT_NAME = "GENAI_STACK_EMBEDDING_ENDPOINT_NAME"
    CHAT_MODEL = "GENAI_STACK_CHAT_MODEL"
    CHAT_MODEL_ID = "GENAI_STACK_CHAT_MODEL_ID"
    RERANK_MODEL_ARN = "GENAI_STACK_RERANK_MODEL_ARN"
    CHAT_ENDPOINT_NAME = "GENAI_STACK_CHAT_ENDPOINT_NAME"
    CHECKPOINT_DIR = "GENAI_STACK_CHECKPOINT_DIR"
    STORE = "GENAI_STACK_STORE"
    CONVERSATIONS_TABLE = "GENAI_STACK_CONVERSATIONS_TABLE"
    FEEDBACK_TABLE = "GENAI_STACK_FEEDBACK_TABLE"
    ESCALATION_TOPIC_ARN = "GENAI_STACK_ESCALATION_TOPIC_ARN"
    DOCUMENTS_BUCKET = "GENAI_STACK_DOCUMENTS_BUCKET"
    TRAINING_DATA_BUCKET = "GENAI_STACK_TRAINING_DATA_BUCKET"
    RETENTION_DAYS = "GENAI_STACK_RETENTION_DAYS"
    IDEMPOTENCY_TABLE = "GENAI_STACK_IDEMPOTENCY_TABLE"
    EMBEDDING_DIMENSION = "GENAI_STACK_EMBEDDING_DIMENSION"
    PSEUDONYM_SECRET_ARN = "GENAI_STACK_PSEUDONYM_SECRET_ARN"
    OPENSEARCH_SPACE_TYPE = "GENAI_STACK_OPENSEARCH_SPACE_TYPE"
    QUOTA_TABLE = "GENAI_STACK_QUOTA_TABLE"
    GUEST_SECRET_ARN = "GENAI_STACK_GUEST_SECRET_ARN"
    GUEST_TOKEN_REQUIRED = "GENAI_STACK_GUEST_TOKEN_REQUIRED"
    COGNITO_ISSUER = "GENAI_STACK_COGNITO_ISSUER"
    COGNITO_CLIENT_ID = "GENAI_STACK_COGNITO_CLIENT_ID"
    GUARDRAIL_ENGINE = "GENAI_STACK_GUARDRAIL_ENGINE"
    BEDROCK_GUARDRAIL_ID = "GENAI_STACK_BEDROCK_GUARDRAIL_ID"
    BEDROCK_GUARDRAIL_VERSION = "GENAI_STACK_BEDROCK_GUARDRAIL_VERSION"
    PROMPT_VARIANT = "GENAI_STACK_PROMPT_VARIANT"
    PROMPT_SPLIT = "GENAI_STACK_PROMPT_SPLIT"
    OPENAI_BASE_URL = "GENAI_STACK_OPENAI_BASE_URL"
    OPENAI_MODEL = "GENAI_STACK_OPENAI_MODEL"
    OPENAI_API_KEY_SECRET_ARN = "GENAI_STACK_OPENAI_API_KEY_SECRET_ARN"
    REVIEWS_TABLE = "GENAI_STACK_REVIEWS_TABLE"


class VectorStoreKind(StrEnum):
    EMBEDDED = "embedded"
    OPENSEARCH = "opensearch"


class EmbedderKind(StrEnum):
    LOCAL = "local"
    BEDROCK = "bedrock"
    SAGEMAKER = "sagemaker"


class ChatModelKind(StrEnum):
    EXTRACTIVE = "extractive"
    LOCAL_CHECKPOINT = "local-checkpoint"
    BEDROCK = "bedrock"
    SAGEMAKER = "sagemaker"
    OPENAI = "openai"  # any OpenAI-compatible server: vLLM, TGI, llama.cpp, or a hosted API


class StoreKind(StrEnum):
    SQLITE = "sqlite"
    DYNAMODB = "dynamodb"


class SpaceType(StrEnum):
    """The k-NN space of the index: the stack builds the index with it, the store reads its scores
    with it (each space turns distances into scores its own way)."""

    INNER_PRODUCT = "innerproduct"
    COSINE = "cosinesimil"
    L2 = "l2"


# --- DynamoDB tables -------------------------------------------------------------------------


class DynamoDBLayout(StrEnum):
    """Key schema of the conversation and feedback tables (infra creates them, the runtime uses them)."""

    CONVERSATION_KEY = "conversation_id"  # conversations: partition key
    TURN_KEY = "turn"  # conversations: sort key (number)
    MESSAGE_KEY = "message_id"  # feedback: partition key; conversations: key of the index below
    MESSAGE_ID_INDEX = "by_message_id"
    USER_KEY = "user_id"  # conversations: the starter's pseudonym; key of the index below
    USER_INDEX = "by_user"  # keys only: what erasure needs to find a user's turns
    TTL_ATTRIBUTE = "expires_at"  # epoch seconds
    IDEMPOTENCY_KEY = "id"  # Powertools idempotency table: partition key
    IDEMPOTENCY_TTL = "expiration"
    QUOTA_KEY = "client_window"  # request-limit table: partition key, "<client>#<window start>"
    QUOTA_COUNT = "requests"  # request-limit table: the window's count; expires at TTL_ATTRIBUTE
    REVIEW_PAIR_KEY = "pair_id"  # reviews: partition key
    REVIEW_ENTRY_KEY = "entry"  # reviews: sort key, "pair" or "choice#<reviewer pseudonym>"


#: Where the export writes interactions in the training-data bucket (one folder per retraining run).
EXPORTS_PREFIX = "exports/"

#: The files of one export (local folder, or the exports prefix of the training-data bucket):
#: `InteractionRecord` lines, and reviewers' preference pairs (`ReviewPairRecord` lines).
INTERACTIONS_FILE = "interactions.jsonl"
REVIEW_PAIRS_FILE = "review_pairs.jsonl"

#: The Cognito group whose members may use the reviewer routes (`/v1/review`), read from the
#: token's `cognito:groups` claim.
REVIEWERS_GROUP = "reviewers"

#: The OAuth scope (Cognito resource server "genai-stack", scope "admin") that lets a caller erase any
#: user's data and read the loop's statistics.
ADMIN_SCOPE = "genai-stack/admin"


# --- Lambda functions -------------------------------------------------------------------------

#: Lambda functions behind the HTTP API; each handler lives at `functions.handlers.<name>.handler`.
API_HANDLERS: tuple[str, ...] = ("query", "retrieval", "guardrails", "feedback", "privacy", "stats", "review")


#: The request header that carries a visitor's token (a Cognito token or a guest token) to the
#: streaming function: CloudFront's origin access control signs each request to the function URL
#: in the `Authorization` header, overwriting the viewer's. The widget sends it (widget/src/api.ts).
TOKEN_HEADER = "x-genai-stack-token"


def cognito_issuer(region: str, user_pool_id: str) -> str:
    """The `iss` of a user pool's tokens: the API's JWT authorizer checks it, and so does the app
    where no authorizer stands in front of it (the streaming function URL); its JWKS is beneath it."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def handler_path(name: str) -> str:
    """The Lambda handler string for one of our handler modules."""
    return f"functions.handlers.{name}.handler"


# --- Metrics ----------------------------------------------------------------------------------

METRICS_NAMESPACE = "GenAiStack"
SERVICE_NAME = "genai-stack"


class MetricName(StrEnum):
    """Application metrics, emitted as CloudWatch EMF and drawn on the stack's dashboard."""

    QUERIES = "Queries"
    QUERY_LATENCY = "QueryLatency"  # milliseconds, whole request path
    RETRIEVAL_LATENCY = "RetrievalLatency"  # milliseconds, embed + search
    GENERATION_LATENCY = "GenerationLatency"  # milliseconds, chat model
    INPUT_TOKENS = "InputTokens"
    OUTPUT_TOKENS = "OutputTokens"
    GUARDRAIL_BLOCKS = "GuardrailBlocks"
    GROUNDED_ANSWERS = "GroundedAnswers"
    GROUNDEDNESS = "Groundedness"  # percent: the worst answer sentence's support in the sources
    UNGROUNDED_ANSWERS = "UngroundedAnswers"
    EMPTY_RETRIEVALS = "EmptyRetrievals"
    REPHRASES = "Rephrases"
    ESCALATIONS = "Escalations"
    FEEDBACK_POSITIVE = "FeedbackPositive"
    FEEDBACK_NEGATIVE = "FeedbackNegative"
    DEPENDENCY_FAILURES = "DependencyFailures"  # a backing service failed or timed out (HTTP 503)
    CONFLICTS = "Conflicts"  # a write lost a race (HTTP 409)
    INTENTS = "Intents"  # one per tagged question, with the intent as a dimension (below)
    HAND_OFFS = "HandOffs"  # answers that offered a human instead (gate, model or guardrail)
    MALFORMED_REPLIES = "MalformedReplies"  # chat-model replies that were not the structured reply
    DROPPED_CITATIONS = "DroppedCitations"  # cited source numbers that named no retrieved source


#: `Queries`, `GroundedAnswers`, `UngroundedAnswers` and `HandOffs` are also emitted with this
#: dimension, one value per prompt variant (functions/rag/prompt_templates/variants.toml): the A/B view.
PROMPT_VARIANT_DIMENSION = "prompt_variant"


# --- Guardrails ---------------------------------------------------------------------------------


class GuardrailEngine(StrEnum):
    """Which implementation applies the guardrail policy."""

    EMBEDDED = "embedded"  # the detectors in functions/guardrails
    BEDROCK = "bedrock"  # Amazon Bedrock Guardrails (ApplyGuardrail), built from the same policy


#: `GuardrailBlocks` is also emitted with this dimension, one value per category below, so the
#: dashboard shows what is blocked; the undimensioned metric keeps the alarm.
GUARDRAIL_CATEGORY_DIMENSION = "category"
GUARDRAIL_CATEGORIES: tuple[str, ...] = (
    "prompt_injection",
    "toxicity",
    "denied_topic",
    "pii",
    "system_prompt_leak",
    "unsafe_link",
    "ungrounded",
)


# --- Intents -----------------------------------------------------------------------------------


class Intent(StrEnum):
    """What a customer's message is about (`functions.intents`): stored with each message and
    emitted as the `intent` dimension of `Intents`, one dashboard line per value."""

    ORDER_STATUS = "order_status"
    RETURNS = "returns"
    REFUNDS = "refunds"
    SHIPPING = "shipping"
    PAYMENT = "payment"
    ACCOUNT = "account"
    PRODUCT_QUESTION = "product_question"
    COMPLAINT = "complaint"
    TALK_TO_PERSON = "talk_to_person"
    OTHER = "other"


INTENT_DIMENSION = "intent"


# --- The k-NN index ---------------------------------------------------------------------------

EMBEDDING_DIMENSION = 384  # all-MiniLM-L6-v2; Titan Text Embeddings v2 offers 256, 512 or 1024


def knn_index_body(
    dimension: int = EMBEDDING_DIMENSION,
    *,
    engine: str = "faiss",
    space_type: SpaceType = SpaceType.INNER_PRODUCT,
    m: int = 16,
    ef_construction: int = 128,
    ef_search: int = 100,
    shards: int = 1,
    replicas: int = 1,
) -> dict[str, Any]:
    """The OpenSearch index settings and mapping used by the runtime adapter and the stack.

    Vectors are L2-normalised, so inner product equals cosine similarity. `text` and `title` are
    analysed with the English analyzer for BM25, the keyword fields serve metadata filters
    (efficient k-NN filtering applies them inside the HNSW search).
    """
    if dimension <= 0:
        raise ValueError("dimension must be positive")
    return {
        "settings": {
            "index": {
                "knn": True,
                "knn.algo_param.ef_search": ef_search,
                "number_of_shards": shards,
                "number_of_replicas": replicas,
            }
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "chunk_id": {"type": "keyword"},
                "source": {"type": "keyword"},
                "source_hash": {"type": "keyword"},
                "title": {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword"}}},
                "section": {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword"}}},
                "text": {"type": "text", "analyzer": "english"},
                "chunk_index": {"type": "integer"},
                "user_id": {"type": "keyword"},
                "metadata": {"type": "flat_object"},
                # The chunk's sentence embeddings (little-endian float32, `dimension` per sentence),
                # base64 in _source: read back with the hit for the answerer, never searched.
                "sentence_vectors": {"type": "binary"},
                "embedding": {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {
                        "name": "hnsw",
                        "engine": engine,
                        "space_type": SpaceType(space_type).value,
                        "parameters": {"m": m, "ef_construction": ef_construction},
                    },
                },
            },
        },
    }


# --- The interaction export: written by the runtime, read by `training_jobs.data` --------------


class ExportedSource(TypedDict):
    source: str
    title: str
    score: float


class InteractionRecord(TypedDict):
    """One answered question with what users said about it; one JSON object per line.

    Text fields are PII-redacted by the exporter. `rephrased` marks that the user's next turn
    asked the same thing in other words (an implicit thumbs-down). `human_answer` is what a human
    agent replied after an escalation, the best "chosen" answer a preference pair can have: this
    stack's export never writes it (the agents answer outside it, through the escalation topic),
    an export from a help desk that records its agents' replies may.
    """

    message_id: str
    conversation_id: str
    user_id: str | None
    turn: int
    question: str
    answer: str
    sources: list[ExportedSource]
    grounded: bool
    created_at: str  # ISO 8601, UTC
    rating: Literal["up", "down"] | None
    reason: str | None
    comment: str | None
    escalated: bool
    rephrased: bool
    human_answer: NotRequired[str | None]


class ChatTurn(TypedDict):
    role: Literal["user", "assistant"]
    content: str


class ReviewPairRecord(TypedDict):
    """A reviewer's preference between two answers to one question; one JSON object per line.

    `prompt`, `chosen` and `rejected` are trl's conversational preference format, what the reward,
    policy and DPO jobs read; `training_jobs.data` puts these pairs beside the ones it builds from
    thumbs, escalations and rephrases. `user_id` is the reviewer's pseudonym (erasure finds their
    rows by it); the configurations say which prompt variant or model wrote each answer. A tie is
    not exported: it prefers neither answer.
    """

    prompt: list[ChatTurn]
    chosen: list[ChatTurn]
    rejected: list[ChatTurn]
    pair_id: str
    user_id: str
    chosen_config: str
    rejected_config: str
    note: str | None
    created_at: str  # ISO 8601, UTC


#: evaluation.json (the retraining pipeline's evaluation job) holds the answer evaluation's figures
#: (`functions.evaluation_answers.METRICS`) as `answers_<figure>` for the candidate and
#: `current_answers_<figure>` for the model serving now; the promotion gate reads them.
ANSWER_FIGURE_PREFIX = "answers_"
#: The answer figures a candidate may not lose to the serving model (the promotion gate's rule);
#: groundedness and hand-off correctness also have floors (`training.min_*` in infra.config).
GATED_ANSWER_FIGURES = ("key_fact_match", "groundedness", "handoff_correctness")
