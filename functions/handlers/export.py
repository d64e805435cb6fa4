"""Lambda function, first step of the retraining pipeline: conversations and feedback ->
`s3://<training data bucket>/<prefix>interactions.jsonl` (see functions.feedback.export)."""

from __future__ import annotations

import io
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import aws
from functions.contract import EXPORTS_PREFIX
from functions.feedback.export import build_interactions, write_jsonl
from functions.observability import logger, tracer
from functions.services import Services
from functions.settings import get_settings

services = Services(get_settings())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bucket = services.settings.training_data_bucket
    if not bucket:
        raise ValueError("GENAI_STACK_TRAINING_DATA_BUCKET is not set")
    key = f"{str(event.get('prefix', EXPORTS_PREFIX)).rstrip('/')}/interactions.jsonl"
    buffer = io.StringIO()
    interactions = build_interactions(services.conversations, services.feedback_store)
    count = write_jsonl(interactions, buffer)
    aws.client("s3").put_object(
        Bucket=bucket, Key=key, Body=buffer.getvalue().encode(), ContentType="application/x-ndjson"
    )
    logger.info("exported interactions", extra={"records": count, "key": key})
    return {"uri": f"s3://{bucket}/{key}", "records": count}
