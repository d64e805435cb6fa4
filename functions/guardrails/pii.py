"""PII detection and redaction with validated patterns.

Written by hand rather than with Presidio: Presidio's analyzer needs a spaCy language model that
cannot be installed from PyPI here and would add hundreds of MB to every Lambda. The entities
below are the ones a support conversation carries (e-mail, phone, card, bank account, national
id, IP, street address); card numbers and IBANs are checked (Luhn, ISO 7064 mod 97) so order
numbers and prices are not redacted by mistake. Names of people are not detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from functions.guardrails.base import CheckContext, Finding, Span

Validator = Callable[[str], bool]


def _luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = re.sub(r"\s+", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def _ip_valid(candidate: str) -> bool:
    return all(0 <= int(part) <= 255 for part in candidate.split("."))


def _phone_valid(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 9 <= digits <= 15


@dataclass(frozen=True)
class PiiPattern:
    label: str
    regex: re.Pattern[str]
    validator: Validator | None = None
    score: float = 0.9


_STREET_SUFFIX = (
    r"(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Way|Place|Terrace|Square|Parkway|Highway|"
    r"Circle|Trail|Close|Crescent|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy|Cir)\.?)\b"
)

PATTERNS: tuple[PiiPattern, ...] = (
    PiiPattern("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), score=0.99),
    PiiPattern("CREDIT_CARD", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), _luhn_valid, 0.95),
    PiiPattern(
        "IBAN",
        # Either case (customers type "de89 3704 ..."); the mod-97 check keeps words out.
        re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.IGNORECASE),
        _iban_valid,
        0.95,
    ),
    PiiPattern("US_SSN", re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"), score=0.85),
    PiiPattern("IP_ADDRESS", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), _ip_valid, 0.8),
    PiiPattern(
        "PHONE",
        re.compile(
            r"(?<![\w])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?![\w])"
        ),
        _phone_valid,
        0.75,
    ),
    PiiPattern(
        "STREET_ADDRESS",
        re.compile(
            rf"\b\d{{1,6}}\s+(?:[A-Z][a-z]+\s+){{1,4}}{_STREET_SUFFIX}(?:,?\s+(?:Apt|Suite|Unit)\.?\s*\w+)?",
            re.UNICODE,
        ),
        score=0.7,
    ),
)


def find_pii(text: str, allow: Collection[str] = ()) -> list[Span]:
    """All PII spans, longest first where two overlap (a card beats the phone inside it).

    `allow` lists values that are meant to be public (the support desk's e-mail or phone):
    an exact value, or `@domain` for every address of that domain.
    """
    candidates: list[Span] = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(text):
            value = match.group(0).strip()
            if _allowed(value, allow):
                continue
            if pattern.validator is None or pattern.validator(value):
                start = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
                candidates.append(Span(start, start + len(value), pattern.label))
    return list(_without_overlaps(candidates))


def _allowed(value: str, allow: Collection[str]) -> bool:
    return any(value == entry or (entry.startswith("@") and value.endswith(entry)) for entry in allow)


def _without_overlaps(spans: list[Span]) -> Iterator[Span]:
    taken: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    yield from sorted(taken, key=lambda s: s.start)


def redact(text: str, spans: list[Span] | tuple[Span, ...]) -> str:
    """Replace each span with its label in brackets, for example `[EMAIL]`."""
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[cursor : span.start])
        out.append(f"[{span.label}]")
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def redact_pii(text: str, allow: Collection[str] = ()) -> str:
    """The text with every detected PII span (except allowed values) replaced by its label."""
    return redact(text, find_pii(text, allow))


class PiiDetector:
    """Guardrail wrapper around `find_pii`; the policy redacts what it finds.

    On output, values that appear verbatim in the cited sources are not PII leaks: they came
    from the knowledge base (which was redacted at ingestion, except for allowed values).
    """

    category = "pii"

    def __init__(self, allow: Collection[str] = ()) -> None:
        self._allow = tuple(allow)

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        spans = [
            span
            for span in find_pii(text, self._allow)
            if not any(text[span.start : span.end] in source for source in context.sources)
        ]
        if not spans:
            return None
        score = max(p.score for p in PATTERNS if p.label in {s.label for s in spans})
        return Finding(self.category, score, tuple(spans))
