"""FastAPI dependencies: the routes reach the adapters through the app's Services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from functions.contract import ADMIN_SCOPE, TOKEN_HEADER
from functions.errors import ForbiddenError
from functions.guests import TOKEN_PREFIX
from functions.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _jwt(request: Request) -> dict[str, Any] | None:
    """What API Gateway's JWT authorizer passed on (claims and scopes), or None where no authorizer
    ran (the local server, the streaming function URL). Mangum puts the Lambda event in the ASGI scope."""
    event = request.scope.get("aws.event") or {}
    jwt: dict[str, Any] | None = event.get("requestContext", {}).get("authorizer", {}).get("jwt")
    return jwt


def authorizer_claims(request: Request) -> dict[str, Any] | None:
    """The claims of the token API Gateway's JWT authorizer verified; None where none ran."""
    jwt = _jwt(request)
    return None if jwt is None else dict(jwt.get("claims") or {})


def _subject(jwt: dict[str, Any] | None) -> str | None:
    subject = (jwt or {}).get("claims", {}).get("sub")
    return str(subject) if subject else None


def signed_in_user(request: Request, services: ServicesDep) -> str | None:
    """The caller's id: the `sub` of a Cognito token that API Gateway's JWT authorizer verified,
    or that the app verified itself where it is configured to and no authorizer ran (the streaming
    function URL). None for anybody else: a guest token (`functions.guests`), or no token at all,
    or the local server."""
    subject = _subject(_jwt(request))
    if subject:
        return subject
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


@dataclass(frozen=True)
class Caller:
    """Who is calling: behind the authorizer, the token's subject and scopes; locally (no
    authorizer, a server on the operator's own machine) an operator trusted like the CLI."""

    user_id: str | None
    scopes: frozenset[str]
    authenticated: bool

    @property
    def is_admin(self) -> bool:
        return not self.authenticated or ADMIN_SCOPE in self.scopes


def caller(request: Request) -> Caller:
    jwt = _jwt(request)
    if jwt is None:
        return Caller(None, frozenset(), authenticated=False)
    # An access token's scopes: the authorizer's list, or the space-separated `scope` claim.
    scopes = set(jwt.get("scopes") or ()) | set(str(jwt.get("claims", {}).get("scope", "")).split())
    return Caller(_subject(jwt), frozenset(scopes), authenticated=True)


def require_admin(who: Caller) -> None:
    if not who.is_admin:
        raise ForbiddenError(f"this route needs the {ADMIN_SCOPE} scope")


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
CallerDep = Annotated[Caller, Depends(caller)]
