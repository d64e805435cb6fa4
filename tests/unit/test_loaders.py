from pathlib import Path

import pytest

from functions.errors import IngestError
from functions.ingest.cleaning import clean_text
from functions.ingest.loaders import load_document
from tests.conftest import MINI_KB


def test_markdown_title_is_the_first_heading() -> None:
    document = load_document(MINI_KB / "returns.md")
    assert (document.title, document.kind) == ("Returns", "markdown")


def test_html_keeps_headings_and_drops_scripts_and_navigation() -> None:
    document = load_document(MINI_KB / "contact.html")
    assert document.title == "Contact us"
    assert "## Phone" in document.text
    assert "tracking" not in document.text and "Home | Shop" not in document.text


def test_faq_entries_become_sections() -> None:
    document = load_document(MINI_KB / "payments-faq.json")
    assert document.kind == "faq"
    assert "## Can I pay in instalments?\n\nKlarna lets you pay in 4" in document.text


def test_jsonl_faq_with_other_field_names(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(
        '{"q": "Do you ship to Mars?", "a": "Not yet."}\n\n{"title": "Gift wrap?", "body": "Yes, $4."}\n'
    )
    text = load_document(path).text
    assert "## Do you ship to Mars?\n\nNot yet." in text and "## Gift wrap?\n\nYes, $4." in text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", "[{", "invalid JSON at line 1"),
        ("list.json", '[{"question": "no answer"}]', "entry 1 needs a question and an answer"),
        ("scalar.json", "42", "expected a list"),
        ("binary.md", b"\xff\xfe\x00bad", "not UTF-8"),
        ("notes.pdf", "x", "unsupported file type '.pdf'"),
    ],
)
def test_unreadable_documents_say_what_is_wrong(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(IngestError, match=message):
        load_document(path)


def test_cleaning_normalises_whitespace_and_redacts_pii() -> None:
    raw = "Call\u00a0me   at  +44 20 7946 0958.\r\n\r\n\r\n\r\nThanks\u200b!\t"
    assert clean_text(raw) == "Call me at [PHONE_1].\n\nThanks!"
