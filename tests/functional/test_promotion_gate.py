"""The promotion gate reads the evaluation from S3 (moto) and decides; bad evaluations fail loudly."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.handlers import promotion_gate
from functions.handlers.promotion_gate import EvaluationError, Thresholds, decide

BUCKET = "models"
KEY = "jobs/genai-1-evaluate/output/model/evaluation.json"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    promotion_gate._s3.cache_clear()
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    promotion_gate._s3.cache_clear()


#: The floors the tests run under (the stack passes the training configuration's).
THRESHOLDS = Thresholds(min_groundedness=0.8, min_handoff_correctness=0.75)
#: Answer figures that pass the floors, the same for both models unless a test says otherwise.
GOOD_ANSWERS = {"key_fact_match": 0.7, "groundedness": 0.9, "handoff_correctness": 0.85}


def answers(prefix: str = "", **figures: float | None) -> dict[str, float | None]:
    return {f"{prefix}answers_{name}": value for name, value in (GOOD_ANSWERS | figures).items()}


def evaluation(**values: object) -> dict[str, object]:
    """A report whose candidate and current model answer equally well, unless `values` say otherwise."""
    return {
        "primary_metric": "reward_mean",
        "higher_is_better": True,
        **answers(),
        **answers("current_"),
        **values,
    }


def run_gate(s3: Any, body: dict[str, object], **event: object) -> dict[str, Any]:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(body).encode())
    thresholds = {"min_groundedness": 0.8, "min_handoff_correctness": 0.75}
    return promotion_gate.handler({"evaluation_uri": f"s3://{BUCKET}/{KEY}", **thresholds, **event}, None)


def test_a_better_candidate_is_promoted(s3: Any) -> None:
    result = run_gate(s3, evaluation(reward_mean=0.8, current_reward_mean=0.5))

    assert result["promote"] is True
    assert (result["candidate"], result["current"], result["metric"]) == (0.8, 0.5, "reward_mean")


def test_a_worse_candidate_is_not_promoted(s3: Any) -> None:
    result = run_gate(s3, evaluation(reward_mean=0.4, current_reward_mean=0.5))

    assert result["promote"] is False
    assert "keep the current model" in result["reason"]


def test_the_required_margin_is_respected(s3: Any) -> None:
    body = evaluation(reward_mean=0.55, current_reward_mean=0.5)

    assert run_gate(s3, body, min_improvement=0.1)["promote"] is False
    assert run_gate(s3, body, min_improvement=0.01)["promote"] is True


def test_lower_is_better_metrics_compare_the_other_way() -> None:
    body = {
        **evaluation(),
        "primary_metric": "eval_loss",
        "higher_is_better": False,
        "eval_loss": 1.2,
        "current_eval_loss": 1.5,
    }

    assert decide(body, THRESHOLDS).promote is True
    assert decide({**body, "eval_loss": 1.6}, THRESHOLDS).promote is False


def test_without_a_current_model_the_candidate_is_promoted() -> None:
    body = {
        key: value for key, value in evaluation(reward_mean=0.3).items() if not key.startswith("current_")
    }
    decision = decide(body, THRESHOLDS)

    assert decision.promote is True and decision.current is None


@pytest.mark.parametrize(
    "body",
    [
        {"higher_is_better": True, "reward_mean": 1.0},
        evaluation(),
        evaluation(reward_mean=math.nan, current_reward_mean=0.5),
        evaluation(reward_mean="0.9", current_reward_mean=0.5),
        evaluation(reward_mean=0.9, current_reward_mean=math.inf),
        evaluation(reward_mean=0.9, current_reward_mean=0.5, answers_key_fact_match=math.nan),
        {k: v for k, v in evaluation(reward_mean=0.9).items() if k != "answers_handoff_correctness"},
    ],
)
def test_an_evaluation_missing_a_number_fails_instead_of_promoting(body: dict[str, object]) -> None:
    with pytest.raises(EvaluationError):
        decide(body, THRESHOLDS)


def test_the_uri_must_name_an_object(s3: Any) -> None:
    with pytest.raises(EvaluationError, match="s3://bucket/key"):
        promotion_gate.handler({"evaluation_uri": f"s3://{BUCKET}/", **asdict(THRESHOLDS)}, None)


def test_the_gate_refuses_a_candidate_whose_answers_are_worse(s3: Any) -> None:
    # GIVEN a candidate the reward model prefers, whose answers carry fewer of the key facts
    body = evaluation(
        reward_mean=0.9, current_reward_mean=0.5, **answers(key_fact_match=0.55), **answers("current_")
    )

    # WHEN the gate decides THEN the serving model stays, and the figures say why
    result = run_gate(s3, body)
    assert result["promote"] is False
    assert result["failed"] == ["answer key_fact_match 0.55 is worse than the current model's 0.7"]
    assert result["answers"]["answers_key_fact_match"] == 0.55
    assert result["answers"]["current_answers_key_fact_match"] == 0.7
    # a tolerance on the answer figures lets that much regression through
    assert run_gate(s3, body, max_answer_regression=0.2)["promote"] is True


@pytest.mark.parametrize(
    ("figures", "failure"),
    [
        ({"groundedness": 0.6}, "answer groundedness 0.6 is below the floor 0.8"),
        ({"groundedness": None}, "answer groundedness n/a is below the floor 0.8"),  # answered nothing
        ({"handoff_correctness": 0.5}, "answer handoff_correctness 0.5 is below the floor 0.75"),
    ],
)
def test_the_floors_hold_even_against_a_worse_current_model(
    s3: Any, figures: dict[str, float | None], failure: str
) -> None:
    # GIVEN a candidate better than the serving model on every figure, and below a floor
    body = evaluation(
        reward_mean=0.9,
        current_reward_mean=0.5,
        **answers(**figures),
        **answers("current_", key_fact_match=0.1, groundedness=0.1, handoff_correctness=0.1),
    )

    result = run_gate(s3, body)

    assert result["promote"] is False and result["failed"][0] == failure


def test_the_thresholds_must_come_with_the_event(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(evaluation(reward_mean=0.9)).encode())
    with pytest.raises(EvaluationError, match="min_groundedness"):
        promotion_gate.handler({"evaluation_uri": f"s3://{BUCKET}/{KEY}"}, None)
