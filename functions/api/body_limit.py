"""Cap the request body before it is parsed: 413 with the API's JSON error body.

A declared Content-Length over the limit is refused before anything is read; a streamed body
(no Content-Length) is cut off as soon as it passes the limit. FastAPI's own `max_body_size`
(Starlette's RequestBodyLimitMiddleware) does the same, but replaces the app's response with a
plain-text "Content Too Large" when the Content-Length was over the limit, so it cannot keep
the API's one error format; this middleware keeps it. Mangum runs the same app in Lambda, so
the API Gateway path has the same cap.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.api.errors import body_too_large


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_size:
            await body_too_large(self.max_body_size)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_size:
                    # FastAPI re-raises its HTTPException from the body read; errors.py words it.
                    raise HTTPException(status_code=413)
            return message

        await self.app(scope, receive_within_limit, send)
