"""SciFact loading and the embedding cache key, on a tiny corpus in BEIR format."""

from __future__ import annotations

import json
from pathlib import Path

from bench.scifact import cache_key, load_scifact


def _write_beir(folder: Path) -> None:
    (folder / "qrels").mkdir(parents=True)
    corpus = [{"_id": "d1", "title": "T1", "text": "one"}, {"_id": "d2", "title": "T2", "text": "two"}]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    queries = [{"_id": "q1", "text": "first?"}, {"_id": "q2", "text": "unjudged"}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")


def test_load_keeps_documents_as_chunks_and_only_judged_queries(tmp_path: Path) -> None:
    _write_beir(tmp_path)
    scifact = load_scifact(tmp_path)
    assert [(c.chunk_id, c.title, c.text) for c in scifact.chunks] == [
        ("d1", "T1", "one"),
        ("d2", "T2", "two"),
    ]
    assert scifact.queries == {"q1": "first?"}
    assert scifact.qrels == {"q1": {"d2": 1}}


def test_cache_key_changes_with_model_texts_and_their_order() -> None:
    key = cache_key("model", ["a", "b"])
    assert key == cache_key("model", ["a", "b"])
    assert (
        len({key, cache_key("other", ["a", "b"]), cache_key("model", ["b", "a"]), cache_key("model", ["ab"])})
        == 4
    )
