"""The AWS VectorStore: an OpenSearch k-NN index, queried with BM25 and k-NN together (hybrid).

Fusion is done here, client-side, with the same `fuse_scores` as the embedded store, rather than
by a search pipeline with the normalization processor. Both compute min-max + weighted mean; doing
it here keeps one implementation for both stores (identical rankings, tested once), works on any
OpenSearch 2.x domain without creating a pipeline resource, and gives the confidence gate the raw
cosine scores the processor would normalise away. The two queries go in one `_msearch` round trip.

Writes go straight to the index (OpenSearch has no multi-document transaction): `flush` refreshes
so they become searchable, and `discard` has nothing to undo. Bulk writes retry throttled
documents with backoff and report the documents that still failed.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from functions.contract import SpaceType, knn_index_body
from functions.errors import DependencyUnavailableError, IngestError
from functions.observability import logger
from functions.rag.documents import Chunk, ScoredChunk, SearchQuery
from functions.rag.embeddings.ports import Vectors, cosine
from functions.rag.stores.fusion import distinct_passages, fuse_scores
from functions.text import fold_case_and_space

#: Chunk attributes stored as keyword fields (title and section are analysed text with a keyword
#: sub-field); any other filter name is a key of the `metadata` flat object.
_KEYWORD_FIELDS = {"source": "source", "source_hash": "source_hash", "user_id": "user_id"}
_TEXT_KEYWORD_FIELDS = {"title": "title.raw", "section": "section.raw"}
_LEXICAL_FIELDS = ["text", "title^2", "section"]


def filter_clauses(filters: Mapping[str, str]) -> list[dict[str, Any]]:
    """Exact-match `term` clauses for the filters, on the field each name maps to."""
    clauses = []
    for name, value in filters.items():
        field = _KEYWORD_FIELDS.get(name) or _TEXT_KEYWORD_FIELDS.get(name) or f"metadata.{name}"
        clauses.append({"term": {field: value}})
    return clauses


def knn_score_to_cosine(score: float, space_type: SpaceType) -> float:
    """Undo the k-NN plugin's score transform to get the cosine similarity back, so that the
    confidence gate (`min_relevance`) reads the same scale whatever space the index uses.

    The formulas are OpenSearch's (faiss and lucene alike); the `l2` one relies on the vectors
    being unit length, as every embedder here returns them: squared distance = 2 - 2 cos.
    """
    if space_type is SpaceType.INNER_PRODUCT:  # ip + 1 when ip >= 0, else 1 / (1 - ip)
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    if space_type is SpaceType.COSINE:  # (2 - (1 - cos)) / 2
        return 2.0 * score - 1.0
    # l2: 1 / (1 + squared distance)
    return 1.0 - (1.0 / score - 1.0) / 2.0


class OpenSearchVectorStore:
    def __init__(
        self,
        client: Any,
        index: str,
        dimension: int,
        *,
        space_type: SpaceType = SpaceType.INNER_PRODUCT,
        bulk_chunk_size: int = 200,
        max_retries: int = 3,
    ) -> None:
        self.client = client
        self.index = index
        self.dimension = dimension
        self.space_type = SpaceType(space_type)
        self.bulk_chunk_size = bulk_chunk_size
        self.max_retries = max_retries

    @classmethod
    def for_endpoint(
        cls,
        endpoint: str,
        index: str,
        dimension: int,
        region: str | None = None,
        *,
        space_type: SpaceType = SpaceType.INNER_PRODUCT,
    ) -> OpenSearchVectorStore:
        """A store on an Amazon OpenSearch Service domain, requests signed with SigV4 (service `es`)."""
        import boto3
        from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

        session = boto3.Session()
        region = region or session.region_name
        host = endpoint.removeprefix("https://").rstrip("/")
        client = OpenSearch(
            hosts=[{"host": host, "port": 443}],
            http_auth=AWSV4SignerAuth(session.get_credentials(), region, "es"),
            use_ssl=True,
            verify_certs=True,
            connection_class=RequestsHttpConnection,
            timeout=5,
            max_retries=2,
            retry_on_timeout=True,
        )
        return cls(client, index, dimension, space_type=space_type)

    # --- administration ---------------------------------------------------------------------

    def ensure_index(self) -> bool:
        """Create the index with the shared mapping if it does not exist; True when created."""
        with _translated("create the index"):
            if self.client.indices.exists(index=self.index):
                return False
            self.client.indices.create(
                index=self.index, body=knn_index_body(self.dimension, space_type=self.space_type)
            )
        return True

    # --- reads ------------------------------------------------------------------------------

    def count(self) -> int:
        with _translated("count documents"):
            return int(self.client.count(index=self.index)["count"])

    def source_hashes(self) -> dict[str, str]:
        """Every source with its content hash, paging through a composite aggregation."""
        hashes: dict[str, str] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [
                    {"source": {"terms": {"field": "source"}}},
                    {"hash": {"terms": {"field": "source_hash"}}},
                ],
            }
            if after is not None:
                composite["after"] = after
            with _translated("list the indexed sources"):
                response = self.client.search(
                    index=self.index, body={"size": 0, "aggs": {"sources": {"composite": composite}}}
                )
            aggregation = response["aggregations"]["sources"]
            for bucket in aggregation["buckets"]:
                hashes[bucket["key"]["source"]] = bucket["key"]["hash"]
            after = aggregation.get("after_key")
            if not aggregation["buckets"] or after is None:
                return hashes

    def search(self, query: SearchQuery) -> list[ScoredChunk]:
        vector = [float(x) for x in query.vector]
        clauses = filter_clauses(query.filters)
        knn: dict[str, Any] = {"vector": vector, "k": query.candidate_pool}
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        dense_body = {
            "size": query.candidate_pool,
            "_source": {"excludes": ["embedding"]},
            "query": {"knn": {"embedding": knn}},
        }
        lexical_body = {
            "size": query.candidate_pool,
            "_source": {"excludes": ["embedding"]},
            "query": {
                "bool": {
                    "must": [{"multi_match": {"query": query.text, "fields": _LEXICAL_FIELDS}}],
                    "filter": clauses,
                }
            },
        }
        header = {"index": self.index}
        with _translated("search"):
            responses = self.client.msearch(body=[header, dense_body, header, lexical_body])["responses"]
        for response in responses:
            if "error" in response:
                raise DependencyUnavailableError(f"the search cluster failed the query: {response['error']}")
        dense_hits, lexical_hits = (response["hits"]["hits"] for response in responses)

        chunks = {hit["_id"]: self._chunk(hit["_id"], hit["_source"]) for hit in [*lexical_hits, *dense_hits]}
        dense = {hit["_id"]: knn_score_to_cosine(hit["_score"], self.space_type) for hit in dense_hits}
        lexical = {hit["_id"]: float(hit["_score"]) for hit in lexical_hits}
        fused = fuse_scores(dense, lexical, query.dense_weight)

        results = [
            ScoredChunk(
                chunks[chunk_id],
                round(score, 6),
                dense.get(chunk_id) or 0.0,
                dense.get(chunk_id),
                lexical.get(chunk_id),
            )
            for chunk_id, score in distinct_passages(
                fused, lambda chunk_id: fold_case_and_space(chunks[chunk_id].text), query.k
            )
        ]
        return self._with_relevance(results, vector)

    def _with_relevance(self, results: list[ScoredChunk], vector: list[float]) -> list[ScoredChunk]:
        """Lexical-only hits were not scored by k-NN: fetch their vectors (a few) for the cosine."""
        missing = [hit.chunk.chunk_id for hit in results if hit.dense_score is None]
        if not missing:
            return results
        with _translated("fetch vectors"):
            docs = self.client.mget(index=self.index, body={"ids": missing}, _source_includes=["embedding"])[
                "docs"
            ]
        vectors = {doc["_id"]: doc["_source"]["embedding"] for doc in docs if doc.get("found")}
        return [
            ScoredChunk(
                hit.chunk, hit.score, cosine(vector, vectors[hit.chunk.chunk_id]), None, hit.lexical_score
            )
            if hit.chunk.chunk_id in vectors
            else hit
            for hit in results
        ]

    def _chunk(self, chunk_id: str, source: Mapping[str, Any]) -> Chunk:
        encoded = source.get("sentence_vectors") or ""
        return replace(
            Chunk.from_dict({**source, "chunk_id": chunk_id}),
            sentence_vectors=decode_sentence_vectors(encoded, self.dimension),
        )

    # --- writes -----------------------------------------------------------------------------

    def add(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        from opensearchpy.helpers import streaming_bulk

        actions = (
            {
                "_op_type": "index",
                "_index": self.index,
                "_id": chunk.chunk_id,
                "_source": {
                    **chunk.to_dict(),
                    "embedding": [float(x) for x in vector],
                    "sentence_vectors": encode_sentence_vectors(chunk.sentence_vectors),
                },
            }
            for chunk, vector in zip(chunks, vectors, strict=True)
        )
        failures: list[str] = []
        with _translated("index documents"):
            for ok, item in streaming_bulk(
                self.client,
                actions,
                chunk_size=self.bulk_chunk_size,
                max_retries=self.max_retries,
                initial_backoff=1,
                max_backoff=8,
                raise_on_error=False,
                raise_on_exception=False,
            ):
                if not ok:
                    detail = item.get("index", item)
                    failures.append(f"{detail.get('_id')}: {detail.get('error', detail.get('status'))}")
        if failures:
            logger.error("bulk indexing failed", extra={"failed": len(failures), "first": failures[0]})
            raise IngestError(
                f"{len(failures)} of {len(chunks)} chunks could not be indexed; first: {failures[0]}"
            )

    def delete_sources(self, sources: Iterable[str]) -> int:
        return self._delete_by_query({"terms": {"source": list(sources)}}, "delete documents")

    def flush(self) -> None:
        with _translated("refresh the index"):
            self.client.indices.refresh(index=self.index)

    def discard(self) -> None:
        """Nothing to undo: OpenSearch applied each write as it came."""

    def _delete_by_query(self, query: dict[str, Any], what: str) -> int:
        with _translated(what):
            response = self.client.delete_by_query(
                index=self.index, body={"query": query}, params={"refresh": "true", "conflicts": "proceed"}
            )
        return int(response.get("deleted", 0))


def encode_sentence_vectors(vectors: Sequence[Sequence[float]]) -> str:
    """Sentence vectors as the index's binary field holds them: base64 of little-endian float32."""
    values = [float(x) for vector in vectors for x in vector]
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def decode_sentence_vectors(encoded: str, dimension: int) -> list[list[float]]:
    raw = base64.b64decode(encoded)
    values = struct.unpack(f"<{len(raw) // 4}f", raw)
    return [list(values[i : i + dimension]) for i in range(0, len(values), dimension)]


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turns the client's transport failures into a DependencyUnavailableError (HTTP 503)."""
    from opensearchpy.exceptions import ConnectionError as TransportConnectionError
    from opensearchpy.exceptions import TransportError

    try:
        yield
    except TransportConnectionError as error:  # includes timeouts
        logger.error("search cluster unreachable", extra={"operation": what})
        raise DependencyUnavailableError(
            f"the search cluster did not answer ({what}); please retry"
        ) from error
    except TransportError as error:
        logger.error("search cluster error", extra={"operation": what, "status": error.status_code})
        raise DependencyUnavailableError(
            f"the search cluster failed to {what} (HTTP {error.status_code}); please retry"
        ) from error
