"""A small OpenAI-compatible chat server for tests: `POST /v1/chat/completions`, plain and
streamed (server-sent events with the usage in the last chunk, as vLLM and llama.cpp send it),
served by uvicorn on a free loopback port in a background thread.

It replies with the next of its scripted replies (the last one repeats) and keeps every request
body, so a test can check what the adapter sent; `fail_with` makes it answer with that status.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

API_KEY = "test-key"


class FakeOpenAIServer:
    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.fail_with: int | None = None
        self.port = _free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)

    def _next_reply(self) -> str:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions", response_model=None)
        async def completions(request: Request) -> JSONResponse | StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            self.authorizations.append(request.headers.get("authorization"))
            if self.fail_with is not None:
                return JSONResponse({"error": {"message": "unavailable"}}, status_code=self.fail_with)
            reply = self._next_reply()
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(reply.split()),
                "total_tokens": prompt_tokens + len(reply.split()),
            }
            if body.get("stream"):
                return StreamingResponse(_events(body["model"], reply, usage), media_type="text/event-stream")
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )

        return app


def _events(model: str, reply: str, usage: dict[str, int]) -> Iterator[str]:
    """The reply in pieces of a few characters, then the usage chunk, then [DONE]."""

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta or finish else []
        payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}
        return f"data: {json.dumps({**payload, 'choices': choices, **extra})}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for start in range(0, len(reply), 7):
        yield chunk({"content": reply[start : start + 7]})
    yield chunk({}, finish="stop")
    yield chunk({}, usage=usage)
    yield "data: [DONE]\n\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
