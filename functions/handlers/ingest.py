"""Lambda function: SQS batches of S3 notifications from the documents bucket -> the index.

Partial batch responses: only the messages whose documents failed go back to the queue (and to
the dead-letter queue after the redrive limit); the others are done.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.ingest.s3_events import S3Ingestion
from functions.observability import logger, metrics, tracer
from functions.services import Services
from functions.settings import get_settings

services = Services(get_settings())
processor = BatchProcessor(event_type=EventType.SQS)


def ingest_record(record: SQSRecord) -> None:
    report = S3Ingestion(services.ingestor).apply(json.loads(record.body))
    logger.info("ingested", extra=report.to_dict())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=ingest_record, processor=processor, context=context
    )
