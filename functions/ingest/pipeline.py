"""Ingestion: files -> clean -> redact PII -> chunk -> dedupe -> screen for planted instructions ->
embed -> index.

Incremental by content hash: an unchanged file is skipped, a changed one has its chunks
replaced, and `prune` removes the sources of a folder whose files are gone. All changes of one
run are flushed together at the end, so a run that fails half-way leaves the index as it was.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from functions.errors import IngestError
from functions.guardrails.base import Stage
from functions.guardrails.policy import Guardrails
from functions.ingest.chunking import Chunker
from functions.ingest.cleaning import clean_text
from functions.ingest.loaders import SUPPORTED_SUFFIXES, load_document
from functions.observability import logger
from functions.rag.documents import Chunk, make_chunk_id
from functions.rag.embeddings.ports import Embedder, Vectors
from functions.rag.sentences import sentence_texts
from functions.rag.stores.ports import VectorStore
from functions.text import fold_case_and_space


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the stable source name it is indexed and cited under."""

    source: str
    path: Path


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    chunks_indexed: int = 0
    duplicate_chunks: int = 0
    quarantined: dict[str, list[int]] = field(default_factory=dict)  # source -> chunk indexes
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": self.failed,
            "chunks_indexed": self.chunks_indexed,
            "duplicate_chunks": self.duplicate_chunks,
            "quarantined_chunks": sum(len(indexes) for indexes in self.quarantined.values()),
            "seconds": round(self.seconds, 3),
        }


def discover(paths: Sequence[Path]) -> tuple[list[SourceFile], list[str]]:
    """The supported files under `paths` and the source prefixes `prune` may clean up.

    A folder's files are named `<folder name>/<relative path>`; a single file by its name.
    """
    files: list[SourceFile] = []
    prefixes: list[str] = []
    for path in paths:
        if not path.exists():
            raise IngestError(f"{path}: no such file or directory")
        if path.is_dir():
            root = path.resolve()
            prefixes.append(f"{root.name}/")
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                if file.suffix.lower() in SUPPORTED_SUFFIXES and not file.name.startswith("."):
                    files.append(SourceFile(f"{root.name}/{file.relative_to(root).as_posix()}", file))
        else:
            files.append(SourceFile(path.name, path))
    return files, prefixes


