"""Domain errors -> HTTP responses, in one place. Every error body is
`{"error": {"code": ..., "message": ...}}`; nothing internal (no stack trace) reaches the caller."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from functions.contract import MetricName
from functions.errors import (
    ConflictError,
    DependencyUnavailableError,
    ForbiddenError,
    GenAiStackError,
    IngestError,
    InvalidRequestError,
    KnowledgeBaseEmptyError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
)
from functions.observability import logger, metrics

STATUS_BY_ERROR: dict[type[GenAiStackError], tuple[int, str]] = {
    InvalidRequestError: (422, "invalid_request"),
    NotFoundError: (404, "not_found"),
    UnauthorizedError: (401, "unauthorized"),
    ForbiddenError: (403, "forbidden"),
    ConflictError: (409, "conflict"),
    KnowledgeBaseEmptyError: (409, "knowledge_base_empty"),
    IngestError: (422, "ingest_failed"),
    DependencyUnavailableError: (503, "dependency_unavailable"),
    RateLimitedError: (429, "rate_limited"),
}


def route_of(request: Request) -> str:
    """The matched route's template (`/v1/users/{user_id}/data`), never the raw path: a path can
    carry a user id, and the log must not."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched route"))


#: Starlette's own HTTP errors, worded for the caller.
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    404: ("not_found", "no such route: see /docs for the API"),
    405: ("method_not_allowed", "this route does not accept that method: see the Allow header"),
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def body_too_large(limit: int) -> JSONResponse:
    return error_response(
        413, "body_too_large", f"the request body is larger than the limit of {limit} bytes"
    )


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _describe_validation(request: Request, error: RequestValidationError) -> tuple[int, str, str]:
    problems = error.errors()
    content_type = request.headers.get("content-type")
    if request.method in {"POST", "PUT", "PATCH"} and not _is_json(content_type or ""):
        # FastAPI does not parse a body sent as anything but JSON; say so instead of "field required".
        sent = f"content-type {content_type!r}" if content_type else "no content-type"
        return 415, "unsupported_media_type", f"the request body must be JSON (application/json); got {sent}"
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return 400, "invalid_json", "the request body is not valid JSON"
    parts = []
    for problem in problems:
        location = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        # pydantic leads the message of a validator's ValueError with "Value error, ": noise here.
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location or 'body'}: {message}")
    return 422, "invalid_request", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        status, code, message = _describe_validation(request, error)
        return error_response(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 413:
            return body_too_large(request.app.state.services.settings.max_request_bytes)
        code, message = _HTTP_ERRORS.get(error.status_code, ("http_error", str(error.detail)))
        response = error_response(error.status_code, code, message)
        response.headers.update(error.headers or {})  # 405 names the allowed methods in Allow
        return response

    @app.exception_handler(GenAiStackError)
    async def _domain(request: Request, error: GenAiStackError) -> JSONResponse:
        status, code = next(
            (mapped for kind, mapped in STATUS_BY_ERROR.items() if isinstance(error, kind)),
            (500, "internal_error"),
        )
        log = logger.warning if status < 500 else logger.error
        log(
            "request failed",
            extra={"code": code, "status": status, "path": route_of(request), "error": error.message},
        )
        counted = {503: MetricName.DEPENDENCY_FAILURES, 409: MetricName.CONFLICTS}.get(status)
        if counted is not None and code != "knowledge_base_empty":
            metrics.add_metric(name=counted, unit=MetricUnit.Count, value=1)
        response = error_response(status, code, error.message)
        if isinstance(error, RateLimitedError):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": route_of(request)})
        return error_response(500, "internal_error", "internal error; it has been logged")
