"""POST /v1/guest-sessions: a short-lived token for a visitor who is not signed in."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep
from functions.api.schemas import GuestSessionResponse

router = APIRouter(tags=["guests"])


@router.post("/v1/guest-sessions", response_model=GuestSessionResponse, status_code=201)
def start_guest_session(services: ServicesDep) -> GuestSessionResponse:
    guests = services.guest_sessions
    session = guests.issue()
    return GuestSessionResponse(
        token=session.token, expires_at=session.expires_at, questions=guests.questions
    )
