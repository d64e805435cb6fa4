"""The Reranker port: a model that reads the question and each passage together and scores how
well the passage answers it. It is a stronger relevance judge than the bi-encoder's cosine, so
with a reranker the retriever orders the hits by its scores and the confidence gate compares them.

Adapter: Amazon Bedrock Rerank (`bedrock-agent-runtime` `Rerank`, for example
`arn:aws:bedrock:<region>::foundation-model/amazon.rerank-v1:0` or `cohere.rerank-v3-5:0`), on
boto3 for the reason given in `functions.rag.chat_models.aws`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from functions import aws


class Reranker(Protocol):
    def rerank(self, query: str, texts: Sequence[str]) -> list[float]:
        """A relevance score in [0, 1] for each text, in the order given."""
        ...


class BedrockReranker:
    def __init__(self, model_arn: str, client: Any | None = None, read_timeout: float = 10.0) -> None:
        self.model_arn = model_arn
        self._client = client
        self.read_timeout = read_timeout

    def rerank(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        client = self._client or aws.client("bedrock-agent-runtime", read_timeout=self.read_timeout)
        try:
            response = client.rerank(
                queries=[{"type": "TEXT", "textQuery": {"text": query}}],
                sources=[
                    {
                        "type": "INLINE",
                        "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}},
                    }
                    for text in texts
                ],
                rerankingConfiguration={
                    "type": "BEDROCK_RERANKING_MODEL",
                    "bedrockRerankingConfiguration": {
                        "numberOfResults": len(texts),
                        "modelConfiguration": {"modelArn": self.model_arn},
                    },
                },
            )
        except Exception as error:
            raise aws.translate(error, "the Bedrock reranker") from error
        scores = [0.0] * len(texts)
        for result in response.get("results", []):
            scores[int(result["index"])] = float(result["relevanceScore"])
        return scores
