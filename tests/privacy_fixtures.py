"""What the privacy tests share: PII a careful user types, a recording stand-in for the X-Ray
provider, and the acceptance test's counting (S3 Find and Forget style: A records in the stores,
B of them the user's, C other users')."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: One value of each kind, as a user would type them; none may reach a store, log, trace or export.
PII = {
    "email": "jane.doe@example.com",
    "phone": "+44 20 7946 0958",
    "card_grouped": "4111 1111 1111 1111",
    "card_compact": "5500005555555559",
    "iban_grouped": "GB82 WEST 1234 5698 7654 32",
    "iban_compact": "DE89370400440532013000",
    "iban_lower_grouped": "gb82 west 1234 5698 7654 32",
    "iban_lower_compact": "de89370400440532013000",
    "ssn": "078-05-1120",
    "address": "221 Baker Street",
    "name": "Jane Doe",
}


def pii_params() -> list[str]:
    """Every kind: the detector finds names next to "my name is" too (functions.guardrails.pii)."""
    return list(PII)


def sentence(kind: str) -> str:
    return f"Can I return swimwear? My {kind.replace('_', ' ')} is {PII[kind]}, thanks"


def raw_forms(value: str) -> set[str]:
    """The value as typed and without its separators (a store could keep either)."""
    return {value, value.replace(" ", "").replace("-", "")}


@dataclass
class RecordedSegment:
    name: str
    metadata: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.append({"key": key, "value": value, "namespace": namespace})

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations.append({"key": key, "value": value})

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.metadata.append({"key": "exception", "value": repr(exception)})


class RecordingTraceProvider:
    """Stands in for Powertools' X-Ray provider and keeps every subsegment the tracer opens, with
    what it would send to X-Ray."""

    def __init__(self) -> None:
        self.segments: list[RecordedSegment] = []

    @contextmanager
    def in_subsegment(self, name: str, **_: Any) -> Iterator[RecordedSegment]:
        segment = RecordedSegment(name)
        self.segments.append(segment)
        yield segment

    def put_annotation(self, key: str, value: Any) -> None:
        self.segments.append(RecordedSegment("annotation", annotations=[{"key": key, "value": value}]))

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.segments.append(RecordedSegment("metadata", [{"key": key, "value": value}]))

    def dump(self) -> str:
        return json.dumps([segment.__dict__ for segment in self.segments], default=repr)


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its JSON lines), whatever stream its handler holds."""
    from functions.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass(frozen=True)
class Census:
    """How many records the stores hold in all (A), of the user (B) and of the other users (C)."""

    all: int
    user: int
    others: int
