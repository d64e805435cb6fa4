"""The feedback loop end to end on the embedded stack: answers and feedback through the API, the
export, and the training-data builder reading it (the contract shared with training_jobs)."""

from __future__ import annotations

import io
import json

from fastapi.testclient import TestClient

from functions.feedback.export import build_interactions, write_jsonl
from functions.services import Services
from training_jobs.data.builders import BuildOptions, build_datasets


def ask(client: TestClient, question: str, **extra: str) -> dict:
    return client.post("/v1/query", json={"question": question, "user_id": "jane-42", **extra}).json()


def test_export_carries_ratings_escalations_and_rephrases_without_identifiers(
    client: TestClient, services: Services
) -> None:
    liked = ask(client, "How long is the warranty on tents?")
    client.post("/v1/feedback", json={"message_id": liked["message_id"], "rating": "up"})
    first = ask(client, "How much does express shipping cost in the EU?")
    ask(
        client, "Express shipping to the EU, how much does it cost?", conversation_id=first["conversation_id"]
    )
    disliked = ask(client, "Can I return swimwear?")
    client.post(
        "/v1/feedback",
        json={
            "message_id": disliked["message_id"],
            "rating": "down",
            "comment": "write to me at jane@example.com",
            "escalate": True,
        },
    )

    store = services.sqlite
    records = {r["message_id"]: r for r in build_interactions(store, store, store.human_answers(), salt="s")}
    assert len(records) == 4
    assert records[liked["message_id"]]["rating"] == "up"
    assert records[first["message_id"]]["rephrased"] is True
    down = records[disliked["message_id"]]
    assert (down["rating"], down["escalated"], down["comment"]) == ("down", True, "write to me at [EMAIL]")
    assert all(r["user_id"] not in (None, "jane-42") and len(r["user_id"]) == 32 for r in records.values())
    assert down["sources"][0]["source"] == "mini_kb/returns.md"


def test_training_builder_reads_the_export(client: TestClient, services: Services) -> None:
    good = ask(client, "Which cards do you accept?")
    client.post("/v1/feedback", json={"message_id": good["message_id"], "rating": "up"})
    bad = ask(client, "Which credit cards do you accept?")
    client.post("/v1/feedback", json={"message_id": bad["message_id"], "rating": "down"})

    buffer = io.StringIO()
    store = services.sqlite
    assert write_jsonl(build_interactions(store, store), buffer) == 2
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    built = build_datasets(records, [], BuildOptions(eval_fraction=0.0))
    assert built.card["records"] == 2
    assert built.sft["train"] and built.sft["train"][0]["messages"][0]["role"] == "user"
