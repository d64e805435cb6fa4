"""CloudFront in front of the HTTP API, with an AWS WAF web ACL on the distribution.

WAF cannot be associated with an API Gateway HTTP API (only REST APIs, ALBs, CloudFront, AppSync,
Cognito and a few others), so the public URL is a CloudFront distribution whose origin is the
API's `$default` stage: the AWS managed common and known-bad-inputs rule sets and a rate-based
rule per client IP see every request before the API does. Nothing is cached (answers are per
user); the Authorization header reaches the API through the cache policy, the only way CloudFront
forwards it. A web ACL for CloudFront lives in us-east-1: the stack creates one there, or uses
`edge.web_acl_arn` made in us-east-1 by other means when the stack is deployed in another region.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import EdgeConfig
from infra.nag import acknowledge

#: AWS managed rule groups, evaluated in this order before the rate rule (priority = position).
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
#: Rules of those groups that only count: the common set blocks bodies over 8 KB, and a question
#: of 4,000 characters outside ASCII is larger; the API caps body sizes itself, with a 413 that
#: says so instead of WAF's bare 403.
COUNTED_RULES = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
#: The only region where a web ACL of scope CLOUDFRONT can be created.
WAF_CLOUDFRONT_REGION = "us-east-1"


class Edge(Construct):
    """The distribution that is the API's public address, and the web ACL that guards it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        api_endpoint: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        web_acl_arn = config.web_acl_arn or self._build_web_acl(config, log_retention, removal_policy)
        self.web_acl_arn = web_acl_arn  # the widget's distribution is guarded by the same rules
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="genai-stack API behind AWS WAF",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    cdk.Fn.select(2, cdk.Fn.split("/", api_endpoint)),  # https://<host> -> <host>
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=self._build_cache_policy(),
                # API Gateway answers 403 to a Host header that is not its own.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            web_acl_id=web_acl_arn,
        )
        acknowledge(
            self.distribution,
            "CFR1",
            reason="a support assistant serves customers wherever they are: no geo restriction",
        )
        acknowledge(
            self.distribution,
            "CFR3",
            reason="CloudFront standard logs need an ACL-enabled bucket; the web ACL logs every "
            "request it sees and the API stage writes an access log line per request",
            checkov=("CKV_AWS_86",),
        )
        acknowledge(
            self.distribution,
            "CFR4",
            reason="the default *.cloudfront.net certificate also accepts TLS 1.0 viewers; give the "
            "distribution a custom domain and certificate with TLSv1.2_2021 for production",
            checkov=("CKV_AWS_174",),
        )

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    def _build_cache_policy(self) -> cloudfront.CachePolicy:
        """Nothing is cached (TTLs 0; the API sends no Cache-Control), but Authorization is in the
        key: CloudFront forwards that header only through a cache policy."""
        return cloudfront.CachePolicy(
            self,
            "NoCache",
            comment="genai-stack API: no caching, Authorization forwarded",
            default_ttl=cdk.Duration.seconds(0),
            min_ttl=cdk.Duration.seconds(0),
            max_ttl=cdk.Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )

    def _build_web_acl(
        self, config: EdgeConfig, log_retention: logs.RetentionDays, removal_policy: cdk.RemovalPolicy
    ) -> str:
        cdk.CfnRule(
            self,
            "WebAclRegion",
            assertions=[
                cdk.CfnRuleAssertion(
                    assert_=cdk.Fn.condition_equals(cdk.Aws.REGION, WAF_CLOUDFRONT_REGION),
                    assert_description=f"a web ACL for CloudFront can only be created in "
                    f"{WAF_CLOUDFRONT_REGION}: deploy there, or set edge.web_acl_arn to one made there",
                )
            ],
        )
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in COUNTED_RULES.get(group, ())
                        ]
                        or None,
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RequestsPerIp",
                priority=len(rules),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=config.requests_per_ip,
                        evaluation_window_sec=config.rate_window_seconds,
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429)
                    )
                ),
                visibility_config=_visibility("RequestsPerIp"),
            )
        )
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility("genai-stack-api"),
        )
        # WAF delivers logs only to log groups whose name starts with aws-waf-logs-, and wants the
        # group's ARN without the `:*` that `LogGroup.log_group_arn` ends with.
        name = f"aws-waf-logs-{cdk.Aws.STACK_NAME}"
        waf_logs = logs.LogGroup(
            self, "WafLogs", log_group_name=name, retention=log_retention, removal_policy=removal_policy
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=web_acl.attr_arn,
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        logging.node.add_dependency(waf_logs)
        return web_acl.attr_arn


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
