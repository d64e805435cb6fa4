"""Tagging each question with its intent, and the two intents that change the answer.

An order-status question without an order number gets a polite request for it (retrieval cannot
find a customer's order, and the knowledge base's tracking page needs the number anyway); a
request for a person is handed to the support team through the feedback service's escalation path,
and the answer says so. Every other intent is only recorded and counted: the pipeline answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from functions.contract import INTENT_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME, Intent, MetricName
from functions.intents.classifier import IntentModel, Prediction
from functions.rag.embeddings.ports import Embedder

#: The store's order numbers: NW- and 8 digits (data/sample_kb/order-tracking.md); a customer may
#: drop the prefix or the dash, so any run of 8 digits counts.
ORDER_NUMBER = re.compile(r"\b(?:NW[-\s]?)?\d{8}\b", re.IGNORECASE)

ASK_FOR_ORDER_NUMBER = (
    "I can help with that. Could you tell me your order number? It starts with NW- followed by "
    "8 digits and is in your order confirmation e-mail. You can also follow your parcel at "
    "northwind.example/track with that number and the e-mail address you used at checkout."
)
HANDED_TO_A_PERSON = (
    "I've passed this conversation to our support team, and a member of the team will get back to "
    "you as soon as they can. You don't need to repeat anything: they can see what we've talked about."
)

#: Opens a ticket for a stored message: (message_id, user_id, reason) -> ticket id.
HandOff = Callable[[str, str | None, str], str]


class Route(StrEnum):
    """How the pipeline answered instead of retrieving (stored with the message)."""

    ASK_ORDER_NUMBER = "ask_order_number"
    HAND_OFF = "hand_off"


@dataclass(frozen=True)
class Routed:
    route: Route
    answer: str


class IntentRouter:
    """Tags a question from its query vector (a cache hit of the memoizing embedder when the text
    is the one retrieval embeds) and decides whether its intent answers it without retrieval.
    Routes need `min_probability`: an unsure tag is recorded but never escalates anyone."""

    def __init__(
        self, model: IntentModel, embedder: Embedder, hand_off: HandOff, min_probability: float = 0.5
    ) -> None:
        self.model = model
        self.embedder = embedder
        self._hand_off = hand_off
        self.min_probability = min_probability

    def classify(self, question: str, earlier: Sequence[str] = ()) -> tuple[Intent, Routed | None]:
        """The question's intent, counted, and the answer when its intent needs no retrieval.
        `earlier`: the message as typed and the conversation's previous questions, so that an
        order number given in any of them is not asked for again."""
        prediction = self.model.predict(self.embedder.embed_query(question))
        count_intent(prediction.intent)
        return prediction.intent, self._route(prediction, [question, *earlier])

    def _route(self, prediction: Prediction, texts: Sequence[str]) -> Routed | None:
        if prediction.probability < self.min_probability:
            return None
        if prediction.intent is Intent.TALK_TO_PERSON:
            return Routed(Route.HAND_OFF, HANDED_TO_A_PERSON)
        if prediction.intent is Intent.ORDER_STATUS and not any(ORDER_NUMBER.search(t) for t in texts):
            return Routed(Route.ASK_ORDER_NUMBER, ASK_FOR_ORDER_NUMBER)
        return None

    def after_saved(self, route: str, message_id: str, user_id: str | None) -> None:
        """Act on a route once its message is stored (a ticket names a stored message)."""
        if route == Route.HAND_OFF:
            self._hand_off(message_id, user_id, "the customer asked for a person")


def count_intent(intent: Intent) -> None:
    """`Intents`, with the intent as its dimension: the dashboard draws one line per intent."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=MetricName.INTENTS,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric:
        metric.add_dimension(name=INTENT_DIMENSION, value=intent.value)
