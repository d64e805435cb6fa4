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
from functions.guardrails.placeholders import Placeholders

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
    r"Circle|Trail|Close|Crescent|Row|Walk|Hill|Gardens|Grove|Mews|Park|"
    r"(?:St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Sq|Pkwy|Hwy|Cir|Cres|Ter)\.?)(?![\w-])"
)
# A street name in languages that write its type as a suffix, followed by the house number:
# "Hauptstraße 5", "Nybyvägen 65", "Harjukuja 54", "Kerkstraat 12".
_STREET_WORD_SUFFIX = (
    r"(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|straat|laan|plein|gracht|"
    r"vej|vejen|gade|gatan|gata|vägen|väg|vegen|veien|gate|gaten|katu|kuja|tie|polku)"
)
# A street type written first, then its name and number: "calle Mayor 12", "Via dei Fiorentini 17".
_STREET_PREFIX = (
    r"(?:[Cc]alle|C/|[Aa]venida|[Aa]vda\.|[Pp]laza|[Pp]aseo|[Cc]arrer|[Cc]amino|[Vv]ia|[Vv]iale|"
    r"[Pp]iazza|[Pp]iazzetta|[Vv]icolo|[Cc]orso|[Rr]ua|[Pp]raça|[Tt]ravessa|[Ll]argo|ul\.|[Uu]lica)"
)
_CAPITALISED = r"[A-ZÀ-ÖØ-ÞĀ-Ž][A-Za-zß-öø-ÿā-ž'’-]{1,30}"
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
_NAME_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][a-zß-öø-ÿā-ž'’]{1,30}"
_NAME = rf"{_NAME_WORD}(?:\s[A-Z]\.)?(?:[ -]{_NAME_WORD}){{1,3}}"  # two to four words
_NAME_ANY = rf"{_NAME_WORD}(?:\s[A-Z]\.)?(?:[ -]{_NAME_WORD}){{0,3}}"  # one to four words
# Capitalised words that follow a greeting or a contact verb without being anyone's name.
_NOT_A_NAME = (
    r"(?!(?:Team|Support|There|All|Everyone|Everybody|Sir|Madam|Customer|Service|Folks|Guys|Northwind|"
    r"Again|Ok|Okay|Yes|No|Please|Thanks|Thank|Good|Morning|Evening|Hello|Hi|Dear|Equipo|Todos|"
    r"Zusammen|Kundenservice|Tout|Madame|Monsieur|Client|He|She|They|It|We|You|Who|This|That|Someone|"
    r"Nobody|Everyone|Er|Sie|Es|Il|Elle|On)\b)"
)
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
    PiiPattern(  # number, name, street type: "221 Baker Street", "18 McPherson Road, Apt 4"
        "STREET_ADDRESS",
        re.compile(
            rf"\b\d{{1,6}}[A-Za-z]?,?\s+(?:{_CAPITALISED}\s+){{1,4}}{_STREET_SUFFIX}"
            r"(?:,?\s+(?:Apt|Suite|Unit|Flat|Ste)\.?\s*#?\w{1,8})?"
        ),
        score=0.7,
    ),
    PiiPattern(  # the name carries its type, then the number: "Hauptstraße 5", "Nybyvägen 65"
        "STREET_ADDRESS",
        re.compile(
            rf"\b[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]{{2,30}}(?:{_STREET_WORD_SUFFIX}|\s(?:gate|vej|gata|tér|utca|u\.))"
            r"\s\d{1,4}[a-zA-Z]?\b"
        ),
        score=0.7,
    ),
    PiiPattern(  # the type first: "calle Mayor 12", "Via dei Fiorentini 17", "C/ Señores Curas 88"
        "STREET_ADDRESS",
        re.compile(rf"(?<!\w){_STREET_PREFIX}\s(?:[\w'’.-]{{1,30}}\s){{1,4}}\d{{1,4}}[a-zA-Z]?\b"),
        score=0.7,
    ),
    PiiPattern(  # French: "12 rue de la Paix", "3 bis avenue Foch"
        "STREET_ADDRESS",
        re.compile(
            r"\b\d{1,4}(?: bis| ter)?,?\s(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route)\s"
            r"(?:[\w'’-]{1,30}\s){0,3}[\w'’-]{2,30}"
        ),
        score=0.7,
    ),
    PiiPattern(  # a flat or suite on its own line or after the street: "Suite 913", "Apt. 263"
        "STREET_ADDRESS",
        re.compile(r"\b(?:Suite|Apt\.?|Apartment|Flat|Ste\.)\s?#?\d{1,5}[A-Za-z]?\b"),
        score=0.6,
    ),
    PiiPattern(  # post boxes and military post: "PO Box 1234", "Postfach 12 34", "FPO AE 25990"
        "STREET_ADDRESS",
        re.compile(
            r"\b(?:P\.?\s?O\.?\s?Box|Post Office Box|Postfach|Apartado(?: de correos)?|Bo[iî]te [Pp]ostale|"
            r"B\.?P\.?|[Uu]nit \d{1,5} [Bb]ox)\s\d{1,6}(?:\s\d{1,4})?\b"
            r"|\b[FAD]PO A[AEP] \d{5}\b",
            re.IGNORECASE,
        ),
        score=0.7,
    ),
    PiiPattern(  # a US town, state and ZIP code, or a UK postcode: "Springfield, IL 62704", "SW1A 1AA"
        "STREET_ADDRESS",
        re.compile(
            rf"\b{_CAPITALISED},\s(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|"
            r"O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s\d{5}(?:-\d{4})?\b"
            r"|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[ABD-HJLNP-UW-Z]{2}\b"
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
    PiiPattern(  # a name the customer says is theirs: one word is enough ("my name is Rubija")
        "PERSON",
        re.compile(
            r"(?:\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame(?: on the (?:account|card|order))?(?: is|:)|"
            r"(?:everyone |people |you can )?calls? me|[Mm]e llamo|[Mm]i nombre es|[Nn]ombre:|"
            r"[Ii]ch hei(?:ß|ss)e|[Mm]ein [Nn]ame ist|[Jj]e m'appelle|[Mm]on nom est|[Nn]om ?:|"
            r"[Cc]ardholder:?|[Aa]ccount holder:?|[Cc]ustomer:|[Kk]unde:|[Cc]liente?:)\s{1,3})"
            rf"{_NOT_A_NAME}({_NAME_ANY})\b"
        ),
        score=0.6,
        group=1,
    ),
    PiiPattern(  # two or more capitalised words after who-I-am or a sign-off ("Regards, Jane Doe")
        "PERSON",
        re.compile(
            r"(?:\b(?:[Ii] am|[Ii]'m|[Tt]his is|[Rr]egards|[Tt]hanks|[Ss]incerely|[Cc]heers|[Bb]est|"
            r"[Ss]aludos|[Gg]r(?:ü|ue)(?:ß|ss)e|[Cc]ordialement|[Mm]erci|[Aa]tentamente|[Bb]isous)[,:]?\s{1,3})"
            rf"{_NOT_A_NAME}({_NAME})\b"
        ),
        score=0.6,
        group=1,
    ),
    PiiPattern(  # a title before a name: "Mr. Jouni Hahli", "Frau Schmidt", "Mme Lefèvre"
        "PERSON",
        re.compile(
            r"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Herr|Frau|Sr|Sra|Srta|Mme|Mlle|Monsieur|Madame|Señor|Señora)"
            rf"\.?\s{{1,2}}({_NAME_ANY})\b"
        ),
        score=0.6,
        group=1,
    ),
    PiiPattern(  # a greeting ("Dear Jane,"), then a person spoken to or shipped to ("ask for Ivan King")
        "PERSON",
        re.compile(
            r"(?:\b(?:[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey|[Hh]ola|[Hh]allo|[Ll]iebe[rs]?|[Bb]onjour|[Cc]her|[Cc]hère|"
            r"[Ee]stimad[oa])\s{1,2})"
            rf"{_NOT_A_NAME}({_NAME_ANY})(?=\s?[,!\n])"
        ),
        score=0.6,
        group=1,
    ),
    PiiPattern(
        "PERSON",
        re.compile(
            r"(?:\b(?:spoke|speak|spoken|talked|talk) (?:to|with)|\bask for|\bfollow up with|\baddressed to|"
            r"\bon behalf of|\bparcel for|\bdeliver(?:ed)? to|\bsigned for by|\bhablé con|\bsprach mit|"
            r"\bparlé (?:à|avec))\s{1,2}"
            rf"{_NOT_A_NAME}({_NAME})\b"
        ),
        score=0.6,
        group=1,
    ),
    PiiPattern(  # the name line that heads a postal address: "Ella H. Snider\n228 Ringvej 1"
        "PERSON",
        re.compile(rf"(?m)^[>?* \t]{{0,4}}{_NOT_A_NAME}({_NAME})[ \t]{{0,3}}\n(?=[>?* \t]{{0,4}}\d{{1,6}} )"),
        score=0.6,
        group=1,
    ),
    PiiPattern(  # someone said to live somewhere: "Timotea lives on Via dei Fiorentini 17"
        "PERSON",
        re.compile(rf"\b{_NOT_A_NAME}({_NAME_ANY})(?= (?:lives|lived|resides|is living|wohnt|vive|habite) )"),
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


def redact_pii(text: str, allow: Collection[str] = (), placeholders: Placeholders | None = None) -> str:
    """The text with every detected PII span (except allowed values) replaced by a typed
    placeholder (`[EMAIL_1]`), as the guardrail policy redacts; pass one `placeholders` for
    texts that belong together (a record's fields) so a value keeps its number across them."""
    return (placeholders or Placeholders()).redact(text, find_pii(text, allow))


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
