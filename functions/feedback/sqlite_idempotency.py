"""Powertools idempotency on the embedded SQLite file, so local feedback is exactly-once too.

Powertools ships persistence layers for DynamoDB, Redis and Valkey only; this is its
`BasePersistenceLayer` contract (get, put-if-absent-or-expired, update, delete) on one table in
the same database file as the stores. With the same `idempotent_function` on top, a retried
or concurrent identical submission behaves as in AWS: the first one records the verdict and
opens the ticket, a copy arriving while it runs is refused as in progress (409), and a copy
arriving after it returns the first receipt.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from functions.feedback.sqlite_store import open_database, translated_errors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    idempotency_key   TEXT PRIMARY KEY,
    status            TEXT NOT NULL,
    expiry            INTEGER NOT NULL,
    in_progress_until INTEGER,
    response_data     TEXT NOT NULL DEFAULT '',
    payload_hash      TEXT NOT NULL DEFAULT ''
)
"""

# The record may be replaced when it does not exist, when it expired, or when it is an attempt
# still marked in progress whose invocation deadline passed (the same rule as Powertools' DynamoDB
# layer: expiry in seconds, the in-progress deadline in milliseconds).
_CLAIM = """
INSERT INTO idempotency (idempotency_key, status, expiry, in_progress_until, payload_hash)
VALUES (:key, :status, :expiry, :in_progress_until, :payload_hash)
ON CONFLICT (idempotency_key) DO UPDATE SET
    status = excluded.status, expiry = excluded.expiry,
    in_progress_until = excluded.in_progress_until, payload_hash = excluded.payload_hash,
    response_data = ''
WHERE idempotency.expiry < :now
   OR (idempotency.status = 'INPROGRESS' AND idempotency.in_progress_until IS NOT NULL
       AND idempotency.in_progress_until < :now_ms)
"""


class SQLitePersistenceLayer(BasePersistenceLayer):
    """Idempotency records in an `idempotency` table of the SQLite file at `path`."""

    def __init__(self, path: Path, busy_timeout: float = 1.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call, unused-ignore]  # Powertools: untyped
        self._lock = threading.Lock()
        with translated_errors():  # a locked file is a 503 here too; the record operations'
            # failures reach the caller through Powertools as IdempotencyPersistenceLayerError
            self._connection = open_database(Path(path), busy_timeout)
            with self._lock:
                self._connection.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM idempotency WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
        if row is None:
            raise IdempotencyItemNotFoundError
        return DataRecord(
            idempotency_key=row["idempotency_key"],
            status=row["status"],
            expiry_timestamp=row["expiry"],
            in_progress_expiry_timestamp=row["in_progress_until"],
            response_data=row["response_data"],
            payload_hash=row["payload_hash"],
        )

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self._lock:
            changed = self._connection.execute(
                _CLAIM,
                {
                    "key": data_record.idempotency_key,
                    "status": data_record.status,
                    "expiry": data_record.expiry_timestamp,
                    "in_progress_until": data_record.in_progress_expiry_timestamp,
                    "payload_hash": data_record.payload_hash or "",
                    "now": int(now),
                    "now_ms": int(now * 1000),
                },
            ).rowcount
        if changed == 0:  # a live record holds the key: Powertools reads it and decides
            raise IdempotencyItemAlreadyExistsError

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._connection.execute(
                "UPDATE idempotency SET status = ?, expiry = ?, response_data = ? WHERE idempotency_key = ?",
                (
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self._connection.execute(
                "DELETE FROM idempotency WHERE idempotency_key = ?", (data_record.idempotency_key,)
            )
