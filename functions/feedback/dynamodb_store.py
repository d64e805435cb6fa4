"""The AWS conversation and feedback stores (DynamoDB), and escalation through SNS.

Table layout (created by `infra/data.py` from the names in `functions.contract`):
    conversations  PK conversation_id (S), SK turn (N), GSI by_message_id (PK message_id),
                   GSI by_user (PK user_id, the starter's pseudonym; keys only), TTL expires_at
    feedback       PK message_id (S), TTL expires_at
A message is written only if its (conversation, turn) is new, so two racing requests in one
conversation cannot overwrite each other: the loser gets a 409 and can retry. Items expire after
the configured retention.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from functions import aws
from functions.contract import DynamoDBLayout, Intent
from functions.feedback.pseudonyms import Pseudonymiser
from functions.feedback.records import EscalationTicket, FeedbackRecord, MessageRecord, Rating, belongs_to

_DAY = 86_400
#: How long to wait for the message-id index to catch up with a message written a moment ago.
_INDEX_LAG_RETRIES = (0.1, 0.3, 0.6)


def table(name: str, resource: Any | None) -> Any:
    if resource is None:
        import boto3

        resource = boto3.resource("dynamodb")
    return resource.Table(name)


class DynamoDBConversationStore:
    def __init__(
        self,
        table_name: str,
        retention_days: int,
        pseudonymiser: Pseudonymiser,
        resource: Any | None = None,
    ) -> None:
        self._pseudonymise = pseudonymiser
        self._table = table(table_name, resource)
        self._retention = retention_days * _DAY

    def save_message(self, record: MessageRecord) -> None:
        item = {
            DynamoDBLayout.CONVERSATION_KEY: record.conversation_id,
            DynamoDBLayout.TURN_KEY: record.turn,
            DynamoDBLayout.MESSAGE_KEY: record.message_id,
            "question": record.question,
            "answer": record.answer,
            "sources": json.dumps(record.sources, ensure_ascii=False),
            "grounded": record.grounded,
            "fallback": record.fallback,
            "blocked": record.blocked,
            "rephrased": record.rephrased,
            "created_at": record.created_at.isoformat(),
            DynamoDBLayout.TTL_ATTRIBUTE: int(record.created_at.timestamp()) + self._retention,
        }
        if record.prompt_variant is not None:
            item["prompt_variant"] = record.prompt_variant
        if record.user_id is not None:
            item[DynamoDBLayout.USER_KEY] = self._pseudonymise(record.user_id)
        item.update({k: str(v) for k, v in (("intent", record.intent), ("route", record.route)) if v})
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#c) AND attribute_not_exists(#t)",
                ExpressionAttributeNames={
                    "#c": DynamoDBLayout.CONVERSATION_KEY,
                    "#t": DynamoDBLayout.TURN_KEY,
                },
            )
        except Exception as error:
            raise aws.translate(error, "the conversation store") from error

    def get_message(self, message_id: str, *, user_id: str | None) -> MessageRecord | None:
        """By message id, through the index; retried briefly because the index lags the table.
        None for another user's message, as for a missing one."""
        for delay in (*_INDEX_LAG_RETRIES, None):
            try:
                response = self._table.query(
                    IndexName=DynamoDBLayout.MESSAGE_ID_INDEX,
                    KeyConditionExpression="#m = :m",
                    ExpressionAttributeNames={"#m": DynamoDBLayout.MESSAGE_KEY},
                    ExpressionAttributeValues={":m": message_id},
                    Limit=1,
                )
            except Exception as error:
                raise aws.translate(error, "the conversation store") from error
            if response.get("Items"):
                found = _message(response["Items"][0])
                return found if belongs_to(found, self._pseudonymise(user_id)) else None
            if delay is not None:
                time.sleep(delay)
        return None

    def last_message(self, conversation_id: str, *, user_id: str | None) -> MessageRecord | None:
        recent = self.recent_messages(conversation_id, 1, user_id=user_id)
        return recent[-1] if recent else None

    def recent_messages(
        self, conversation_id: str, limit: int, *, user_id: str | None
    ) -> list[MessageRecord]:
        try:
            response = self._table.query(
                KeyConditionExpression="#c = :c",
                ExpressionAttributeNames={"#c": DynamoDBLayout.CONVERSATION_KEY},
                ExpressionAttributeValues={":c": conversation_id},
                ScanIndexForward=False,
                Limit=limit,
                ConsistentRead=True,
            )
        except Exception as error:
            raise aws.translate(error, "the conversation store") from error
        owner = self._pseudonymise(user_id)
        messages = [_message(item) for item in reversed(response.get("Items", []))]
        return [message for message in messages if message is not None and belongs_to(message, owner)]

    def mark_rephrased(self, message: MessageRecord) -> None:
        try:
            self._table.update_item(
                Key={
                    DynamoDBLayout.CONVERSATION_KEY: message.conversation_id,
                    DynamoDBLayout.TURN_KEY: message.turn,
                },
                UpdateExpression="SET rephrased = :t",
                ExpressionAttributeValues={":t": True},
            )
        except Exception as error:
            raise aws.translate(error, "the conversation store") from error

    def iter_messages(self) -> Iterator[MessageRecord]:
        arguments: dict[str, Any] = {}
        while True:
            try:
                page = self._table.scan(**arguments)
            except Exception as error:
                raise aws.translate(error, "the conversation store") from error
            for item in page.get("Items", []):
                yield _message(item)
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoDBFeedbackStore:
    def __init__(self, table_name: str, retention_days: int, resource: Any | None = None) -> None:
        self._table = table(table_name, resource)
        self._retention = retention_days * _DAY

    def save_feedback(self, record: FeedbackRecord) -> None:
        item: dict[str, Any] = {
            DynamoDBLayout.MESSAGE_KEY: record.message_id,
            "rating": record.rating.value,
            "escalate": record.escalate,
            "created_at": record.created_at.isoformat(),
            DynamoDBLayout.TTL_ATTRIBUTE: int(record.created_at.timestamp()) + self._retention,
        }
        item.update(
            {k: v for k, v in (("reason", record.reason), ("comment", record.comment)) if v is not None}
        )
        try:
            self._table.put_item(Item=item)  # a later verdict on the same message replaces the earlier one
        except Exception as error:
            raise aws.translate(error, "the feedback store") from error

    def get_feedback(self, message_id: str) -> FeedbackRecord | None:
        try:
            item = self._table.get_item(
                Key={DynamoDBLayout.MESSAGE_KEY: message_id}, ConsistentRead=True
            ).get("Item")
        except Exception as error:
            raise aws.translate(error, "the feedback store") from error
        if item is None:
            return None
        return FeedbackRecord(
            message_id=item[DynamoDBLayout.MESSAGE_KEY],
            rating=Rating(item["rating"]),
            reason=item.get("reason"),
            comment=item.get("comment"),
            escalate=bool(item.get("escalate", False)),
            created_at=datetime.fromisoformat(item["created_at"]),
        )


