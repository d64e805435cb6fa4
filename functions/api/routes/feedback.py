"""POST /v1/feedback: thumbs up or down on an answer, with an optional hand-over to a human."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep, acting_user
from functions.api.schemas import FeedbackRequest, FeedbackResponse, error_responses
from functions.api.visitors import ActingVisitorDep
from functions.feedback.service import FeedbackSubmission

router = APIRouter(tags=["feedback"])


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    responses=error_responses(401, 403, 404, 409),
)
def feedback(body: FeedbackRequest, services: ServicesDep, visitor: ActingVisitorDep) -> FeedbackResponse:
    user_id = acting_user(body.user_id, visitor.user_id)
    receipt = services.feedback.submit(
        FeedbackSubmission(body.message_id, body.rating, body.reason, body.comment, body.escalate, user_id)
    )
    return FeedbackResponse(
        message_id=receipt.message_id,
        rating=receipt.rating,
        escalated=receipt.escalated,
        ticket_id=receipt.ticket_id,
    )
