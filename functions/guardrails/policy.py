"""The guardrail policy: which detectors run at each stage and what their findings do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from functions.guardrails.base import Action, CheckContext, Detector, Finding, Stage
from functions.guardrails.pii import redact


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


@dataclass
class GuardrailPolicy:
    """Runs each stage's detectors; a BLOCK finding at or above its threshold refuses the text,
    REDACT findings have their spans replaced, FLAG findings are only reported."""

    detectors: Mapping[Stage, Sequence[Detector]]
    actions: Mapping[str, Action] = field(default_factory=dict)
    block_threshold: float = 0.5

    def check(self, text: str, stage: Stage, sources: Sequence[str] = ()) -> GuardrailResult:
        context = CheckContext(stage=stage, sources=tuple(sources))
        findings = tuple(
            finding
            for detector in self.detectors.get(stage, ())
            if (finding := detector.detect(text, context)) is not None
        )
        blocked_by = tuple(
            f.category
            for f in findings
            if self.actions.get(f.category, Action.FLAG) is Action.BLOCK and f.score >= self.block_threshold
        )
        redactable = [
            span
            for f in findings
            if self.actions.get(f.category, Action.FLAG) is Action.REDACT
            for span in f.spans
        ]
        return GuardrailResult(
            stage=stage,
            allowed=not blocked_by,
            findings=findings,
            redacted_text=redact(text, redactable) if redactable else text,
            blocked_by=blocked_by,
        )
