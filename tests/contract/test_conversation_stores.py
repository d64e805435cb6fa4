"""One behavioural contract for both conversation stores: SQLite, and DynamoDB under moto.

Ownership is part of it: a read names the acting user, and a record of anyone else is
answered exactly like a missing one. A (conversation, turn) is written once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.errors import ConflictError
from functions.feedback.dynamodb_store import DynamoDBConversationStore
from functions.feedback.ports import ConversationStore
from functions.feedback.pseudonyms import pseudonymiser
from functions.feedback.records import MessageRecord
from functions.feedback.sqlite_store import SQLiteStore
from tests.dynamodb_tables import create_store_tables

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PSEUDONYMS = pseudonymiser(lambda: b"contract-key")


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConversationStore]:
    if request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "db.sqlite3", PSEUDONYMS)
        yield sqlite
        sqlite.close()
        return
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-west-1")
        create_store_tables(resource)
        yield DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=resource)


def message(message_id: str, conversation: str, user: str | None, turn: int = 1) -> MessageRecord:
    return MessageRecord(message_id, conversation, user, turn, "q?", "a.", [], True, False, False, CREATED)


def test_the_owner_reads_their_messages(store: ConversationStore) -> None:
    store.save_message(message("m1", "c-alice", "alice"))
    store.save_message(message("m2", "c-alice", "alice", turn=2))
    stored = store.get_message("m1", user_id="alice")
    assert stored == replace(message("m1", "c-alice", "alice"), user_id=PSEUDONYMS("alice"))  # pseudonym kept
    last = store.last_message("c-alice", user_id="alice")
    assert last is not None and last.message_id == "m2"


@pytest.mark.parametrize("intruder", ["bob", None])
def test_another_users_records_read_as_missing(store: ConversationStore, intruder: str | None) -> None:
    store.save_message(message("m1", "c-alice", "alice"))
    assert store.get_message("m1", user_id=intruder) is None
    assert store.last_message("c-alice", user_id=intruder) is None
    # exactly what a record that does not exist gives
    assert store.get_message("nope", user_id=intruder) is None
    assert store.last_message("c-nope", user_id=intruder) is None


def test_an_anonymous_conversation_stays_anonymous(store: ConversationStore) -> None:
    store.save_message(message("m1", "c-anon", None))
    assert store.get_message("m1", user_id="alice") is None
    assert store.last_message("c-anon", user_id="alice") is None
    found = store.last_message("c-anon", user_id=None)
    assert found is not None and found.message_id == "m1"


def test_a_turn_is_stored_once(store: ConversationStore) -> None:
    store.save_message(message("m1", "c1", "alice"))
    with pytest.raises(
        ConflictError, match="the conversation store: the record was changed by another request"
    ):
        store.save_message(message("m-racing", "c1", "alice"))
    kept = store.last_message("c1", user_id="alice")
    assert kept is not None and kept.message_id == "m1"
    assert store.get_message("m-racing", user_id="alice") is None
