"""Counters in a DynamoDB table: `ADD` is atomic, so concurrent Lambda instances count together."""

from __future__ import annotations

from typing import Any

from functions import aws
from functions.contract import DynamoDBLayout


class DynamoDBCounterStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb", read_timeout=2.0)

    def increment(self, key: str, *, expires_at: int, amount: int = 1) -> int:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={DynamoDBLayout.QUOTA_KEY: {"S": key}},
                UpdateExpression="ADD #count :amount SET #expires = if_not_exists(#expires, :expires)",
                ExpressionAttributeNames={
                    "#count": DynamoDBLayout.QUOTA_COUNT,
                    "#expires": DynamoDBLayout.TTL_ATTRIBUTE,
                },
                ExpressionAttributeValues={
                    ":amount": {"N": str(amount)},
                    ":expires": {"N": str(expires_at)},
                },
                ReturnValues="ALL_NEW",  # UPDATED_NEW may leave out a counter an ADD of 0 left as it was
            )
        except Exception as error:
            raise aws.translate(error, "the request-limit table") from error
        return int(response["Attributes"][DynamoDBLayout.QUOTA_COUNT]["N"])
