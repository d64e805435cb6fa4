"""The embedded conversation, feedback and escalation store: one SQLite file.

One connection shared by the server's worker threads behind a lock (SQLite serialises writers
anyway); WAL mode lets a second process (the CLI's `stats`) read while the server writes. Every
write is one transaction, so a failed call leaves nothing half-written.

The store keeps the same contract as the DynamoDB one (`functions.feedback.ports`): reads are
filtered by owner, a (conversation, turn) is written once (a unique key; the loser of a race gets
a ConflictError, 409), and a database another process holds locked, or cannot be read, is a
DependencyUnavailableError (503) after `busy_timeout` seconds, not an internal error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.contract import Intent
from functions.errors import DependencyUnavailableError, record_changed
from functions.feedback.pseudonyms import Pseudonymiser
from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord, Rating, belongs_to

if TYPE_CHECKING:
    from functions.privacy.erasure import ErasureReport

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
    created_at      TEXT NOT NULL,
    intent          TEXT,
    route           TEXT,
    prompt_variant  TEXT
);
-- A file written before turns were unique may hold racing duplicates: number those conversations'
-- turns again in the order they were asked (nothing is dropped), then make the turn unique.
UPDATE messages SET turn = (
    SELECT COUNT(*) FROM messages AS earlier
    WHERE earlier.conversation_id = messages.conversation_id
      AND (earlier.created_at, earlier.message_id) <= (messages.created_at, messages.message_id)
)
WHERE conversation_id IN (
    SELECT conversation_id FROM messages GROUP BY conversation_id, turn HAVING COUNT(*) > 1
);
DROP INDEX IF EXISTS messages_by_conversation;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_turn ON messages (conversation_id, turn);
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
    created_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_user ON messages (user_id);
CREATE TABLE IF NOT EXISTS erasures (
    erasure_id   TEXT PRIMARY KEY,
    requested_by TEXT NOT NULL,
    requester    TEXT,
    erased_at    TEXT NOT NULL,
    counts       TEXT NOT NULL
);
"""

#: Columns added to `messages` after its first release: a file an older version wrote gets them.
#: The constraint a second message for the same (conversation, turn) violates.
_TURN_TAKEN = "UNIQUE constraint failed: messages.conversation_id, messages.turn"


