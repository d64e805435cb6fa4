"""What the synthesized template must guarantee: code wiring, least privilege, encryption, resilience."""

from __future__ import annotations

import importlib
import json
import os
import re
from typing import Any

from aws_cdk.assertions import Match

from functions.contract import API_HANDLERS, EnvVar, handler_path
from functions.contract import DynamoDBLayout as Layout
from functions.settings import Settings
from infra.api import route_keys
from infra.lambdas import REPO_ROOT, RUNTIME, VPC_ACCESS_ACTIONS
from infra.search import index_body
from tests.infra.conftest import Synthesized

DATA_SERVICES = ("dynamodb:", "s3:", "es:", "sns:", "sqs:", "kms:")


def our_functions(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """The Lambda functions whose code is this repository's `functions` package."""
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in stack.resources("AWS::Lambda::Function").items()
        if resource["Properties"].get("Handler", "").startswith(("functions.", "functions/"))
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cdk_nag_passes_and_every_acknowledgment_gives_a_reason(any_stack: Synthesized) -> None:
    (report,) = any_stack.validation_report["pluginReports"]

    assert report["conclusion"] == "success"
    assert report["violations"] == []
    assert all(len(finding["reason"]) >= 40 for finding in report["suppressedViolations"])


def test_every_handler_string_resolves_to_a_function(default_stack: Synthesized) -> None:
    handlers = {props["Handler"] for props in our_functions(default_stack).values()}

    assert {handler_path(name) for name in API_HANDLERS} <= handlers
    for handler in handlers:
        if handler.endswith(".sh"):  # a start script the Lambda Web Adapter runs (infra/widget.py)
            assert os.access(REPO_ROOT / handler, os.X_OK), handler
            continue
        module, _, attribute = handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), handler


def test_functions_run_on_the_latest_python_on_arm64_with_tracing(default_stack: Synthesized) -> None:
    for props in our_functions(default_stack).values():
        assert props["Runtime"] == RUNTIME.name
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}


def test_function_timeouts_fit_what_invokes_them(any_stack: Synthesized) -> None:
    # An HTTP API gives up on its integration after 30 s; SQS must hide a message at least as long
    # as the function may run on it, or a second consumer takes the batch still being indexed.
    functions = {props["Handler"]: props for props in our_functions(any_stack).values()}
    for name in API_HANDLERS:
        assert functions[handler_path(name)]["Timeout"] < 30, name
    (queue,) = (
        r["Properties"]
        for r in any_stack.resources("AWS::SQS::Queue").values()
        if "RedrivePolicy" in r["Properties"]
    )
    ingest = functions[handler_path("ingest")]
    assert ingest["Timeout"] == any_stack.config.ingestion.timeout_seconds
    assert queue["VisibilityTimeout"] >= ingest["Timeout"]


def test_api_functions_are_sized_and_capped_as_configured(default_stack: Synthesized) -> None:
    for name in API_HANDLERS:
        sizing = default_stack.config.api.functions[name]
        default_stack.template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": handler_path(name),
                "MemorySize": sizing.memory_mb,
                "Timeout": sizing.timeout_seconds,
                "ReservedConcurrentExecutions": sizing.reserved_concurrency,
            },
        )


def test_the_environment_satisfies_the_runtime_settings(default_stack: Synthesized) -> None:
    # The runtime validates its settings at cold start: a missing or misspelt variable would only
    # show up as a failing Lambda in AWS. Tokens (table names, endpoint) stand in as plain strings.
    for props in our_functions(default_stack).values():
        env = props.get("Environment", {}).get("Variables", {})
        if EnvVar.STORE not in env:
            continue  # the custom-resource and gate functions read no settings
        plain = {key: value if isinstance(value, str) else "token" for key, value in env.items()}
        settings = Settings(
            **{
                key.removeprefix("GENAI_STACK_").lower(): value
                for key, value in plain.items()
                if key.startswith("GENAI_STACK_")
            }
        )
        assert settings.vector_store.value == "opensearch"
        assert settings.store.value == "dynamodb"
        assert str(settings.data_dir).startswith("/tmp")
        assert settings.embedding_dimension == default_stack.config.search.dimension


