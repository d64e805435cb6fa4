"""A passage's sentences, as ingestion embeds them and the extractive answerer reads them.

Ingestion embeds every sentence of a chunk once (`sentence_texts`), both stores keep those
vectors with the chunk, and retrieval hands the hits' vectors to `SentenceVectorCache`, so the
answerer scores a question against ~25 sentences without running the model on them. The split is
this one function on both sides: a sentence's vector is found by its text.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from functions.rag.documents import Chunk
from functions.rag.embeddings.ports import Embedder, Vector, Vectors
from functions.text import split_sentences

# A list item ("- ", "1. ") or a table row: it reads badly without the heading above it.
_ITEM_LINE = re.compile(r"^(?:[-*+]\s|\d+[.)]\s|\|)")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage, with the `#` heading it sits under and whether it is a list item
    or table row."""

    source: int  # 1-based number of the passage it came from (the citation)
    position: int
    text: str
    heading: str
    item: bool

    @property
    def in_context(self) -> str:
        """What is embedded and matched: an item with its heading, so "Canada: CA$7.95" says what
        it prices."""
        return f"{self.heading}: {self.text}" if self.heading else self.text


def split_passage(text: str, source: int = 1) -> list[Sentence]:
    """The passage's sentences in reading order, each with its heading; a run of list or table
    lines is split on its own, so its items are known."""
    sentences: list[Sentence] = []
    heading = ""
    block: list[str] = []
    block_is_items = False

    def flush() -> None:
        for piece in split_sentences("\n".join(block)):
            sentences.append(Sentence(source, len(sentences), piece, heading, block_is_items))
        block.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            flush()
            heading = stripped.lstrip("#").strip()
            continue
        is_item = bool(_ITEM_LINE.match(stripped))
        if stripped and is_item != block_is_items:
            flush()
            block_is_items = is_item
        block.append(line)
    flush()
    return sentences


def sentence_texts(text: str) -> list[str]:
    """What ingestion embeds for a chunk's sentences, in order."""
    return [sentence.in_context for sentence in split_passage(text)]


class SentenceVectorCache:
    """An Embedder for sentences whose vectors were computed at ingestion.

    Retrieval `remember`s its hits' sentence vectors; `embed_documents` then returns those and
    runs the model only on texts it has not seen (a chunk indexed before sentence vectors existed,
    or a passage the prompt had to escape). Bounded: the most recent `size` sentences are kept."""

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        self.inner = inner
        self.size = size
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def remember(self, chunks: Iterable[Chunk]) -> None:
        with self._lock:
            for chunk in chunks:
                texts = sentence_texts(chunk.text) if len(chunk.sentence_vectors) else []
                if len(texts) != len(chunk.sentence_vectors):  # split differently: leave it to the model
                    continue
                for text, vector in zip(texts, chunk.sentence_vectors, strict=True):
                    self._vectors[text] = vector
                    self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            known = [self._vectors.get(text) for text in texts]
        missing = [text for text, vector in zip(texts, known, strict=True) if vector is None]
        computed = iter(self.inner.embed_documents(missing)) if missing else iter(())
        return [vector if vector is not None else next(computed) for vector in known]

    def embed_query(self, text: str) -> Vector:
        return self.inner.embed_query(text)
