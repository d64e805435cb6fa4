"""Fakes shared by the tests: deterministic, fast stand-ins for the model-backed ports."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from functions.text import content_terms


class HashingEmbedder:
    """Bag of stemmed content words hashed into a normalised vector: texts sharing words are
    similar, texts sharing none are orthogonal. Good enough to test ranking logic without a model."""

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return (
            np.stack([self._vector(text) for text in texts])
            if texts
            else np.zeros((0, self._dimension), np.float32)
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for term in content_terms(text):
            bucket = int(hashlib.md5(term.encode(), usedforsecurity=False).hexdigest(), 16) % self._dimension
            vector[bucket] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector


class FailingEmbedder(HashingEmbedder):
    """Fails on the n-th batch, to test that a half-done ingest leaves the index as it was."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls + 1 == self.fail_on_call:
            self.calls += 1
            raise RuntimeError("embedding service went away")
        return super().embed_documents(texts)


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "genai-stack-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:genai-stack-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_gateway_event(template: dict[str, Any], method: str, path: str, body: str | None) -> dict[str, Any]:
    """A copy of an API Gateway HTTP API (v2) event for one request."""
    event = {**template, "body": body, "rawPath": path, "routeKey": f"{method} {path}"}
    http = {**template["requestContext"]["http"], "method": method, "path": path}
    event["requestContext"] = {**template["requestContext"], "http": http, "routeKey": event["routeKey"]}
    return event
