"""Embedders served by AWS: Amazon Titan Text Embeddings v2 on Bedrock, and a SageMaker endpoint.

Titan v2 embeds one text per request, so batches fan out over a small thread pool (boto3
clients are thread-safe). The SageMaker endpoint takes a batch per request in the Hugging Face
Text Embeddings Inference contract: `{"inputs": [...], "normalize": true}` -> `[[float, ...], ...]`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from functions import aws
from functions.errors import DependencyUnavailableError
from functions.settings import TITAN_DIMENSIONS


class BedrockEmbedder:
    def __init__(
        self, model_id: str, dimension: int, client: Any | None = None, max_workers: int = 8
    ) -> None:
        if dimension not in TITAN_DIMENSIONS:
            raise ValueError(f"Titan Text Embeddings v2 gives {TITAN_DIMENSIONS} dimensions, not {dimension}")
        self.model_id = model_id
        self._dimension = dimension
        self._client = client
        self._max_workers = max_workers

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_query(self, text: str) -> list[float]:
        return self._embed_one(text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) <= 1:
            return [self._embed_one(text) for text in texts]
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(texts))) as pool:
            return list(pool.map(self._embed_one, texts))

    def _embed_one(self, text: str) -> list[float]:
        body = json.dumps({"inputText": text, "dimensions": self._dimension, "normalize": True})
        client = self._client or aws.client("bedrock-runtime")
        try:
            response = client.invoke_model(
                modelId=self.model_id, body=body, contentType="application/json", accept="application/json"
            )
        except Exception as error:
            raise aws.translate(error, "the Bedrock embedding model") from error
        payload = json.loads(response["body"].read())
        vector = payload.get("embedding")
        if not isinstance(vector, list) or len(vector) != self._dimension:
            raise DependencyUnavailableError("the Bedrock embedding model returned no usable embedding")
        return [float(x) for x in vector]


class SageMakerEmbedder:
    def __init__(
        self, endpoint_name: str, dimension: int, client: Any | None = None, batch_size: int = 32
    ) -> None:
        self.endpoint_name = endpoint_name
        self._dimension = dimension
        self._client = client
        self._batch_size = batch_size

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(self._embed_batch(list(texts[start : start + self._batch_size])))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        client = self._client or aws.client("sagemaker-runtime")
        try:
            response = client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps({"inputs": texts, "normalize": True, "truncate": True}),
            )
        except Exception as error:
            raise aws.translate(error, "the SageMaker embedding endpoint") from error
        payload = json.loads(response["Body"].read())
        if not isinstance(payload, list) or len(payload) != len(texts):
            raise DependencyUnavailableError("the SageMaker embedding endpoint returned an unexpected body")
        if any(len(vector) != self._dimension for vector in payload):
            raise DependencyUnavailableError(
                f"the SageMaker embedding endpoint did not return {self._dimension}-dimensional vectors"
            )
        return [[float(x) for x in vector] for vector in payload]
