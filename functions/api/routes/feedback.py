"""POST /v1/feedback: thumbs up or down on an answer, with an optional hand-over to a human."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep
from functions.api.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from functions.feedback.service import FeedbackSubmission

router = APIRouter(tags=["feedback"])


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def feedback(body: FeedbackRequest, services: ServicesDep) -> FeedbackResponse:
    receipt = services.feedback.submit(
        FeedbackSubmission(body.message_id, body.rating, body.reason, body.comment, body.escalate)
    )
    return FeedbackResponse(
        message_id=receipt.message_id,
        rating=receipt.rating,
        escalated=receipt.escalated,
        ticket_id=receipt.ticket_id,
    )
