"""The embedded VectorStore: exact dense search with numpy plus BM25 (bm25s), on local disk.

Exact search is the right call at this size: one matrix-vector product over every vector, with
perfect recall and no index build (`make bench`'s latency section times it up to 100k chunks).
The index lives in versioned folders under `directory`; `CURRENT` names the live one and is
replaced atomically by `flush`, so a crash half-way through an ingest leaves the previous version
in place, and a server reading the folder picks up a new version on its next search.

    index/
      CURRENT          "v000007"
      v000007/         vectors.npy, chunks.jsonl, bm25/, meta.json, manifest.json

`manifest.json` is written last: the size and SHA-256 of every other file of the version and its
chunk count. A version is verified once, when it is opened; one that does not match its manifest
(a file truncated, emptied, edited or reordered in place) is refused, and the store keeps
serving the last good version it has, in memory or on disk. With none, searches fail with
IndexCorruptError (503) until a new ingest writes a good version. `health()` says which.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from functions.errors import DependencyUnavailableError
from functions.rag.documents import Chunk, ScoredChunk, SearchQuery
from functions.rag.stores.fusion import distinct_passages, fuse_scores
from functions.text import english_stemmer, fold_case_and_space

_CURRENT = "CURRENT"
_MANIFEST = "manifest.json"
_VERSION_PREFIX = "v"
_VERSION_NAME = re.compile(r"v\d{6}")
_REINGEST = "re-ingest the documents (genai-stack ingest PATH) to write a new version"


class IndexCorruptError(DependencyUnavailableError):
    """The files of the live index version cannot be read, or do not match its manifest."""


@dataclass(frozen=True)
class IndexHealth:
    """What `/health` reports about the embedded index."""

    version: str | None  # the version searches use; None when none is served
    healthy: bool  # False when the version CURRENT names was refused
    problem: str | None = None


def hold_blas_to_one_thread() -> None:
    """Limit numpy's BLAS to one thread for the whole process.

    The dense search is one matrix-vector product, bound by memory, not compute. With the default
    pool, OpenBLAS leaves its threads spinning after each product, and they take the cores from
    torch while it embeds the next query (the latency section of docs/BENCHMARKS.md measures the
    p50 with this limit). threadpoolctl is the maintained way to set this after numpy is loaded.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-case word tokens, English stop words removed, Snowball-stemmed (bm25s defaults)."""
    import bm25s

    tokens: list[list[str]] = bm25s.tokenize(
        texts, stopwords="en", stemmer=english_stemmer(), return_ids=False, show_progress=False
    )
    return tokens


def _passage_key(text: str) -> str:
    """A short stand-in for the folded text, kept per chunk to cite each passage once."""
    return hashlib.sha1(fold_case_and_space(text).encode(), usedforsecurity=False).hexdigest()


@dataclass
class _Snapshot:
    """One immutable version of the index, as searches see it."""

    version: str | None
    chunks: list[Chunk]
    vectors: np.ndarray
    bm25: Any | None
    text_keys: list[str] = field(default_factory=list)
    _field_cache: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def rows_matching(self, name: str, value: str) -> np.ndarray:
        by_value = self._field_cache.get(name)
        if by_value is None:
            groups: dict[str, list[int]] = {}
            for row, chunk in enumerate(self.chunks):
                found = chunk.field_value(name)
                if found is not None:
                    groups.setdefault(found, []).append(row)
            by_value = {key: np.asarray(rows, dtype=np.int64) for key, rows in groups.items()}
            self._field_cache[name] = by_value
        return by_value.get(value, np.zeros(0, dtype=np.int64))


class EmbeddedVectorStore:
    """A VectorStore in a local folder; see the module docstring for the layout."""

    def __init__(self, directory: Path, dimension: int) -> None:
        self.directory = Path(directory)
        self.dimension = dimension
        self._lock = threading.Lock()
        hold_blas_to_one_thread()
        self._current_stat: tuple[int, int] | None = None
        self._snapshot = self._empty_snapshot()
        self._problem: str | None = None  # why the version CURRENT names was refused
        self._pending: tuple[list[Chunk], list[np.ndarray]] | None = None
        self._reload_if_changed()

    # --- reads ------------------------------------------------------------------------------

    def count(self) -> int:
        return len(self._current().chunks)

    def health(self) -> IndexHealth:
        self._reload_if_changed()
        return IndexHealth(self._snapshot.version, self._problem is None, self._problem)

    def source_hashes(self) -> dict[str, str]:
        """What the last good version holds (nothing, where there is none: an ingest rebuilds)."""
        if self._pending is None:
            self._reload_if_changed()
        chunks = self._pending[0] if self._pending is not None else self._snapshot.chunks
        return {chunk.source: chunk.source_hash for chunk in chunks}

    def search(self, query: SearchQuery) -> list[ScoredChunk]:
        snapshot = self._current()
        if not snapshot.chunks:
            return []
        rows = self._allowed_rows(snapshot, query.filters)
        if rows is not None and rows.size == 0:
            return []

        dense_all = snapshot.vectors @ np.asarray(query.vector, dtype=np.float32)
        dense = self._top(dense_all, rows, query.candidate_pool)
        lexical = self._lexical(snapshot, query.text, rows, query.candidate_pool)
        fused = fuse_scores(dense, lexical, query.dense_weight)

        return [
            ScoredChunk(
                chunk=snapshot.chunks[row],
                score=round(float(score), 6),
                relevance=float(dense_all[row]),
                dense_score=float(dense_all[row]),
                lexical_score=lexical.get(row),
            )
            for row, score in distinct_passages(fused, snapshot.text_keys.__getitem__, query.k)
        ]

    # --- writes -----------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(chunks), self.dimension):
            raise ValueError(
                f"expected vectors of shape ({len(chunks)}, {self.dimension}), got {vectors.shape}"
            )
        pending_chunks, pending_vectors = self._working_copy()
        pending_chunks.extend(chunks)
        pending_vectors.extend(vectors)

    def delete_sources(self, sources: Iterable[str]) -> int:
        doomed = set(sources)
        return self._delete_where(lambda chunk: chunk.source in doomed)

    def flush(self) -> None:
        """Write the pending changes as a new version and make it the live one, atomically."""
        if self._pending is None:
            return
        chunks, vector_rows = self._pending
        vectors = (
            np.vstack(vector_rows).astype(np.float32)
            if vector_rows
            else np.zeros((0, self.dimension), dtype=np.float32)
        )
        with self._lock:
            previous = self._snapshot.version
            snapshot = self._build_snapshot(None, chunks, vectors)
            snapshot.version = self._write_version(snapshot)
            self._snapshot = snapshot
            self._problem = None
            self._current_stat = self._stat_current()
            self._pending = None
        # The previous version stays until the next flush: a reader may be loading it right now.
        self._remove_old_versions(keep={snapshot.version, previous})

    def discard(self) -> None:
        """Drop pending changes (an ingest that failed half-way)."""
        self._pending = None

    # --- internals --------------------------------------------------------------------------

    def _empty_snapshot(self) -> _Snapshot:
        return _Snapshot(None, [], np.zeros((0, self.dimension), dtype=np.float32), None)

    def _current(self) -> _Snapshot:
        """The snapshot searches use; IndexCorruptError when the index is damaged and no good
        version is left (an empty knowledge base would be a wrong answer then)."""
        self._reload_if_changed()
        if self._problem is not None and self._snapshot.version is None:
            raise IndexCorruptError(self._problem)
        return self._snapshot

    def _delete_where(self, doomed: Callable[[Chunk], bool]) -> int:
        pending_chunks, pending_vectors = self._working_copy()
        keep = [i for i, chunk in enumerate(pending_chunks) if not doomed(chunk)]
        removed = len(pending_chunks) - len(keep)
        if removed:
            self._pending = ([pending_chunks[i] for i in keep], [pending_vectors[i] for i in keep])
        return removed

    def _working_copy(self) -> tuple[list[Chunk], list[np.ndarray]]:
        if self._pending is None:
            self._reload_if_changed()
            snapshot = self._snapshot  # the last good version: an ingest over a damaged one repairs it
            self._pending = (list(snapshot.chunks), list(snapshot.vectors))
        return self._pending

    def _stat_current(self) -> tuple[int, int] | None:
        try:
            stat = (self.directory / _CURRENT).stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_ino)

    def _reload_if_changed(self) -> None:
        """Open the version CURRENT names when CURRENT changed (once per version, not per query).

        A version that cannot be verified is refused: the store keeps the snapshot it serves, or,
        in a fresh process, falls back to the newest good version on disk.
        """
        stat = self._stat_current()
        if stat == self._current_stat:
            return
        with self._lock:
            if stat == self._current_stat:
                return
            self._current_stat = stat
            if stat is None:
                self._snapshot, self._problem = self._empty_snapshot(), None
                return
            try:
                self._snapshot, self._problem = self._load(self._read_current()), None
            except IndexCorruptError as error:
                self._problem = error.message
                if self._snapshot.version is None:
                    self._snapshot = self._newest_good_version() or self._empty_snapshot()

    def _read_current(self) -> str:
        try:
            version = (self.directory / _CURRENT).read_bytes().decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise IndexCorruptError(f"the index's CURRENT pointer cannot be read: {_REINGEST}") from error
        if not _VERSION_NAME.fullmatch(version):
            raise IndexCorruptError(f"the index's CURRENT pointer names no index version: {_REINGEST}")
        return version

    def _newest_good_version(self) -> _Snapshot | None:
        names = sorted(
            (p.name for p in self.directory.glob(f"{_VERSION_PREFIX}*") if _VERSION_NAME.fullmatch(p.name)),
            reverse=True,
        )
        for name in names:
            try:
                return self._load(name)
            except IndexCorruptError:
                continue
        return None

    def _load(self, version: str) -> _Snapshot:
        """The verified snapshot of one version; IndexCorruptError naming the version (never a
        server path) when its files do not match the manifest written with them."""
        folder = self.directory / version
        try:
            manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
            mismatch = _manifest_mismatch(folder, manifest)
            if mismatch is not None:
                raise IndexCorruptError(
                    f"index version {version} does not match its manifest ({mismatch}): {_REINGEST}"
                )
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta["dimension"] != self.dimension:
                raise IndexCorruptError(
                    f"index version {version} holds {meta['dimension']}-dimensional vectors, "
                    f"the embedder gives {self.dimension}: re-ingest with the configured embedder"
                )
            vectors = np.load(folder / "vectors.npy")
            with (folder / "chunks.jsonl").open(encoding="utf-8") as lines:
                chunks = [Chunk.from_dict(json.loads(line)) for line in lines]
            if not len(chunks) == vectors.shape[0] == manifest["chunks"]:
                raise IndexCorruptError(f"index version {version} has inconsistent chunk counts: {_REINGEST}")
            if (folder / "sentence_vectors.npy").is_file():  # versions written before them have none
                chunks = _with_sentence_vectors(
                    chunks, np.load(folder / "sentence_counts.npy"), np.load(folder / "sentence_vectors.npy")
                )
            bm25 = None
            if chunks:
                import bm25s

                bm25 = bm25s.BM25.load(str(folder / "bm25"), load_vocab=True)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
            # the message names the version and the kind of failure, not the server's paths
            raise IndexCorruptError(
                f"index version {version} cannot be read ({type(error).__name__}): {_REINGEST}"
            ) from error
        return self._build_snapshot(version, chunks, vectors, bm25)

    def _build_snapshot(
        self, version: str | None, chunks: list[Chunk], vectors: np.ndarray, bm25: Any | None = None
    ) -> _Snapshot:
        if bm25 is None and chunks:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index(self._bm25_corpus(chunks), show_progress=False)
        return _Snapshot(version, chunks, vectors, bm25, [_passage_key(c.text) for c in chunks])

    def _bm25_corpus(self, chunks: list[Chunk]) -> Any:
        import bm25s

        # The title and section are part of what a chunk is about: index them with its text.
        texts = [f"{c.title}\n{c.section}\n{c.text}" for c in chunks]
        return bm25s.tokenize(texts, stopwords="en", stemmer=english_stemmer(), show_progress=False)

    def _write_version(self, snapshot: _Snapshot) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        version = self._next_version()
        staging = self.directory / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        np.save(staging / "vectors.npy", snapshot.vectors)
        counts, sentence_vectors = _stack_sentence_vectors(snapshot.chunks, self.dimension)
        np.save(staging / "sentence_counts.npy", counts)
        np.save(staging / "sentence_vectors.npy", sentence_vectors)
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk in snapshot.chunks:
                out.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        if snapshot.bm25 is not None:
            snapshot.bm25.save(str(staging / "bm25"), show_progress=False)
        meta = {"dimension": self.dimension, "chunks": len(snapshot.chunks)}
        (staging / "meta.json").write_text(json.dumps(meta))
        manifest = {"chunks": len(snapshot.chunks), "files": _file_digests(staging)}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")  # last
        _fsync_tree(staging)
        staging.rename(self.directory / version)
        pointer = self.directory / f".{_CURRENT}.tmp"
        pointer.write_text(version)
        os.replace(pointer, self.directory / _CURRENT)
        return version

    def _next_version(self) -> str:
        numbers = [
            int(p.name[len(_VERSION_PREFIX) :])
            for p in self.directory.glob(f"{_VERSION_PREFIX}*")
            if p.is_dir() and p.name[len(_VERSION_PREFIX) :].isdigit()
        ]
        return f"{_VERSION_PREFIX}{max(numbers, default=0) + 1:06d}"

    def _remove_old_versions(self, keep: set[str | None]) -> None:
        for path in self.directory.glob(f"{_VERSION_PREFIX}*"):
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def _allowed_rows(self, snapshot: _Snapshot, filters: Mapping[str, str]) -> np.ndarray | None:
        rows: np.ndarray | None = None
        for name, value in filters.items():
            matching = snapshot.rows_matching(name, str(value))
            rows = matching if rows is None else np.intersect1d(rows, matching, assume_unique=True)
        return rows

    @staticmethod
    def _top(scores: np.ndarray, rows: np.ndarray | None, n: int) -> dict[int, float]:
        candidates = np.arange(scores.shape[0]) if rows is None else rows
        values = scores[candidates]
        if values.size > n:
            best = np.argpartition(-values, n - 1)[:n]
            candidates, values = candidates[best], values[best]
        return {int(row): float(value) for row, value in zip(candidates, values, strict=True)}

    def _lexical(self, snapshot: _Snapshot, text: str, rows: np.ndarray | None, n: int) -> dict[int, float]:
        tokens = tokenize([text])[0]
        if snapshot.bm25 is None:
            return {}
        known = [token for token in tokens if token in snapshot.bm25.vocab_dict]
        if not known:
            return {}
        scores = snapshot.bm25.get_scores(known)
        if rows is not None:
            mask = np.zeros_like(scores)
            mask[rows] = 1.0
            scores = scores * mask
        positive = np.flatnonzero(scores > 0)
        return self._top(scores, positive, n)


def _stack_sentence_vectors(chunks: Sequence[Chunk], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """Every chunk's sentence vectors as one matrix, and how many rows each chunk owns."""
    counts = np.asarray([len(chunk.sentence_vectors) for chunk in chunks], dtype=np.int64)
    rows = [np.asarray(c.sentence_vectors, dtype=np.float32) for c in chunks if len(c.sentence_vectors)]
    matrix = np.vstack(rows) if rows else np.zeros((0, dimension), dtype=np.float32)
    return counts, matrix


