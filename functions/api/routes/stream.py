"""POST /v1/query/stream: the answer as server-sent events, while the model writes it.

Events, in order: `sources` (the passages), `delta` (one guardrail-checked sentence each), then
`final` (the same body as POST /v1/query, plus `withdrawn`) or `error` ({code, message}). An error
before the first event (bad input, an empty knowledge base) is an ordinary HTTP error response.
A `final` with `withdrawn: true` means the output guardrails blocked the answer: the client
replaces what it showed with the final `answer`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from functions.api.dependencies import ServicesDep, acting_user
from functions.api.errors import STATUS_BY_ERROR
from functions.api.routes.query import to_response, to_source
from functions.api.schemas import QueryRequest, error_responses
from functions.api.visitors import Visitor, VisitorDep
from functions.errors import ForbiddenError, GenAiStackError
from functions.limits.dependency import QuestionLimit
from functions.observability import logger
from functions.rag.pipeline import Answer
from functions.rag.streaming import SourcesEvent, StreamEvent, TextEvent, WithdrawnEvent, stream_answer
from functions.services import Services

router = APIRouter(tags=["query"])


@router.post(
    "/v1/query/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "sources, delta..., final"},
        **error_responses(401, 403, 404, 409, 429),
    },
    dependencies=[QuestionLimit],
)
def query_stream(body: QueryRequest, services: ServicesDep, visitor: VisitorDep) -> StreamingResponse:
    if body.user_id is not None and visitor.user_id is None:
        # The streaming function has no API Gateway authorizer in front of it (a function URL):
        # an unverified body must not file questions under somebody's id.
        raise ForbiddenError("user_id is taken only from a signed-in user's or a guest's token on this route")
    user_id = acting_user(body.user_id, visitor.user_id)
    events = stream_answer(services.pipeline, body.question, body.conversation_id, user_id)
    first = next(events)  # raises what fails before anything is sent, as a plain HTTP error
    return StreamingResponse(
        server_sent_events(
            charged(itertools.chain([first], events), services, visitor), services.guardrails.refusal
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def charged(
    items: Iterable[StreamEvent | Answer], services: Services, visitor: Visitor
) -> Iterator[StreamEvent | Answer]:
    """The events as they come; the final answer's tokens are charged to the visitor's session."""
    for item in items:
        if isinstance(item, Answer):
            visitor.charge(services, item)
        yield item


def server_sent_events(items: Iterable[StreamEvent | Answer], refusal: str) -> Iterator[str]:
    """The events as SSE; a withdrawn answer ends with the guardrails' refusal in its place."""
    sent_text = withdrawn = False
    try:
        for item in items:
            if isinstance(item, SourcesEvent):
                yield _event("sources", {"sources": [to_source(hit).model_dump() for hit in item.hits]})
            elif isinstance(item, TextEvent):
                sent_text = True
                yield _event("delta", {"text": item.text})
            elif isinstance(item, WithdrawnEvent):
                withdrawn = True
            else:
                checked = item.output_guardrails
                withdrawn = withdrawn or (checked is not None and not checked.allowed)
                if not sent_text and not withdrawn:  # a canned answer (blocked input, no good source)
                    yield _event("delta", {"text": item.answer})
                final = to_response(item).model_dump(mode="json")
                if withdrawn:
                    final["answer"] = refusal
                yield _event("final", {**final, "withdrawn": withdrawn})
    except GenAiStackError as error:
        status, code = next(
            (mapped for kind, mapped in STATUS_BY_ERROR.items() if isinstance(error, kind)),
            (500, "internal_error"),
        )
        logger.warning("stream failed", extra={"code": code, "status": status, "error": error.message})
        yield _event("error", {"code": code, "message": error.message})
    except Exception:
        logger.exception("stream failed")
        yield _event("error", {"code": "internal_error", "message": "internal error; it has been logged"})


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
