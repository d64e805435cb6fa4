"""The FastAPI dependency that applies the question limit to a route."""

from __future__ import annotations

from fastapi import Depends

from functions.api.dependencies import ServicesDep, SignedInUserDep


def limit_questions(services: ServicesDep, signed_in: SignedInUserDep) -> None:
    """Count a question against the signed-in user's limit (429 with Retry-After when over it).

    Only callers behind the JWT authorizer are counted: their `sub` is a verified identity, while
    a `user_id` in the body is whatever the caller wrote. WAF's per-IP rule covers everyone.
    """
    if signed_in is not None:
        services.question_limiter.check(f"user:{signed_in}")


#: `dependencies=[QuestionLimit]` on a route.
QuestionLimit = Depends(limit_questions)
