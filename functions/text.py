"""Word-level text helpers shared by the answerer, the guardrails, the rephrase check, the stores,
ingestion and the training data builder."""

from __future__ import annotations

import re
import threading
from typing import Any

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_EMPHASIS = re.compile(r"\*\*|__|`")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")

# Function words and the words every support question carries; they say nothing about which
# passage answers it.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's
    its itself just let's me more most my myself no nor not now of off on once only or other
    ought our ours ourselves out over own same she should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they this those through to
    too under until up very was wasn't we were weren't what what's when where which while who
    whom why will with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves hi hello please thanks thank get got want need know tell like also much many one
    go goes going s t
    """.split()  # noqa: SIM905 - a word list reads better as text
)


_STEMMERS = threading.local()


def english_stemmer() -> Any:
    """This thread's Snowball English stemmer (PyStemmer, the one bm25s takes). A stemmer keeps a
    cache of its own and is not thread-safe, so each thread gets one."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _STEMMERS.english = Stemmer.Stemmer("english")
    return stemmer


def fold_case_and_space(text: str) -> str:
    """The text with case and runs of white space ignored. Two passages that fold alike are the same
    passage: a store cites it once, ingestion keeps it once, a training set holds it once."""
    return " ".join(text.casefold().split())


def words(text: str) -> list[str]:
    """Lower-case words and numbers, in order."""
    return _WORD.findall(text.lower().replace("’", "'"))


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning: stop words dropped, so 'returning' and 'returns' match."""
    kept = [word for word in words(text) if word not in STOPWORDS]
    stems: list[str] = english_stemmer().stemWords(kept)
    return stems


_LIST_MARKER = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
#: Marks a passage's opening words that continue a sentence begun before the passage.
_FRAGMENT_MARK = "…"


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a passage. Markdown headings are dropped, and each table row
    becomes one sentence that names its columns ("Region: EU; Standard: 4.95 EUR").

    A passage cut from a longer text may open in the middle of a sentence (a chunk's overlap with
    the one before it); those opening words are marked with a leading ellipsis, so a reader does
    not take the tail of a sentence for a whole one."""
    pieces: list[str] = []
    header: list[str] | None = None
    previous_cells: list[str] | None = None
    opening = True
    for raw_line in text.splitlines():
        line = raw_line.strip()
        starts_mid_sentence = opening and line[:1].islower()
        opening = opening and not line
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if set(line) <= set("|-: "):
                header = previous_cells
            elif header is not None and len(cells) == len(header):
                pieces.append(
                    "; ".join(f"{name}: {value}" for name, value in zip(header, cells, strict=True))
                )
            previous_cells = cells
            continue
        header = previous_cells = None
        if not line or line.startswith("#"):
            continue
        line = _EMPHASIS.sub("", _LIST_MARKER.sub("", line))
        parts = [part.strip() for part in _SENTENCE_END.split(line) if part.strip()]
        if starts_mid_sentence:
            parts[0] = _FRAGMENT_MARK + parts[0]
        pieces.extend(parts)
    return pieces