def _with_sentence_vectors(chunks: list[Chunk], counts: np.ndarray, matrix: np.ndarray) -> list[Chunk]:
    """The chunks, each holding its rows of the sentence matrix (views, not copies)."""
    if counts.shape != (len(chunks),) or int(counts.sum()) != matrix.shape[0]:
        raise ValueError("the sentence vectors do not match the chunks")
    ends = np.cumsum(counts)
    return [
        replace(chunk, sentence_vectors=matrix[end - count : end])
        for chunk, count, end in zip(chunks, counts.tolist(), ends.tolist(), strict=True)
    ]


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _file_digests(folder: Path) -> dict[str, dict[str, int | str]]:
    """Size and SHA-256 of every file of a version but the manifest, by relative path."""
    digests: dict[str, dict[str, int | str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != _MANIFEST:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digests[path.relative_to(folder).as_posix()] = {
                "bytes": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
    return digests


def _manifest_mismatch(folder: Path, manifest: dict[str, Any]) -> str | None:
    """What differs between a version's files and its manifest, or None. Sizes are compared
    before any file is hashed, so a truncated or emptied file is found without reading it."""
    expected: dict[str, dict[str, Any]] = manifest["files"]
    present = {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != _MANIFEST
    }
    if present != set(expected):
        missing, extra = sorted(set(expected) - present), sorted(present - set(expected))
        return f"missing {missing}" if missing else f"unexpected {extra}"
    for name, entry in expected.items():
        if (folder / name).stat().st_size != entry["bytes"]:
            return f"{name} has {(folder / name).stat().st_size} bytes, the manifest says {entry['bytes']}"
    actual = _file_digests(folder)
    for name, entry in expected.items():
        if actual[name]["sha256"] != entry["sha256"]:
            return f"{name} has changed"
    return None
