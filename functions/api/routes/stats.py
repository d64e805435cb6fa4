"""GET /v1/stats: index size and the feedback loop's counts (admin scope behind the authorizer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from functions.api.dependencies import CallerDep, ServicesDep, require_admin
from functions.api.schemas import ErrorResponse
from functions.feedback.statistics import statistics

router = APIRouter(tags=["stats"])


@router.get("/v1/stats", responses={403: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def stats(services: ServicesDep, who: CallerDep) -> dict[str, Any]:
    """What `genai-stack stats --json` prints."""
    require_admin(who)
    return statistics(services)
