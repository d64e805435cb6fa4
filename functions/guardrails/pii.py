"""PII detection and redaction with validated patterns.

Written by hand rather than with Presidio: Presidio's analyzer needs a spaCy language model that
cannot be installed from PyPI here and would add hundreds of MB to every Lambda. The entities
below are the ones a support conversation carries (e-mail, also written out as "name at example
dot com"; phone; card; bank account in any case and grouping; US SSN; IPv4 and IPv6; street
address; date of birth; a person's name where the customer gives it); card numbers and IBANs are
checked (Luhn, ISO 7064 mod 97) so order numbers and prices are not redacted by mistake, and a
number announced as an order, tracking or transaction number is not taken for a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from functions.guardrails.base import CheckContext, Finding, Span

Validator = Callable[[str], bool]


def _luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 12 <= len(digits) <= 19:  # 12: Maestro
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = re.sub(r"[\s-]+", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def _ip_valid(candidate: str) -> bool:
    return all(0 <= int(part) <= 255 for part in candidate.split("."))


def _ipv6_valid(candidate: str) -> bool:
    """Eight groups, or a `::` compression: "12:30:45" (a time) is not an address."""
    if candidate.count("::") == 1:
        return len(candidate.replace("::", ":").split(":")) < 8
    return "::" not in candidate and len(candidate.split(":")) == 8


_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def _phone_valid(candidate: str) -> bool:
    """7 to 15 digits; a run of bare digits needs 10 or a leading "+" (shorter ones are order
    numbers and amounts), and a date is not a phone number."""
    number = re.split(r"\s?(?:x|ext\.?)\s?\d", candidate, maxsplit=1)[0]
    digits = sum(c.isdigit() for c in number)
    if not 7 <= digits <= 15 or _DATE_LIKE.fullmatch(number):
        return False
    grouped = any(not c.isdigit() for c in number.lstrip("+"))
    return grouped or number.startswith("+") or digits >= 10


@dataclass(frozen=True)
class PiiPattern:
    """One kind of identifier. `group` names the part of the match that is the value (a date of
    birth without the words that announce it). Every quantifier is bounded, so a scan is linear
    in the length of the text whatever it holds."""

    label: str
    regex: re.Pattern[str]
    validator: Validator | None = None
    score: float = 0.9
    group: int = 0


_STREET_SUFFIX = (
    r"(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Way|Place|Terrace|Square|Parkway|Highway|"
    r"Circle|Trail|Close|Crescent|(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy|Cir)\.?)\b"
)
_SEP_AT = r"(?:\s?[(\[{<]\s?at\s?[)\]}>]\s?|\s+at\s+|\s@\s)"
_SEP_DOT = r"(?:\s?[(\[{<]\s?dot\s?[)\]}>]\s?|\s+dot\s+|\.)"
_TLD = r"(?:com|net|org|edu|gov|io|co|uk|de|fr|es|it|nl|be|ch|at|pt|ie|info|biz|me|us|ca|eu)"
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ene|abr|ago|dic|mär|mai|okt|dez|"
    r"janv|févr|mars|avr|juin|juil|août|sept|déc)[a-zé]{0,7}\.?"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th|\.)?\s(?:of\s|de\s)?{_MONTH},?\s(?:de\s)?\d{{4}}|"
    rf"{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}})"
)
_NAME = r"[A-ZÀ-Ý][a-zà-ÿ'’]{1,30}(?:[ -][A-ZÀ-Ý][a-zà-ÿ'’]{1,30}){1,3}"

PATTERNS: tuple[PiiPattern, ...] = (
    PiiPattern(
        "EMAIL",
        re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b"),
        score=0.99,
    ),
    PiiPattern(  # "jane dot doe at example dot com": written out so a filter would miss it
        "EMAIL",
        re.compile(
            rf"(?<![\w.+-])[\w+-]{{1,64}}(?:{_SEP_DOT}[\w+-]{{1,64}}){{0,3}}{_SEP_AT}[\w-]{{1,63}}"
            rf"(?:{_SEP_DOT}[\w-]{{1,63}}){{0,3}}{_SEP_DOT}{_TLD}\b",
            re.IGNORECASE,
        ),
        score=0.9,
    ),
    PiiPattern("CREDIT_CARD", re.compile(r"(?<![\w-])(?:\d[ -]?){11,18}\d(?![\w-])"), _luhn_valid, 0.95),
    PiiPattern(  # any case, grouped in fours or written compact: validated by ISO 7064 mod 97
        "IBAN",
        re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?\b"),
        _iban_valid,
        0.95,
    ),
    PiiPattern(
        "US_SSN",
        re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])"),
        score=0.85,
    ),
    PiiPattern("IP_ADDRESS", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"), _ip_valid, 0.8),
    PiiPattern(
        "IP_ADDRESS",
        re.compile(r"(?<![\w:])[0-9A-Fa-f]{1,4}(?::{1,2}[0-9A-Fa-f]{1,4}){2,7}(?![\w:])"),
        _ipv6_valid,
        0.8,
    ),
    PiiPattern(
        "PHONE",
        re.compile(
            r"(?<![\w+:.-])(?!\d{4}-\d\d-\d\d)(?:\+\d{1,3}[\s.-]?|00\d{2}[\s.-]?)?(?:\(0\)\s?)?"
            r"(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w:])"
        ),
        _phone_valid,
        0.75,
    ),
    PiiPattern(
        "STREET_ADDRESS",
        re.compile(
            rf"\b\d{{1,6}}\s+(?:[A-Z][a-z]{{1,30}}\s+){{1,4}}{_STREET_SUFFIX}(?:,?\s+(?:Apt|Suite|Unit)\.?\s*\w{{1,8}})?",
            re.UNICODE,
        ),
        score=0.7,
    ),
    PiiPattern(  # German, Spanish and French forms: "Hauptstraße 5", "calle Mayor 12", "12 rue de la Paix"
        "STREET_ADDRESS",
        re.compile(
            r"\b[A-ZÄÖÜ][a-zäöüß]{1,30}(?:straße|strasse|str\.|weg|gasse|allee|platz|ring)\s\d{1,4}[a-z]?\b|"
            r"\b(?:[Cc]alle|[Aa]venida|[Aa]vda\.|[Pp]laza|[Pp]aseo)\s(?:[\wñáéíóú]{1,30}\s){0,3}\d{1,4}\b|"
            r"\b\d{1,4},?\s(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s(?:[\w'’-]{1,30}\s){0,3}"
            r"[\w'’-]{2,30}"
        ),
        score=0.7,
    ),
    PiiPattern(
        "DATE_OF_BIRTH",
        re.compile(
            r"\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?|birthday(?: is)?|"
            r"fecha de nacimiento|nacid[oa] el|geburtsdatum|geboren am|date de naissance|n[ée]e? le)\b"
            rf"(?: is| was| es| ist| est)?[:\s]{{0,3}}({_DATE})",
            re.IGNORECASE,
        ),
        score=0.85,
        group=1,
    ),
    PiiPattern(  # a name the customer gives next to who they are, or signs with
        "PERSON",
        re.compile(
            r"(?:\b(?:[Mm]y name is|[Nn]ame:|[Ii] am|[Ii]'m|[Tt]his is|[Mm]e llamo|[Mm]i nombre es|"
            r"[Ii]ch hei(?:ß|ss)e|[Mm]ein [Nn]ame ist|[Jj]e m'appelle|[Mm]on nom est|[Rr]egards|[Tt]hanks|"
            r"[Ss]incerely|[Cc]heers|"
            r"[Ss]aludos|[Gg]r(?:ü|ue)(?:ß|ss)e|[Cc]ordialement|[Mm]erci)[,:]?\s{1,3})(" + _NAME + r")\b"
        ),
        score=0.6,
        group=1,
    ),
)

#: Words that announce an order, tracking or transaction number: a number right after one is not
#: a phone number, even when it has a phone number's length.
_REFERENCE_CONTEXT = re.compile(
    r"(?:\b(?:order|tracking|transaction|invoice|reference|ref|receipt|parcel|shipment|ticket|case|"
    r"pedido|seguimiento|factura|bestell\w{0,6}|sendung\w{0,6}|rechnung\w{0,4}|commande|suivi|facture|"
    r"n[oº°]\.?|nr\.?)|#)\W{0,4}(?:number|no\.?|nr\.?|id|code|n[uú]mero|nummer|num[ée]ro)?\W{0,3}$",
    re.IGNORECASE,
)
_CONTEXT_WINDOW = 30


def find_pii(text: str, allow: Collection[str] = (), allowed_types: Collection[str] = ()) -> list[Span]:
    """All PII spans, longest first where two overlap (a card beats the phone inside it).

    `allow` lists values that are meant to be public (the support desk's e-mail or phone):
    an exact value, or `@domain` for every address of that domain. `allowed_types` lists labels
    a store keeps (for example "PHONE").
    """
    candidates: list[Span] = []
    for pattern in PATTERNS:
        if pattern.label in allowed_types:
            continue
        for match in pattern.regex.finditer(text):
            raw = match.group(pattern.group)
            value = raw.strip()
            if not value or _allowed(value, allow):
                continue
            if pattern.label == "PHONE" and _is_reference(text, match.start()):
                continue
            if pattern.validator is None or pattern.validator(value):
                start = match.start(pattern.group) + (len(raw) - len(raw.lstrip()))
                candidates.append(Span(start, start + len(value), pattern.label))
    return list(_without_overlaps(candidates))


def _is_reference(text: str, start: int) -> bool:
    return _REFERENCE_CONTEXT.search(text[max(0, start - _CONTEXT_WINDOW) : start]) is not None


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

    def __init__(self, allow: Collection[str] = (), allowed_types: Collection[str] = ()) -> None:
        self._allow = tuple(allow)
        self._allowed_types = frozenset(allowed_types)

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        spans = [
            span
            for span in find_pii(text, self._allow, self._allowed_types)
            if not any(text[span.start : span.end] in source for source in context.sources)
        ]
        if not spans:
            return None
        score = max(p.score for p in PATTERNS if p.label in {s.label for s in spans})
        return Finding(self.category, score, tuple(spans))
