"""Who is asking: a signed-in user (the token's `sub`, see `functions.api.dependencies`) or a
guest session (a guest token, whose questions and tokens are counted against the session's
limits; see `functions.guests`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from functions.api.dependencies import ServicesDep, SignedInUserDep, bearer_token
from functions.errors import UnauthorizedError
from functions.guests import TOKEN_PREFIX, GuestSession
from functions.rag.pipeline import Answer
from functions.services import Services


@dataclass(frozen=True)
class Visitor:
    """The asking user's id (None: anonymous, where no token is required), and the guest session
    it belongs to, if any, which the answer's tokens are charged to."""

    user_id: str | None
    guest: GuestSession | None = None

    def charge(self, services: Services, answer: Answer) -> None:
        """Count the answer's model tokens against the guest session's budget."""
        if self.guest is not None:
            services.guest_sessions.count_tokens(self.guest, answer.usage)


def _visitor(request: Request, services: Services, signed_in: str | None) -> Visitor:
    """The signed-in user, else the verified guest session, else anonymous where that is allowed."""
    if signed_in is not None:
        return Visitor(signed_in)
    token = bearer_token(request)
    if token is not None and token.startswith(TOKEN_PREFIX):
        session = services.guest_sessions.verify(token)
        return Visitor(session.user_id, session)
    if services.settings.guest_token_required:
        raise UnauthorizedError(
            "sign in, or start a guest session (POST /v1/guest-sessions) and send its token"
        )
    return Visitor(None)


def asking_visitor(request: Request, services: ServicesDep, signed_in: SignedInUserDep) -> Visitor:
    """Who asks a question: a guest session's question is counted against its limits."""
    visitor = _visitor(request, services, signed_in)
    if visitor.guest is not None:
        services.guest_sessions.count_question(visitor.guest)
    return visitor


def acting_visitor(request: Request, services: ServicesDep, signed_in: SignedInUserDep) -> Visitor:
    """Who acts on an answer already given (feedback): known like a question's asker, counting nothing."""
    return _visitor(request, services, signed_in)


#: Who asks a question route.
VisitorDep = Annotated[Visitor, Depends(asking_visitor)]
#: Who rates or escalates an answer of their own conversation.
ActingVisitorDep = Annotated[Visitor, Depends(acting_visitor)]
