"""POST /v1/retrieve: the ranked chunks for a query, for clients that bring their own model."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep
from functions.api.schemas import RetrievedChunk, RetrieveRequest, RetrieveResponse, error_responses
from functions.rag.pipeline import validate_question

router = APIRouter(tags=["retrieval"])


@router.post("/v1/retrieve", response_model=RetrieveResponse, responses=error_responses(409))
def retrieve(body: RetrieveRequest, services: ServicesDep) -> RetrieveResponse:
    text = validate_question(body.query, services.settings.max_question_chars, name="query")
    retrieval = services.retriever.retrieve(text, k=body.k, filters=body.filters)
    return RetrieveResponse(
        query=text,
        confident=retrieval.confident,
        results=[
            RetrievedChunk(
                chunk_id=hit.chunk.chunk_id,
                source=hit.chunk.source,
                title=hit.chunk.title,
                section=hit.chunk.section,
                text=hit.chunk.text,
                score=hit.score,
                relevance=round(hit.relevance, 6),
                metadata=dict(hit.chunk.metadata),
            )
            for hit in retrieval.hits
        ],
    )
