"""A user's rows in the training exports (`functions.feedback.export` JSON lines), found by the
pseudonym in their `user_id` field: files under a folder locally, objects under the exports prefix
of the training-data bucket in AWS.

Every export is cleaned, not only those no run has trained on yet: a model trained before the
erasure keeps what it learned (docs/DEPLOY.md), but no later run reads the rows again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from functions import aws

EXPORT_ROWS = "export_rows"


def without_user(text: str, pseudonym: str) -> tuple[str, int]:
    """The JSON lines of `text` minus the user's rows, and how many were removed."""
    kept: list[str] = []
    removed = 0
    for line in text.splitlines(keepends=True):
        if line.strip() and json.loads(line).get("user_id") == pseudonym:
            removed += 1
        else:
            kept.append(line)
    return "".join(kept), removed


class LocalExports:
    """JSONL exports under one folder (`genai-stack export` writes there by default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def erase_user(self, pseudonym: str) -> dict[str, int]:
        removed = 0
        for path in sorted(self.folder.rglob("*.jsonl")) if self.folder.is_dir() else ():
            text, count = without_user(path.read_text(encoding="utf-8"), pseudonym)
            if count:
                draft = path.with_name(f".{path.name}.erasing")
                descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                    out.write(text)
                draft.replace(path)  # atomic: a reader sees the old file or the new one
                removed += count
        return {EXPORT_ROWS: removed}


class S3Exports:
    """JSONL export objects under a prefix of a versioned bucket. A rewritten object's earlier
    versions still hold the rows, so they are deleted too."""

    def __init__(self, bucket: str, prefix: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client = client

    def erase_user(self, pseudonym: str) -> dict[str, int]:
        client = self._client or aws.client("s3")
        removed = 0
        try:
            for key in self._export_keys(client):
                body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
                text, count = without_user(body, pseudonym)
                if not count:
                    continue
                current = client.put_object(
                    Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="application/x-ndjson"
                ).get("VersionId")
                self._delete_older_versions(client, key, keep=current)
                removed += count
        except Exception as error:
            raise aws.translate(error, "the training-data bucket") from error
        return {EXPORT_ROWS: removed}

    def _export_keys(self, client: Any) -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return [
            item["Key"]
            for page in pages
            for item in page.get("Contents", [])
            if item["Key"].endswith(".jsonl")
        ]

    def _delete_older_versions(self, client: Any, key: str, keep: str | None) -> None:
        pages = client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key)
        for page in pages:
            for version in page.get("Versions", []):
                if version["Key"] == key and version["VersionId"] != keep:
                    client.delete_object(Bucket=self.bucket, Key=key, VersionId=version["VersionId"])
