"""Recording feedback on an answer, and handing the conversation to a human when asked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.contract import MetricName
from functions.errors import NotFoundError
from functions.feedback.ports import ConversationStore, Escalation, FeedbackStore
from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord, Rating
from functions.guardrails.pii import redact_pii
from functions.observability import logger, metrics


@dataclass(frozen=True)
class FeedbackSubmission:
    """One verdict on a message, by `user_id` (None: anonymous), who must own the message."""

    message_id: str
    rating: Rating
    reason: str | None = None
    comment: str | None = None
    escalate: bool = False
    user_id: str | None = None


@dataclass(frozen=True)
class FeedbackReceipt:
    message_id: str
    rating: Rating
    escalated: bool
    ticket_id: str | None


SubmitFunction = Callable[..., FeedbackReceipt]


class FeedbackService:
    """Validates and stores feedback. `once` wraps the submission so that a retried request has
    no second effect (Powertools idempotency on a DynamoDB table in AWS, on the SQLite file
    locally); the same submission within the idempotency window returns the first receipt,
    without a second ticket. Only the user who owns the message may rate it."""

    def __init__(
        self,
        conversations: ConversationStore,
        feedback: FeedbackStore,
        escalation: Escalation,
        once: Callable[[SubmitFunction], SubmitFunction] | None = None,
    ) -> None:
        self._conversations = conversations
        self._feedback = feedback
        self._escalation = escalation
        self._submit_once = once(self._record) if once else self._record

    def submit(self, submission: FeedbackSubmission) -> FeedbackReceipt:
        return self._submit_once(submission=submission)

    def _record(self, submission: FeedbackSubmission) -> FeedbackReceipt:
        """Store the verdict (replacing an earlier one for the same message); open a ticket if asked.

        The feedback is saved before the ticket is opened, so a failing escalation channel never
        loses the rating; the caller gets the error and can retry.
        """
        message = self._owned_message(submission.message_id, submission.user_id)
        reason, comment = _redacted(submission.reason), _redacted(submission.comment)
        self._feedback.save_feedback(
            FeedbackRecord(submission.message_id, submission.rating, reason, comment, submission.escalate)
        )
        metric = (
            MetricName.FEEDBACK_POSITIVE if submission.rating is Rating.UP else MetricName.FEEDBACK_NEGATIVE
        )
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

        ticket_id = self._open_ticket(message, reason, comment) if submission.escalate else None
        logger.info(
            "feedback recorded",
            extra={
                "message_id": submission.message_id,
                "rating": submission.rating.value,
                "escalated": submission.escalate,
            },
        )
        return FeedbackReceipt(submission.message_id, submission.rating, submission.escalate, ticket_id)

    def hand_off(self, message_id: str, user_id: str | None, reason: str) -> str:
        """Open a ticket for a stored message without a rating (the customer asked for a person
        in the question itself: `functions.intents.routing`); the ticket id."""
        return self._open_ticket(self._owned_message(message_id, user_id), reason, None)

    def _owned_message(self, message_id: str, user_id: str | None) -> MessageRecord:
        message = self._conversations.get_message(message_id, user_id=user_id)
        if message is None:  # missing, or someone else's: the same answer, so it reveals nothing
            # The caller's value is not repeated: the error is logged, and a mistyped field can hold PII.
            raise NotFoundError("no answer with that message_id: use the id returned by /v1/query")
        return message

    def _open_ticket(self, message: MessageRecord, reason: str | None, comment: str | None) -> str:
        """Hand the message's conversation to a human; the ticket id. The ticket carries the
        stored (pseudonymous) user id, never the caller's."""
        ticket_id = uuid.uuid4().hex
        self._escalation.escalate(
            EscalationTicket(
                ticket_id=ticket_id,
                message_id=message.message_id,
                conversation_id=message.conversation_id,
                user_id=message.user_id,
                reason=reason,
                comment=comment,
            )
        )
        metrics.add_metric(name=MetricName.ESCALATIONS, unit=MetricUnit.Count, value=1)
        return ticket_id


def _redacted(text: str | None) -> str | None:
    """Free text the user typed, PII redacted: it is stored, published to the support team and exported."""
    return redact_pii(text) if text else None
