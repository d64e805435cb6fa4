"""Ingestion: changes in the documents bucket reach the ingest function through SQS.

The queue absorbs bursts (a bulk upload becomes batches at a bounded concurrency, so OpenSearch is
not flooded), the function reports partial batch failures (one bad document is retried alone), and
a document that keeps failing lands in the dead-letter queue instead of blocking the rest.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as notifications
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.contract import handler_path
from infra.config import IngestionConfig
from infra.data import DataStores
from infra.lambdas import FunctionFactory
from infra.models import ModelAccess
from infra.nag import acknowledge
from infra.search import SearchDomain

#: The id of the singleton Lambda that CDK adds to configure bucket notifications.
NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
#: AWS's advice for SQS event sources: a visibility timeout of six times the function's timeout.
VISIBILITY_FACTOR = 6


class Ingestion(Construct):
    """Documents bucket events -> queue (with DLQ) -> ingest function -> OpenSearch."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: IngestionConfig,
        functions: FunctionFactory,
        data: DataStores,
        search: SearchDomain,
        models: ModelAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        # Its own key: S3 must be allowed to use it for this bucket only, and naming the bucket in the
        # data key's policy would make the key and the bucket (encrypted with it) depend on each other.
        key = kms.Key(
            self,
            "QueueKey",
            enable_key_rotation=True,
            description="genai-stack: ingestion queue messages (S3 object keys)",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(config.timeout_seconds * VISIBILITY_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=config.max_receive_count
            ),
        )
        # Created objects are indexed; removed ones have their chunks deleted from the index.
        for event in (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED):
            data.documents.add_event_notification(event, notifications.SqsDestination(self.queue))
        acknowledge(
            cdk.Stack.of(self).node.find_child(NOTIFICATIONS_HANDLER),
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason="CDK's own bucket-notifications Lambda (runs at deploy time only, called by "
            "CloudFormation, which reports its failure) comes with this managed policy for its logs, "
            "outside any VPC, without reserved concurrency or a dead-letter queue; the construct "
            "accepts none of these",
            checkov=("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"),
        )
        self.function = functions.build(
            self,
            "Ingest",
            handler=handler_path("ingest"),
            description="genai-stack: index new documents (SQS batch of S3 events)",
            memory_mb=config.memory_mb,
            timeout=cdk.Duration.seconds(config.timeout_seconds),
            reserved_concurrency=config.max_concurrency,  # what the event source may run at once
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=config.batch_size,
                max_batching_window=cdk.Duration.seconds(5),
                max_concurrency=config.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        data.grant_read_objects(data.documents, self.function)
        search.grant_read_write(self.function)
        models.grant_embed(self.function)
