import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from functions.errors import ConflictError
from functions.feedback.pseudonyms import pseudonymiser
from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord, Rating
from functions.feedback.sqlite_store import SQLiteStore

PSEUDONYMS = pseudonymiser(lambda: b"test-key")


def message(message_id: str, turn: int, conversation: str = "c1") -> MessageRecord:
    return MessageRecord(
        message_id, conversation, "u1", turn, f"q{turn}", f"a{turn}", [{"source": "s"}], True, False, False
    )


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "db.sqlite3", PSEUDONYMS)


def test_messages_round_trip_and_last_turn_wins(store: SQLiteStore) -> None:
    first = message("m1", 1)
    store.save_message(first)
    store.save_message(message("m2", 2))
    assert store.get_message("m1", user_id="u1") == replace(
        first, user_id=PSEUDONYMS("u1")
    )  # kept pseudonymised
    last = store.last_message("c1", user_id="u1")
    assert last is not None and last.message_id == "m2"
    assert store.last_message("other", user_id="u1") is None


def test_feedback_replaces_the_earlier_verdict(store: SQLiteStore) -> None:
    store.save_message(message("m1", 1))
    store.save_feedback(FeedbackRecord("m1", Rating.UP))
    store.save_feedback(FeedbackRecord("m1", Rating.DOWN, reason="wrong", escalate=True))
    stored = store.get_feedback("m1")
    assert stored is not None and (stored.rating, stored.reason, stored.escalate) == (
        Rating.DOWN,
        "wrong",
        True,
    )
    assert store.stats()["thumbs_down"] == 1 and store.stats()["thumbs_up"] == 0


def test_a_failed_write_changes_nothing(store: SQLiteStore) -> None:
    store.save_message(message("m1", 1))
    with pytest.raises(sqlite3.IntegrityError):
        store.save_message(message("m1", 2))  # duplicate id
    with pytest.raises(sqlite3.IntegrityError):
        store.save_feedback(FeedbackRecord("unknown", Rating.UP))  # no such message
    assert store.stats()["messages"] == 1
    assert store.get_feedback("unknown") is None


def test_rephrase_mark_and_escalations(store: SQLiteStore) -> None:
    first = message("m1", 1)
    store.save_message(first)
    store.mark_rephrased(first)
    store.escalate(EscalationTicket("t1", "m1", "c1", "u1", "wrong answer", None))
    assert store.get_message("m1", user_id="u1").rephrased  # type: ignore[union-attr]
    assert [t["ticket_id"] for t in store.open_escalations()] == ["t1"]
    assert store.stats()["rephrased"] == 1


def test_data_survive_reopening(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "db.sqlite3", PSEUDONYMS).save_message(message("m1", 1))
    assert SQLiteStore(tmp_path / "db.sqlite3", PSEUDONYMS).get_message("m1", user_id="u1") is not None


def test_a_file_with_racing_duplicate_turns_is_numbered_again(tmp_path: Path) -> None:
    # GIVEN a database written before turns were unique, holding turns 1, 2, 2 of one conversation
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE messages (message_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, user_id TEXT, "
        "turn INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL, "
        "grounded INTEGER NOT NULL, fallback INTEGER NOT NULL, blocked INTEGER NOT NULL, "
        "rephrased INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)"
    )
    old.execute("CREATE INDEX messages_by_conversation ON messages (conversation_id, turn)")
    for message_id, turn, second in (("m1", 1, 1), ("m2", 2, 2), ("m3", 2, 3)):
        old.execute(
            "INSERT INTO messages VALUES (?, 'c1', 'u1', ?, 'q', 'a', '[]', 1, 0, 0, 0, ?)",
            (message_id, turn, f"2026-12-01T09:00:0{second}+00:00"),
        )
    old.commit()
    old.close()
    # WHEN the store opens it THEN every message is kept, numbered in the order it was asked
    store = SQLiteStore(path, PSEUDONYMS)
    assert [(m.message_id, m.turn) for m in store.iter_messages()] == [("m1", 1), ("m2", 2), ("m3", 3)]
    with pytest.raises(ConflictError):
        store.save_message(message("m4", 3))


def test_recent_messages_are_the_conversations_last_turns_oldest_first(store: SQLiteStore) -> None:
    for turn in (1, 2, 3):
        store.save_message(message(f"m{turn}", turn))
    store.save_message(message("x1", 1, conversation="other"))
    assert [m.message_id for m in store.recent_messages("c1", 2, user_id="u1")] == ["m2", "m3"]
    assert [m.message_id for m in store.recent_messages("c1", 10, user_id="u1")] == ["m1", "m2", "m3"]
    assert store.recent_messages("missing", 5, user_id="u1") == []
    assert store.recent_messages("c1", 10, user_id="intruder") == []  # another user's conversation
