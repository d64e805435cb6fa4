"""/v1/review: reviewers compare two candidate answers to one question (`functions.feedback.reviews`),
and `/review`, the page they do it on.

Reviewers only: a member of the Cognito reviewers group behind the authorizer, a local reviewer
token on a laptop (`functions.feedback.reviewers`); 401 without credentials, 403 for anyone else.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from functions.api.dependencies import ServicesDep, authorizer_claims, bearer_token
from functions.api.schemas import (
    NextPairResponse,
    ReviewChoiceRequest,
    ReviewChoiceResponse,
    ReviewPairView,
    error_responses,
)
from functions.feedback.reviewers import reviewer_id

router = APIRouter(tags=["review"])
#: The reviewer page: public HTML (it holds no data), which calls the routes above with the token.
page_router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parents[1] / "review_page.html"


def reviewer(request: Request, services: ServicesDep) -> str:
    return reviewer_id(authorizer_claims(request), bearer_token(request), services.reviewer_tokens)


ReviewerDep = Annotated[str, Depends(reviewer)]
_AUTH_ERRORS = (401, 403, 503)


@router.get("/v1/review/next", response_model=NextPairResponse, responses=error_responses(*_AUTH_ERRORS))
def next_pair(services: ServicesDep, who: ReviewerDep) -> NextPairResponse:
    """The next pair this reviewer has not judged, its answers in this reviewer's order."""
    pair = services.reviews.next_pair(who)
    if pair is None:
        return NextPairResponse(pair=None)
    return NextPairResponse(
        pair=ReviewPairView(
            pair_id=pair.pair_id, question=pair.question, answer_a=pair.answer_a, answer_b=pair.answer_b
        )
    )


@router.post(
    "/v1/review/choices",
    response_model=ReviewChoiceResponse,
    status_code=201,
    responses=error_responses(*_AUTH_ERRORS, 404, 409),
)
def record_choice(body: ReviewChoiceRequest, services: ServicesDep, who: ReviewerDep) -> ReviewChoiceResponse:
    """Record the reviewer's choice; a second choice for the same pair is a 409 (the first stands)."""
    recorded = services.reviews.record(who, body.pair_id, body.choice, body.note)
    return ReviewChoiceResponse(
        pair_id=recorded.pair_id, choice=body.choice, recorded_at=datetime.fromisoformat(recorded.created_at)
    )


@page_router.get("/review")
def review_page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))
