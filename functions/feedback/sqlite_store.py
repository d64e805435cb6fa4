"""The embedded conversation, feedback and escalation store: one SQLite file.

One connection shared by the server's worker threads behind a lock (SQLite serialises writers
anyway); WAL mode lets a second process (the CLI's `stats`) read while the server writes. Every
write is one transaction, so a failed call leaves nothing half-written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord, Rating

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id      TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    user_id         TEXT,
    turn            INTEGER NOT NULL,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    sources         TEXT NOT NULL,
    grounded        INTEGER NOT NULL,
    fallback        INTEGER NOT NULL,
    blocked         INTEGER NOT NULL,
    rephrased       INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, turn);
CREATE TABLE IF NOT EXISTS feedback (
    message_id TEXT PRIMARY KEY REFERENCES messages (message_id),
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    reason     TEXT,
    comment    TEXT,
    escalate   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS escalations (
    ticket_id       TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages (message_id),
    conversation_id TEXT NOT NULL,
    user_id         TEXT,
    reason          TEXT,
    comment         TEXT,
    status          TEXT NOT NULL DEFAULT 'open',
    human_answer    TEXT,
    created_at      TEXT NOT NULL
);
"""


class SQLiteStore:
    """ConversationStore, FeedbackStore and Escalation in one database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # --- conversations ----------------------------------------------------------------------

    def save_message(self, record: MessageRecord) -> None:
        self._write(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.message_id,
                record.conversation_id,
                record.user_id,
                record.turn,
                record.question,
                record.answer,
                json.dumps(record.sources, ensure_ascii=False),
                int(record.grounded),
                int(record.fallback),
                int(record.blocked),
                int(record.rephrased),
                record.created_at.isoformat(),
            ),
        )

    def get_message(self, message_id: str) -> MessageRecord | None:
        row = self._read_one("SELECT * FROM messages WHERE message_id = ?", (message_id,))
        return None if row is None else _message(row)

    def last_message(self, conversation_id: str) -> MessageRecord | None:
        recent = self.recent_messages(conversation_id, 1)
        return recent[-1] if recent else None

    def recent_messages(self, conversation_id: str, limit: int) -> list[MessageRecord]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY turn DESC LIMIT ?",
                (conversation_id, limit),
            ).fetchall()
        return [_message(row) for row in reversed(rows)]

    def mark_rephrased(self, message: MessageRecord) -> None:
        self._write("UPDATE messages SET rephrased = 1 WHERE message_id = ?", (message.message_id,))

    def iter_messages(self) -> Iterator[MessageRecord]:
        with self._lock:
            rows = self._connection.execute("SELECT * FROM messages ORDER BY created_at").fetchall()
        for row in rows:
            yield _message(row)

    # --- feedback ---------------------------------------------------------------------------

    def save_feedback(self, record: FeedbackRecord) -> None:
        self._write(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
            "rating = excluded.rating, reason = excluded.reason, comment = excluded.comment, "
            "escalate = excluded.escalate, created_at = excluded.created_at",
            (
                record.message_id,
                record.rating.value,
                record.reason,
                record.comment,
                int(record.escalate),
                record.created_at.isoformat(),
            ),
        )

    def get_feedback(self, message_id: str) -> FeedbackRecord | None:
        row = self._read_one("SELECT * FROM feedback WHERE message_id = ?", (message_id,))
        if row is None:
            return None
        return FeedbackRecord(
            message_id=row["message_id"],
            rating=Rating(row["rating"]),
            reason=row["reason"],
            comment=row["comment"],
            escalate=bool(row["escalate"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    # --- escalation -------------------------------------------------------------------------

    def escalate(self, ticket: EscalationTicket) -> None:
        self._write(
            "INSERT INTO escalations (ticket_id, message_id, conversation_id, user_id, reason, comment, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ticket.ticket_id,
                ticket.message_id,
                ticket.conversation_id,
                ticket.user_id,
                ticket.reason,
                ticket.comment,
                ticket.created_at.isoformat(),
            ),
        )

    def human_answers(self) -> dict[str, str]:
        """What human agents replied to escalated messages (written by the agent console)."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT message_id, human_answer FROM escalations WHERE human_answer IS NOT NULL"
            ).fetchall()
        return {row["message_id"]: row["human_answer"] for row in rows}

    def open_escalations(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM escalations WHERE status = 'open' ORDER BY created_at"
            ).fetchall()
        return [dict(row) for row in rows]

    # --- statistics -------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts for `genai-stack stats`."""
        query = """
            SELECT
              (SELECT COUNT(*) FROM messages) AS messages,
              (SELECT COUNT(DISTINCT conversation_id) FROM messages) AS conversations,
              (SELECT COUNT(*) FROM messages WHERE fallback = 1) AS fallbacks,
              (SELECT COUNT(*) FROM messages WHERE blocked = 1) AS blocked,
              (SELECT COUNT(*) FROM messages WHERE rephrased = 1) AS rephrased,
              (SELECT COUNT(*) FROM feedback WHERE rating = 'up') AS thumbs_up,
              (SELECT COUNT(*) FROM feedback WHERE rating = 'down') AS thumbs_down,
              (SELECT COUNT(*) FROM escalations WHERE status = 'open') AS open_escalations
        """
        row = self._read_one(query, ())
        assert row is not None
        return {key: int(row[key]) for key in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a dict

    # --- internals --------------------------------------------------------------------------

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> None:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.execute(sql, parameters)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _read_one(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._connection.execute(sql, parameters).fetchone()
            return row


def _message(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        message_id=row["message_id"],
        conversation_id=row["conversation_id"],
        user_id=row["user_id"],
        turn=row["turn"],
        question=row["question"],
        answer=row["answer"],
        sources=json.loads(row["sources"]),
        grounded=bool(row["grounded"]),
        fallback=bool(row["fallback"]),
        blocked=bool(row["blocked"]),
        rephrased=bool(row["rephrased"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )
