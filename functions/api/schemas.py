"""Request and response bodies of the HTTP API (pydantic models, published at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from functions.feedback.records import Rating


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _single_filter_value(value: Any) -> Any:
    """Refuse a list or object in one message (a plain union would report each of its four types)."""
    if not isinstance(value, str | int | float | bool):
        raise ValueError(f"a filter value is one string, number or boolean, not {type(value).__name__}")
    return value


FilterValue = Annotated[str | int | float | bool, BeforeValidator(_single_filter_value)]


class QueryRequest(_Request):
    question: str = Field(description="The customer's question (1 to 4,000 characters).")
    conversation_id: str | None = Field(default=None, max_length=128, pattern=r"^[\w.:-]+$")
    user_id: str | None = Field(
        default=None,
        max_length=128,
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
    usage: dict[str, int]
    timings_ms: dict[str, float]


class RetrieveRequest(_Request):
    query: str = Field(description="Search text (1 to 4,000 characters).")
    k: int = Field(default=5, ge=1, le=50, description="Number of chunks to return (1-50).")
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


class GuardrailCheckRequest(_Request):
    text: str = Field(min_length=1, max_length=20000)
    stage: Literal["input", "output"]
    sources: list[str] = Field(default_factory=list, description="Passages for the groundedness check.")


class GuardrailCheckResponse(BaseModel):
    allowed: bool
    findings: list[GuardrailFinding]
    redacted_text: str


class FeedbackRequest(_Request):
    message_id: str = Field(min_length=1, max_length=128)
    rating: Rating
    reason: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=4000)
    escalate: bool = False
    user_id: str | None = Field(
        default=None,
        max_length=128,
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
