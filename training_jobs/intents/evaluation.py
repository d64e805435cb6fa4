"""Measuring the intent classifier: the held-out split the project wrote, and transfer to Banking77.

One module serves `python -m training_jobs.intents.train`, the bench section (`bench/intents.py`)
and the tests, so all three report the same figures. Banking77 (another domain: a bank's app) is
read from the shared folder, never copied in, and never trained or tuned on: only its categories
that honestly are one of ours are mapped (`BANKING77_TO_INTENT`); the rest are left out.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from functions.contract import Intent
from functions.intents.classifier import IntentModel
from functions.rag.embeddings.ports import Embedder

REPO_ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = REPO_ROOT / "tests" / "fixtures" / "intents" / "held_out.jsonl"
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"

#: Banking77 categories that are one of our intents in a store's words. Card delivery is an order
#: on its way; card and top-up payments are payments; identity, passcode and personal details are
#: the account. Cash withdrawals, transfers, exchange rates and the like have no store counterpart
#: and are left out (the store has no complaint or talk-to-a-person category in Banking77 either).
BANKING77_TO_INTENT: dict[str, Intent] = {
    "card_arrival": Intent.ORDER_STATUS,
    "card_delivery_estimate": Intent.SHIPPING,
    "request_refund": Intent.REFUNDS,
    "Refund_not_showing_up": Intent.REFUNDS,
    "declined_card_payment": Intent.PAYMENT,
    "pending_card_payment": Intent.PAYMENT,
    "card_payment_not_recognised": Intent.PAYMENT,
    "card_payment_fee_charged": Intent.PAYMENT,
    "transaction_charged_twice": Intent.PAYMENT,
    "apple_pay_or_google_pay": Intent.PAYMENT,
    "supported_cards_and_currencies": Intent.PAYMENT,
    "visa_or_mastercard": Intent.PAYMENT,
    "edit_personal_details": Intent.ACCOUNT,
    "passcode_forgotten": Intent.ACCOUNT,
    "terminate_account": Intent.ACCOUNT,
    "verify_my_identity": Intent.ACCOUNT,
    "unable_to_verify_identity": Intent.ACCOUNT,
    "why_verify_identity": Intent.ACCOUNT,
}


def load_held_out(path: Path = HELD_OUT) -> list[tuple[str, Intent]]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [(row["text"], Intent(row["intent"])) for row in rows]


def load_banking77_mapped(datasets: Path) -> list[tuple[str, Intent]]:
    """The Banking77 questions whose category maps to one of our intents."""
    path = datasets / "intents" / "banking77_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["text"], BANKING77_TO_INTENT[row["category"]])
            for row in csv.DictReader(handle)
            if row["category"] in BANKING77_TO_INTENT
        ]


def predict(model: IntentModel, embedder: Embedder, texts: Sequence[str]) -> list[Intent]:
    """Each text's intent. Embedded in batches: for MiniLM the same vectors as the one-text query
    vectors the pipeline tags (padding is masked out), in a fraction of the time."""
    return [model.predict(vector).intent for vector in embedder.embed_documents(list(texts))]


def scores(truth: Sequence[Intent], predicted: Sequence[Intent]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the intents present in `truth`, and per-intent F1."""
    from sklearn.metrics import accuracy_score, f1_score

    present = sorted(set(truth))
    per_intent = f1_score(truth, predicted, labels=present, average=None, zero_division=0)
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 3),
        "macro_f1": round(
            float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)), 3
        ),
        "f1": {intent.value: round(float(f1), 3) for intent, f1 in zip(present, per_intent, strict=True)},
    }


def evaluate(
    model: IntentModel, embedder: Embedder, datasets: Path | None = DEFAULT_DATASETS
) -> dict[str, Any]:
    """Held-out scores, and Banking77 transfer scores where the shared data sets are present."""
    held_out = load_held_out()
    report: dict[str, Any] = {
        "held_out": scores([i for _, i in held_out], predict(model, embedder, [t for t, _ in held_out]))
    }
    if datasets is not None and (datasets / "intents" / "banking77_train.csv").is_file():
        banking = load_banking77_mapped(datasets)
        predicted = predict(model, embedder, [t for t, _ in banking])
        transfer = scores([i for _, i in banking], predicted)
        transfer["categories_mapped"] = len(BANKING77_TO_INTENT)
        transfer["predicted_as"] = dict(Counter(p.value for p in predicted).most_common())
        report["banking77"] = transfer
    return report
