"""FastAPI dependencies: the routes reach the adapters through the app's Services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from functions.contract import TOKEN_HEADER
from functions.errors import ForbiddenError, NotFoundError
from functions.guests import TOKEN_PREFIX
from functions.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def check_owner(services: Services, conversation_id: str | None, user_id: str | None) -> None:
    """A conversation is continued only by whoever started it: another user's (or a guest's, or
    an anonymous one) is a 404, as if it did not exist, so its id reveals nothing."""
    if conversation_id is None:
        return
    last = services.conversations.last_message(conversation_id)
    if last is not None and last.user_id != user_id:
        raise NotFoundError(f"no conversation {conversation_id!r}")


def signed_in_user(request: Request, services: ServicesDep) -> str | None:
    """The caller's id: the `sub` of a Cognito token that API Gateway's JWT authorizer verified
    (Mangum puts the Lambda event in the ASGI scope), or that the app verified itself where it is
    configured to and no authorizer ran (the streaming function URL). None for anybody else: a
    guest token (`functions.guests`), or no token at all, or the local server."""
    event = request.scope.get("aws.event") or {}
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    subject = claims.get("sub")
    if subject:
        return str(subject)
    token = bearer_token(request)
    verifier = services.customer_tokens
    if verifier is None or token is None or token.startswith(TOKEN_PREFIX):
        return None
    return verifier.subject(token)


def bearer_token(request: Request) -> str | None:
    """The visitor's token: in the token header (behind CloudFront, whose signature takes the
    `Authorization` header), else `Authorization: Bearer <token>`."""
    token = request.headers.get(TOKEN_HEADER, "").strip()
    if token:
        return token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None  # none, or CloudFront's SigV4 signature
    return token.strip() or None


def acting_user(named: str | None, signed_in: str | None) -> str | None:
    """Whose conversation this is. Behind the authorizer it is the token's subject, whatever the
    body says: a body naming someone else is refused, so nobody can file their questions (and
    what a later erasure request deletes) under another user's id."""
    if signed_in is None:
        return named
    if named is not None and named != signed_in:
        raise ForbiddenError("user_id must be omitted or be the signed-in user's id (the token's sub)")
    return signed_in


SignedInUserDep = Annotated[str | None, Depends(signed_in_user)]
