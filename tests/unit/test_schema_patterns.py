"""The request schema's patterns say what the server enforces, in the regex dialect clients read
(schemathesis found a question of one \\x1c, blank to Python, valid by a `\\s` pattern)."""

from __future__ import annotations

import re
import sys

from fastapi.testclient import TestClient

from functions.api.schemas import QUESTION_PATTERN, QueryRequest


def test_the_question_pattern_refuses_exactly_what_str_strip_leaves_empty() -> None:
    pattern = re.compile(QUESTION_PATTERN)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or code == 0:
            continue
        assert (pattern.fullmatch(char) is None) == (char.strip() == ""), hex(code)
    assert QueryRequest.model_json_schema()["properties"]["question"]["pattern"] == QUESTION_PATTERN


def test_the_pattern_uses_no_class_whose_meaning_differs_between_python_and_ecma() -> None:
    assert "\\s" not in QUESTION_PATTERN and "\\w" not in QUESTION_PATTERN


def test_any_stored_user_id_can_be_named_for_erasure(client: TestClient) -> None:
    for user_id in ("6岁", "Jane Doe", "jane.doe@example.com"):
        response = client.delete(f"/v1/users/{user_id}/data")
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0
