"""Replicating a corpus to reach the latency bench's store sizes."""

from __future__ import annotations

import numpy as np

from bench.latency import replicate
from functions.rag.documents import Chunk


def _corpus(n: int) -> tuple[list[Chunk], np.ndarray]:
    """`n` abstract-sized chunks (100 words: a copy keeping every word is then vanishingly rare)."""
    words = " ".join(f"word{j}" for j in range(99))
    chunks = [Chunk(chunk_id=str(i), text=f"doc{i} {words}.", source=str(i), title=f"T{i}") for i in range(n)]
    vectors = np.random.default_rng(1).normal(size=(n, 8)).astype(np.float32)
    return chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_size_within_the_corpus_is_its_first_chunks() -> None:
    chunks, vectors = _corpus(10)
    out_chunks, out_vectors = replicate(chunks, vectors, 4)
    assert out_chunks == chunks[:4]
    np.testing.assert_array_equal(out_vectors, vectors[:4])


def test_copies_reach_the_size_with_distinct_ids_and_texts_and_unit_vectors() -> None:
    chunks, vectors = _corpus(10)
    out_chunks, out_vectors = replicate(chunks, vectors, 25)
    assert len(out_chunks) == 25 and out_vectors.shape == (25, 8) and out_vectors.dtype == np.float32
    assert len({c.chunk_id for c in out_chunks}) == 25
    assert len({c.text for c in out_chunks}) == 25
    np.testing.assert_allclose(np.linalg.norm(out_vectors, axis=1), 1.0, rtol=1e-5)
    # a copy stays close to its original
    assert float(out_vectors[10] @ vectors[0]) > 0.8


def test_replication_is_reproducible() -> None:
    chunks, vectors = _corpus(5)
    first, second = replicate(chunks, vectors, 12), replicate(chunks, vectors, 12)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
