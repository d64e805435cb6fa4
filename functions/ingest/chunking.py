"""Heading-aware chunking with langchain-text-splitters: split at Markdown headings first, so a
chunk never mixes two sections, then split long sections by paragraphs and sentences."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import ExperimentalMarkdownSyntaxTextSplitter, RecursiveCharacterTextSplitter

_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


@dataclass(frozen=True)
class TextPiece:
    text: str
    section: str  # heading path, "Returns > Exceptions"


class Chunker:
    def __init__(self, chunk_size: int, chunk_overlap: int) -> None:
        # The syntax splitter keeps the text as written (blank lines, tables, code blocks),
        # unlike MarkdownHeaderTextSplitter, which re-joins lines.
        self._by_heading = ExperimentalMarkdownSyntaxTextSplitter(_HEADINGS, strip_headers=False)
        self._by_size = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def split(self, markdown: str) -> list[TextPiece]:
        pieces: list[TextPiece] = []
        for section in self._by_heading.split_text(markdown):
            path = " > ".join(section.metadata[key] for _, key in _HEADINGS if key in section.metadata)
            for text in self._by_size.split_text(section.page_content):
                if _has_body(text):
                    pieces.append(TextPiece(text.strip(), path))
        return pieces


def _has_body(text: str) -> bool:
    """False for a piece that is only headings (a title with no text under it)."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())
