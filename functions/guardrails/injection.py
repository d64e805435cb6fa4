"""Prompt injection and jailbreak detection: normalise, match the known families, then classify.

Two layers, because each misses what the other catches: the patterns (`injection_patterns`)
are precise on the families seen in the wild and read every normalised view (leetspeak, decoded
base64/hex/rot13 payloads, letters run together); the hashed n-gram classifier generalises to
phrasings no pattern lists. The finding's score is the higher of the two; the classifier's is
rescaled so that its cross-validated operating point (0.2% of benign questions above it) is 0.5.
"""

from __future__ import annotations

import re
from pathlib import Path

from functions.guardrails.base import CheckContext, Finding, Span
from functions.guardrails.classifier import MODELS_DIR, HashedLogisticModel, load_model
from functions.guardrails.injection_patterns import COMPACT_PHRASES, PATTERNS
from functions.guardrails.normalize import decoded_payloads, normalize, views

INJECTION_MODEL = MODELS_DIR / "injection.bin"
_NOT_LETTERS = re.compile(r"[^a-z]+")


def pattern_score(text: str) -> tuple[float, str | None]:
    """The best-scoring pattern family over every normalised view of the text."""
    best, family = 0.0, None
    readings = views(text)
    for reading in readings:
        for pattern in PATTERNS:
            if pattern.score > best and pattern.regex.search(reading):
                best, family = pattern.score, pattern.family
    if best < 0.9 and any(COMPACT_PHRASES.search(_NOT_LETTERS.sub("", r)) for r in readings[:2]):
        best, family = 0.9, "obfuscated"
    return best, family


class InjectionDetector:
    """Finds instructions aimed at the assistant in a user message or a document."""

    category = "prompt_injection"

    def __init__(self, model: HashedLogisticModel | None = None) -> None:
        self.model = model

    @classmethod
    def with_shipped_model(cls, path: Path = INJECTION_MODEL) -> InjectionDetector:
        return cls(load_model(path))

    def classifier_score(self, text: str) -> float:
        if self.model is None:
            return 0.0
        readings = [normalize(text), *(normalize(p) for p in decoded_payloads(text))]
        return self.model.score(readings)

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        matched, family = pattern_score(text)
        learned = self.classifier_score(text)
        score = max(matched, learned)
        if score < 0.2:
            return None
        detail = (family or "pattern") if matched >= learned else "classifier"
        return Finding(self.category, round(score, 3), (Span(0, len(text), detail.upper()),), detail)
