"""An in-memory OpenSearch for tests: an opensearch-py `Connection` that records every request
and answers the handful of APIs the vector store uses (index create/exists, bulk, msearch with
k-NN and BM25-like queries, mget, count, composite aggregation, delete_by_query, refresh).

Its scoring imitates OpenSearch's where the store depends on it: k-NN scores use the transform of
the space the index was created with (OpenSearch's formulas for innerproduct, cosinesimil and l2),
so the adapter's score-to-cosine conversion is exercised. Lexical scores
are a simple TF-IDF, not Lucene's BM25: tests assert rankings with clear winners only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from opensearchpy import Connection
from opensearchpy.exceptions import ConnectionTimeout

from functions.text import content_terms


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    body: Any


@dataclass
class FakeCluster:
    """The state behind every FakeConnection of a test."""

    indices: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[int | Exception] = field(default_factory=list)  # consumed one per request
    rejected_ids: set[str] = field(default_factory=set)  # bulk answers these documents with a 400

    def docs(self, index: str) -> dict[str, dict[str, Any]]:
        return self.indices[index]["docs"]


class FakeConnection(Connection):
    cluster: ClassVar[FakeCluster] = FakeCluster()

    def __init__(self, host: str = "localhost", port: int | None = None, **kwargs: Any) -> None:
        super().__init__(host=host, port=port or 9200)

    def perform_request(  # type: ignore[override]  # noqa: PLR0917 - opensearch-py calls it positionally
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        timeout: Any = None,
        ignore: Iterable[int] = (),
        headers: Any = None,
    ) -> tuple[int, dict[str, str], str]:
        path = url.split("?", 1)[0]
        parsed = _parse_body(path, body)
        params = {k: v.decode() if isinstance(v, bytes) else v for k, v in (params or {}).items()}
        self.cluster.requests.append(RecordedRequest(method, path, params, parsed))
        if self.cluster.failures:
            failure = self.cluster.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            self._raise_error(failure, json.dumps({"error": "injected", "status": failure}))
        status, payload = _Emulator(self.cluster).handle(method, path, params, parsed)
        raw = json.dumps(payload)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw)
        return status, {"content-type": "application/json"}, raw


def timeout() -> ConnectionTimeout:
    return ConnectionTimeout("TIMEOUT", "timed out", Exception("read timed out"))


def _parse_body(path: str, body: bytes | None) -> Any:
    if body is None:
        return None
    text = body.decode() if isinstance(body, bytes) else body
    if path.endswith(("_bulk", "_msearch")):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


class _Emulator:
    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster

    def handle(self, method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts == ["_bulk"]:
            return 200, self._bulk(body)
        if parts == ["_msearch"]:
            pairs = zip(body[::2], body[1::2], strict=True)
            return 200, {"responses": [self._search(h["index"], b) for h, b in pairs]}
        index, action = parts[0], (parts[1] if len(parts) > 1 else None)
        if action is None:
            if method == "HEAD":
                return (200, {}) if index in self.cluster.indices else (404, {})
            if method == "PUT":
                self.cluster.indices[index] = {"body": body, "docs": {}}
                return 200, {"acknowledged": True, "index": index}
            if method == "DELETE" and index in self.cluster.indices:
                del self.cluster.indices[index]
                return 200, {"acknowledged": True}
        if index not in self.cluster.indices:
            return 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
        docs = self.cluster.docs(index)
        if action == "_count":
            return 200, {"count": len(docs)}
        if action == "_refresh":
            return 200, {"_shards": {"failed": 0}}
        if action == "_search":
            return 200, self._search(index, body)
        if action == "_mget":
            includes = str(params.get("_source_includes", "")).split(",")
            found = [
                {"_id": i, "found": True, "_source": {k: v for k, v in docs[i].items() if k in includes}}
                if i in docs
                else {"_id": i, "found": False}
                for i in body["ids"]
            ]
            return 200, {"docs": found}
        if action == "_delete_by_query":
            doomed = [i for i, doc in docs.items() if _matches(doc, body["query"])]
            for i in doomed:
                del docs[i]
            return 200, {"deleted": len(doomed)}
        return 400, {"error": f"unsupported {method} {path}"}

    def _bulk(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        items = []
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            meta = action["index"]
            if meta["_id"] in self.cluster.rejected_ids:
                error = {"type": "mapper_parsing_exception", "reason": "failed to parse field [embedding]"}
                items.append({"index": {"_id": meta["_id"], "status": 400, "error": error}})
                continue
            unmapped = self._unmapped_fields(meta["_index"], source)
            if unmapped:  # what a "dynamic": "strict" mapping does with a field it does not name
                error = {"type": "strict_dynamic_mapping_exception", "reason": f"unmapped {unmapped}"}
                items.append({"index": {"_id": meta["_id"], "status": 400, "error": error}})
                continue
            self.cluster.docs(meta["_index"])[meta["_id"]] = source
            items.append({"index": {"_index": meta["_index"], "_id": meta["_id"], "status": 201}})
        return {"errors": any(item["index"]["status"] >= 300 for item in items), "items": items}

    def _unmapped_fields(self, index: str, source: dict[str, Any]) -> list[str]:
        mappings = self.cluster.indices.get(index, {}).get("body", {}).get("mappings", {})
        if mappings.get("dynamic") != "strict":
            return []
        return sorted(set(source) - set(mappings["properties"]))

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        docs = self.cluster.docs(index)
        if "aggs" in body:
            return {"hits": {"hits": []}, "aggregations": {"sources": self._composite(docs, body)}}
        query = body["query"]
        if "knn" in query:
            spec = query["knn"]["embedding"]
            pool = [(i, d) for i, d in docs.items() if _matches(d, spec.get("filter"))]
            space = self.cluster.indices[index]["body"]["mappings"]["properties"]["embedding"]["method"][
                "space_type"
            ]
            scored = [(i, d, _knn_score(space, spec["vector"], d["embedding"])) for i, d in pool]
            scored = sorted(scored, key=lambda item: -item[2])[: spec["k"]]
        else:
            must = query["bool"]["must"][0]["multi_match"]
            filters = {"bool": {"filter": query["bool"]["filter"]}}
            pool = [(i, d) for i, d in docs.items() if _matches(d, filters)]
            scored = [(i, d, s) for i, d in pool if (s := _lexical(must["query"], d, docs.values())) > 0]
            scored.sort(key=lambda item: -item[2])
        excludes = set(body.get("_source", {}).get("excludes", []))
        hits = [
            {"_id": i, "_score": s, "_source": {k: v for k, v in d.items() if k not in excludes}}
            for i, d, s in scored[: body["size"]]
        ]
        return {"hits": {"total": {"value": len(hits)}, "hits": hits}}

    @staticmethod
    def _composite(docs: dict[str, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        spec = body["aggs"]["sources"]["composite"]
        keys = sorted({(d["source"], d["source_hash"]) for d in docs.values()})
        after = spec.get("after")
        if after:
            keys = [k for k in keys if k > (after["source"], after["hash"])]
        page = keys[: spec["size"]]
        buckets = [{"key": {"source": s, "hash": h}, "doc_count": 1} for s, h in page]
        result: dict[str, Any] = {"buckets": buckets}
        if page:
            result["after_key"] = buckets[-1]["key"]
        return result


def _knn_score(space_type: str, query: list[float], vector: list[float]) -> float:
    """OpenSearch's k-NN score for one vector: distance turned into "higher is better"."""
    if space_type == "l2":
        return 1.0 / (1.0 + sum((a - b) ** 2 for a, b in zip(query, vector, strict=True)))
    ip = sum(a * b for a, b in zip(query, vector, strict=True))
    if space_type == "cosinesimil":
        norms = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in vector))
        return (2.0 - (1.0 - ip / norms)) / 2.0
    assert space_type == "innerproduct", f"the fake does not know the space {space_type}"
    return ip + 1.0 if ip >= 0 else 1.0 / (1.0 - ip)