def test_routes_come_from_the_routers_and_require_a_jwt(default_stack: Synthesized) -> None:
    routes = default_stack.resources("AWS::ApiGatewayV2::Route")
    expected = {key for name in API_HANDLERS for key in route_keys(name)}

    assert {route["Properties"]["RouteKey"] for route in routes.values()} == expected
    assert {route["Properties"]["AuthorizationType"] for route in routes.values()} == {"JWT"}


def test_each_route_is_throttled_and_logged(default_stack: Synthesized) -> None:
    (stage,) = default_stack.resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["RouteSettings"]

    for name in API_HANDLERS:
        limits = default_stack.config.api.functions[name]
        for key in route_keys(name):
            assert settings[key] == {
                "ThrottlingRateLimit": limits.rate_limit,
                "ThrottlingBurstLimit": limits.burst_limit,
            }
    assert "$context.requestId" in stage["Properties"]["AccessLogSettings"]["Format"]


def test_cors_allows_the_configured_widget_origin(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "CorsConfiguration": Match.object_like(
                {"AllowOrigins": list(default_stack.config.api.allowed_origins)}
            )
        },
    )


def test_iam_statements_on_data_stores_name_their_resources(any_stack: Synthesized) -> None:
    offenders = []
    for logical_id, policy in any_stack.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = as_list(statement["Action"])
            if any(action.startswith(DATA_SERVICES) for action in actions) and "*" in as_list(
                statement["Resource"]
            ):
                offenders.append((logical_id, actions))
    assert offenders == []


def test_tables_are_encrypted_recoverable_and_expire_items(default_stack: Synthesized) -> None:
    tables = default_stack.resources("AWS::DynamoDB::Table")
    keys = {table["Properties"]["KeySchema"][0]["AttributeName"] for table in tables.values()}

    assert keys == {
        Layout.CONVERSATION_KEY,
        Layout.MESSAGE_KEY,
        Layout.IDEMPOTENCY_KEY,
        Layout.QUOTA_KEY,
        Layout.REVIEW_PAIR_KEY,
    }
    for table in tables.values():
        props = table["Properties"]
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in props["SSESpecification"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["TimeToLiveSpecification"]["Enabled"] is True
        assert props["TimeToLiveSpecification"]["AttributeName"] in {
            Layout.TTL_ATTRIBUTE,
            Layout.IDEMPOTENCY_TTL,
        }


def test_buckets_block_public_access_keep_versions_and_require_tls(default_stack: Synthesized) -> None:
    buckets = default_stack.resources("AWS::S3::Bucket")
    kms_encrypted = 0
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        kms_encrypted += rule["SSEAlgorithm"] == "aws:kms"
    # all but the access-log bucket, which S3 requires SSE-S3 for, and the widget's public bundle
    assert kms_encrypted == len(buckets) - 2
    for policy in default_stack.resources("AWS::S3::BucketPolicy").values():
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_keys_rotate_and_topics_and_queues_are_encrypted(any_stack: Synthesized) -> None:
    for key in any_stack.resources("AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True
    for topic in any_stack.resources("AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    for queue in any_stack.resources("AWS::SQS::Queue").values():
        assert "KmsMasterKeyId" in queue["Properties"]


def test_ingestion_reports_partial_failures_and_has_a_dead_letter_queue(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
    )
    default_stack.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {
                "deadLetterTargetArn": Match.any_value(),
                "maxReceiveCount": default_stack.config.ingestion.max_receive_count,
            }
        },
    )
    default_stack.template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    Match.object_like({"Events": ["s3:ObjectCreated:*"]}),
                    Match.object_like({"Events": ["s3:ObjectRemoved:*"]}),
                ]
            }
        },
    )


