"""The FastAPI app factory shared by every Lambda function and the local server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response

from functions.api.body_limit import BodySizeLimit
from functions.api.errors import install_error_handlers
from functions.api.routes import health
from functions.observability import metrics
from functions.services import Services
from functions.settings import get_settings


def create_app(
    routers: Sequence[APIRouter],
    services: Services | None = None,
    *,
    flush_metrics_per_request: bool = False,
) -> FastAPI:
    """An app with `/health` and the given routers.

    In Lambda the handler decorator flushes metrics once per invocation; the long-running local
    server sets `flush_metrics_per_request` so its EMF lines appear after each request instead.
    """
    services = services or Services(get_settings())
    app = FastAPI(
        title="genai-stack",
        summary="A grounded customer-support assistant: query, retrieval, guardrails and feedback.",
        version="0.1.0",
    )
    app.add_middleware(BodySizeLimit, max_body_size=services.settings.max_request_bytes)
    app.state.services = services
    install_error_handlers(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    if flush_metrics_per_request:

        @app.middleware("http")
        async def _flush_metrics(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            try:
                return await call_next(request)
            finally:
                metrics.flush_metrics(raise_on_empty_metrics=False)

    return app


def all_routers() -> list[APIRouter]:
    from functions.api.routes import (
        feedback,
        guardrails,
        guests,
        privacy,
        query,
        retrieval,
        review,
        stats,
        stream,
    )

    return [
        query.router,
        stream.router,
        guests.router,
        retrieval.router,
        guardrails.router,
        feedback.router,
        privacy.router,
        stats.router,
        review.router,
        review.page_router,
    ]
