"""The conversation and feedback tables as `infra/data.py` defines them, for tests under moto."""

from __future__ import annotations

from typing import Any

from functions.contract import DynamoDBLayout as Key


def create_store_tables(resource: Any) -> None:
    """Create `conversations` and `feedback` with a boto3 DynamoDB resource."""
    resource.create_table(
        TableName="conversations",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": Key.CONVERSATION_KEY, "KeyType": "HASH"},
            {"AttributeName": Key.TURN_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": Key.CONVERSATION_KEY, "AttributeType": "S"},
            {"AttributeName": Key.TURN_KEY, "AttributeType": "N"},
            {"AttributeName": Key.MESSAGE_KEY, "AttributeType": "S"},
            {"AttributeName": Key.USER_KEY, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": Key.MESSAGE_ID_INDEX,
                "KeySchema": [{"AttributeName": Key.MESSAGE_KEY, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": Key.USER_INDEX,
                "KeySchema": [{"AttributeName": Key.USER_KEY, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    resource.create_table(
        TableName="feedback",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": Key.MESSAGE_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": Key.MESSAGE_KEY, "AttributeType": "S"}],
    )
