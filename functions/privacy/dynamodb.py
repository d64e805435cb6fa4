"""A user's items in the DynamoDB tables: their conversations (every turn), the feedback on those
turns and the idempotency records of that feedback.

The conversation table's keys-only `by_user` index finds the user's turns; whole conversations
are then deleted, because a conversation belongs to the user who started it. Feedback is keyed by
message id. Powertools keys an idempotency record by a hash of the submission, so the records
(which live an hour) are found by the message id in the receipt they keep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from functions import aws
from functions.contract import DynamoDBLayout as Layout
from functions.feedback.dynamodb_store import table as _table


def _pages(call: Any, **arguments: Any) -> Iterator[dict[str, Any]]:
    while True:
        page: dict[str, Any] = call(**arguments)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoDBUserData:
    def __init__(
        self,
        conversations_table: str,
        feedback_table: str,
        idempotency_table: str | None,
        resource: Any | None = None,
    ) -> None:
        self._conversations = _table(conversations_table, resource)
        self._feedback = _table(feedback_table, resource)
        self._idempotency = _table(idempotency_table, resource) if idempotency_table else None

    def erase_user(self, pseudonym: str) -> dict[str, int]:
        try:
            turns = list(self._turns_of(pseudonym))
            message_ids = {turn[Layout.MESSAGE_KEY] for turn in turns}
            with self._conversations.batch_writer() as batch:
                for turn in turns:
                    batch.delete_item(
                        Key={
                            Layout.CONVERSATION_KEY: turn[Layout.CONVERSATION_KEY],
                            Layout.TURN_KEY: turn[Layout.TURN_KEY],
                        }
                    )
            feedback = self._delete_feedback(message_ids)
            idempotency = self._delete_idempotency_records(message_ids)
        except Exception as error:
            raise aws.translate(error, "the conversation and feedback tables") from error
        conversations = {turn[Layout.CONVERSATION_KEY] for turn in turns}
        return {
            "conversations": len(conversations),
            "messages": len(turns),
            "feedback": feedback,
            "idempotency_records": idempotency,
        }

    def _turns_of(self, pseudonym: str) -> Iterator[dict[str, Any]]:
        """Every turn of every conversation the user started (a later turn's item may lack the user)."""
        started = {
            item[Layout.CONVERSATION_KEY]
            for item in _pages(
                self._conversations.query,
                IndexName=Layout.USER_INDEX,
                KeyConditionExpression="#u = :u",
                ExpressionAttributeNames={"#u": Layout.USER_KEY},
                ExpressionAttributeValues={":u": pseudonym},
            )
        }
        for conversation_id in sorted(started):
            yield from _pages(
                self._conversations.query,
                KeyConditionExpression="#c = :c",
                ProjectionExpression="#c, #t, #m",
                ExpressionAttributeNames={
                    "#c": Layout.CONVERSATION_KEY,
                    "#t": Layout.TURN_KEY,
                    "#m": Layout.MESSAGE_KEY,
                },
                ExpressionAttributeValues={":c": conversation_id},
                ConsistentRead=True,
            )

    def _delete_feedback(self, message_ids: set[str]) -> int:
        deleted = 0
        for message_id in sorted(message_ids):
            response = self._feedback.delete_item(
                Key={Layout.MESSAGE_KEY: message_id}, ReturnValues="ALL_OLD"
            )
            deleted += "Attributes" in response
        return deleted

    def _delete_idempotency_records(self, message_ids: set[str]) -> int:
        if self._idempotency is None or not message_ids:
            return 0
        deleted = 0
        records = _pages(
            self._idempotency.scan,
            ProjectionExpression="#k, #d",
            ExpressionAttributeNames={"#k": Layout.IDEMPOTENCY_KEY, "#d": "data"},
        )
        for record in records:
            receipt = json.loads(record.get("data") or "{}")
            if isinstance(receipt, dict) and receipt.get("message_id") in message_ids:
                self._idempotency.delete_item(Key={Layout.IDEMPOTENCY_KEY: record[Layout.IDEMPOTENCY_KEY]})
                deleted += 1
        return deleted