def test_domain_is_encrypted_https_only_and_logs_slow_queries(any_stack: Synthesized) -> None:
    (domain,) = any_stack.resources("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]

    assert (
        props["EncryptionAtRestOptions"]["Enabled"] is True and "KmsKeyId" in props["EncryptionAtRestOptions"]
    )
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"] == {
        "EnforceHTTPS": True,
        "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07",
    }
    assert {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"} <= set(props["LogPublishingOptions"])


def test_domain_access_policy_names_the_granted_roles_only(any_stack: Synthesized) -> None:
    (domain,) = any_stack.resources("AWS::OpenSearchService::Domain").values()
    statements = domain["Properties"]["AccessPolicies"]["Statement"]
    principals = [arn for statement in statements for arn in statement["Principal"]["AWS"]]

    # query, retrieval, streamed query, stats (read: the statistics count chunks and sources);
    # ingest, index creator (write)
    assert len(principals) == 6
    assert all(set(principal) == {"Fn::GetAtt"} for principal in principals)
    writers = next(s for s in statements if "es:ESHttpPut" in s["Action"])
    assert len(writers["Principal"]["AWS"]) == 2


def test_the_index_mapping_is_the_runtimes(any_stack: Synthesized) -> None:
    (index,) = any_stack.resources("Custom::OpenSearchIndex").values()
    props = index["Properties"]

    assert json.loads(props["IndexBody"]) == index_body(any_stack.config.search)
    assert props["IndexName"] == any_stack.config.search.index_name


def test_the_variant_index_uses_its_configured_hnsw_parameters(variant_stack: Synthesized) -> None:
    (index,) = variant_stack.resources("Custom::OpenSearchIndex").values()
    method = json.loads(index["Properties"]["IndexBody"])["mappings"]["properties"]["embedding"]["method"]

    assert method == {
        "name": "hnsw",
        "engine": "lucene",
        "space_type": "cosinesimil",
        "parameters": {"m": 32, "ef_construction": 256},
    }


def test_log_groups_keep_logs_as_configured(any_stack: Synthesized) -> None:
    days = {
        group["Properties"]["RetentionInDays"]
        for group in any_stack.resources("AWS::Logs::LogGroup").values()
    }

    assert days == {any_stack.config.data.log_retention_days}


def test_the_vpc_variant_places_domain_and_functions_in_private_subnets(variant_stack: Synthesized) -> None:
    (domain,) = variant_stack.resources("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]

    assert props["VPCOptions"]["SubnetIds"]
    assert props["ClusterConfig"]["ZoneAwarenessEnabled"] is True
    assert props["ClusterConfig"]["DedicatedMasterCount"] == 3
    search_roles = {
        principal["Fn::GetAtt"][0]
        for statement in props["AccessPolicies"]["Statement"]
        for principal in statement["Principal"]["AWS"]
    }
    in_vpc = {
        function["Role"]["Fn::GetAtt"][0]
        for function in our_functions(variant_stack).values()
        if "VpcConfig" in function
    }
    assert search_roles <= in_vpc
    for role in in_vpc:
        (policy,) = (
            p
            for p in variant_stack.resources("AWS::IAM::Policy").values()
            if p["Properties"]["Roles"] == [{"Ref": role}]
        )
        actions = {
            a for st in policy["Properties"]["PolicyDocument"]["Statement"] for a in as_list(st["Action"])
        }
        assert set(VPC_ACCESS_ACTIONS) <= actions, role


def test_deploy_doc_lists_every_acknowledged_rule(any_stack: Synthesized) -> None:
    doc = (REPO_ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    (report,) = any_stack.validation_report["pluginReports"]

    missing = {finding["ruleName"].split("[")[0] for finding in report["suppressedViolations"]} - {
        rule for rule in re.findall(r"AwsSolutions-[A-Z]+\d+", doc)
    }
    assert missing == set()
