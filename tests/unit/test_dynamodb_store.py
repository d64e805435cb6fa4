"""The DynamoDB stores under moto: conditional writes, retention, and lookups by message id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.contract import DynamoDBLayout as Key
from functions.errors import ConflictError
from functions.feedback.dynamodb_store import DynamoDBConversationStore, DynamoDBFeedbackStore
from functions.feedback.pseudonyms import pseudonymiser
from functions.feedback.records import FeedbackRecord, MessageRecord, Rating
from tests.dynamodb_tables import create_store_tables

PSEUDONYMS = pseudonymiser(lambda: b"test-key")
CREATED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-west-1")
        create_store_tables(resource)
        yield resource


def message(message_id: str, turn: int) -> MessageRecord:
    sources = [{"source": "kb/a.md", "title": "A", "score": 0.91}]
    return MessageRecord(message_id, "c1", "u1", turn, "q?", "a.", sources, True, False, False, CREATED)


def test_messages_round_trip_with_retention(dynamodb: Any) -> None:
    store = DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=dynamodb)
    store.save_message(message("m1", 1))
    store.save_message(message("m2", 2))
    # the user id is kept as its pseudonym
    assert store.get_message("m1", user_id="u1") == replace(message("m1", 1), user_id=PSEUDONYMS("u1"))
    assert store.last_message("c1", user_id="u1") == replace(message("m2", 2), user_id=PSEUDONYMS("u1"))
    item = dynamodb.Table("conversations").get_item(Key={"conversation_id": "c1", "turn": 1})["Item"]
    assert item[Key.TTL_ATTRIBUTE] == int(CREATED.timestamp()) + 30 * 86_400


def test_a_turn_is_written_once(dynamodb: Any) -> None:
    store = DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=dynamodb)
    store.save_message(message("m1", 1))
    with pytest.raises(ConflictError, match="changed by another request"):
        store.save_message(message("m-racing", 1))
    assert store.get_message("m1", user_id="u1") is not None


def test_rephrase_mark_and_scan(dynamodb: Any) -> None:
    store = DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=dynamodb)
    first = message("m1", 1)
    store.save_message(first)
    store.mark_rephrased(first)
    assert [m.rephrased for m in store.iter_messages()] == [True]


def test_feedback_latest_verdict_wins(dynamodb: Any) -> None:
    store = DynamoDBFeedbackStore("feedback", retention_days=30, resource=dynamodb)
    store.save_feedback(FeedbackRecord("m1", Rating.UP, created_at=CREATED))
    store.save_feedback(FeedbackRecord("m1", Rating.DOWN, reason="wrong", created_at=CREATED))
    assert store.get_feedback("m1") == FeedbackRecord("m1", Rating.DOWN, reason="wrong", created_at=CREATED)
    assert store.get_feedback("missing") is None


def test_recent_messages_are_the_conversations_last_turns_oldest_first(dynamodb: Any) -> None:
    store = DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=dynamodb)
    for turn in (1, 2, 3):
        store.save_message(message(f"m{turn}", turn))
    assert [m.message_id for m in store.recent_messages("c1", 2, user_id="u1")] == ["m2", "m3"]
    assert [m.turn for m in store.recent_messages("c1", 10, user_id="u1")] == [1, 2, 3]
    assert store.recent_messages("missing", 5, user_id="u1") == []
