"""Data stores: the KMS key, S3 buckets, DynamoDB tables, the escalation topic and the pseudonym key.

Everything holding customer text (documents, conversations, feedback, training sets, models) is
encrypted with one customer-managed key with rotation, so access to the data is also a KMS grant.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from functions.contract import EXPORTS_PREFIX
from functions.contract import DynamoDBLayout as Layout
from infra.config import DataConfig
from infra.nag import KEY_ACTIONS, acknowledge, arn_of, principal_of

KEY_WILDCARDS = ("IAM5[Action::kms:GenerateDataKey*]", "IAM5[Action::kms:ReEncrypt*]")
S3_READ_WILDCARDS = ("IAM5[Action::s3:GetBucket*]", "IAM5[Action::s3:GetObject*]", "IAM5[Action::s3:List*]")


#: A replaced or deleted object's old version (an export before an erasure rewrote it, a document
#: removed from the knowledge base) is kept this long for recovery, then deleted.
NONCURRENT_VERSIONS = s3.LifecycleRule(
    id="ExpireOldVersions",
    noncurrent_version_expiration=cdk.Duration.days(30),
    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
)


class DataStores(Construct):
    """Buckets, tables, the escalation topic, the pseudonym key and the key that encrypts them."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DataConfig) -> None:
        super().__init__(scope, construct_id)
        self._removal = cdk.RemovalPolicy.RETAIN if config.retain_on_delete else cdk.RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "DataKey",
            enable_key_rotation=True,
            description="genai-stack: documents, conversations, feedback, training data and models",
            removal_policy=self._removal,
        )
        self.access_logs = self._build_access_log_bucket()
        self.documents = self._build_bucket("Documents")
        self.training_data = self._build_bucket(
            "TrainingData",
            lifecycle_rules=[
                # Exports hold conversations: kept as long as the conversations themselves.
                s3.LifecycleRule(
                    id="ExpireExports",
                    prefix=EXPORTS_PREFIX,
                    expiration=cdk.Duration.days(config.retention_days),
                )
            ],
        )
        self.models = self._build_bucket("Models")
        self.conversations = self._build_table(
            "Conversations",
            partition_key=Layout.CONVERSATION_KEY,
            sort_key=dynamodb.Attribute(name=Layout.TURN_KEY, type=dynamodb.AttributeType.NUMBER),
        )
        self.conversations.add_global_secondary_index(
            index_name=Layout.MESSAGE_ID_INDEX,
            partition_key=dynamodb.Attribute(name=Layout.MESSAGE_KEY, type=dynamodb.AttributeType.STRING),
        )
        # Erasure finds a user's turns by their pseudonym; it needs only the keys.
        self.conversations.add_global_secondary_index(
            index_name=Layout.USER_INDEX,
            partition_key=dynamodb.Attribute(name=Layout.USER_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.feedback = self._build_table("Feedback", partition_key=Layout.MESSAGE_KEY)
        self.idempotency = self._build_table(
            "Idempotency", partition_key=Layout.IDEMPOTENCY_KEY, ttl_attribute=Layout.IDEMPOTENCY_TTL
        )
        self.escalations = sns.Topic(self, "Escalations", master_key=self.key, enforce_ssl=True)
        self.pseudonym_key = self._build_pseudonym_key()
        # Per-user request counters (`functions.limits`): one item per user per window, gone at TTL.
        self.quotas = self._build_table("Quotas", partition_key=Layout.QUOTA_KEY)
        # Reviewers' preference pairs and choices (`functions.feedback.dynamodb_reviews`); no TTL:
        # a judged pair is training data, exported with every retraining run.
        self.reviews = self._build_table(
            "Reviews",
            partition_key=Layout.REVIEW_PAIR_KEY,
            sort_key=dynamodb.Attribute(name=Layout.REVIEW_ENTRY_KEY, type=dynamodb.AttributeType.STRING),
        )

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return self._removal

    def grant_table(self, table: dynamodb.Table, grantee: iam.IGrantable, *, write: bool) -> None:
        """Item access to one table (and its indexes), and the key use that goes with it."""
        principal = principal_of(grantee)
        if write:
            table.grant_read_write_data(grantee)
            acknowledge(principal, *KEY_WILDCARDS, reason=KEY_ACTIONS)
        else:
            table.grant_read_data(grantee)
        if table is self.conversations:
            acknowledge(
                principal,
                f"IAM5[Resource::{arn_of(table)}/index/*]",
                reason=f"queries on this table's own index ({Layout.MESSAGE_ID_INDEX})",
            )

    def grant_count_requests(self, grantee: iam.IGrantable) -> None:
        """Increment counters in the quota table: UpdateItem only, and the key use it needs."""
        self.quotas.grant(grantee, "dynamodb:UpdateItem")
        self.key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")

    def grant_erase_users(self, grantee: iam.IGrantable) -> None:
        """Exactly what `functions.privacy` does: find a user's turns through the user index and
        delete them, delete their feedback, scan and delete idempotency receipts, and rewrite the
        training exports (read, put, delete the older versions)."""
        statements = [
            (
                [f"{self.conversations.table_arn}/index/{Layout.USER_INDEX}", self.conversations.table_arn],
                ["dynamodb:Query"],
            ),
            ([self.conversations.table_arn], ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]),
            ([self.feedback.table_arn], ["dynamodb:DeleteItem"]),
            ([self.idempotency.table_arn], ["dynamodb:Scan", "dynamodb:DeleteItem"]),
            ([self.training_data.bucket_arn], ["s3:ListBucket", "s3:ListBucketVersions"]),
            (
                [self.training_data.arn_for_objects(f"{EXPORTS_PREFIX}*")],
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"],
            ),
        ]
        for resources, actions in statements:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=actions, resources=resources)
            )
        self.key.grant_encrypt_decrypt(grantee)
        acknowledge(
            principal_of(grantee),
            *KEY_WILDCARDS,
            f"IAM5[Resource::{arn_of(self.training_data)}/{EXPORTS_PREFIX}*]",
            reason=f"the erasure rewrites any export object under {EXPORTS_PREFIX} of this one bucket; "
            f"{KEY_ACTIONS}",
        )

    def grant_publish_escalations(self, grantee: iam.IGrantable) -> None:
        self.escalations.grant_publish(grantee)
        acknowledge(principal_of(grantee), KEY_WILDCARDS[0], reason=KEY_ACTIONS)

    def grant_read_objects(
        self, bucket: s3.Bucket, grantee: iam.IGrantable, *, key_pattern: str = "*"
    ) -> None:
        """CDK's read grant, whose action families and key pattern stay inside this one bucket."""
        bucket.grant_read(grantee, key_pattern)
        acknowledge(
            principal_of(grantee),
            *S3_READ_WILDCARDS,
            f"IAM5[Resource::{arn_of(bucket)}/{key_pattern}]",
            reason="CDK's read grant on this one bucket's objects (Get*, List*: versions, tags, listing)",
        )

    def grant_write_objects(
        self, bucket: s3.Bucket, grantee: iam.IGrantable, *, key_pattern: str = "*"
    ) -> None:
        """CDK's put grant (with multipart abort), on this one bucket's objects under `key_pattern`."""
        bucket.grant_put(grantee, key_pattern)
        acknowledge(
            principal_of(grantee),
            *KEY_WILDCARDS,
            f"IAM5[Resource::{arn_of(bucket)}/{key_pattern}]",
            "IAM5[Action::s3:Abort*]",
            reason=f"CDK's put grant on this one bucket's objects; {KEY_ACTIONS}",
        )

    def _build_pseudonym_key(self) -> secretsmanager.Secret:
        """The key of the user-id HMAC in the training export (functions.feedback.pseudonyms)."""
        secret = secretsmanager.Secret(
            self,
            "PseudonymKey",
            description="genai-stack: HMAC key that pseudonymises user ids in training exports",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=self._removal,
        )
        acknowledge(
            secret,
            "SMG4",
            reason="a pseudonymisation key must stay the same: rotating it would give every user a "
            "new pseudonym and unlink their records across training exports",
        )
        return secret

    def _build_access_log_bucket(self) -> s3.Bucket:
        # Server access logs can only be delivered to SSE-S3 buckets.
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365)), NONCURRENT_VERSIONS],
            removal_policy=self._removal,
            auto_delete_objects=False,
        )
        acknowledge(
            bucket,
            checkov=("CKV_AWS_18",),
            reason="the bucket that receives the other buckets' access logs: logging it would log itself",
        )
        return bucket

    def _build_bucket(self, name: str, lifecycle_rules: list[s3.LifecycleRule] | None = None) -> s3.Bucket:
        return s3.Bucket(
            self,
            name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{name}/",
            lifecycle_rules=[*(lifecycle_rules or []), NONCURRENT_VERSIONS],
            removal_policy=self._removal,
        )

    def _build_table(
        self,
        name: str,
        *,
        partition_key: str,
        sort_key: dynamodb.Attribute | None = None,
        ttl_attribute: str = Layout.TTL_ATTRIBUTE,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            name,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl_attribute,
            deletion_protection=self._removal == cdk.RemovalPolicy.RETAIN,
            removal_policy=self._removal,
        )
