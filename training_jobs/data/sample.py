"""A small, fixed interaction export for the `--tiny` presets: a demo store's support questions.

Each topic yields a thumbs-up answer, an exact and a near duplicate of it, a rephrased bad answer
followed by a good one in the same conversation (its question carrying PII), and a thumbs-down
answer that was escalated (half of them with a human agent's reply), so every builder rule has
something to act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from functions.contract import InteractionRecord
from training_jobs.common.jsonl import write_jsonl

#: (question, paraphrase, good answer, bad answer)
TOPICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "How do I return an item?",
        "Can I send back something I bought?",
        "Start a return from Orders within 30 days of delivery; we email you a prepaid label.",
        "Returns are handled by the carrier, please contact them.",
    ),
    (
        "When will my order arrive?",
        "How long does shipping take?",
        "Standard shipping takes 3 to 5 business days; express takes 1 to 2. The tracking link is in your email.",
        "Orders usually arrive at some point.",
    ),
    (
        "How do I reset my password?",
        "I forgot my password, what now?",
        "Choose 'Forgot password' on the sign-in page and follow the link we email you; it is valid for one hour.",
        "Create a new account instead.",
    ),
    (
        "Can I change my delivery address?",
        "I need to ship my order somewhere else.",
        "You can change the address from Orders until the parcel ships; after that, ask the carrier to redirect it.",
        "Addresses cannot be changed.",
    ),
    (
        "Which payment methods do you accept?",
        "Can I pay with PayPal?",
        "We accept Visa, Mastercard, American Express, PayPal and gift cards.",
        "We only accept cash.",
    ),
    (
        "How do I cancel my order?",
        "I want to stop my order.",
        "Open the order in Orders and choose Cancel; that works until the order is packed.",
        "Orders are final and can never be cancelled.",
    ),
    (
        "Do you ship internationally?",
        "Can you deliver to Canada?",
        "We ship to 40 countries; duties are shown at checkout before you pay.",
        "Shipping is domestic only.",
    ),
    (
        "How do I use a gift card?",
        "Where do I enter my gift card code?",
        "Enter the gift card code in the payment step at checkout; any balance stays on the card.",
        "Gift cards are for in-store use.",
    ),
)

_PII = (" My email is jane.doe@example.com.", " Call me at +1 415 555 0132.")


def _record(topic: int, turn: int, question: str, answer: str, **feedback: object) -> InteractionRecord:
    values: dict[str, object] = {
        "message_id": f"m{topic}-{turn}",
        "conversation_id": f"c{topic}",
        "user_id": None,
        "turn": turn,
        "question": question,
        "answer": answer,
        "sources": [],
        "grounded": True,
        "created_at": f"2026-11-{topic + 1:02d}T10:{turn:02d}:00Z",
        "rating": None,
        "reason": None,
        "comment": None,
        "escalated": False,
        "rephrased": False,
        "human_answer": None,
    }
    values.update(feedback)
    return cast(InteractionRecord, values)


def sample_records() -> list[InteractionRecord]:
    """Six records per topic covering every rule of the builders, in a fixed order."""
    records: list[InteractionRecord] = []
    for topic, (question, paraphrase, good, bad) in enumerate(TOPICS):
        records += [
            _record(topic, 0, question, good, rating="up"),
            _record(topic, 1, question, good, rating="up"),
            _record(topic, 2, question, good + " Thanks for asking!", rating="up"),
            _record(topic, 3, paraphrase, bad, rephrased=True),
            _record(topic, 4, question + _PII[topic % 2], good, rating="up"),
            _record(
                topic, 5, paraphrase, bad, rating="down", escalated=True, reason="wrong",
                human_answer=good if topic % 2 else None,
            ),
        ]
    return records


def tiny_export(root: Path) -> Path:
    """The sample export as a JSONL file in the tiny-inputs folder `root` (written once)."""
    path = root / "export.jsonl"
    if not path.is_file():
        write_jsonl(path, sample_records())
    return path
