"""Recording feedback on an answer, and handing the conversation to a human when asked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from functions.contract import MetricName
from functions.errors import NotFoundError
from functions.feedback.ports import ConversationStore, Escalation, FeedbackStore
from functions.feedback.records import EscalationTicket, FeedbackRecord, Rating
from functions.guardrails.pii import redact_pii
from functions.observability import logger, metrics


@dataclass(frozen=True)
class FeedbackReceipt:
    message_id: str
    rating: Rating
    escalated: bool
    ticket_id: str | None


class FeedbackService:
    def __init__(self, conversations: ConversationStore, feedback: FeedbackStore, escalation: Escalation) -> None:
        self._conversations = conversations
        self._feedback = feedback
        self._escalation = escalation

    def submit(
        self,
        message_id: str,
        rating: Rating,
        reason: str | None = None,
        comment: str | None = None,
        escalate: bool = False,
    ) -> FeedbackReceipt:
        """Store the verdict (replacing an earlier one for the same message); open a ticket if asked.

        The feedback is saved before the ticket is opened, so a failing escalation channel never
        loses the rating; the caller gets the error and can retry, which is idempotent for the rating.
        """
        message = self._conversations.get_message(message_id)
        if message is None:
            raise NotFoundError(f"no answer with message_id {message_id!r}: use the id returned by /v1/query")
        comment = redact_pii(comment) if comment else comment  # free text: keep identifiers out of storage
        self._feedback.save_feedback(FeedbackRecord(message_id, rating, reason, comment, escalate))
        metric = MetricName.FEEDBACK_POSITIVE if rating is Rating.UP else MetricName.FEEDBACK_NEGATIVE
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

        ticket_id = None
        if escalate:
            ticket_id = uuid.uuid4().hex
            self._escalation.escalate(
                EscalationTicket(
                    ticket_id=ticket_id,
                    message_id=message_id,
                    conversation_id=message.conversation_id,
                    user_id=message.user_id,
                    reason=reason,
                    comment=comment,
                )
            )
            metrics.add_metric(name=MetricName.ESCALATIONS, unit=MetricUnit.Count, value=1)
        logger.info("feedback recorded", extra={"message_id": message_id, "rating": rating.value, "escalated": escalate})
        return FeedbackReceipt(message_id, rating, escalate, ticket_id)
