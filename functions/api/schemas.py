"""Request and response bodies of the HTTP API (pydantic models, published at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema

from functions.feedback.records import Rating
from functions.feedback.reviews import Choice
from functions.settings import MAX_QUESTION_CHARS


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _storable(value: str) -> str:
    """Refuse what no store, log or JSON response can carry faithfully: NUL characters and lone
    UTF-16 surrogates (JSON's "\\ud800" escape decodes to one; it cannot be encoded as UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"is not valid Unicode text (a lone surrogate at character {error.start})") from None
    return value


def _json_integer(value: Any) -> Any:
    """An integer as JSON Schema means it (39 or 39.0), not a boolean or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


#: What `_storable` enforces, stated in the schema for clients (JSON cannot carry a lone
#: surrogate as valid UTF-8, so NUL is the one character a pattern needs to exclude).
_NO_NUL = r"^[^\x00]*$"
# Free text of a request: the length limit goes before the validator (pydantic then reports it
# as a string length, and refuses a lone surrogate itself); the pattern documents the validator.
UserId = Annotated[
    str, Field(max_length=128, json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_storable)
]
MessageId = Annotated[
    str,
    Field(min_length=1, max_length=128, json_schema_extra={"pattern": _NO_NUL}),
    AfterValidator(_storable),
]
Reason = Annotated[
    str, Field(max_length=200, json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_storable)
]
Comment = Annotated[
    str, Field(max_length=4000, json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_storable)
]
CheckedText = Annotated[
    str,
    Field(min_length=1, max_length=20000, json_schema_extra={"pattern": _NO_NUL}),
    AfterValidator(_storable),
]
#: The characters `str.strip` removes, spelled out: a schema's `\\s` is ECMA-262's, which leaves
#: out \x1c-\x1f and \x85 (Python strips them) and adds \ufeff (Python keeps it).
_PY_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A question or search text: 1 to MAX_QUESTION_CHARS characters, not only white space. The
#: pattern documents the two validators for clients.
QUESTION_PATTERN = rf"^[^\x00]*[^{_PY_WHITESPACE}\x00][^\x00]*$"
Question = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        json_schema_extra={"pattern": QUESTION_PATTERN},
    ),
    AfterValidator(_storable),
    AfterValidator(_not_blank),
]


def _single_filter_value(value: Any) -> Any:
    """Refuse a list or object in one message (a plain union would report each of its four types)."""
    if not isinstance(value, str | int | float | bool):
        raise ValueError(f"a filter value is one string, number or boolean, not {type(value).__name__}")
    return _storable(value) if isinstance(value, str) else value


FilterValue = Annotated[
    Annotated[str, WithJsonSchema({"type": "string", "pattern": _NO_NUL})] | int | float | bool,
    BeforeValidator(_single_filter_value),
]


class QueryRequest(_Request):
    question: Question = Field(description="The customer's question.")
    conversation_id: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[\w.:-]+$",
        description="Continue this conversation (one of yours); leave it out to start a new one.",
    )
    user_id: UserId | None = Field(
        default=None,
        description="Who asks. Behind the API's JWT authorizer it is the token's `sub`: omit it, "
        "or pass that same value (another is refused with 403).",
    )


class Source(BaseModel):
    source: str
    title: str
    text: str
    score: float = Field(description="Fused hybrid score, relative to this query's candidates.")
    relevance: float = Field(description="Absolute query-passage similarity (cosine).")


class GuardrailFinding(BaseModel):
    category: str
    score: float
    spans: list[dict[str, int | str]] | None = None


class GuardrailReport(BaseModel):
    stage: Literal["input", "output"]
    allowed: bool
    blocked_by: list[str]
    findings: list[GuardrailFinding]


class QueryResponse(BaseModel):
    answer: str
    sources: list[Source] = Field(description="Retrieved passages; citation [n] refers to the n-th.")
    message_id: str = Field(description="Send this id with /v1/feedback.")
    conversation_id: str
    grounded: bool
    fallback: bool = Field(description="True when the assistant did not know and offered a human.")
    guardrails: dict[str, GuardrailReport]
    rephrase_of: str | None = Field(default=None, description="Earlier message this question rephrases.")
    intent: str | None = Field(default=None, description="What the question is about (its intent tag).")
    route: str | None = Field(
        default=None,
        description="Set when the intent answered it: ask_order_number, or hand_off (a person takes over).",
    )
    usage: dict[str, int]
    timings_ms: dict[str, float]
    prompt_variant: str | None = Field(
        default=None,
        description="The prompt variant that answered (GENAI_STACK_PROMPT_VARIANT or the A/B split).",
    )
    citations: list[int] = Field(
        default_factory=list, description="Numbers of the sources the answer cites (1 is the first)."
    )
    confidence: float | None = Field(
        default=None, description="The chat model's confidence in its answer, 0 to 1 (none without a model)."
    )


class RetrieveRequest(_Request):
    query: Question = Field(description="Search text.")
    k: Annotated[int, BeforeValidator(_json_integer)] = Field(
        default=5, ge=1, le=50, description="Number of chunks to return (1-50)."
    )
    filters: dict[str, FilterValue] = Field(
        default_factory=dict,
        description="Exact-match filters on source, title, section, user_id or any metadata key.",
    )


class RetrievedChunk(BaseModel):
    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    score: float
    relevance: float
    metadata: dict[str, str]


class RetrieveResponse(BaseModel):
    query: str
    confident: bool
    results: list[RetrievedChunk]


#: The groundedness check compares the text with every sentence of every source: these bound one
#: request's work (a retrieval's top_k passages are 800 characters each by default).
MAX_SOURCES, MAX_SOURCE_CHARS = 20, 5000
SourceText = Annotated[
    str, Field(max_length=MAX_SOURCE_CHARS, json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_storable)
]


class GuardrailCheckRequest(_Request):
    text: CheckedText
    stage: Literal["input", "output", "context"] = Field(
        description="input: a user's message; output: a model's answer (with `sources` for the "
        "groundedness check); context: a document passage, checked for planted instructions as "
        "ingestion checks each chunk."
    )
    sources: list[SourceText] = Field(
        default_factory=list,
        max_length=MAX_SOURCES,
        description=f"Passages for the groundedness check: at most {MAX_SOURCES} of at most "
        f"{MAX_SOURCE_CHARS} characters each.",
    )


class GuardrailCheckResponse(BaseModel):
    allowed: bool
    findings: list[GuardrailFinding]
    redacted_text: str


class FeedbackRequest(_Request):
    message_id: MessageId
    rating: Rating
    reason: Reason | None = None
    comment: Comment | None = None
    escalate: StrictBool = False
    user_id: UserId | None = Field(
        default=None,
        description="Who rates: the user who asked (the token's `sub` behind the JWT authorizer). "
        "A message of another user is answered like an unknown one (404).",
    )


class FeedbackResponse(BaseModel):
    message_id: str
    rating: Rating
    escalated: bool
    ticket_id: str | None


class ErasureResponse(BaseModel):
    erasure_id: str = Field(description="The audit record of this erasure.")
    erased_at: datetime
    requested_by: Literal["self", "admin", "operator"]
    counts: dict[str, int] = Field(description="Items erased, per store and kind; all 0 the second time.")
    total: int


class IndexStatus(BaseModel):
    version: str | None = Field(description="The index version searches use; null when none is served.")
    healthy: bool = Field(description="False when the version CURRENT names was refused.")
    problem: str | None = None


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="degraded: an older good index version is served; unavailable: none is (503)."
    )
    index: IndexStatus | None = Field(
        default=None, description="The embedded index (absent with OpenSearch)."
    )


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


#: Statuses any route with a JSON body can answer: invalid JSON, body too large, not JSON, a field
#: is wrong, a dependency failed.
_BODY_ERRORS = (400, 413, 415, 422, 503)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route: the common body errors plus its own `statuses`, each
    with the one error body, so the document lists every status the server can send."""
    return {status: {"model": ErrorResponse} for status in sorted({*_BODY_ERRORS, *statuses})}


class GuestSessionResponse(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>` with each question.")
    expires_at: int = Field(description="When the token stops working (epoch seconds).")
    questions: int = Field(description="How many questions the session may ask.")


Note = Annotated[
    str, Field(max_length=2000, json_schema_extra={"pattern": _NO_NUL}), AfterValidator(_storable)
]


class ReviewPairView(BaseModel):
    pair_id: str = Field(description="Send this id with your choice.")
    question: str
    answer_a: str
    answer_b: str


class NextPairResponse(BaseModel):
    pair: ReviewPairView | None = Field(
        description="The next pair to judge; null when you have judged them all."
    )


class ReviewChoiceRequest(_Request):
    pair_id: MessageId
    choice: Choice = Field(description="The better answer as shown (A or B), or tie.")
    note: Note | None = Field(
        default=None, description="Why, optionally (PII is redacted before it is stored)."
    )


class ReviewChoiceResponse(BaseModel):
    pair_id: str
    choice: Choice
    recorded_at: datetime
