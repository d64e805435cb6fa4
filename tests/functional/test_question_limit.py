"""The query Lambda refuses a signed-in user's questions over the per-user limit, counted in
DynamoDB (moto) as the stack configures it: a 429 with Retry-After, before any other work."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions import aws
from functions.contract import DynamoDBLayout, EnvVar
from functions.settings import get_settings
from tests.fakes import FakeLambdaContext, api_gateway_event

EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2_post.json").read_text())
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handler]:
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            EnvVar.DATA_DIR: str(tmp_path_factory.mktemp("empty-data")),
            EnvVar.QUOTA_TABLE: "quotas",
            "GENAI_STACK_QUESTIONS_PER_WINDOW": "2",
            "GENAI_STACK_QUESTION_WINDOW_SECONDS": "3600",
        }.items():
            env.setenv(name, value)
        boto3.client("dynamodb").create_table(
            TableName="quotas",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": DynamoDBLayout.QUOTA_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": DynamoDBLayout.QUOTA_KEY, "AttributeType": "S"}],
        )
        aws.reset_clients()
        get_settings.cache_clear()
        yield importlib.reload(importlib.import_module("functions.handlers.query")).handler
        aws.reset_clients()
    get_settings.cache_clear()


def ask(query: Handler, body: dict[str, Any], subject: str | None) -> dict[str, Any]:
    event = api_gateway_event(EVENT, "POST", "/v1/query", json.dumps(body))
    if subject is not None:  # what API Gateway passes on once its JWT authorizer accepted the token
        authorizer = {"jwt": {"claims": {"sub": subject}, "scopes": None}}
        event["requestContext"] = {**event["requestContext"], "authorizer": authorizer}
    return query(event, FakeLambdaContext())


def test_a_signed_in_user_over_the_limit_gets_a_429_with_retry_after(query: Handler) -> None:
    # GIVEN a limit of 2 questions an hour; requests count whatever their outcome (here a 422)
    assert [ask(query, {"question": ""}, "sub-1")["statusCode"] for _ in range(2)] == [422, 422]
    # WHEN the user asks a third question, a valid one
    refused = ask(query, {"question": "How do I return a jacket?"}, "sub-1")
    # THEN it is refused before anything else runs (the empty knowledge base would be a 409)
    assert refused["statusCode"] == 429
    assert json.loads(refused["body"])["error"]["code"] == "rate_limited"
    assert 0 < int(refused["headers"]["retry-after"]) <= 3600
    # and other users, and callers no authorizer vouched for, are not counted against sub-1
    assert ask(query, {"question": ""}, "sub-2")["statusCode"] == 422
    assert ask(query, {"question": ""}, None)["statusCode"] == 422
    counts = {
        item[DynamoDBLayout.QUOTA_KEY]["S"].split("#")[0]: item[DynamoDBLayout.QUOTA_COUNT]["N"]
        for item in boto3.client("dynamodb").scan(TableName="quotas")["Items"]
    }
    assert counts == {"user:sub-1": "3", "user:sub-2": "1"}
