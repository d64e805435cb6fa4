"""Lambda function, first step of the retraining pipeline: conversations, feedback and reviewers'
choices -> `s3://<training data bucket>/<prefix>` (`functions.feedback.export`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.contract import EXPORTS_PREFIX
from functions.feedback.export import S3Prefix, export_training_data
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
    sink = S3Prefix(bucket, str(event.get("prefix", EXPORTS_PREFIX)))
    report = export_training_data(
        services.conversations, services.feedback_store, services.review_store.iter_choices(), sink
    )
    logger.info(
        "exported training data", extra={"records": report.interactions, "pairs": report.review_pairs}
    )
    return {
        "uri": report.interactions_at,
        "records": report.interactions,
        "review_pairs": report.review_pairs,
    }
