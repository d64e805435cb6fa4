"""Few-shot examples chosen per question: the curated examples (`prompt_templates/examples.toml`)
in LangChain's `SemanticSimilarityExampleSelector`, over the project's embedder.

The selector keeps its vectors in langchain_core's `InMemoryVectorStore`, whose search needs
numpy; numpy stays out of the Lambda bundle (66 MB for arm64), so the store's one search method
is replaced by a plain-Python cosine over the few vectors it holds.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from functools import cache
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.example_selectors import SemanticSimilarityExampleSelector
from langchain_core.vectorstores import InMemoryVectorStore

from functions.rag.embeddings.ports import Embedder, cosine
from functions.rag.prompts import TEMPLATES_DIR, render_sources

#: The fields the reply of an example holds, in the order the system prompt asks for them.
REPLY_FIELDS = ("answerable", "answer", "citations", "confidence")


class EmbedderEmbeddings(Embeddings):
    """Our Embedder port as LangChain `Embeddings` (lists of floats, as LangChain expects)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in vector] for vector in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_query(text)]


class ListVectorStore(InMemoryVectorStore):
    """`InMemoryVectorStore` searched without numpy (see the module docstring); ties keep the
    order the texts were added in, so the same question always gets the same examples."""

    def _similarity_search_with_score_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Callable[[Document], bool] | None = None,  # the overridden method's signature
    ) -> list[tuple[Document, float, list[float]]]:
        found = []
        for stored in self.store.values():
            document = Document(id=stored["id"], page_content=stored["text"], metadata=stored["metadata"])
            if filter is None or filter(document):
                found.append((document, cosine(embedding, stored["vector"]), stored["vector"]))
        return sorted(found, key=lambda item: item[1], reverse=True)[:k]


@cache
def curated_examples() -> tuple[dict[str, Any], ...]:
    """The curated examples as written: question, sources [{title, text}] and the reply."""
    data = tomllib.loads((TEMPLATES_DIR / "examples.toml").read_text(encoding="utf-8"))
    return tuple(data["example"])


def example_selector(embedder: Embedder, k: int) -> SemanticSimilarityExampleSelector:
    """A selector of the `k` curated examples whose questions are most like the customer's; each
    example carries `question`, `sources` (rendered as in the prompt) and `reply` (the JSON)."""
    examples = [
        {
            "question": example["question"],
            "sources": render_sources([(source["title"], source["text"]) for source in example["sources"]]),
            "reply": json.dumps({name: example["reply"][name] for name in REPLY_FIELDS}, ensure_ascii=False),
        }
        for example in curated_examples()
    ]
    return SemanticSimilarityExampleSelector.from_examples(
        examples, EmbedderEmbeddings(embedder), ListVectorStore, k=k, input_keys=["question"]
    )
