"""Exactly-once feedback in AWS: Powertools idempotency on a DynamoDB table.

A retried request (API Gateway, a client's retry, a double click) returns the first receipt
without a second rating or ticket. Two details Powertools leaves to the caller are handled here:
- a retry that arrives while the first attempt is still running is refused by Powertools with
  `IdempotencyAlreadyInProgressError`; it becomes a ConflictError (409, "retry in a moment")
  instead of a 500;
- Powertools can only expire an attempt that died with its Lambda (a timeout) when it knows the
  invocation's deadline, which `register_lambda_context` gives it; without it, such a submission
  would be refused as "in progress" until the whole record expired an hour later;
- a failure of the idempotency table itself becomes a DependencyUnavailableError (503).
The embedded store gets the same semantics from the same wrapper over a SQLite persistence
layer (`functions.feedback.sqlite_idempotency`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, cast

from functions.errors import ConflictError, DependencyUnavailableError
from functions.feedback.service import FeedbackReceipt, FeedbackSubmission, SubmitFunction

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

#: How long a submission's receipt is replayed for its retries.
RECEIPT_SECONDS = 3600
#: Locally, how long an unfinished attempt holds its submission before a retry may take over.
LOCAL_ATTEMPT_SECONDS = 30


def idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(expires_after_seconds=RECEIPT_SECONDS)


def dynamodb_once(table_name: str, config: IdempotencyConfig) -> Callable[[SubmitFunction], SubmitFunction]:
    """Exactly-once submissions recorded in a DynamoDB table (in AWS)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return powertools_once(DynamoDBPersistenceLayer(table_name=table_name), config)


def sqlite_once(
    path: Path, config: IdempotencyConfig, busy_timeout: float = 1.0
) -> Callable[[SubmitFunction], SubmitFunction]:
    """Exactly-once submissions recorded in the embedded SQLite file (on a laptop).

    There is no Lambda deadline here; the local one says that an attempt still unfinished after
    `LOCAL_ATTEMPT_SECONDS` died with its process, so its retry goes through then instead of an hour later.
    """
    from functions.feedback.sqlite_idempotency import SQLitePersistenceLayer

    config.register_lambda_context(cast("LambdaContext", _LocalDeadline()))
    return powertools_once(SQLitePersistenceLayer(path, busy_timeout), config)


class _LocalDeadline:
    """The one part of a Lambda context Powertools idempotency reads."""

    def get_remaining_time_in_millis(self) -> int:
        return LOCAL_ATTEMPT_SECONDS * 1000


def powertools_once(
    persistence: BasePersistenceLayer, config: IdempotencyConfig
) -> Callable[[SubmitFunction], SubmitFunction]:
    """Wraps a submit function so that one submission takes effect once (see the module docstring)."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import DataclassSerializer

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
            except IdempotencyPersistenceLayerError as error:
                raise DependencyUnavailableError(
                    "the feedback idempotency store is unavailable; please retry"
                ) from error
            return receipt

        return submit_once

    return once
