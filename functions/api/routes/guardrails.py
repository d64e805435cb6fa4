"""POST /v1/guardrails/check: run the input or output guardrails on any text."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.dependencies import ServicesDep
from functions.api.schemas import (
    GuardrailCheckRequest,
    GuardrailCheckResponse,
    GuardrailFinding,
    error_responses,
)
from functions.guardrails.base import Stage

router = APIRouter(tags=["guardrails"])


@router.post("/v1/guardrails/check", response_model=GuardrailCheckResponse, responses=error_responses())
def check(body: GuardrailCheckRequest, services: ServicesDep) -> GuardrailCheckResponse:
    result = services.guardrails.check(body.text, Stage(body.stage), sources=body.sources)
    report = result.to_dict()
    return GuardrailCheckResponse(
        allowed=result.allowed,
        findings=[GuardrailFinding.model_validate(finding) for finding in report["findings"]],
        redacted_text=result.redacted_text,
    )
