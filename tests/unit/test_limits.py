"""The per-client limiter over both counter stores: the in-process one and DynamoDB under moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.contract import DynamoDBLayout
from functions.errors import DependencyUnavailableError, RateLimitedError
from functions.limits.dynamodb import DynamoDBCounterStore
from functions.limits.embedded import InMemoryCounterStore
from functions.limits.quota import CounterStore, FixedWindowLimiter

REGION = "eu-west-1"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="quotas",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": DynamoDBLayout.QUOTA_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": DynamoDBLayout.QUOTA_KEY, "AttributeType": "S"}],
        )
        yield client


@pytest.fixture(params=["in-memory", "dynamodb"])
def make_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "in-memory":
        yield InMemoryCounterStore
    else:
        client = request.getfixturevalue("dynamodb")
        yield lambda clock: DynamoDBCounterStore("quotas", client)


def test_a_client_over_the_limit_is_refused_until_the_window_ends(make_store: Any) -> None:
    # GIVEN a limit of 3 requests a minute, 20 s into a window
    clock = Clock(1_800_000_020.0)
    limiter = FixedWindowLimiter(make_store(clock), limit=3, window_seconds=60, clock=clock)
    for _ in range(3):
        limiter.check("user:a")
    # WHEN the client sends a fourth
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("user:a")
    # THEN it is told how long to wait (the rest of the window), and others are not affected
    assert refused.value.retry_after_seconds == 40
    assert "at most 3 every 60 s" in refused.value.message
    limiter.check("user:b")
    clock.now += 40  # the next window
    limiter.check("user:a")


def test_dynamodb_counts_in_one_item_per_client_and_window_that_expires(dynamodb: Any) -> None:
    store: CounterStore = DynamoDBCounterStore("quotas", dynamodb)
    assert [store.increment("user:a#1800000000", expires_at=1_800_000_060) for _ in range(3)] == [1, 2, 3]
    items = dynamodb.scan(TableName="quotas")["Items"]
    assert items == [
        {
            DynamoDBLayout.QUOTA_KEY: {"S": "user:a#1800000000"},
            DynamoDBLayout.QUOTA_COUNT: {"N": "3"},
            DynamoDBLayout.TTL_ATTRIBUTE: {"N": "1800000060"},
        }
    ]


def test_a_missing_table_is_a_dependency_failure(dynamodb: Any) -> None:
    with pytest.raises(DependencyUnavailableError, match="request-limit table"):
        DynamoDBCounterStore("no-such-table", dynamodb).increment("user:a#0", expires_at=60)


def test_the_in_memory_store_forgets_finished_windows() -> None:
    clock = Clock(100.0)
    store = InMemoryCounterStore(clock)
    store.increment("user:a#60", expires_at=120)
    clock.now = 130.0
    assert store.increment("user:b#120", expires_at=180) == 1
    assert list(store._counters) == ["user:b#120"]


def test_both_stores_add_an_amount_and_read_with_zero(make_store: Any) -> None:
    # GIVEN a counter of model tokens (the guest sessions' budget)
    store = make_store(Clock(1_800_000_000.0))
    # WHEN answers add their tokens, and a check adds nothing
    assert store.increment("guest-tokens:s", expires_at=1_800_000_600, amount=120) == 120
    assert store.increment("guest-tokens:s", expires_at=1_800_000_600, amount=35) == 155
    # THEN an amount of zero reads the count without changing it, and one is the default
    assert store.increment("guest-tokens:s", expires_at=1_800_000_600, amount=0) == 155
    assert store.increment("guest-tokens:s", expires_at=1_800_000_600) == 156
