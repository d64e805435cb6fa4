"""The detector interface shared by every guardrail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Stage(StrEnum):
    """Where a text is checked: the user's input, the model's output, or a document's chunk at
    ingestion (retrieved text is data: instructions planted in it are flagged there)."""

    INPUT = "input"
    OUTPUT = "output"
    CONTEXT = "context"


class Action(StrEnum):
    """What the policy does with a finding."""

    BLOCK = "block"  # refuse the text
    REDACT = "redact"  # replace the spans, let the text through
    FLAG = "flag"  # report only
    ALLOW = "allow"  # neither act nor report: the category is switched off


@dataclass(frozen=True)
class Span:
    """A character range `[start, end)` of the checked text and what it holds."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Finding:
    """One detector's verdict on one text; `score` is in [0, 1]."""

    category: str
    score: float
    spans: tuple[Span, ...] = ()
    detail: str | None = None


@dataclass(frozen=True)
class CheckContext:
    """What a detector may need besides the text (sources are used by groundedness checks).

    `redacted_text` is the text with what the detectors before this one redacted (PII) replaced
    by placeholders: the very text the query path hands on to retrieval, so a detector that embeds
    (`embedding_text`) asks for the vector retrieval will ask for, and one model call serves both.
    """

    stage: Stage
    sources: Sequence[str] = field(default_factory=tuple)
    redacted_text: str | None = None

    def embedding_text(self, text: str) -> str:
        return text if self.redacted_text is None else self.redacted_text


class Detector(Protocol):
    """A guardrail: returns a finding when the text triggers it, else None."""

    category: str

    def detect(self, text: str, context: CheckContext) -> Finding | None: ...
