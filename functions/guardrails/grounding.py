"""Groundedness: is each sentence of an answer supported by the sources it was built from?

A lexical check, cheap enough for every answer: the share of an answer sentence's content terms
(stemmed, stop words dropped) that occur in the sources. An answer is grounded when every
sentence is mostly supported. Citation markers like `[2]` are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from functions.guardrails.base import CheckContext, Finding, Span
from functions.text import content_terms

_CITATION = re.compile(r"\[\d+\]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def sentence_support(sentence: str, source_terms: set[str]) -> float | None:
    """Share of the sentence's content terms found in the sources; None for an empty sentence."""
    terms = content_terms(_CITATION.sub(" ", sentence))
    if not terms:
        return None
    return sum(term in source_terms for term in terms) / len(terms)


def _supported_sentences(answer: str, sources: Sequence[str]) -> Iterator[tuple[re.Match[str], float]]:
    """Each answer sentence with content words, and its support in the sources."""
    source_terms = {term for source in sources for term in content_terms(source)}
    for match in _SENTENCE.finditer(answer):
        support = sentence_support(match.group(0), source_terms)
        if support is not None:
            yield match, support


def groundedness(answer: str, sources: Sequence[str]) -> float:
    """The weakest answer sentence's support in the sources, in [0, 1] (1.0 for an answer with
    no content words; 0.0 when there are no sources to support anything)."""
    if not sources:
        return 0.0
    return min((support for _, support in _supported_sentences(answer, sources)), default=1.0)


class GroundingDetector:
    """Flags answer sentences whose support falls below `min_support`."""

    category = "ungrounded"

    def __init__(self, min_support: float = 0.6) -> None:
        self.min_support = min_support

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        if not context.sources:
            return None
        weak: list[Span] = []
        worst = 1.0
        for match, support in _supported_sentences(text, context.sources):
            worst = min(worst, support)
            if support < self.min_support:
                weak.append(Span(match.start(), match.end(), "UNSUPPORTED"))
        if not weak:
            return None
        return Finding(self.category, round(1.0 - worst, 3), tuple(weak), "sentences not found in sources")
