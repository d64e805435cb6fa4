"""Who is asking: a signed-in user (the JWT authorizer's `sub`) or a guest session (a guest
token, whose question is counted against the session's limit; see `functions.guests`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from functions.api.dependencies import ServicesDep, SignedInUserDep
from functions.errors import UnauthorizedError
from functions.guests import TOKEN_PREFIX, GuestSession


def _guest_session(request: Request, services: ServicesDep) -> GuestSession | None:
    """The guest session whose token the request carries, verified; None without a guest token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        return services.guest_sessions.verify(token)
    return None


def _require_someone(services: ServicesDep) -> None:
    if services.settings.guest_token_required:
        raise UnauthorizedError(
            "sign in, or start a guest session (POST /v1/guest-sessions) and send its token"
        )


def visiting_user(request: Request, services: ServicesDep, signed_in: SignedInUserDep) -> str | None:
    """Who is acting on their own conversation (feedback): like `asking_user`, counting nothing."""
    if signed_in is not None:
        return signed_in
    session = _guest_session(request, services)
    if session is not None:
        return session.user_id
    _require_someone(services)
    return None


def asking_user(request: Request, services: ServicesDep, signed_in: SignedInUserDep) -> str | None:
    if signed_in is not None:
        return signed_in
    session = _guest_session(request, services)
    if session is not None:
        services.guest_sessions.count_question(session)
        return session.user_id
    _require_someone(services)
    return None


#: The asking user's id for a question route (None: anonymous, where no token is required).
AskingUserDep = Annotated[str | None, Depends(asking_user)]
#: The acting user's id for a route on an existing conversation (feedback): guests count no question.
VisitingUserDep = Annotated[str | None, Depends(visiting_user)]
