"""Exactly-once feedback in AWS: Powertools idempotency on a DynamoDB table.

A retried request (API Gateway, a client's retry, a double click) returns the first receipt
without a second rating or ticket. Two details Powertools leaves to the caller are handled here:
- a retry that arrives while the first attempt is still running is refused by Powertools with
  `IdempotencyAlreadyInProgressError`; it becomes a ConflictError (409, "retry in a moment")
  instead of a 500;
- Powertools can only expire an attempt that died with its Lambda (a timeout) when it knows the
  invocation's deadline, which `register_lambda_context` gives it; without it, such a submission
  would be refused as "in progress" until the whole record expired an hour later.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from functions.errors import ConflictError
from functions.feedback.service import FeedbackReceipt, FeedbackSubmission, SubmitFunction

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

#: How long a submission's receipt is replayed for its retries.
RECEIPT_SECONDS = 3600


def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(expires_after_seconds=RECEIPT_SECONDS)


def dynamodb_once(table_name: str, config: IdempotencyConfig) -> Callable[[SubmitFunction], SubmitFunction]:
    """Wraps a submit function so that one submission takes effect once (see the module docstring)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
    from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import DataclassSerializer

    persistence = DynamoDBPersistenceLayer(table_name=table_name)

    def once(submit: SubmitFunction) -> SubmitFunction:
        idempotent = idempotent_function(
            submit,
            data_keyword_argument="submission",
            persistence_store=persistence,
            config=config,
            output_serializer=DataclassSerializer(FeedbackReceipt),
        )

        @wraps(submit)
        def submit_once(*, submission: FeedbackSubmission) -> FeedbackReceipt:
            try:
                receipt: FeedbackReceipt = idempotent(submission=submission)
            except IdempotencyAlreadyInProgressError as error:
                raise ConflictError(
                    "the same feedback is being recorded by another request; retry in a moment"
                ) from error
            return receipt

        return submit_once

    return once
