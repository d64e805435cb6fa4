"""boto3 clients shared by the AWS adapters, and the translation of their failures.

Clients are created on first use and reused for the life of the execution environment, with
explicit timeouts and botocore's adaptive retries (backoff with jitter, client-side rate limiting
on throttles). A failure that survives the retries becomes a `DependencyUnavailableError`,
which the API maps to 503: the caller can retry, and nothing internal leaks into the response.
"""

from __future__ import annotations

import threading
from typing import Any

from functions.errors import DependencyUnavailableError, record_changed

_clients: dict[tuple[str, float], Any] = {}
_lock = threading.Lock()

#: Error codes that mean "the service is busy or broken, try again later".
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalServerException",
        "InternalServerError",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "ModelError",
        "TransactionConflictException",
    }
)


def client(service: str, read_timeout: float = 10.0) -> Any:
    """The process-wide boto3 client for `service`."""
    key = (service, read_timeout)
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=3,
                read_timeout=read_timeout,
                retries={"mode": "adaptive", "max_attempts": 4},
            )
            _clients[key] = boto3.client(service, config=config)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto and stubs)."""
    with _lock:
        _clients.clear()


def translate(error: Exception, what: str) -> Exception:
    """The domain error for a failed AWS call; `what` names the dependency for the message."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "ConditionalCheckFailedException":
            return record_changed(what)
        if code in RETRYABLE_CODES or status >= 500 or status == 429:
            return DependencyUnavailableError(f"{what} is unavailable right now ({code}); please retry")
        return DependencyUnavailableError(f"{what} rejected the request ({code})")
    if isinstance(error, BotoCoreError):  # timeouts, connection errors
        return DependencyUnavailableError(f"{what} did not answer in time; please retry")
    return error
