"""Erasing one user's data from every store that holds it (GDPR article 17, CCPA's right to delete).

Every store keeps the user's pseudonym, not their id (`functions.feedback.pseudonyms`), so the
eraser turns the id into the pseudonym once and asks each store to forget it. The answer counts
what each store removed; a second erasure of the same user finds nothing. Each erasure leaves an
audit record (who asked, when, the counts), which names no user: only the requester's role and
pseudonym.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from functions.feedback.pseudonyms import Pseudonymiser
from functions.feedback.records import utc_now
from functions.observability import logger


class Requester(StrEnum):
    """Who asked for an erasure."""

    SELF = "self"  # the user, signed in
    ADMIN = "admin"  # a caller with the stack's admin scope
    OPERATOR = "operator"  # someone with shell access to the data (genai-stack erase, the local server)


class UserData(Protocol):
    """A store that can forget a user: how many items of each kind it removed."""

    def erase_user(self, pseudonym: str) -> dict[str, int]: ...


class ErasureAudit(Protocol):
    """Where erasure audit records are kept (beyond the log line every erasure writes)."""

    def record_erasure(self, report: ErasureReport) -> None: ...


@dataclass(frozen=True)
class ErasureReport:
    erasure_id: str
    requested_by: Requester
    requester: str | None  # the requester's pseudonym, when they are signed in
    counts: dict[str, int]
    erased_at: datetime = field(default_factory=utc_now)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Eraser:
    def __init__(
        self, stores: Sequence[UserData], pseudonymiser: Pseudonymiser, audit: ErasureAudit | None = None
    ) -> None:
        self._stores = stores
        self._pseudonymise = pseudonymiser
        self._audit = audit

    def erase(self, user_id: str, requested_by: Requester, requester_id: str | None = None) -> ErasureReport:
        pseudonym = self._pseudonymise(user_id)
        assert pseudonym is not None  # a str in, a str out
        counts: dict[str, int] = {}
        for store in self._stores:
            counts.update(store.erase_user(pseudonym))
        report = ErasureReport(uuid.uuid4().hex, requested_by, self._pseudonymise(requester_id), counts)
        if self._audit is not None:
            self._audit.record_erasure(report)
        logger.info(
            "user data erased",
            extra={
                "audit": "erasure",
                "erasure_id": report.erasure_id,
                "requested_by": report.requested_by.value,
                "requester": report.requester,
                "counts": counts,
            },
        )
        return report
