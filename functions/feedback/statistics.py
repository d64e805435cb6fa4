"""The loop's figures: what `genai-stack stats` prints and `GET /v1/stats` returns (one function
serves both, so a dashboard and a person see the same numbers)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from functions.contract import StoreKind
from functions.feedback.ports import ConversationStore, FeedbackStore
from functions.feedback.records import Rating

if TYPE_CHECKING:
    from functions.services import Services


def statistics(services: Services) -> dict[str, Any]:
    store = services.vector_store
    sqlite = services.settings.store is StoreKind.SQLITE
    conversations = services.conversations
    counts = services.sqlite.stats() if sqlite else count_loop(conversations, services.feedback_store)
    intents = services.sqlite.intent_counts() if sqlite else count_intents(conversations)
    return {
        "data_dir": str(services.settings.data_dir),
        "chunks": store.count(),
        "sources": len(store.source_hashes()),
        **counts,
        "intents": intents,
    }


def count_intents(conversations: ConversationStore) -> dict[str, int]:
    """Messages per intent, most frequent first, through the port (what SQLite groups in one query)."""
    tagged = Counter(m.intent.value for m in conversations.iter_messages() if m.intent is not None)
    return dict(sorted(tagged.items(), key=lambda item: (-item[1], item[0])))


def count_loop(conversations: ConversationStore, feedback: FeedbackStore) -> dict[str, int]:
    """The counts SQLite computes in one query, through the ports: a scan of the conversations and
    a read of each message's verdict, for a dashboard polled now and then, not for a request path.
    Escalations are those asked for (in AWS the support team's tool tracks which are still open)."""
    counts = dict.fromkeys(
        ("messages", "conversations", "fallbacks", "blocked", "rephrased", "thumbs_up", "thumbs_down"), 0
    )
    counts["escalations"] = 0
    conversation_ids: set[str] = set()
    for message in conversations.iter_messages():
        conversation_ids.add(message.conversation_id)
        counts["messages"] += 1
        counts["fallbacks"] += message.fallback
        counts["blocked"] += message.blocked
        counts["rephrased"] += message.rephrased
        verdict = feedback.get_feedback(message.message_id)
        if verdict is not None:
            counts["thumbs_up" if verdict.rating is Rating.UP else "thumbs_down"] += 1
            counts["escalations"] += verdict.escalate
    counts["conversations"] = len(conversation_ids)
    return counts
