"""What the stack does for privacy (issue 14): the index erasure needs, the erasing function's
least-privilege grants, the admin scope, retention of exports and old object versions, and no
response capture in traces."""

from __future__ import annotations

from typing import Any

from functions.contract import ADMIN_SCOPE, EXPORTS_PREFIX
from functions.contract import DynamoDBLayout as Layout
from tests.infra.conftest import Synthesized


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_conversation_table_has_a_keys_only_user_index(default_stack: Synthesized) -> None:
    (table,) = [
        t
        for t in default_stack.resources("AWS::DynamoDB::Table").values()
        if t["Properties"]["KeySchema"][0]["AttributeName"] == Layout.CONVERSATION_KEY
    ]
    indexes = {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes[Layout.USER_INDEX]["KeySchema"] == [{"AttributeName": Layout.USER_KEY, "KeyType": "HASH"}]
    assert indexes[Layout.USER_INDEX]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_the_erasing_function_may_only_find_delete_and_rewrite(default_stack: Synthesized) -> None:
    actions = {
        action
        for policy_id, policy in default_stack.resources("AWS::IAM::Policy").items()
        if policy_id.startswith("ApiPrivacyRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
    }
    data_actions = {a for a in actions if a.startswith(("dynamodb:", "s3:", "bedrock:", "es:", "sns:"))}
    assert data_actions == {
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObjectVersion",
    }
    assert "secretsmanager:GetSecretValue" in actions


def test_the_admin_scope_is_defined_and_only_erasure_and_statistics_take_admin_tokens(
    default_stack: Synthesized,
) -> None:
    identifier, scope = ADMIN_SCOPE.split("/")
    (server,) = default_stack.resources("AWS::Cognito::UserPoolResourceServer").values()
    assert server["Properties"]["Identifier"] == identifier
    assert [s["ScopeName"] for s in server["Properties"]["Scopes"]] == [scope]
    clients = default_stack.resources("AWS::Cognito::UserPoolClient")
    admin = [
        c for c in clients.values() if c["Properties"].get("AllowedOAuthFlows") == ["client_credentials"]
    ]
    assert len(admin) == 1 and admin[0]["Properties"]["GenerateSecret"] is True
    authorizers = default_stack.resources("AWS::ApiGatewayV2::Authorizer")
    audiences = {
        logical_id: len(a["Properties"]["JwtConfiguration"]["Audience"])
        for logical_id, a in authorizers.items()
    }
    routes = default_stack.resources("AWS::ApiGatewayV2::Route")
    by_route = {r["Properties"]["RouteKey"]: r["Properties"]["AuthorizerId"]["Ref"] for r in routes.values()}
    admin_routes = {"DELETE /v1/users/{user_id}/data", "GET /v1/stats"}
    assert {audiences[by_route[key]] for key in admin_routes} == {2}
    assert {audiences[a] for key, a in by_route.items() if key not in admin_routes} == {1}
    scopes = {
        r["Properties"]["RouteKey"]: r["Properties"].get("AuthorizationScopes") for r in routes.values()
    }
    assert scopes["GET /v1/stats"] == [ADMIN_SCOPE] and scopes["DELETE /v1/users/{user_id}/data"] is None


def test_exports_expire_with_the_retention_and_old_versions_after_30_days(default_stack: Synthesized) -> None:
    buckets = default_stack.resources("AWS::S3::Bucket").values()
    rules = [b["Properties"].get("LifecycleConfiguration", {}).get("Rules", []) for b in buckets]
    assert all(
        any(r.get("NoncurrentVersionExpiration") == {"NoncurrentDays": 30} for r in rs) for rs in rules
    )
    exports = [r for rs in rules for r in rs if r.get("Prefix") == EXPORTS_PREFIX]
    assert exports == [
        {
            "Id": "ExpireExports",
            "Prefix": EXPORTS_PREFIX,
            "ExpirationInDays": default_stack.config.data.retention_days,
            "Status": "Enabled",
        }
    ]


def test_no_function_captures_responses_in_traces(default_stack: Synthesized) -> None:
    for function in default_stack.resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "POWERTOOLS_SERVICE_NAME" in variables:
            assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
