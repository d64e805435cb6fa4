"""The FastAPI dependency that applies the question limit to a route."""

from __future__ import annotations

from fastapi import Depends

from functions.api.dependencies import ServicesDep, SignedInUserDep


def limit_questions(services: ServicesDep, signed_in: SignedInUserDep) -> None:
    """Count a question against the signed-in user's limit (429 with Retry-After when over it).

    Only signed-in callers are counted: their `sub` is a verified identity (by the JWT authorizer,
    or by the app on the streaming path), while a `user_id` in the body is whatever the caller
    wrote. Guest sessions have their own limits (`functions.guests`); WAF's per-IP rule covers
    everyone.
    """
    if signed_in is not None:
        services.question_limiter.check(f"user:{signed_in}")


#: `dependencies=[QuestionLimit]` on a route.
QuestionLimit = Depends(limit_questions)
