"""Ingestion driven by S3: the documents bucket notifies SQS, the ingest Lambda applies each
notification (new or changed object: index it; deleted object: remove its chunks).

The object key is the source name, so citations read like the bucket's folder structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from functions import aws
from functions.errors import IngestError
from functions.ingest.pipeline import Ingestor, IngestReport


@dataclass(frozen=True)
class ObjectChange:
    bucket: str
    key: str
    removed: bool


def changes_in(notification: dict[str, Any]) -> list[ObjectChange]:
    """The object changes of one S3 event notification (the body of one SQS message)."""
    if notification.get("Event") == "s3:TestEvent":  # sent once when the notification is set up
        return []
    records = notification.get("Records")
    if not isinstance(records, list):
        raise IngestError("not an S3 event notification: no Records")
    changes = []
    for record in records:
        try:
            s3 = record["s3"]
            changes.append(
                ObjectChange(
                    bucket=s3["bucket"]["name"],
                    key=unquote_plus(s3["object"]["key"]),
                    removed=str(record["eventName"]).startswith("ObjectRemoved"),
                )
            )
        except (KeyError, TypeError) as error:
            raise IngestError(f"malformed S3 event record: missing {error}") from error
    return changes


class S3Ingestion:
    def __init__(self, ingestor: Ingestor, s3_client: Any | None = None) -> None:
        self.ingestor = ingestor
        self._s3 = s3_client

    def apply(self, notification: dict[str, Any]) -> IngestReport:
        """Apply one notification; raises IngestError if any document could not be ingested, so
        the SQS message is retried and, after the redrive limit, lands in the dead-letter queue."""
        report = IngestReport()
        for change in changes_in(notification):
            if change.removed:
                self.ingestor.store.delete_sources([change.key])
                self.ingestor.store.flush()
                report.removed.append(change.key)
                continue
            client = self._s3 or aws.client("s3")
            try:
                raw = client.get_object(Bucket=change.bucket, Key=change.key)["Body"].read()
            except Exception as error:
                raise aws.translate(error, f"s3://{change.bucket}/{change.key}") from error
            result = self.ingestor.ingest_document(change.key, raw, change.key, {"bucket": change.bucket})
            if result.failed:
                raise IngestError(f"s3://{change.bucket}/{change.key}: {result.failed[change.key]}")
            report.added.extend(result.added)
            report.updated.extend(result.updated)
            report.unchanged.extend(result.unchanged)
            report.chunks_indexed += result.chunks_indexed
        return report
