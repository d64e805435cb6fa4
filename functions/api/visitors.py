"""Who is asking: a signed-in user (the JWT authorizer's `sub`) or a guest session (a guest
token, whose question is counted against the session's limit; see `functions.guests`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from functions.api.dependencies import ServicesDep, SignedInUserDep
from functions.errors import UnauthorizedError
from functions.guests import TOKEN_PREFIX


def asking_user(request: Request, services: ServicesDep, signed_in: SignedInUserDep) -> str | None:
    if signed_in is not None:
        return signed_in
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        session = services.guest_sessions.verify(token)
        services.guest_sessions.count_question(session)
        return session.user_id
    if services.settings.guest_token_required:
        raise UnauthorizedError(
            "sign in, or start a guest session (POST /v1/guest-sessions) and send its token"
        )
    return None


#: The asking user's id for a question route (None: anonymous, where no token is required).
AskingUserDep = Annotated[str | None, Depends(asking_user)]
