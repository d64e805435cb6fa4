"""Reading documents: Markdown, plain text, HTML and JSON/JSONL FAQ files, all into Markdown-ish
text so one heading-aware chunker serves every format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.errors import IngestError

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".json", ".jsonl")

# Field names FAQ exports commonly use for the question and the answer.
_QUESTION_KEYS = ("question", "q", "title", "prompt")
_ANSWER_KEYS = ("answer", "a", "body", "text", "response")


@dataclass(frozen=True)
class LoadedDocument:
    """A document's text as Markdown, its title, and its format."""

    title: str
    text: str
    kind: str


def load_document(path: Path, raw: bytes | None = None) -> LoadedDocument:
    """Parse one file (or its bytes, when they come from S3) by its suffix."""
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(
            f"{path}: unsupported file type {path.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    data = raw if raw is not None else path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from error
    return loader(path, text)


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _load_markdown(path: Path, text: str) -> LoadedDocument:
    title = next(
        (line[2:].strip() for line in text.splitlines() if line.startswith("# ")),
        _title_from_name(path),
    )
    return LoadedDocument(title, text, "markdown")


def _load_text(path: Path, text: str) -> LoadedDocument:
    return LoadedDocument(_title_from_name(path), text, "text")


def _load_html(path: Path, text: str) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "noscript", "form"]):
        tag.decompose()
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else _title_from_name(path)
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for item in soup.find_all("li"):
        item.replace_with(f"\n- {item.get_text(' ', strip=True)}\n")
    body = soup.body or soup
    return LoadedDocument(title, body.get_text("\n"), "html")


def _load_faq(path: Path, text: str) -> LoadedDocument:
    entries = list(_faq_entries(path, text))
    if not entries:
        raise IngestError(f"{path}: no question/answer pairs found")
    sections = [f"## {question}\n\n{answer}" for question, answer in entries]
    title = _title_from_name(path)
    return LoadedDocument(title, f"# {title}\n\n" + "\n\n".join(sections), "faq")


def _faq_entries(path: Path, text: str) -> Iterator[tuple[str, str]]:
    try:
        if path.suffix.lower() == ".jsonl":
            items: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            items = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from error
    if isinstance(items, dict):  # {"faqs": [...]} or {"question": "answer", ...}
        lists = [value for value in items.values() if isinstance(value, list)]
        items = lists[0] if lists else [{"question": k, "answer": v} for k, v in items.items()]
    if not isinstance(items, list):
        raise IngestError(f"{path}: expected a list of question/answer objects")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise IngestError(f"{path}: entry {number} is not an object")
        question = next((str(item[k]) for k in _QUESTION_KEYS if item.get(k)), None)
        answer = next((str(item[k]) for k in _ANSWER_KEYS if item.get(k)), None)
        if question is None or answer is None:
            raise IngestError(f"{path}: entry {number} needs a question and an answer field")
        yield question.strip(), answer.strip()


_LOADERS: dict[str, Callable[[Path, str], LoadedDocument]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".json": _load_faq,
    ".jsonl": _load_faq,
}
