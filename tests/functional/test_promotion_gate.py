"""The promotion gate reads the evaluation from S3 (moto) and decides; bad evaluations fail loudly."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.handlers import promotion_gate
from functions.handlers.promotion_gate import EvaluationError, decide

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


def evaluation(**values: object) -> dict[str, object]:
    return {"primary_metric": "reward_mean", "higher_is_better": True, **values}


def run_gate(s3: Any, body: dict[str, object], **event: object) -> dict[str, Any]:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(body).encode())
    return promotion_gate.handler({"evaluation_uri": f"s3://{BUCKET}/{KEY}", **event}, None)


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
        "primary_metric": "eval_loss",
        "higher_is_better": False,
        "eval_loss": 1.2,
        "current_eval_loss": 1.5,
    }

    assert decide(body).promote is True
    assert decide({**body, "eval_loss": 1.6}).promote is False


def test_without_a_current_model_the_candidate_is_promoted() -> None:
    decision = decide(evaluation(reward_mean=0.3))

    assert decision.promote is True and decision.current is None


@pytest.mark.parametrize(
    "body",
    [
        {"higher_is_better": True, "reward_mean": 1.0},
        evaluation(),
        evaluation(reward_mean=math.nan, current_reward_mean=0.5),
        evaluation(reward_mean="0.9", current_reward_mean=0.5),
        evaluation(reward_mean=0.9, current_reward_mean=math.inf),
    ],
)
def test_an_evaluation_missing_a_number_fails_instead_of_promoting(body: dict[str, object]) -> None:
    with pytest.raises(EvaluationError):
        decide(body)


def test_the_uri_must_name_an_object(s3: Any) -> None:
    with pytest.raises(EvaluationError, match="s3://bucket/key"):
        promotion_gate.handler({"evaluation_uri": f"s3://{BUCKET}/"}, None)
