"""The intent classifier: multinomial logistic regression over the question's embedding.

Trained by `training_jobs.intents.train` on the examples the project wrote; the artefact is a small
JSON file of coefficients. Scoring is ten dot products in plain Python, so the Lambda bundle needs
no numpy, and the vector is the one retrieval already asked the (memoizing) embedder for: tagging
costs no model call. The coefficients only fit the embedder they were trained on, so the artefact
names it (`embedder_identity`) and a mismatch is refused at load, never silently misread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.contract import EMBEDDING_DIMENSION, EmbedderKind, Intent
from functions.rag.embeddings.ports import Vector
from functions.settings import Settings

#: The artefact trained on the local MiniLM embedder, shipped in the package.
PACKAGED_MODEL = Path(__file__).with_name("minilm_logistic.json")


class IntentModelMismatchError(ValueError):
    """The artefact was trained on another embedder's vectors than the one configured."""


def embedder_identity(settings: Settings) -> str:
    """Which vectors an artefact's coefficients read: the embedder kind, model and dimension."""
    if settings.embedder is EmbedderKind.BEDROCK:
        return f"bedrock:{settings.embedding_model_id}:{settings.embedding_dimension}"
    if settings.embedder is EmbedderKind.SAGEMAKER:
        return f"sagemaker:{settings.embedding_endpoint_name}:{settings.embedding_dimension}"
    return f"local:all-MiniLM-L6-v2:{EMBEDDING_DIMENSION}"


@dataclass(frozen=True)
class Prediction:
    intent: Intent
    probability: float


@dataclass(frozen=True)
class IntentModel:
    """Softmax over `weights @ vector + bias`, one row per label."""

    labels: tuple[Intent, ...]
    weights: tuple[tuple[float, ...], ...]
    bias: tuple[float, ...]
    embedder: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def predict(self, vector: Vector) -> Prediction:
        values = [float(value) for value in vector]
        logits = [
            sum(w * v for w, v in zip(row, values, strict=True)) + b
            for row, b in zip(self.weights, self.bias, strict=True)
        ]
        top = max(logits)
        exps = [math.exp(logit - top) for logit in logits]
        best = max(range(len(logits)), key=logits.__getitem__)
        return Prediction(self.labels[best], exps[best] / sum(exps))

    def to_json(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "labels": [label.value for label in self.labels],
            "weights": [list(row) for row in self.weights],
            "bias": list(self.bias),
            "metadata": self.metadata,
        }


def build_model(
    labels: Sequence[str],
    weights: Sequence[Sequence[float]],
    bias: Sequence[float],
    *,
    embedder: str,
    metadata: dict[str, Any],
    decimals: int = 6,
) -> IntentModel:
    """A model from fitted coefficients, rounded so that the artefact stays small and readable."""
    return IntentModel(
        labels=tuple(Intent(label) for label in labels),
        weights=tuple(tuple(round(float(w), decimals) for w in row) for row in weights),
        bias=tuple(round(float(b), decimals) for b in bias),
        embedder=embedder,
        metadata=metadata,
    )


def save_model(path: Path, model: IntentModel) -> None:
    path.write_text(json.dumps(model.to_json(), indent=None, sort_keys=True) + "\n", encoding="utf-8")


def load_model(path: Path = PACKAGED_MODEL, *, embedder: str | None = None) -> IntentModel:
    """The artefact at `path`; with `embedder`, refused unless it was trained on that embedder."""
    data = json.loads(path.read_text(encoding="utf-8"))
    model = build_model(
        data["labels"], data["weights"], data["bias"], embedder=data["embedder"], metadata=data["metadata"]
    )
    if embedder is not None and model.embedder != embedder:
        raise IntentModelMismatchError(
            f"the intent model {path} was trained on {model.embedder} vectors, but the embedder is "
            f"{embedder}: retrain it with `python -m training_jobs.intents.train --output FILE` "
            "under the same GENAI_STACK_EMBEDDER settings, or set GENAI_STACK_INTENT_TAGGING=false"
        )
    return model
