"""The AWS review store (`ReviewStore`): one DynamoDB table, created by `infra/data.py`.

    reviews  PK pair_id (S), SK entry (S): "pair" holds the pair; "choice#<reviewer pseudonym>"
             one reviewer's choice, written only if absent (a second one is a 409)

Choosing the next pair scans the table: a review queue is hundreds or thousands of items, read
by a few people, so a scan per fetch costs less than an index to keep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from functions import aws
from functions.contract import DynamoDBLayout
from functions.errors import ConflictError
from functions.feedback.dynamodb_store import table
from functions.feedback.reviews import Candidate, ReviewChoice, ReviewPair, Verdict

PAIR_ENTRY = "pair"
CHOICE_PREFIX = "choice#"
_WHAT = "the review store"


class DynamoDBReviewStore:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self._table = table(table_name, resource)

    def save_pair(self, pair: ReviewPair) -> None:
        item = {
            DynamoDBLayout.REVIEW_PAIR_KEY: pair.pair_id,
            DynamoDBLayout.REVIEW_ENTRY_KEY: PAIR_ENTRY,
            "question": pair.question,
            "first_answer": pair.first.answer,
            "first_config": pair.first.config,
            "second_answer": pair.second.answer,
            "second_config": pair.second.config,
            "created_at": pair.created_at,
        }
        self._call("put_item", Item=item)

    def get_pair(self, pair_id: str) -> ReviewPair | None:
        key = {DynamoDBLayout.REVIEW_PAIR_KEY: pair_id, DynamoDBLayout.REVIEW_ENTRY_KEY: PAIR_ENTRY}
        item = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        return None if item is None else _pair(item)

    def next_pair(self, reviewer: str) -> ReviewPair | None:
        pairs, choices = self._scan()
        judged = Counter(choice.pair_id for choice in choices)
        mine = {choice.pair_id for choice in choices if choice.reviewer == reviewer}
        waiting = [pair for pair in pairs.values() if pair.pair_id not in mine]
        return min(waiting, key=lambda p: (judged[p.pair_id], p.created_at, p.pair_id), default=None)

    def save_choice(self, choice: ReviewChoice) -> None:
        item: dict[str, Any] = {
            DynamoDBLayout.REVIEW_PAIR_KEY: choice.pair_id,
            DynamoDBLayout.REVIEW_ENTRY_KEY: f"{CHOICE_PREFIX}{choice.reviewer}",
            "reviewer": choice.reviewer,
            "verdict": choice.verdict.value,
            "created_at": choice.created_at,
        }
        if choice.note is not None:
            item["note"] = choice.note
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#e)",
                ExpressionAttributeNames={"#e": DynamoDBLayout.REVIEW_ENTRY_KEY},
            )
        except Exception as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise ConflictError("you have already judged this pair; your first choice stands") from error
            raise aws.translate(error, _WHAT) from error

    def iter_choices(self) -> Iterator[tuple[ReviewPair, ReviewChoice]]:
        pairs, choices = self._scan()
        for choice in sorted(choices, key=lambda c: (c.created_at, c.pair_id, c.reviewer)):
            if choice.pair_id in pairs:
                yield pairs[choice.pair_id], choice

    def _scan(self) -> tuple[dict[str, ReviewPair], list[ReviewChoice]]:
        pairs: dict[str, ReviewPair] = {}
        choices: list[ReviewChoice] = []
        arguments: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = self._call("scan", **arguments)
            for item in page.get("Items", []):
                if item[DynamoDBLayout.REVIEW_ENTRY_KEY] == PAIR_ENTRY:
                    pair = _pair(item)
                    pairs[pair.pair_id] = pair
                else:
                    choices.append(
                        ReviewChoice(
                            item[DynamoDBLayout.REVIEW_PAIR_KEY],
                            item["reviewer"],
                            Verdict(item["verdict"]),
                            item.get("note"),
                            item["created_at"],
                        )
                    )
            if "LastEvaluatedKey" not in page:
                return pairs, choices
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._table, operation)(**arguments)
        except Exception as error:
            raise aws.translate(error, _WHAT) from error
        return response


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _pair(item: dict[str, Any]) -> ReviewPair:
    return ReviewPair(
        pair_id=item[DynamoDBLayout.REVIEW_PAIR_KEY],
        question=item["question"],
        first=Candidate(item["first_answer"], item["first_config"]),
        second=Candidate(item["second_answer"], item["second_config"]),
        created_at=item["created_at"],
    )
