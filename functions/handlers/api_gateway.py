"""Turns one API router into a Lambda handler for API Gateway HTTP API (payload v2) events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import APIRouter
from mangum import Mangum

from functions.api.app import create_app
from functions.observability import logger, metrics, tracer
from functions.services import Services

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def lambda_handler_for(router: APIRouter) -> LambdaHandler:
    """The app with only this router (plus /health), behind Mangum and the Powertools decorators.

    Built at import time, so settings are validated and the app is assembled during cold start.
    """
    app = create_app(routers=[router])
    services: Services = app.state.services
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)  # responses carry user text
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        services.register_lambda_context(context)
        response: dict[str, Any] = asgi(event, cast(Any, context))  # Mangum types its own context
        return response

    return cast(LambdaHandler, handler)  # the Powertools decorators are untyped
