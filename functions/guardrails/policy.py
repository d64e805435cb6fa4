"""The guardrail policy: which detectors run at each stage and what their findings do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.guardrails.base import Action, CheckContext, Detector, Finding, Span, Stage
from functions.guardrails.placeholders import Placeholders

DEFAULT_REFUSAL = (
    "I'm sorry, I can't help with that here. I can answer questions about orders, deliveries, "
    "returns and refunds, payments and your account, or connect you with a member of our support team."
)


@dataclass(frozen=True)
class GuardrailResult:
    """The outcome for one text: allowed or not, every finding, and the text with PII redacted."""

    stage: Stage
    allowed: bool
    findings: tuple[Finding, ...]
    redacted_text: str
    blocked_by: tuple[str, ...] = ()

    def has(self, category: str) -> bool:
        return any(finding.category == category for finding in self.findings)

    def score(self, category: str) -> float | None:
        return max((f.score for f in self.findings if f.category == category), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "allowed": self.allowed,
            "blocked_by": list(self.blocked_by),
            "findings": [
                {
                    "category": f.category,
                    "score": f.score,
                    "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in f.spans],
                }
                for f in self.findings
            ],
        }


class Guardrails(Protocol):
    """What the query path, the guardrails route and ingestion need: the embedded policy below or
    the Amazon Bedrock adapter (`functions.guardrails.bedrock`)."""

    refusal: str

    def check(
        self,
        text: str,
        stage: Stage,
        sources: Sequence[str] = (),
        placeholders: Placeholders | None = None,
    ) -> GuardrailResult: ...


@dataclass
class GuardrailPolicy:
    """Runs each stage's detectors in order. A finding below its category's threshold is dropped;
    at or above it, BLOCK refuses the text, REDACT replaces its spans with typed placeholders, FLAG
    only reports it and ALLOW drops it. Each detector sees what those before it redacted
    (`CheckContext.redacted_text`), so list the redacting ones first."""

    detectors: Mapping[Stage, Sequence[Detector]]
    actions: Mapping[str, Action] = field(default_factory=dict)
    block_threshold: float = 0.5
    thresholds: Mapping[str, float] = field(default_factory=dict)
    refusal: str = DEFAULT_REFUSAL

    def threshold(self, category: str) -> float:
        return self.thresholds.get(category, self.block_threshold)

    def action(self, category: str) -> Action:
        return self.actions.get(category, Action.FLAG)

    def check(
        self,
        text: str,
        stage: Stage,
        sources: Sequence[str] = (),
        placeholders: Placeholders | None = None,
    ) -> GuardrailResult:
        placeholders = placeholders or Placeholders()
        findings: list[Finding] = []
        redactable: list[Span] = []
        redacted = text
        for detector in self.detectors.get(stage, ()):
            context = CheckContext(stage=stage, sources=tuple(sources), redacted_text=redacted)
            finding = detector.detect(text, context)
            action = self.action(finding.category) if finding is not None else Action.ALLOW
            if finding is None or finding.score < self.threshold(finding.category) or action is Action.ALLOW:
                continue
            findings.append(finding)
            if action is Action.REDACT:  # later detectors (those that embed) read the redacted text
                redactable.extend(finding.spans)
                redacted = placeholders.redact(text, redactable)
        blocked_by = tuple(
            dict.fromkeys(f.category for f in findings if self.action(f.category) is Action.BLOCK)
        )
        return GuardrailResult(
            stage=stage,
            allowed=not blocked_by,
            findings=tuple(findings),
            redacted_text=redacted,
            blocked_by=blocked_by,
        )