class SnsEscalation:
    """Publishes each ticket to the escalation topic, which the support team subscribes to."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    def escalate(self, ticket: EscalationTicket) -> None:
        message = {
            "ticket_id": ticket.ticket_id,
            "message_id": ticket.message_id,
            "conversation_id": ticket.conversation_id,
            "user_id": ticket.user_id,
            "reason": ticket.reason,
            "comment": ticket.comment,
            "created_at": ticket.created_at.isoformat(),
        }
        client = self._client or aws.client("sns")
        try:
            client.publish(
                TopicArn=self.topic_arn,
                Subject="genai-stack: a customer asked for a human",
                Message=json.dumps(message),
                MessageAttributes={"ticket_id": {"DataType": "String", "StringValue": ticket.ticket_id}},
            )
        except Exception as error:
            raise aws.translate(error, "the escalation topic") from error


def _message(item: dict[str, Any]) -> MessageRecord:
    return MessageRecord(
        message_id=item[DynamoDBLayout.MESSAGE_KEY],
        conversation_id=item[DynamoDBLayout.CONVERSATION_KEY],
        user_id=item.get(DynamoDBLayout.USER_KEY),
        turn=int(item[DynamoDBLayout.TURN_KEY]),
        question=item["question"],
        answer=item["answer"],
        sources=json.loads(item["sources"]),
        grounded=bool(item["grounded"]),
        fallback=bool(item["fallback"]),
        blocked=bool(item["blocked"]),
        rephrased=bool(item.get("rephrased", False)),
        created_at=datetime.fromisoformat(item["created_at"]),
        intent=Intent(item["intent"]) if item.get("intent") else None,
        route=item.get("route"),
        prompt_variant=item.get("prompt_variant"),
    )
