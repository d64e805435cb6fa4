"""Typed placeholders for redacted values: `[EMAIL_1]`, `[EMAIL_2]`, the same value always the same
placeholder within one conversation, so the model (and a human reading the transcript) can
still tell "the card I gave you" from "my other card" without seeing either."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock

from functions.guardrails.base import Span


class Placeholders:
    """Numbers each distinct (type, value) in the order first seen."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], int] = {}
        self._counts: dict[str, int] = {}

    def placeholder(self, label: str, value: str) -> str:
        key = (label, " ".join(value.split()).casefold())
        if key not in self._numbers:
            self._counts[label] = self._counts.get(label, 0) + 1
            self._numbers[key] = self._counts[label]
        return f"[{label}_{self._numbers[key]}]"

    def redact(self, text: str, spans: Sequence[Span]) -> str:
        """The text with each span replaced; where spans overlap, the earlier (then longer) wins."""
        out: list[str] = []
        cursor = 0
        for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
            if span.start < cursor:
                continue
            out.append(text[cursor : span.start])
            out.append(self.placeholder(span.label, text[span.start : span.end]))
            cursor = span.end
        out.append(text[cursor:])
        return "".join(out)


class ConversationPlaceholders:
    """Placeholders per conversation for this process, the least recently used dropped first.

    Held in memory (a Lambda container, the local server): the raw values must not be stored,
    so a conversation that moves to a fresh container numbers its values again from 1.
    """

    def __init__(self, max_conversations: int = 1024) -> None:
        self._by_conversation: OrderedDict[str, Placeholders] = OrderedDict()
        self._max = max_conversations
        self._lock = Lock()

    def for_conversation(self, conversation_id: str) -> Placeholders:
        with self._lock:
            placeholders = self._by_conversation.pop(conversation_id, None) or Placeholders()
            self._by_conversation[conversation_id] = placeholders
            while len(self._by_conversation) > self._max:
                self._by_conversation.popitem(last=False)
            return placeholders
