"""Amazon Bedrock Guardrails as the guardrail engine: `ApplyGuardrail` on input and output.

The stack builds the guardrail from the same policy file (`infra/guardrails.py`), so the
categories here are the embedded engine's: a prompt attack is `prompt_injection`, a denied
topic `denied_topic`, insults/hate/violence/misconduct `toxicity`, PII `pii`, contextual
grounding `ungrounded`. Bedrock returns the masked text for anonymised PII (`{EMAIL}`), which
becomes the redacted text; it reports no character offsets, so findings carry no spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions import aws
from functions.guardrails.base import Finding, Stage
from functions.guardrails.placeholders import Placeholders
from functions.guardrails.policy import GuardrailResult

CONTENT_CATEGORIES = {
    "PROMPT_ATTACK": "prompt_injection",
    "INSULTS": "toxicity",
    "HATE": "toxicity",
    "VIOLENCE": "toxicity",
    "MISCONDUCT": "toxicity",
    "SEXUAL": "toxicity",
}
CONFIDENCE_SCORES = {"NONE": 0.0, "LOW": 0.4, "MEDIUM": 0.7, "HIGH": 0.95}
_SOURCE = {Stage.INPUT: "INPUT", Stage.OUTPUT: "OUTPUT", Stage.CONTEXT: "INPUT"}


class BedrockGuardrails:
    """`Guardrails` through a Bedrock guardrail; the refusal is the policy file's."""

    def __init__(self, guardrail_id: str, version: str, *, refusal: str, client: Any = None) -> None:
        self.guardrail_id = guardrail_id
        self.version = version
        self.refusal = refusal
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("bedrock-runtime")

    def check(
        self,
        text: str,
        stage: Stage,
        sources: Sequence[str] = (),
        placeholders: Placeholders | None = None,
    ) -> GuardrailResult:
        content: list[dict[str, Any]] = [
            {"text": {"text": source, "qualifiers": ["grounding_source"]}} for source in sources
        ]
        qualifiers = ["guard_content"] if stage is Stage.OUTPUT or not sources else ["query"]
        content.append({"text": {"text": text, "qualifiers": qualifiers}})
        try:
            response = self.client.apply_guardrail(
                guardrailIdentifier=self.guardrail_id,
                guardrailVersion=self.version,
                source=_SOURCE[stage],
                content=content,
            )
        except Exception as error:
            raise aws.translate(error, "Amazon Bedrock Guardrails") from error
        findings, blocked = _read_assessments(response.get("assessments", []))
        intervened = response.get("action") == "GUARDRAIL_INTERVENED"
        outputs = response.get("outputs") or []
        masked = outputs[0].get("text", text) if intervened and outputs and not blocked else text
        return GuardrailResult(
            stage=stage,
            allowed=not blocked,
            findings=tuple(findings),
            redacted_text=masked,
            blocked_by=tuple(dict.fromkeys(blocked)),
        )


def _read_assessments(assessments: Sequence[dict[str, Any]]) -> tuple[list[Finding], list[str]]:
    """Findings and the categories that blocked, from ApplyGuardrail's assessments."""
    findings: list[Finding] = []
    blocked: list[str] = []

    def add(category: str, score: float, action: str, detail: str) -> None:
        findings.append(Finding(category, score, (), detail))
        if action == "BLOCKED":
            blocked.append(category)

    for assessment in assessments:
        for topic in assessment.get("topicPolicy", {}).get("topics", []):
            add("denied_topic", 1.0, topic.get("action", ""), topic["name"])
        for content_filter in assessment.get("contentPolicy", {}).get("filters", []):
            category = CONTENT_CATEGORIES.get(content_filter["type"], "toxicity")
            score = CONFIDENCE_SCORES.get(content_filter.get("confidence", "NONE"), 0.0)
            add(category, score, content_filter.get("action", ""), content_filter["type"])
        sensitive = assessment.get("sensitiveInformationPolicy", {})
        for entity in [*sensitive.get("piiEntities", []), *sensitive.get("regexes", [])]:
            add("pii", 0.9, entity.get("action", ""), entity.get("type") or entity.get("name", "REGEX"))
        for grounding in assessment.get("contextualGroundingPolicy", {}).get("filters", []):
            add(
                "ungrounded",
                round(1.0 - float(grounding["score"]), 3),
                grounding["action"],
                grounding["type"],
            )
    return findings, blocked
