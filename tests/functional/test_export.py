"""The feedback loop end to end on the embedded stack: answers and feedback through the API, the
export, and the training-data builder reading it (the contract shared with training_jobs)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.feedback.export import LocalFolder, build_interactions, export_training_data
from functions.feedback.pseudonyms import KEY_FILE, local_key, pseudonymise
from functions.services import Services
from functions.settings import Settings
from training_jobs.data.builders import BuildOptions, build_datasets


def ask(client: TestClient, question: str, **extra: str) -> dict:
    return client.post("/v1/query", json={"question": question, "user_id": "jane-42", **extra}).json()


def rate(client: TestClient, message_id: str, rating: str, **extra: object) -> None:
    body = {"message_id": message_id, "rating": rating, "user_id": "jane-42", **extra}
    assert client.post("/v1/feedback", json=body).status_code == 200


def test_export_carries_ratings_escalations_and_rephrases_without_identifiers(
    client: TestClient, services: Services
) -> None:
    liked = ask(client, "How long is the warranty on tents?")
    rate(client, liked["message_id"], "up")
    first = ask(client, "How much does express shipping cost in the EU?")
    ask(
        client, "Express shipping to the EU, how much does it cost?", conversation_id=first["conversation_id"]
    )
    disliked = ask(client, "Can I return swimwear?")
    rate(client, disliked["message_id"], "down", comment="write to me at jane@example.com", escalate=True)

    store = services.sqlite
    exported = build_interactions(store, store)
    records = {r["message_id"]: r for r in exported}
    assert len(records) == 4
    assert records[liked["message_id"]]["rating"] == "up"
    assert records[first["message_id"]]["rephrased"] is True
    down = records[disliked["message_id"]]
    assert (down["rating"], down["escalated"], down["comment"]) == ("down", True, "write to me at [EMAIL_1]")
    assert {r["user_id"] for r in records.values()} == {pseudonymise("jane-42", services.pseudonym_key)}
    assert "jane-42" not in json.dumps(records)
    assert down["sources"][0]["source"] == "mini_kb/returns.md"


def test_training_builder_reads_the_export(client: TestClient, services: Services, tmp_path: Path) -> None:
    good = ask(client, "Which cards do you accept?")
    rate(client, good["message_id"], "up")
    bad = ask(client, "Which credit cards do you accept?")
    rate(client, bad["message_id"], "down")

    store = services.sqlite
    report = export_training_data(store, store, [], LocalFolder(tmp_path))
    assert (report.interactions, report.review_pairs) == (2, 0)
    records = [json.loads(line) for line in Path(report.interactions_at).read_text().splitlines()]
    built = build_datasets(records, [], BuildOptions(eval_fraction=0.0))
    assert built.card["records"] == 2
    assert built.sft["train"] and built.sft["train"][0]["messages"][0]["role"] == "user"


def test_the_local_pseudonym_key_is_random_private_and_kept(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    key = local_key(tmp_path / "a")
    assert len(key) == 32 and (tmp_path / "a" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert local_key(tmp_path / "a") == key  # the same user keeps one pseudonym across exports
    assert local_key(tmp_path / "b") != key
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [KEY_FILE]  # no drafts left


def test_processes_creating_the_local_key_at_once_agree_on_it(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: local_key(tmp_path), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 32


def test_pseudonyms_depend_on_the_key() -> None:
    assert pseudonymise("jane-42", b"one") == pseudonymise("jane-42", b"one")
    assert pseudonymise("jane-42", b"one") != pseudonymise("jane-42", b"two")
    assert pseudonymise(None, b"one") is None


def test_exporting_from_dynamodb_needs_the_secret(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        store="dynamodb",
        conversations_table="conversations",
        feedback_table="feedback",
        escalation_topic_arn="arn:aws:sns:eu-west-1:123456789012:escalations",
        idempotency_table="idempotency",
    )
    with pytest.raises(ValueError, match="GENAI_STACK_PSEUDONYM_SECRET_ARN must be set"):
        _ = Services(settings).pseudonym_key
    assert not (tmp_path / KEY_FILE).exists()
