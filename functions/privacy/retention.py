"""Retention: conversations, feedback and tickets are kept `retention_days` after a conversation's
last turn. In AWS, DynamoDB's TTL expires each item on its own; locally `genai-stack purge` deletes
them, and `genai-stack serve` purges once a day.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Protocol

from functions.feedback.records import utc_now
from functions.observability import logger

DAY_SECONDS = 86_400


class Purgeable(Protocol):
    def purge(self, older_than: datetime) -> dict[str, int]: ...


def purge(store: Purgeable, days: int) -> dict[str, int]:
    counts = store.purge(utc_now() - timedelta(days=days))
    logger.info("purged old conversations", extra={"retention_days": days, "counts": counts})
    return counts


def purge_daily(store: Purgeable, days: int) -> threading.Thread:
    """Purge now and then every 24 hours, on a daemon thread that ends with the server."""

    def run() -> None:
        while True:
            try:
                purge(store, days)
            except Exception:  # a failed purge must not stop the server; the next day retries
                logger.exception("purge failed")
            time.sleep(DAY_SECONDS)

    thread = threading.Thread(target=run, name="genai-stack-purge", daemon=True)
    thread.start()
    return thread
