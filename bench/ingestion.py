"""Ingestion throughput and memory: documents and chunks per second and peak resident memory of
`Ingestor.ingest_paths` (what `genai-stack ingest` runs: clean, redact PII, chunk, dedupe, embed,
index, write) on the sample knowledge base and on SciFact abstracts written out as Markdown files.

Each corpus is ingested in its own fresh process, so its peak RSS is its own; the model is loaded
before the clock starts (start-up, not ingestion), and the time spent inside the embedder is
measured on the side. SciFact is ingested as a subset (the first N abstracts, `--ingest-scifact-docs`):
the rates do not depend on the count, and the whole corpus would take minutes on two cores.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    PUBLIC_VALUES,
    SAMPLE_KB,
    Options,
    SkipSection,
    in_fresh_process,
    markdown_table,
    progress,
    quiet_runtime,
)
from bench.scifact import load_scifact
from functions.rag.embeddings.ports import Embedder
from functions.settings import Settings


class TimedEmbedder:
    """An Embedder that adds up the seconds spent in the wrapped one."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.embed_query(text)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass(frozen=True)
class IngestRun:
    documents: int
    chunks: int
    seconds: float
    embed_seconds: float
    rss_before_mb: float
    peak_rss_mb: float


def public_values(path: Path = PUBLIC_VALUES) -> tuple[str, ...]:
    """The allow-list `make demo` passes with --pii-allow-file (one value a line, # comments)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def _peak_rss_mb() -> float:
    """This process's resident-memory high-water mark (Linux). Not `getrusage`: its maximum survives
    `exec`, so a process spawned by a big one would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory is measured on Linux only")


def ingest_in_this_process(corpus: Path, data_dir: Path, pii_allow: tuple[str, ...]) -> IngestRun:
    """Run in a fresh process: its peak RSS is then this ingestion's (plus torch and the model)."""
    from functions.services import Services

    quiet_runtime()
    services = Services(Settings(data_dir=data_dir, pii_allowlist=pii_allow))
    services.embedder.embed_query("warm-up")
    ingestor = services.ingestor
    timed = TimedEmbedder(ingestor.embedder)
    ingestor.embedder = timed
    before = _peak_rss_mb()
    report = ingestor.ingest_paths([corpus])
    if report.failed:
        raise RuntimeError(f"ingestion failed for {report.failed}")
    documents = len(report.added) + len(report.updated)
    return IngestRun(documents, report.chunks_indexed, report.seconds, timed.seconds, before, _peak_rss_mb())


def _ingest(corpus: Path, pii_allow: tuple[str, ...]) -> IngestRun:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as data_dir:
        return in_fresh_process(ingest_in_this_process, corpus, Path(data_dir), pii_allow)


def write_markdown(options: Options, folder: Path) -> int:
    """The first N SciFact abstracts as `<id>.md` files (`# title` and the abstract)."""
    chunks = load_scifact(options.scifact_dir()).chunks[: options.ingest_scifact_docs]
    folder.mkdir(parents=True)
    for chunk in chunks:
        (folder / f"{chunk.chunk_id}.md").write_text(f"# {chunk.title}\n\n{chunk.text}\n", encoding="utf-8")
    return len(chunks)


def run(options: Options) -> str:
    runs: list[tuple[str, IngestRun | str]] = []
    progress("ingestion: data/sample_kb")
    runs.append(("sample KB (`data/sample_kb/`, Markdown)", _ingest(SAMPLE_KB, public_values())))
    label = f"SciFact, first {options.ingest_scifact_docs:,} abstracts as Markdown files"
    with tempfile.TemporaryDirectory(prefix="bench-scifact-md-") as folder:
        try:
            count = write_markdown(options, Path(folder) / "scifact")
        except SkipSection as skipped:
            runs.append((label, f"skipped: {skipped}"))
        else:
            progress(f"ingestion: {count} SciFact abstracts")
            runs.append((label, _ingest(Path(folder) / "scifact", ())))
    rows: list[tuple[Any, ...]] = []
    for name, result in runs:
        if isinstance(result, str):
            rows.append((name, result, "", "", "", "", "", ""))
            continue
        rows.append(
            (
                name,
                f"{result.documents:,}",
                f"{result.chunks:,}",
                f"{result.seconds:.1f}",
                f"{result.documents / result.seconds:.1f}",
                f"{result.chunks / result.seconds:.1f}",
                f"{result.embed_seconds / result.seconds:.0%}",
                f"{result.peak_rss_mb:,.0f} ({result.rss_before_mb:,.0f})",
            )
        )
    table = markdown_table(
        [
            "corpus",
            "documents",
            "chunks",
            "seconds",
            "docs/s",
            "chunks/s",
            "in the embedder",
            "peak RSS MB (before ingest)",
        ],
        rows,
    )
    settings = Settings()
    return (
        "`Ingestor.ingest_paths` into a fresh data directory with the shipped settings (chunks of "
        f"{settings.chunk_size} characters, {settings.chunk_overlap} overlap, MiniLM, PII redaction; the "
        "sample KB with the demo's allow-list), each corpus in its own fresh process. Seconds run from "
        "discovery to the committed index; the model is loaded before. Peak RSS is the process's "
        "high-water mark, which includes the interpreter, torch and the model (the figure in brackets, "
        "reached before ingesting).\n\n"
        f"{table}"
    )