class Ingestor:
    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        chunker: Chunker,
        pii_allow: Collection[str] = (),
        batch_size: int = 64,
        *,
        guardrails: Guardrails | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.pii_allow = tuple(pii_allow)
        self.batch_size = batch_size
        self.guardrails = guardrails

    def ingest_paths(
        self, paths: Sequence[Path], *, prune: bool = False, show_progress: bool = False
    ) -> IngestReport:
        started = time.perf_counter()
        files, prefixes = discover(paths)
        report = IngestReport()
        known = self.store.source_hashes()
        try:
            for file in _progress(files, show_progress):
                try:
                    raw = file.path.read_bytes()
                except OSError as error:
                    report.failed[file.source] = f"cannot read: {error.strerror}"
                    continue
                self._ingest_one(file.source, file.path, raw, known, report)
            if prune:
                seen = {file.source for file in files}
                gone = [s for s in known if s not in seen and any(s.startswith(p) for p in prefixes)]
                if gone:
                    self.store.delete_sources(gone)
                    report.removed.extend(gone)
            self.store.flush()
        except BaseException:
            self.store.discard()
            raise
        report.seconds = time.perf_counter() - started
        logger.info("ingest finished", extra=report.to_dict())
        return report

    def ingest_document(
        self, source: str, raw: bytes, name: str, metadata: Mapping[str, str] | None = None
    ) -> IngestReport:
        """Ingest one document given as bytes (an S3 object); `name` gives its file type."""
        report = IngestReport()
        try:
            self._ingest_one(source, Path(name), raw, self.store.source_hashes(), report, metadata=metadata)
            self.store.flush()
        except BaseException:
            self.store.discard()
            raise
        return report

    def _ingest_one(
        self,
        source: str,
        path: Path,
        raw: bytes,
        known: Mapping[str, str],
        report: IngestReport,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        digest = hashlib.sha256(raw).hexdigest()
        if known.get(source) == digest:
            report.unchanged.append(source)
            return
        try:
            document = load_document(path, raw)
        except IngestError as error:
            report.failed[source] = error.message
            return
        chunks, duplicates = self._chunk(
            source, digest, document.title, clean_text(document.text, self.pii_allow)
        )
        extra = {"kind": document.kind, **(metadata or {})}
        chunks = [_with_metadata(chunk, extra) for chunk in chunks]
        chunks = self._screen(source, chunks, report)
        chunks, vectors = self._embed(chunks)
        if source in known:
            self.store.delete_sources([source])
            report.updated.append(source)
        else:
            report.added.append(source)
        if chunks:
            self.store.add(chunks, vectors)
        report.chunks_indexed += len(chunks)
        report.duplicate_chunks += duplicates

    def _embed(self, chunks: list[Chunk]) -> tuple[list[Chunk], Vectors]:
        """The chunks' vectors, and each chunk with its sentences' vectors, from one batch of model
        calls: the answerer reads those sentences for every question that retrieves the chunk."""
        per_chunk = [sentence_texts(chunk.text) for chunk in chunks]
        texts = [embedding_text(chunk) for chunk in chunks] + [t for texts in per_chunk for t in texts]
        embedded = self.embedder.embed_documents(texts) if texts else []
        vectors, rest = embedded[: len(chunks)], embedded[len(chunks) :]
        with_sentences = []
        start = 0
        for chunk, sentences in zip(chunks, per_chunk, strict=True):
            end = start + len(sentences)
            with_sentences.append(replace(chunk, sentence_vectors=rest[start:end]))
            start = end
        return with_sentences, vectors

    def _screen(self, source: str, chunks: list[Chunk], report: IngestReport) -> list[Chunk]:
        """Scan each chunk for planted instructions: a chunk the policy blocks is quarantined (not
        indexed, listed in the report); one it only flags is indexed with the finding in its
        metadata. Retrieved text is data either way (`functions.rag.prompts`)."""
        if self.guardrails is None:
            return chunks
        kept: list[Chunk] = []
        for chunk in chunks:
            result = self.guardrails.check(chunk.text, Stage.CONTEXT)
            if not result.allowed:
                report.quarantined.setdefault(source, []).append(chunk.chunk_index)
                logger.warning(
                    "chunk quarantined",
                    extra={"source": source, "chunk_index": chunk.chunk_index, "by": list(result.blocked_by)},
                )
            elif result.findings:
                flags = ",".join(sorted({f.category for f in result.findings}))
                kept.append(_with_metadata(chunk, {"guardrail_flags": flags}))
            else:
                kept.append(chunk)
        return kept

    def _chunk(self, source: str, digest: str, title: str, text: str) -> tuple[list[Chunk], int]:
        chunks: list[Chunk] = []
        seen: set[str] = set()
        duplicates = 0
        for piece in self.chunker.split(text):
            key = fold_case_and_space(piece.text)
            if key in seen:  # the same passage twice in one document (FAQ exports repeat answers)
                duplicates += 1
                continue
            seen.add(key)
            index = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=make_chunk_id(source, index, piece.text),
                    text=piece.text,
                    source=source,
                    title=title,
                    section=piece.section,
                    chunk_index=index,
                    source_hash=digest,
                )
            )
        return chunks, duplicates


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text, led by the document title when the text lacks it."""
    return chunk.text if chunk.title in chunk.text else f"{chunk.title}\n{chunk.text}"


def _with_metadata(chunk: Chunk, metadata: Mapping[str, str]) -> Chunk:
    return Chunk(**{**chunk.__dict__, "metadata": {**chunk.metadata, **metadata}})


def _progress(files: list[SourceFile], show: bool) -> Iterable[SourceFile]:
    if not show:
        return files
    from tqdm import tqdm

    shown: Iterable[SourceFile] = tqdm(files, desc="ingesting", unit="file")
    return shown
