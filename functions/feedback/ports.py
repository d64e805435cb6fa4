"""The storage ports of the feedback loop; SQLite (embedded) and DynamoDB/SNS (AWS) implement them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord

if TYPE_CHECKING:
    from functions.feedback.reviews import ReviewChoice, ReviewPair


class ConversationStore(Protocol):
    """Ownership is part of the contract (`records.belongs_to`): a read names the acting user and
    returns None for a record of anyone else, exactly as for one that does not exist, so a caller
    cannot tell the two apart. A second message for the same (conversation, turn) is a
    ConflictError: two racing requests cannot both be stored as the same turn."""

    def save_message(self, record: MessageRecord) -> None: ...

    def get_message(self, message_id: str, *, user_id: str | None) -> MessageRecord | None: ...

    def last_message(self, conversation_id: str, *, user_id: str | None) -> MessageRecord | None: ...

    def recent_messages(
        self, conversation_id: str, limit: int, *, user_id: str | None
    ) -> list[MessageRecord]:
        """The conversation's last `limit` messages, oldest first (the follow-up history); none
        where the conversation is another user's (`belongs_to`)."""
        ...

    def mark_rephrased(self, message: MessageRecord) -> None: ...

    def iter_messages(self) -> Iterator[MessageRecord]: ...


class FeedbackStore(Protocol):
    def save_feedback(self, record: FeedbackRecord) -> None: ...

    def get_feedback(self, message_id: str) -> FeedbackRecord | None: ...


class Escalation(Protocol):
    def escalate(self, ticket: EscalationTicket) -> None: ...


class ReviewStore(Protocol):
    """Pairs to review and reviewers' choices (`functions.feedback.reviews`). Reviewers are
    named by pseudonym; a second choice by the same reviewer for the same pair is a ConflictError."""

    def save_pair(self, pair: ReviewPair) -> None: ...

    def get_pair(self, pair_id: str) -> ReviewPair | None: ...

    def next_pair(self, reviewer: str) -> ReviewPair | None:
        """A pair `reviewer` has not judged, the least-judged first (then the oldest); None when
        they have judged every one."""
        ...

    def save_choice(self, choice: ReviewChoice) -> None: ...

    def iter_choices(self) -> Iterator[tuple[ReviewPair, ReviewChoice]]:
        """Every choice with its pair, oldest first (the export)."""
        ...
