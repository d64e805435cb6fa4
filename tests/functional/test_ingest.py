"""Incremental ingestion: unchanged files are skipped, changed ones replaced, deleted ones pruned,
and a run that fails half-way leaves the previous index usable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from functions.errors import IngestError
from functions.ingest.chunking import Chunker
from functions.ingest.pipeline import Ingestor
from functions.rag.documents import SearchQuery
from functions.rag.stores.embedded import EmbeddedVectorStore
from tests.conftest import MINI_KB
from tests.fakes import FailingEmbedder, HashingEmbedder


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MINI_KB, tmp_path / "kb"))


def ingestor(tmp_path: Path, embedder: HashingEmbedder | None = None) -> Ingestor:
    embedder = embedder or HashingEmbedder()
    store = EmbeddedVectorStore(tmp_path / "index", embedder.dimension)
    return Ingestor(store, embedder, Chunker(800, 100))


def test_first_run_indexes_every_supported_file(kb: Path, tmp_path: Path) -> None:
    (kb / "notes.pdf").write_bytes(b"%PDF")
    report = ingestor(tmp_path).ingest_paths([kb])
    assert sorted(report.added) == [
        "kb/contact.html",
        "kb/payments-faq.json",
        "kb/returns.md",
        "kb/shipping.md",
        "kb/warranty.txt",
    ]
    assert report.chunks_indexed == 11 and report.duplicate_chunks == 1 and not report.failed


def test_unchanged_files_are_skipped_and_changed_ones_replaced(kb: Path, tmp_path: Path) -> None:
    ingestor(tmp_path).ingest_paths([kb])
    (kb / "warranty.txt").write_text("Tents carry a 10 year warranty.\n")
    embedder = HashingEmbedder()
    again = ingestor(tmp_path, embedder)
    report = again.ingest_paths([kb])
    assert report.updated == ["kb/warranty.txt"] and len(report.unchanged) == 4 and not report.added
    assert embedder.calls == 1  # only the changed file was embedded
    query = SearchQuery("warranty", embedder.embed_query("warranty"), 10, {"source": "kb/warranty.txt"})
    assert [hit.chunk.text for hit in again.store.search(query)] == ["Tents carry a 10 year warranty."]


def test_prune_removes_files_that_are_gone(kb: Path, tmp_path: Path) -> None:
    ingestor(tmp_path).ingest_paths([kb])
    (kb / "contact.html").unlink()
    kept = ingestor(tmp_path).ingest_paths([kb])
    assert kept.removed == [] and "kb/contact.html" in ingestor(tmp_path).store.source_hashes()
    pruned = ingestor(tmp_path).ingest_paths([kb], prune=True)
    assert pruned.removed == ["kb/contact.html"]
    assert "kb/contact.html" not in ingestor(tmp_path).store.source_hashes()


def test_a_broken_file_is_reported_and_the_rest_indexed(kb: Path, tmp_path: Path) -> None:
    ingestor(tmp_path).ingest_paths([kb])
    (kb / "payments-faq.json").write_text("[{broken")
    report = ingestor(tmp_path).ingest_paths([kb])
    assert "invalid JSON" in report.failed["kb/payments-faq.json"]
    # the previous version of the broken file stays searchable
    assert "kb/payments-faq.json" in ingestor(tmp_path).store.source_hashes()


def test_failure_half_way_leaves_the_previous_index(kb: Path, tmp_path: Path) -> None:
    ingestor(tmp_path).ingest_paths([kb])
    before = ingestor(tmp_path).store.source_hashes()
    for name in ("returns.md", "shipping.md", "warranty.txt"):
        (kb / name).write_text(f"# {name}\n\nRewritten.\n")
    with pytest.raises(RuntimeError, match="went away"):
        ingestor(tmp_path, FailingEmbedder(fail_on_call=2)).ingest_paths([kb])
    assert ingestor(tmp_path).store.source_hashes() == before


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file or directory"):
        ingestor(tmp_path).ingest_paths([tmp_path / "nowhere"])
