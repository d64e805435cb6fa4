"""POST /v1/query: a grounded answer with its sources."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep, acting_user
from functions.api.schemas import QueryRequest, QueryResponse, Source, error_responses
from functions.api.visitors import VisitorDep
from functions.limits.dependency import QuestionLimit
from functions.rag.documents import ScoredChunk
from functions.rag.pipeline import Answer

router = APIRouter(tags=["query"])


@router.post(
    "/v1/query",
    response_model=QueryResponse,
    responses=error_responses(401, 403, 404, 409, 429),
    dependencies=[QuestionLimit],
)
def query(body: QueryRequest, services: ServicesDep, visitor: VisitorDep) -> QueryResponse:
    user_id = acting_user(body.user_id, visitor.user_id)
    answer = services.pipeline.answer(body.question, body.conversation_id, user_id)
    visitor.charge(services, answer)
    return to_response(answer)


def to_response(answer: Answer) -> QueryResponse:
    guardrails = {"input": answer.input_guardrails.to_dict()}
    if answer.output_guardrails is not None:
        guardrails["output"] = answer.output_guardrails.to_dict()
    return QueryResponse.model_validate(
        {
            "answer": answer.answer,
            "sources": [to_source(hit) for hit in answer.sources],
            "message_id": answer.message_id,
            "conversation_id": answer.conversation_id,
            "grounded": answer.grounded,
            "fallback": answer.fallback,
            "guardrails": guardrails,
            "rephrase_of": answer.rephrase_of,
            "intent": answer.intent,
            "route": answer.route,
            "usage": answer.usage,
            "timings_ms": {key: round(value, 3) for key, value in answer.timings_ms.items()},
            "prompt_variant": answer.prompt_variant,
            "citations": answer.citations,
            "confidence": answer.confidence,
        }
    )


def to_source(hit: ScoredChunk) -> Source:
    return Source(
        source=hit.chunk.source,
        title=hit.chunk.title,
        text=hit.chunk.text,
        score=hit.score,
        relevance=round(hit.relevance, 6),
    )
