"""Text clean-up before chunking: Unicode normalisation, control characters, whitespace, and PII."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from functions.guardrails.pii import redact_pii

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str, pii_allow: Collection[str] = ()) -> str:
    """NFKC-normalised text with single spaces, at most one blank line in a row, PII redacted."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return redact_pii(text, pii_allow)