def _lexical(text: str, doc: dict[str, Any], corpus: Iterable[dict[str, Any]]) -> float:
    def terms(d: dict[str, Any]) -> list[str]:
        return content_terms(f"{d['title']} {d.get('section', '')} {d['text']}")

    documents = [set(terms(d)) for d in corpus]
    mine = terms(doc)
    score = 0.0
    for term in set(content_terms(text)):
        frequency = mine.count(term)
        if frequency:
            document_frequency = sum(term in d for d in documents)
            score += math.log(1 + len(documents) / document_frequency) * frequency / (frequency + 1.2)
    return score


def _field_value(doc: dict[str, Any], field_name: str) -> Any:
    if field_name.startswith("metadata."):
        return (doc.get("metadata") or {}).get(field_name.removeprefix("metadata."))
    return doc.get(field_name.removesuffix(".raw"))


def _matches(doc: dict[str, Any], query: dict[str, Any] | None) -> bool:
    if not query:
        return True
    if "bool" in query:
        return all(_matches(doc, clause) for clause in query["bool"].get("filter", []))
    if "term" in query:
        ((name, value),) = query["term"].items()
        return _field_value(doc, name) == value
    if "terms" in query:
        ((name, values),) = query["terms"].items()
        return _field_value(doc, name) in values
    raise AssertionError(f"the fake does not understand {query}")
