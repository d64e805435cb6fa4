"""The widget's edge: S3 bundle behind CloudFront with origin access control, the streaming
function URL in RESPONSE_STREAM mode behind the same distribution, CSP and HSTS, CORS from config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match

from functions.contract import TOKEN_HEADER, EnvVar
from infra.widget import GUEST_PATH, STREAM_PATH, STREAM_SERVER
from tests.infra.conftest import Synthesized


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (resource,) = resources.values()
    return resource["Properties"]


def widget_distribution(stack: Synthesized) -> dict[str, Any]:
    (found,) = (
        resource["Properties"]["DistributionConfig"]
        for logical_id, resource in stack.resources("AWS::CloudFront::Distribution").items()
        if logical_id.startswith("Widget")
    )
    return found


def stream_function(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = (
        (logical_id, resource["Properties"])
        for logical_id, resource in stack.resources("AWS::Lambda::Function").items()
        if resource["Properties"].get("Handler") == STREAM_SERVER
    )
    return found


def test_streaming_function_runs_the_app_behind_the_web_adapter(default_stack: Synthesized) -> None:
    _, function = stream_function(default_stack)
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert any("LambdaAdapterLayerArm64" in str(layer) for layer in function["Layers"])
    assert function["Timeout"] == 60


def test_function_url_streams_only_for_cloudfront_and_the_configured_origins(
    default_stack: Synthesized,
) -> None:
    logical_id, _ = stream_function(default_stack)
    ((url_id, resource),) = default_stack.resources("AWS::Lambda::Url").items()
    url = resource["Properties"]
    assert url["TargetFunctionArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert url["AuthType"] == "AWS_IAM" and url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["Cors"]["AllowOrigins"] == list(default_stack.config.api.allowed_origins)
    (distribution_id,) = (
        lid for lid in default_stack.resources("AWS::CloudFront::Distribution") if lid.startswith("Widget")
    )
    permissions = [
        p["Properties"]
        for p in default_stack.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [url_id, "FunctionArn"]}
    ]
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert all(p["Principal"] == "cloudfront.amazonaws.com" for p in permissions)
    assert all({"Ref": distribution_id} in p["SourceArn"]["Fn::Join"][1] for p in permissions)


def test_cors_origins_come_from_the_configuration(tmp_path: Any) -> None:
    from tests.infra.conftest import synthesize

    origins = ["https://shop.example.com"]
    stack = synthesize(tmp_path, api={"allowed_origins": origins})
    assert only(stack.resources("AWS::Lambda::Url"))["Cors"]["AllowOrigins"] == origins
    assert only(stack.resources("AWS::ApiGatewayV2::Api"))["CorsConfiguration"]["AllowOrigins"] == origins


def test_bundle_bucket_is_private_and_read_through_origin_access_control(default_stack: Synthesized) -> None:
    distribution = widget_distribution(default_stack)
    s3_origin, url_origin = sorted(distribution["Origins"], key=lambda origin: "S3OriginConfig" not in origin)
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not a legacy OAI
    assert "OriginAccessControlId" in s3_origin and "OriginAccessControlId" in url_origin
    controls = {
        control["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"]
        for control in default_stack.resources("AWS::CloudFront::OriginAccessControl").values()
    }
    assert controls == {"s3", "lambda"}
    default_stack.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Condition": Match.object_like({"StringEquals": Match.any_value()}),
                            }
                        )
                    ]
                )
            }
        },
    )
    behaviors = {behavior["PathPattern"]: behavior for behavior in distribution["CacheBehaviors"]}
    assert set(behaviors) == {STREAM_PATH, GUEST_PATH}
    for behavior in behaviors.values():
        assert behavior["TargetOriginId"] == url_origin["Id"]
        assert "POST" in behavior["AllowedMethods"] and behavior["ViewerProtocolPolicy"] == "https-only"
        assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_anonymous_questions_need_a_guest_token_signed_with_the_stack_secret(
    default_stack: Synthesized,
) -> None:
    _, function = stream_function(default_stack)
    variables = function["Environment"]["Variables"]
    assert variables[EnvVar.GUEST_TOKEN_REQUIRED] == "true"
    ((secret_id, secret),) = [
        (lid, r)
        for lid, r in default_stack.resources("AWS::SecretsManager::Secret").items()
        if "Guest" in lid
    ]
    assert variables[EnvVar.GUEST_SECRET_ARN] == {"Ref": secret_id}
    assert "KmsKeyId" in secret["Properties"]
    # the sessions' counters live in the shared quota table, not in one instance's memory
    (quota_table,) = (lid for lid in default_stack.resources("AWS::DynamoDB::Table") if "Quotas" in lid)
    assert variables[EnvVar.QUOTA_TABLE] == {"Ref": quota_table}
    role = function["Role"]["Fn::GetAtt"][0]
    assert any(
        statement["Action"] == "dynamodb:UpdateItem"
        and statement["Resource"] == {"Fn::GetAtt": [quota_table, "Arn"]}
        for policy in default_stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_the_app_verifies_signed_in_tokens_against_the_authorizers_issuer_and_client(
    default_stack: Synthesized,
) -> None:
    # No JWT authorizer stands in front of the function URL: the app checks the token itself, and
    # must check what the HTTP API's authorizer checks.
    _, function = stream_function(default_stack)
    variables = function["Environment"]["Variables"]
    (authorizer,) = (  # the customers' authorizer; the admin routes have their own
        a
        for a in default_stack.resources("AWS::ApiGatewayV2::Authorizer").values()
        if a["Properties"]["Name"] == "Cognito"
    )
    jwt = authorizer["Properties"]["JwtConfiguration"]
    assert variables[EnvVar.COGNITO_ISSUER] == jwt["Issuer"]
    assert [variables[EnvVar.COGNITO_CLIENT_ID]] == jwt["Audience"]
    ((audience,),) = [jwt["Audience"]]  # the customers' app client, not the admin one
    assert audience["Ref"] in default_stack.resources("AWS::Cognito::UserPoolClient")
    assert "Admin" not in audience["Ref"]


def test_the_widget_sends_its_token_in_the_header_the_function_url_allows(
    default_stack: Synthesized,
) -> None:
    # CloudFront's signature takes the Authorization header, so the token needs its own
    (url,) = default_stack.resources("AWS::Lambda::Url").values()
    assert TOKEN_HEADER in url["Properties"]["Cors"]["AllowHeaders"]
    widget_api = (Path(__file__).resolve().parents[2] / "widget" / "src" / "api.ts").read_text()
    assert f'const TOKEN_HEADER = "{TOKEN_HEADER}";' in widget_api


def test_every_response_carries_a_csp_and_hsts(default_stack: Synthesized) -> None:
    (policy,) = (
        r["Properties"]
        for lid, r in default_stack.resources("AWS::CloudFront::ResponseHeadersPolicy").items()
        if lid.startswith("Widget")
    )
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert "default-src 'none'" in headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "frame-ancestors 'none'" in headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 31536000,
        "IncludeSubdomains": True,
        "Preload": True,
        "Override": True,
    }
    distribution = widget_distribution(default_stack)
    behaviors = [distribution["DefaultCacheBehavior"], *distribution["CacheBehaviors"]]
    assert all("ResponseHeadersPolicyId" in behavior for behavior in behaviors)


def test_streaming_function_may_search_and_chat_but_not_read_feedback(default_stack: Synthesized) -> None:
    _, function = stream_function(default_stack)
    role = function["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in default_stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "bedrock:InvokeModelWithResponseStream" in actions
    assert not any("Feedback" in str(s["Resource"]) for s in statements)


def test_start_script_serves_the_streaming_app() -> None:
    import importlib
    import re

    from infra.lambdas import REPO_ROOT

    script = (REPO_ROOT / STREAM_SERVER).read_text(encoding="utf-8")
    (target,) = re.findall(r"uvicorn (\S+):(\w+)", script)
    app = getattr(importlib.import_module(target[0]), target[1])
    paths = set(app.openapi()["paths"])
    assert {STREAM_PATH, "/health"} <= paths  # /health: the adapter's readiness check


def test_the_widget_distribution_shares_the_api_edge_web_acl(default_stack: Synthesized) -> None:
    (acl_id,) = default_stack.resources("AWS::WAFv2::WebACL")
    assert widget_distribution(default_stack)["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
