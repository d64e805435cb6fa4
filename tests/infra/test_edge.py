"""Per-client limits in AWS: CloudFront with AWS WAF in front of the HTTP API (WAF cannot be
attached to an HTTP API), and the per-user question counters for the query function only."""

from __future__ import annotations

import json
from typing import Any

from functions.contract import DynamoDBLayout, EnvVar, handler_path
from infra.edge import MANAGED_RULE_GROUPS, WAF_CLOUDFRONT_REGION
from infra.widget import STREAM_SERVER
from tests.infra.conftest import Synthesized


def only(stack: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The one resource of the type outside the widget's edge (infra/widget.py has its own)."""
    ((logical_id, resource),) = (
        item for item in stack.resources(resource_type).items() if not item[0].startswith("Widget")
    )
    return logical_id, resource


def region_rules(stack: Synthesized) -> list[dict[str, Any]]:
    """The template's rules on where it may be deployed (CDK adds one on the bootstrap version)."""
    rules = stack.template.to_json().get("Rules", {})
    return [rule for logical_id, rule in rules.items() if "WebAclRegion" in logical_id]


def test_the_web_acl_runs_the_managed_rules_then_a_rate_limit_per_ip(default_stack: Synthesized) -> None:
    _, acl = only(default_stack, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    rules = sorted(props["Rules"], key=lambda rule: rule["Priority"])
    managed = [rule["Statement"]["ManagedRuleGroupStatement"]["Name"] for rule in rules[:-1]]
    rate = rules[-1]

    assert props["Scope"] == "CLOUDFRONT" and props["DefaultAction"] == {"Allow": {}}
    assert managed == list(MANAGED_RULE_GROUPS) == ["AWSManagedRulesCommonRuleSet", *managed[1:]]
    assert all(rule["OverrideAction"] == {"None": {}} for rule in rules[:-1])  # their own block actions
    # Questions of 4,000 characters outside ASCII exceed the common set's 8 KB body limit.
    overrides = rules[0]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": default_stack.config.edge.requests_per_ip,
        "EvaluationWindowSec": default_stack.config.edge.rate_window_seconds,
    }
    assert rate["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


def test_the_web_acl_guards_the_distribution_in_front_of_the_api(default_stack: Synthesized) -> None:
    acl_id, _ = only(default_stack, "AWS::WAFv2::WebACL")
    api_id, _ = only(default_stack, "AWS::ApiGatewayV2::Api")
    _, distribution = only(default_stack, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]

    assert config["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert api_id in json.dumps(origin["DomainName"])  # the HTTP API's own endpoint
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    # The public URL is the distribution's, not the API's.
    url = default_stack.template.to_json()["Outputs"]["ApiUrl"]["Value"]
    assert json.dumps(url).count("DomainName") == 1 and api_id not in json.dumps(url)


def test_nothing_is_cached_and_the_token_reaches_the_api(default_stack: Synthesized) -> None:
    _, policy = only(default_stack, "AWS::CloudFront::CachePolicy")
    config = policy["Properties"]["CachePolicyConfig"]

    assert (config["DefaultTTL"], config["MinTTL"]) == (0, 0)
    headers = config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]
    assert headers == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}


def test_the_stack_that_makes_the_web_acl_deploys_only_where_waf_for_cloudfront_lives(
    default_stack: Synthesized,
) -> None:
    (assertion,) = region_rules(default_stack)[0]["Assertions"]

    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, WAF_CLOUDFRONT_REGION]}
    _, logging = only(default_stack, "AWS::WAFv2::LoggingConfiguration")
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    assert "aws-waf-logs-" in json.dumps(destination) and ":*" not in json.dumps(destination)


def test_a_web_acl_made_elsewhere_is_used_as_given(variant_stack: Synthesized) -> None:
    _, distribution = only(variant_stack, "AWS::CloudFront::Distribution")

    assert variant_stack.resources("AWS::WAFv2::WebACL") == {}
    assert region_rules(variant_stack) == []
    assert (
        distribution["Properties"]["DistributionConfig"]["WebACLId"] == variant_stack.config.edge.web_acl_arn
    )


def test_only_the_question_functions_may_count_requests_and_only_with_update_item(
    any_stack: Synthesized,
) -> None:
    table_id, table = only_quota_table(any_stack)
    grants = {
        policy["Properties"]["Roles"][0]["Ref"]: statement["Action"]
        for policy in any_stack.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if table_id in json.dumps(statement["Resource"])
    }
    (query,) = (
        function["Properties"]
        for function in any_stack.resources("AWS::Lambda::Function").values()
        if function["Properties"].get("Handler") == handler_path("query")
    )
    (stream,) = (  # the widget's streaming function counts guest sessions' questions
        function["Properties"]
        for function in any_stack.resources("AWS::Lambda::Function").values()
        if function["Properties"].get("Handler") == STREAM_SERVER
    )

    assert grants == {
        query["Role"]["Fn::GetAtt"][0]: "dynamodb:UpdateItem",
        stream["Role"]["Fn::GetAtt"][0]: "dynamodb:UpdateItem",
    }
    assert query["Environment"]["Variables"][EnvVar.QUOTA_TABLE] == {"Ref": table_id}
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": DynamoDBLayout.TTL_ATTRIBUTE,
        "Enabled": True,
    }


def only_quota_table(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, table),) = (
        (logical_id, table)
        for logical_id, table in stack.resources("AWS::DynamoDB::Table").items()
        if table["Properties"]["KeySchema"]
        == [{"AttributeName": DynamoDBLayout.QUOTA_KEY, "KeyType": "HASH"}]
    )
    return logical_id, table
