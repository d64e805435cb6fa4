"""GET /health: liveness, mounted by every app; with the embedded index, which version it serves."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from functions.api.dependencies import ServicesDep
from functions.api.schemas import HealthResponse, IndexStatus

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
def health(services: ServicesDep, response: Response) -> HealthResponse:
    index = services.index_health()
    if index is None:
        return HealthResponse(status="ok")
    status: Literal["ok", "degraded", "unavailable"] = "ok"
    if not index.healthy:
        status = "degraded" if index.version is not None else "unavailable"
    if status == "unavailable":
        response.status_code = 503
    return HealthResponse(
        status=status, index=IndexStatus(version=index.version, healthy=index.healthy, problem=index.problem)
    )