class SQLiteStore:
    """ConversationStore, FeedbackStore and Escalation in one database file; user ids are kept as
    pseudonyms (`pseudonymiser`), and `erase_user`/`purge` forget a user's or old data."""

    def __init__(self, path: Path, pseudonymiser: Pseudonymiser, busy_timeout: float = 1.0) -> None:
        self._pseudonymise = pseudonymiser
        self.path = Path(path)
        self._lock = threading.Lock()
        with translated_errors():
            self._connection = open_database(self.path, busy_timeout)
            with self._lock:
                self._connection.execute("PRAGMA foreign_keys=ON")
                self._connection.executescript(_SCHEMA)
                _add_missing_columns(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # --- conversations ----------------------------------------------------------------------

    def save_message(self, record: MessageRecord) -> None:
        self._write(
            "INSERT INTO messages (message_id, conversation_id, user_id, turn, question, answer, sources, "
            "grounded, fallback, blocked, rephrased, created_at, intent, route, prompt_variant) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.message_id,
                record.conversation_id,
                self._pseudonymise(record.user_id),
                record.turn,
                record.question,
                record.answer,
                json.dumps(record.sources, ensure_ascii=False),
                int(record.grounded),
                int(record.fallback),
                int(record.blocked),
                int(record.rephrased),
                record.created_at.isoformat(),
                record.intent,
                record.route,
                record.prompt_variant,
            ),
        )

    def get_message(self, message_id: str, *, user_id: str | None) -> MessageRecord | None:
        row = self._read_one("SELECT * FROM messages WHERE message_id = ?", (message_id,))
        return _owned(row, self._pseudonymise(user_id))  # pseudonyms compared

    def last_message(self, conversation_id: str, *, user_id: str | None) -> MessageRecord | None:
        recent = self.recent_messages(conversation_id, 1, user_id=user_id)
        return recent[-1] if recent else None

    def recent_messages(
        self, conversation_id: str, limit: int, *, user_id: str | None
    ) -> list[MessageRecord]:
        rows = self._read_all(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY turn DESC LIMIT ?",
            (conversation_id, limit),
        )
        owner = self._pseudonymise(user_id)  # pseudonyms compared
        messages = (_owned(row, owner) for row in reversed(rows))
        return [message for message in messages if message is not None]

    def mark_rephrased(self, message: MessageRecord) -> None:
        self._write("UPDATE messages SET rephrased = 1 WHERE message_id = ?", (message.message_id,))

    def iter_messages(self) -> Iterator[MessageRecord]:
        with self._lock, translated_errors():
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

    def open_escalations(self) -> list[dict[str, Any]]:
        with self._lock, translated_errors():
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

    def intent_counts(self) -> dict[str, int]:
        """Messages per intent, most frequent first (untagged ones left out)."""
        rows = self._read_all(
            "SELECT intent, COUNT(*) AS n FROM messages WHERE intent IS NOT NULL "
            "GROUP BY intent ORDER BY n DESC, intent",
            (),
        )
        return {row["intent"]: int(row["n"]) for row in rows}

    # --- erasure and retention (functions.privacy) ------------------------------------------

    def erase_user(self, pseudonym: str) -> dict[str, int]:
        """Every conversation the user started (all its turns), with its feedback and tickets."""
        conversations = "SELECT DISTINCT conversation_id FROM messages WHERE user_id = ?"
        return self._delete_conversations(conversations, (pseudonym,))

    def purge(self, older_than: datetime) -> dict[str, int]:
        """Conversations whose last turn is older than `older_than`, with their feedback and tickets."""
        conversations = (
            "SELECT conversation_id FROM messages GROUP BY conversation_id HAVING MAX(created_at) < ?"
        )
        return self._delete_conversations(conversations, (older_than.isoformat(),))

    def record_erasure(self, report: ErasureReport) -> None:
        self._write(
            "INSERT INTO erasures VALUES (?, ?, ?, ?, ?)",
            (
                report.erasure_id,
                report.requested_by,
                report.requester,
                report.erased_at.isoformat(),
                json.dumps(report.counts, sort_keys=True),
            ),
        )

    def erasures(self) -> list[dict[str, Any]]:
        """The audit trail of erasures, oldest first."""
        with self._lock:
            rows = self._connection.execute("SELECT * FROM erasures ORDER BY erased_at").fetchall()
        return [{**dict(row), "counts": json.loads(row["counts"])} for row in rows]

    def _delete_conversations(self, conversations: str, parameters: tuple[Any, ...]) -> dict[str, int]:
        """Delete the conversations `conversations` (a SELECT of ids) selects, children first, in one
        transaction; the counts per table."""
        messages = "SELECT message_id FROM messages WHERE conversation_id IN ({})"
        statements = {
            # Local feedback idempotency (`sqlite_idempotency`, same file) keeps receipts naming the message.
            "idempotency_records": "DELETE FROM idempotency WHERE json_valid(response_data) AND "
            f"json_extract(response_data, '$.message_id') IN ({messages})",
            "feedback": f"DELETE FROM feedback WHERE message_id IN ({messages})",
            "escalations": "DELETE FROM escalations WHERE conversation_id IN ({})",
            "conversations": "SELECT COUNT(*) FROM ({})",
            "messages": "DELETE FROM messages WHERE conversation_id IN ({})",
        }
        counts: dict[str, int] = {}
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            has_receipts = self._connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'idempotency'"
            ).fetchone()
            counts["idempotency_records"] = 0
            try:
                for name, template in statements.items():
                    if name == "idempotency_records" and not has_receipts:
                        continue
                    cursor = self._connection.execute(template.format(conversations), parameters)
                    counts[name] = cursor.fetchone()[0] if name == "conversations" else cursor.rowcount
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
        kinds = ("conversations", "messages", "feedback", "escalations", "idempotency_records")
        return {name: counts[name] for name in kinds}

    # --- internals --------------------------------------------------------------------------

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._lock, translated_errors():
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                changed = self._connection.execute(sql, parameters).rowcount
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            return changed

    def _read_one(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock, translated_errors():
            row: sqlite3.Row | None = self._connection.execute(sql, parameters).fetchone()
            return row

    def _read_all(self, sql: str, parameters: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock, translated_errors():
            return list(self._connection.execute(sql, parameters).fetchall())


@contextmanager
def translated_errors() -> Iterator[None]:
    """SQLite's failures as the domain errors the DynamoDB store raises for the same cases."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if _TURN_TAKEN in str(error):
            raise record_changed("the conversation store") from error
        raise
    except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise  # a bug in this module, not a dependency failure
    except sqlite3.DatabaseError as error:  # locked, busy, disk I/O error, not a database
        raise DependencyUnavailableError(
            f"the conversation database is unavailable ({error}); please retry"
        ) from error


def _owned(row: sqlite3.Row | None, user_id: str | None) -> MessageRecord | None:
    message = None if row is None else _message(row)
    return message if message is not None and belongs_to(message, user_id) else None


def open_database(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection to the SQLite file every local store shares (created private, WAL, rows by
    name), whoever opens it first; the caller translates its errors."""
    if str(path) != ":memory:":
        private_file(path)
    connection = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def private_file(path: Path) -> None:
    """Create `path` (and its folder) readable by its owner only, whatever the umask; tighten a file
    an older version created world-readable. SQLite gives its -wal and -shm files the database's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Never open (and close) a file a connection of this process may hold: closing any
        # descriptor of a file drops the process's POSIX locks on it, which SQLite relies on.
        os.chmod(path, 0o600)
        return
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


#: Columns added to `messages` after files were first written: (name, declaration). ALTER TABLE
#: appends them, so an old file ends up with the column order a new one is created with.
_ADDED_COLUMNS = (("intent", "TEXT"), ("route", "TEXT"), ("prompt_variant", "TEXT"))


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    present = {row["name"] for row in connection.execute("PRAGMA table_info(messages)")}
    for name, declaration in _ADDED_COLUMNS:
        if name not in present:
            connection.execute(f"ALTER TABLE messages ADD COLUMN {name} {declaration}")


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
        intent=Intent(row["intent"]) if row["intent"] else None,
        route=row["route"],
        prompt_variant=row["prompt_variant"],
    )
