"""DELETE /v1/users/{user_id}/data: erase everything the stack keeps about one user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParameter

from functions.api.dependencies import Caller, CallerDep, ServicesDep
from functions.api.schemas import ErasureResponse, ErrorResponse
from functions.errors import ForbiddenError
from functions.privacy.erasure import Requester

router = APIRouter(tags=["privacy"])

#: Any user id the other routes store (1-128 characters, no NUL), so every user can be erased.
UserIdParameter = Annotated[str, PathParameter(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


def requester(user_id: str, who: Caller) -> Requester:
    """Behind the authorizer, users may erase themselves and admins anyone; locally, the operator."""
    if not who.authenticated:
        return Requester.OPERATOR
    if who.user_id == user_id:
        return Requester.SELF
    if who.is_admin:
        return Requester.ADMIN
    raise ForbiddenError("you may erase only your own data (the token's sub) without the admin scope")


@router.delete(
    "/v1/users/{user_id}/data",
    response_model=ErasureResponse,
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def erase(user_id: UserIdParameter, services: ServicesDep, who: CallerDep) -> ErasureResponse:
    report = services.eraser.erase(user_id, requester(user_id, who), who.user_id)
    return ErasureResponse(
        erasure_id=report.erasure_id,
        erased_at=report.erased_at,
        requested_by=report.requested_by.value,
        counts=report.counts,
        total=report.total,
    )
