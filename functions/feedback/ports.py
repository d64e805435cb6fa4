"""The storage ports of the feedback loop; SQLite (embedded) and DynamoDB/SNS (AWS) implement them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord


class ConversationStore(Protocol):
    def save_message(self, record: MessageRecord) -> None: ...

    def get_message(self, message_id: str) -> MessageRecord | None: ...

    def last_message(self, conversation_id: str) -> MessageRecord | None: ...

    def recent_messages(self, conversation_id: str, limit: int) -> list[MessageRecord]:
        """The conversation's last `limit` messages, oldest first (the follow-up history)."""
        ...

    def mark_rephrased(self, message: MessageRecord) -> None: ...

    def iter_messages(self) -> Iterator[MessageRecord]: ...


class FeedbackStore(Protocol):
    def save_feedback(self, record: FeedbackRecord) -> None: ...

    def get_feedback(self, message_id: str) -> FeedbackRecord | None: ...


class Escalation(Protocol):
    def escalate(self, ticket: EscalationTicket) -> None: ...
