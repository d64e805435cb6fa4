"""FastAPI dependencies: the routes reach the adapters through the app's Services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from functions.errors import ForbiddenError
from functions.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def signed_in_user(request: Request) -> str | None:
    """The caller's id from API Gateway's JWT authorizer (the token's `sub`), or None where no
    authorizer ran (the local server). Mangum puts the Lambda event in the ASGI scope."""
    event = request.scope.get("aws.event") or {}
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    subject = claims.get("sub")
    return str(subject) if subject else None


def acting_user(named: str | None, signed_in: str | None) -> str | None:
    """Whose conversation this is. Behind the authorizer it is the token's subject, whatever the
    body says: a body naming someone else is refused, so nobody can file their questions (and
    what a later erasure request deletes) under another user's id."""
    if signed_in is None:
        return named
    if named is not None and named != signed_in:
        raise ForbiddenError("user_id must be omitted or be the signed-in user's id (the token's sub)")
    return signed_in


ServicesDep = Annotated[Services, Depends(get_services)]
SignedInUserDep = Annotated[str | None, Depends(signed_in_user)]
