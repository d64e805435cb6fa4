"""What the conversation, feedback and escalation stores keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from functions.contract import Intent


def utc_now() -> datetime:
    return datetime.now(UTC)


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class MessageRecord:
    """One answered question. Text is stored after input/output PII redaction."""

    message_id: str
    conversation_id: str
    user_id: str | None
    turn: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    grounded: bool
    fallback: bool
    blocked: bool
    created_at: datetime = field(default_factory=utc_now)
    rephrased: bool = False
    intent: Intent | None = None  # what the question is about (functions.intents); None: not tagged
    route: str | None = None  # how it was answered without retrieval (functions.intents.routing.Route)
    prompt_variant: str | None = None  # the prompt variant that answered (functions.rag.prompts)


def belongs_to(message: MessageRecord, user_id: str | None) -> bool:
    """Whether `user_id` may act on this message (continue its conversation, rate it, escalate it).

    A conversation belongs to the user who started it, and every turn is stored under that user;
    an anonymous conversation (user None) stays anonymous: a signed-in user cannot take it over,
    and an anonymous caller cannot reach a signed-in user's conversation. Every store filters its
    reads with this one rule, so SQLite and DynamoDB cannot disagree about it.
    """
    return message.user_id == user_id


@dataclass(frozen=True)
class FeedbackRecord:
    """A user's verdict on one message; a later submission for the same message replaces it."""

    message_id: str
    rating: Rating
    reason: str | None = None
    comment: str | None = None
    escalate: bool = False
    created_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class EscalationTicket:
    """A request for a human to take over a conversation."""

    ticket_id: str
    message_id: str
    conversation_id: str
    user_id: str | None
    reason: str | None
    comment: str | None
    created_at: datetime = field(default_factory=utc_now)
