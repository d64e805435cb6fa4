"""Text normalisation before detection: undo the tricks that hide an attack from a pattern.

Attackers write "ｉｇｎｏｒｅ", "іgnore" (Cyrillic і), "ig\u200bnore", "i g n o r e", "i-g-n-o-r-e",
"1gn0r3", or send the instruction base64-, hex- or rot13-encoded. `views` returns the texts a
detector should look at: the normalised text, its leetspeak reading, and any decoded payloads.
Every step is a single pass over the text (no regex that can backtrack), so the cost stays linear
in the length of the message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from functools import lru_cache

# Letters from other scripts that look like Latin ones (a subset of Unicode's confusables.txt:
# the Cyrillic and Greek homoglyphs seen in attacks; NFKC already folds the full-width forms).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
        "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ν": "v", "ο": "o",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ѵ": "v",
        "ı": "i", "ℓ": "l", "ɑ": "a", "ʏ": "y",
    }
)  # fmt: skip
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_SEPARATORS = frozenset("-_.*·|/+~")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n[\s]*")
# Tokens that may be an encoded payload; bounded lengths keep the scan linear.
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/]{16,4096}={0,2}")
_HEX_TOKEN = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,2048}\b")
_ROT13_HINT = re.compile(r"\brot-?13\b|\bcaesar\b", re.IGNORECASE)
MAX_DECODED_PAYLOADS = 4


def _strip_marks(text: str) -> str:
    """Drop diacritics and invisible format characters (zero-width spaces and joiners, bidi marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))


def _join_split_letters(text: str) -> str:
    """Join words written one letter at a time: "i g n o r e" and "i-g-n-o-r-e" become "ignore"."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run.clear()

    for token in text.split(" "):
        if len(token) == 1 and token.isalnum():
            run.append(token)
            continue
        parts = _split_on_separators(token)
        if parts is not None:
            flush()
            out.append("".join(parts))
            continue
        flush()
        out.append(token)
    flush()
    return " ".join(out)


def _split_on_separators(token: str) -> list[str] | None:
    """The letters of "i-g-n-o-r-e" (single characters between separators), else None."""
    if len(token) < 5 or token[1] not in _SEPARATORS:
        return None
    letters = token[0::2]
    if any(not c.isalpha() for c in letters) or any(c not in _SEPARATORS for c in token[1::2]):
        return None
    return list(letters)


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Lower-case text with compatibility forms folded, homoglyphs mapped to Latin, diacritics and
    zero-width characters dropped, letter-by-letter words joined and spaces collapsed (line breaks
    are kept: a fake "SYSTEM:" turn starts a line)."""
    folded = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES).lower()
    folded = _strip_marks(folded).translate(_CONFUSABLES)
    collapsed = _NEWLINES.sub("\n", _SPACES.sub(" ", folded)).strip()
    return "\n".join(_join_split_letters(line) for line in collapsed.split("\n"))


def leet_view(normalized: str) -> str:
    """The normalised text read as leetspeak ("1gn0r3" -> "ignore"); numbers become letters too,
    which is harmless for the patterns that read this view."""
    return normalized.translate(_LEET)


def decoded_payloads(text: str) -> list[str]:
    """Readable text hidden in base64 or hex tokens, and the rot13 reading when the text mentions
    rot13: what an attacker asks the model to decode and obey."""
    found: list[str] = []
    for match in _BASE64_TOKEN.finditer(text):
        if len(found) >= MAX_DECODED_PAYLOADS:
            break
        token = match.group(0)
        if not any(c.isdigit() or c.isupper() for c in token):
            continue  # a long plain word, not base64
        decoded = _readable(_b64decode(token))
        if decoded:
            found.append(decoded)
    for match in _HEX_TOKEN.finditer(text):
        if len(found) >= MAX_DECODED_PAYLOADS:
            break
        decoded = _readable(binascii.unhexlify(match.group(0)))
        if decoded:
            found.append(decoded)
    if _ROT13_HINT.search(text):
        found.append(codecs.encode(text, "rot13"))
    return found


def _b64decode(token: str) -> bytes:
    padded = token + "=" * (-len(token) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _readable(raw: bytes) -> str | None:
    """The bytes as text when they are mostly printable words (so random ids do not count)."""
    if len(raw) < 8:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isalpha() or c == " " for c in decoded)
    return decoded if printable / len(decoded) >= 0.8 and " " in decoded else None


def views(text: str) -> tuple[str, ...]:
    """Every reading of `text` a detector should check, normalised, without duplicates."""
    base = normalize(text)
    readings = [base, leet_view(base), *(normalize(payload) for payload in decoded_payloads(text))]
    return tuple(dict.fromkeys(readings))
