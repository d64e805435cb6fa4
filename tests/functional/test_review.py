"""The reviewer flow on the embedded stack: the API and page behind a local reviewer token, the
terminal command, and the export that `genai-stack train reward --tiny` trains on unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.cli import EXIT_OK, main
from functions.contract import REVIEW_PAIRS_FILE
from functions.feedback.reviews import Candidate, Choice
from functions.services import Services

TOPICS = (
    ("How long do I have to return a jacket?", "You have 45 days to return it [1].", "Ask the carrier."),
    ("Which cards do you accept?", "Visa, Mastercard and PayPal [1].", "Cash only."),
    ("Can I pay in instalments?", "Yes, with Klarna in three instalments [1].", "No."),
    ("Do you ship to Canada?", "Yes, in 7 to 10 business days [1].", "Domestic only."),
)


def add_pairs(services: Services) -> list[str]:
    pairs = [
        services.reviews.add_pair(question, Candidate(good, "few-shot"), Candidate(bad, "zero-shot"))
        for question, good, bad in TOPICS
    ]
    return [pair.pair_id for pair in pairs if pair is not None]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_reviewers_judge_each_pair_once_through_the_api(client: TestClient, services: Services) -> None:
    add_pairs(services)
    token = services.reviewer_tokens.issue("ana")
    # no credentials: 401; a guest (a visitor, not a reviewer): 403; a forged token: 401
    assert client.get("/v1/review/next").status_code == 401
    guest = client.post("/v1/guest-sessions").json()["token"]
    assert client.get("/v1/review/next", headers=bearer(guest)).status_code == 403
    assert client.get("/v1/review/next", headers=bearer(token + "x")).status_code == 401

    shown = client.get("/v1/review/next", headers=bearer(token)).json()["pair"]
    assert shown["question"] == TOPICS[0][0]
    assert {shown["answer_a"], shown["answer_b"]} == {TOPICS[0][1], TOPICS[0][2]}
    choice = {"pair_id": shown["pair_id"], "choice": "A", "note": "clearer"}
    recorded = client.post("/v1/review/choices", json=choice, headers=bearer(token))
    assert recorded.status_code == 201 and recorded.json()["choice"] == "A"
    again = client.post("/v1/review/choices", json={**choice, "choice": "B"}, headers=bearer(token))
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.get("/v1/review/next", headers=bearer(token)).json()["pair"]["pair_id"] != shown["pair_id"]
    # another reviewer gets an unjudged pair first, and may still judge this one; bad input is a
    # 422, an unknown pair a 404
    other = bearer(services.reviewer_tokens.issue("ben"))
    assert client.get("/v1/review/next", headers=other).json()["pair"]["question"] == TOPICS[1][0]
    bad = [{**choice, "choice": "C"}, {**choice, "pair_id": "nope"}]
    statuses = [client.post("/v1/review/choices", json=b, headers=other).status_code for b in bad]
    assert statuses == [422, 404]
    tie = client.post("/v1/review/choices", json={**choice, "choice": "tie"}, headers=other)
    assert tie.status_code == 201
    assert [c.verdict.value for _, c in services.review_store.iter_choices()] == [
        "first" if shown["answer_a"] == TOPICS[0][1] else "second",
        "tie",
    ]


def test_the_reviewer_page_is_plain_accessible_html(client: TestClient) -> None:
    page = client.get("/review")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for control in ('data-choice="A"', 'data-choice="B"', 'data-choice="tie"', '<label for="note">'):
        assert control in html
    assert 'role="status"' in html and "/v1/review/next" in html and "/v1/review/choices" in html
    assert "<script src" not in html  # nothing fetched from elsewhere


def test_the_terminal_review_records_choices(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add_pairs(services)
    answers = iter(["a", "", "x", "t", "a pair of equals", ""])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(answers))
    data = ["--data-dir", str(services.settings.data_dir)]
    assert main(["review", "--reviewer", "cleo", *data]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "2 pairs judged" in out and "answer a, b or t" in err
    verdicts = [(c.verdict.value, c.note) for _, c in services.review_store.iter_choices()]
    assert len(verdicts) == 2 and verdicts[1] == ("tie", "a pair of equals")


def test_review_pairs_come_from_two_configurations(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(json.dumps({"question": q}) for q in ("How do returns work?", "Which cards do you accept?"))
    )
    data = ["--data-dir", str(services.settings.data_dir)]
    assert main(["review", "pairs", str(questions), "--b", "max_answer_sentences=1", *data]) == EXIT_OK
    assert main(["review", "pairs", str(questions), *data]) == 2  # the same configuration twice
    assert "pairs to review from 2 questions (current vs max_answer_sentences=1)" in capsys.readouterr().out
    assert services.sqlite.stats()["messages"] == 0  # generating pairs is not conversation history


def test_exported_review_pairs_train_the_reward_model_unchanged(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two reviewers' choices on four pairs (a tie among them)
    pair_ids = add_pairs(services)
    for name in ("ana", "ben"):
        reviewer = f"local:{name}"
        for _ in pair_ids:
            shown = services.reviews.next_pair(reviewer)
            assert shown is not None and shown.pair_id in pair_ids
            good = next(g for q, g, _ in TOPICS if q == shown.question)
            if (name, shown.pair_id) == ("ben", pair_ids[0]):
                choice = Choice.TIE
            else:
                choice = Choice.A if shown.answer_a == good else Choice.B
            services.reviews.record(reviewer, shown.pair_id, choice)
    # WHEN they are exported, built into the data sets and trained on
    data = ["--data-dir", str(services.settings.data_dir)]
    exports = tmp_path / "exports"
    assert main(["export", "--output-dir", str(exports), *data]) == EXIT_OK
    rows = [json.loads(line) for line in (exports / REVIEW_PAIRS_FILE).read_text().splitlines()]
    assert len(rows) == 7 and all(r["chosen"][0]["content"] in {g for _, g, _ in TOPICS} for r in rows)
    assert (exports / REVIEW_PAIRS_FILE).stat().st_mode & 0o777 == 0o600
    built = tmp_path / "data"
    train = ["--export_path", str(exports), "--output_dir", str(built), "--eval_fraction", "0.25"]
    assert main(["train", "data", *train]) == EXIT_OK
    card = json.loads((built / "dataset_card.json").read_text())
    assert card["review_pairs"] == 7 and card["preference"]["train"] and card["preference"]["eval"]
    reward = tmp_path / "reward"
    tiny = ["--tiny", "--data_dir", str(built / "preference"), "--output_dir", str(reward)]
    assert main(["train", "reward", *tiny]) == EXIT_OK
    # THEN the reward job read them as they are
    metrics = json.loads((reward / "metrics.json").read_text())
    preference = card["preference"]
    assert (metrics["train_pairs"], metrics["eval_pairs"]) == (preference["train"], preference["eval"])
