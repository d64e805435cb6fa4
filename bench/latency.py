"""Query latency without a language model: the whole `AnswerPipeline.answer` with the extractive
model (input guardrails, query embedding, hybrid retrieval, confidence gate, prompt, answer, output
guardrails, the message stored for feedback) at 1k, 10k and 100k chunks, beside a plain LangChain
pipeline over the same chunks, vectors and embedder.

Each pipeline runs alone in a fresh process: sharing one would let one's thread pools (OpenBLAS,
OpenMP) spin on the cores while the other computes. The embedded store holds numpy's BLAS to one
thread (`hold_blas_to_one_thread`), as it ships: otherwise the threads OpenBLAS leaves spinning
after the dense search take the cores from the next query's embedding.

The stores hold SciFact abstracts with their cached MiniLM vectors. Beyond the 5,183 abstracts the
corpus is replicated: copy n of an abstract keeps a random 90% of its words (seeded, so every text
differs and BM25 sees realistic postings) and its vector gets Gaussian noise (sigma 0.016 per
dimension, cosine about 0.95 to the original) and is re-normalised. The confidence gate is set to 0
so that every query takes the full path; the LangChain pipeline has no gate.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from bench.common import (
    Options,
    SkipSection,
    in_fresh_process,
    markdown_table,
    new_figure,
    p50_p99_ms,
    progress,
    quiet_runtime,
    save_figure,
)
from bench.scifact import corpus_vectors, load_scifact
from functions.rag.documents import Chunk, ScoredChunk
from functions.rag.embeddings.minilm import MiniLMEmbedder
from functions.rag.prompts import DEFAULT_VARIANT, PromptLibrary, format_sources
from functions.rag.stores.embedded import EmbeddedVectorStore
from functions.services import Services
from functions.settings import Settings

if TYPE_CHECKING:
    from langchain_core.documents import Document

WORD_KEEP = 0.9
VECTOR_NOISE = 0.016
WARM_UP = 5
#: The warm-up asks texts outside the timed set: the shipped embedder remembers recent query
#: vectors (functions.rag.embeddings.ports.MemoizingEmbedder), so a timed repeat would skip the model.
WARM_UP_QUERIES = tuple(f"warm-up question number {n} about cells" for n in range(WARM_UP))


def replicate(
    chunks: Sequence[Chunk], vectors: np.ndarray, size: int, seed: int = 0
) -> tuple[list[Chunk], np.ndarray]:
    """`size` chunks: the originals first, then perturbed copies (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out_chunks = list(chunks[:size])
    out_vectors = [vectors[: len(out_chunks)]]
    copy = 0
    while len(out_chunks) < size:
        copy += 1
        batch = min(len(chunks), size - len(out_chunks))
        for chunk in chunks[:batch]:
            words = chunk.text.split()
            kept = [
                word for word, keep in zip(words, rng.random(len(words)) < WORD_KEEP, strict=True) if keep
            ]
            out_chunks.append(
                Chunk(
                    chunk_id=f"{chunk.chunk_id}#{copy}",
                    text=" ".join(kept),
                    source=f"{chunk.source}#{copy}",
                    title=chunk.title,
                )
            )
        noisy = vectors[:batch] + rng.normal(0.0, VECTOR_NOISE, size=(batch, vectors.shape[1]))
        out_vectors.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return out_chunks, np.vstack(out_vectors).astype(np.float32)


@dataclass(frozen=True)
class Variant:
    label: str
    stack: str  # "genai-stack" or "langchain"


SHIPPED = Variant("genai-stack", "genai-stack")
BASELINE = Variant("LangChain", "langchain")
#: MiniLM embedding the question and nothing else: what any pipeline on this embedder pays at least.
FLOOR = Variant("query embedding", "floor")
VARIANTS = (SHIPPED, BASELINE, FLOOR)


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # one per query
    build_s: float


def _ours(folder: Path, chunks: list[Chunk], vectors: np.ndarray) -> tuple[Callable[[str], object], float]:
    """The shipped pipeline over an embedded store built from `chunks`, and the build time."""
    settings = Settings(data_dir=folder, min_relevance=0.0)
    started = time.perf_counter()
    builder = EmbeddedVectorStore(settings.index_dir, settings.embedding_dimension)
    builder.add(chunks, vectors)
    builder.flush()
    build_s = time.perf_counter() - started
    del builder
    pipeline = Services(settings).pipeline
    return pipeline.answer, build_s


class MiniLMEmbeddings(Embeddings):
    """The same MiniLM behind LangChain's `Embeddings` interface."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._embedder.embed_documents(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self._embedder.embed_query(text).tolist()
        return vector


def baseline_store_name() -> str:
    """Which LangChain vector store the baseline uses, or a SkipSection saying what to install."""
    try:
        import langchain_community.vectorstores  # noqa: F401
    except ImportError as error:
        raise SkipSection(
            "the LangChain baseline needs langchain-community: pip install langchain-community"
        ) from error
    return "langchain-community `FAISS` (exact inner product, `IndexFlatIP`)"


def _baseline(chunks: list[Chunk], vectors: np.ndarray) -> tuple[Callable[[str], object], float]:
    """What one would write with LangChain alone: retriever | prompt | model | parser."""
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    from functions.rag.chat_models.extractive import ExtractiveChatModel

    settings = Settings()
    embeddings = MiniLMEmbeddings(MiniLMEmbedder())
    started = time.perf_counter()
    store = FAISS.from_embeddings(
        text_embeddings=[(c.text, v.tolist()) for c, v in zip(chunks, vectors, strict=True)],
        embedding=embeddings,
        metadatas=[{"title": c.title} for c in chunks],
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )
    build_s = time.perf_counter() - started
    chain = (
        {
            "sources": store.as_retriever(search_kwargs={"k": settings.top_k})
            | RunnableLambda(_format_documents),
            "question": RunnablePassthrough(),
        }
        | PromptLibrary().prompt(DEFAULT_VARIANT)
        | ExtractiveChatModel(max_sentences=settings.max_answer_sentences)
        | StrOutputParser()
    )
    return chain.invoke, build_s


def _format_documents(documents: list[Document]) -> str:
    """The numbered-source block both pipelines' prompt expects."""
    return format_sources(
        [
            ScoredChunk(
                Chunk(chunk_id="", text=d.page_content, source="", title=d.metadata["title"]), 0.0, 0.0
            )
            for d in documents
        ]
    )


def time_pipeline(stack: str, size: int, options: Options) -> Timing:
    """Build one pipeline over `size` chunks, warm it up and time every query (in a fresh process)."""
    quiet_runtime()
    scifact = load_scifact(options.scifact_dir())
    chunks, vectors = replicate(
        scifact.chunks, corpus_vectors(scifact, MiniLMEmbedder(), options.cache_dir), size
    )
    questions = list(scifact.queries.values())[: options.latency_queries]
    with tempfile.TemporaryDirectory(prefix=f"bench-latency-{size}-") as folder:
        ask: Callable[[str], object]
        build_s: float
        if stack == "floor":
            ask, build_s = MiniLMEmbedder().embed_query, 0.0
        elif stack == "genai-stack":
            ask, build_s = _ours(Path(folder), chunks, vectors)
        else:
            ask, build_s = _baseline(chunks, vectors)
        for question in WARM_UP_QUERIES:
            ask(question)
        seconds = []
        for question in questions:
            started = time.perf_counter()
            ask(question)
            seconds.append(time.perf_counter() - started)
    return Timing(seconds, build_s)


def run(options: Options) -> str:
    baseline_name = baseline_store_name()
    corpus_vectors(
        load_scifact(options.scifact_dir()), MiniLMEmbedder(), options.cache_dir
    )  # fill the cache once
    timings: dict[tuple[str, int], Timing] = {}
    for size in options.sizes:
        for variant in VARIANTS:
            progress(f"latency: {variant.label}, {size:,} chunks, {options.latency_queries} queries")
            timings[variant.label, size] = in_fresh_process(time_pipeline, variant.stack, size, options)
    rows = []
    for size in options.sizes:
        (ours_p50, ours_p99), (base_p50, base_p99), (floor_p50, floor_p99) = (
            p50_p99_ms(timings[variant.label, size].seconds) for variant in VARIANTS
        )
        rows.append(
            (
                f"{size:,}",
                f"{ours_p50:.1f} / {ours_p99:.1f}",
                f"{base_p50:.1f} / {base_p99:.1f}",
                f"{floor_p50:.1f} / {floor_p99:.1f}",
                f"{ours_p50 / base_p50:.2f}× / {ours_p99 / base_p99:.2f}×",
                f"{timings[SHIPPED.label, size].build_s:.1f} / {timings[BASELINE.label, size].build_s:.1f}",
            )
        )
    _plot(options, timings)
    table = markdown_table(
        [
            "chunks",
            "genai-stack p50 / p99 ms",
            "LangChain p50 / p99 ms",
            "query embedding floor p50 / p99 ms",
            "ratio p50 / p99",
            "index build s (ours / LangChain)",
        ],
        rows,
    )
    settings = Settings()
    return (
        f"{options.latency_queries} SciFact test claims per size after {WARM_UP} warm-up queries; each "
        "pipeline alone in a fresh process, one after the other.\n\n"
        f"- **genai-stack**: `Services(Settings(min_relevance=0)).pipeline.answer(question)` over the "
        f"embedded store (exact numpy dense + bm25s, weighted fusion `dense_weight` {settings.dense_weight}, "
        f"pool {settings.candidate_pool}, `top_k` {settings.top_k}), extractive model, message stored in "
        "SQLite; numpy's BLAS held to one thread, as the store ships.\n"
        f"- **LangChain**: `{{sources: retriever | format, question}} | ChatPromptTemplate | model | "
        f"StrOutputParser` with a `VectorStoreRetriever` (k={settings.top_k}) over {baseline_name}, the "
        "same MiniLM for the query, the same prompt template and extractive model; no guardrails, no "
        "BM25, nothing stored.\n"
        "- **Query embedding floor**: MiniLM's `embed_query` on the same questions alone (a fresh "
        "embedder, nothing remembered): the part of either pipeline no store or answerer can remove.\n"
        "- Index build: ours tokenises and indexes BM25 and writes a versioned folder to disk (fsync); "
        "FAISS only copies the vectors into memory. Vectors are precomputed for both.\n\n"
        f"{table}\n\n"
        "A ratio above 1 means genai-stack is slower. Above the 5,183 SciFact abstracts the corpus is "
        f"replicated: each copy keeps a random {WORD_KEEP:.0%} of an abstract's words and a noisy, "
        f"re-normalised copy of its vector (sigma {VECTOR_NOISE} per dimension, seed 0).\n\n"
        + options.plot_link("latency.png", "p50 and p99 query latency against the number of chunks")
    )


def _plot(options: Options, timings: Mapping[tuple[str, int], Timing]) -> None:
    figure = new_figure()
    axes = figure.subplots()
    for variant, color in zip(VARIANTS, ("tab:blue", "tab:orange", "tab:gray"), strict=True):
        p50, p99 = zip(
            *(p50_p99_ms(timings[variant.label, size].seconds) for size in options.sizes), strict=True
        )
        axes.plot(options.sizes, p50, marker="o", color=color, label=f"{variant.label} p50")
        axes.plot(options.sizes, p99, marker="^", linestyle="--", color=color, label=f"{variant.label} p99")
    axes.set(
        xscale="log",
        xlabel="chunks in the store",
        ylabel="ms per query",
        title="Query latency without an LLM",
    )
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    save_figure(figure, options, "latency.png")
