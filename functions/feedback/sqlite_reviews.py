"""The embedded review store (`ReviewStore`): two tables in the SQLite file the other local
stores share (`open_database`), kept in their own module so the conversation store stays one
concern. A choice's key is (pair, reviewer): the second one for the same key changes nothing and
is a ConflictError (409)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from functions.errors import ConflictError
from functions.feedback.reviews import Candidate, ReviewChoice, ReviewPair, Verdict
from functions.feedback.sqlite_store import open_database, translated_errors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_pairs (
    pair_id       TEXT PRIMARY KEY,
    question      TEXT NOT NULL,
    first_answer  TEXT NOT NULL,
    first_config  TEXT NOT NULL,
    second_answer TEXT NOT NULL,
    second_config TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_choices (
    pair_id    TEXT NOT NULL REFERENCES review_pairs (pair_id),
    reviewer   TEXT NOT NULL,
    verdict    TEXT NOT NULL CHECK (verdict IN ('first', 'second', 'tie')),
    note       TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (pair_id, reviewer)
);
"""


class SQLiteReviewStore:
    def __init__(self, path: Path, busy_timeout: float = 1.0) -> None:
        self._lock = threading.Lock()
        with translated_errors():
            self._connection = open_database(Path(path), busy_timeout)
            with self._lock:
                self._connection.execute("PRAGMA foreign_keys=ON")
                self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def save_pair(self, pair: ReviewPair) -> None:
        self._write(
            "INSERT INTO review_pairs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                pair.pair_id,
                pair.question,
                pair.first.answer,
                pair.first.config,
                pair.second.answer,
                pair.second.config,
                pair.created_at,
            ),
        )

    def get_pair(self, pair_id: str) -> ReviewPair | None:
        rows = self._read("SELECT * FROM review_pairs WHERE pair_id = ?", (pair_id,))
        return _pair(rows[0]) if rows else None

    def next_pair(self, reviewer: str) -> ReviewPair | None:
        rows = self._read(
            "SELECT p.* FROM review_pairs AS p LEFT JOIN review_choices AS c ON c.pair_id = p.pair_id "
            "GROUP BY p.pair_id HAVING SUM(c.reviewer = ?) IS NOT 1 "
            "ORDER BY COUNT(c.reviewer), p.created_at, p.pair_id LIMIT 1",
            (reviewer,),
        )
        return _pair(rows[0]) if rows else None

    def save_choice(self, choice: ReviewChoice) -> None:
        stored = self._write(
            "INSERT INTO review_choices VALUES (?, ?, ?, ?, ?) ON CONFLICT (pair_id, reviewer) DO NOTHING",
            (choice.pair_id, choice.reviewer, choice.verdict.value, choice.note, choice.created_at),
        )
        if not stored:
            raise ConflictError("you have already judged this pair; your first choice stands")

    def iter_choices(self) -> Iterator[tuple[ReviewPair, ReviewChoice]]:
        rows = self._read(
            "SELECT p.*, c.reviewer, c.verdict, c.note, c.created_at AS chosen_at FROM review_choices AS c "
            "JOIN review_pairs AS p ON p.pair_id = c.pair_id ORDER BY c.created_at, c.pair_id, c.reviewer",
            (),
        )
        for row in rows:
            choice = ReviewChoice(
                row["pair_id"], row["reviewer"], Verdict(row["verdict"]), row["note"], row["chosen_at"]
            )
            yield _pair(row), choice

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> int:
        with self._lock, translated_errors():
            changed: int = self._connection.execute(sql, parameters).rowcount  # autocommit: one statement
            return changed

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock, translated_errors():
            return list(self._connection.execute(sql, parameters).fetchall())


def _pair(row: sqlite3.Row) -> ReviewPair:
    return ReviewPair(
        pair_id=row["pair_id"],
        question=row["question"],
        first=Candidate(row["first_answer"], row["first_config"]),
        second=Candidate(row["second_answer"], row["second_config"]),
        created_at=row["created_at"],
    )
