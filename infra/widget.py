"""The chat widget's edge: one CloudFront distribution serving the widget bundle from S3 (origin
access control) and streaming answers from a Lambda function URL in RESPONSE_STREAM mode.

The Python managed runtime cannot stream a response itself, so the streaming function runs the
same FastAPI app under uvicorn behind the Lambda Web Adapter (a layer; docs/DEPLOY.md says why
this over an API Gateway WebSocket API). The function URL takes only requests CloudFront signed
(AWS_IAM auth with origin access control), and every response carries a CSP and HSTS.
Signed-in customers send their Cognito token, which the app verifies itself (no API Gateway
authorizer stands in front of a function URL). Visitors who are not signed in start a guest
session on the same function (`/v1/guest-sessions`, tokens signed with a key in Secrets Manager)
and ask a limited number of questions, and spend a limited number of tokens, with it.
The bundle itself is uploaded after deploy (`aws s3 sync widget/dist s3://<WidgetBucket>`), so
synthesis does not need npm and a widget release does not need a stack deploy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from functions.contract import TOKEN_HEADER, EnvVar
from infra.config import ApiConfig
from infra.data import NONCURRENT_VERSIONS, DataStores
from infra.lambdas import FunctionFactory
from infra.models import ModelAccess
from infra.nag import acknowledge
from infra.search import SearchDomain

#: The Lambda Web Adapter's public layer (arm64), published by AWS in every commercial region.
WEB_ADAPTER_LAYER = "arn:aws:lambda:{region}:753240598075:layer:LambdaAdapterLayerArm64:25"
#: Starts uvicorn with the streaming app; the adapter runs it in place of a Python handler.
STREAM_SERVER = "functions/handlers/stream_server.sh"
STREAM_PATH = "/v1/query/stream"
GUEST_PATH = "/v1/guest-sessions"
STREAM_PORT = "8080"
#: How long one answer may stream (a function URL allows up to 15 minutes; CloudFront's origin
#: read timeout is 60 s unless a quota increase is granted).
STREAM_TIMEOUT = cdk.Duration.seconds(60)
#: Documents served from this distribution may load nothing from elsewhere; the bundle is a
#: script another site loads, which CSP on the store's own page governs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class WidgetEdge(Construct):
    """Widget bucket, streaming function with its function URL, and the CloudFront distribution."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ApiConfig,
        functions: FunctionFactory,
        data: DataStores,
        search: SearchDomain,
        models: ModelAccess,
        web_acl_arn: str | None,
        cognito_issuer: str,
        cognito_client_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = self._build_bucket(data)
        self.function = self._build_function(config, functions)
        # No JWT authorizer stands in front of the function URL: the app verifies a signed-in
        # customer's token itself, against the issuer and client the API's authorizer checks.
        self.function.add_environment(EnvVar.COGNITO_ISSUER, cognito_issuer)
        self.function.add_environment(EnvVar.COGNITO_CLIENT_ID, cognito_client_id)
        search.grant_read(self.function)
        models.grant_embed(self.function)
        models.grant_chat(self.function)
        data.grant_table(data.conversations, self.function, write=True)
        data.grant_count_requests(self.function)  # guest sessions' question counters
        self.guest_secret = self._build_guest_secret(data)
        self.function_url = self.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM,
            invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM,
            cors=lambda_.FunctionUrlCorsOptions(
                allowed_origins=list(config.allowed_origins),
                allowed_methods=[lambda_.HttpMethod.POST],
                allowed_headers=["authorization", "content-type", "x-amz-content-sha256", TOKEN_HEADER],
                max_age=cdk.Duration.hours(1),
            ),
        )
        self.distribution = self._build_distribution(data, web_acl_arn)

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    def _build_bucket(self, data: DataStores) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Bundle",
            encryption=s3.BucketEncryption.S3_MANAGED,  # public content; OAC reads it without a key grant
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[NONCURRENT_VERSIONS],  # a replaced bundle is kept for recovery, then deleted
            server_access_logs_bucket=data.access_logs,
            server_access_logs_prefix="widget/",
            removal_policy=data.removal_policy,
        )

    def _build_guest_secret(self, data: DataStores) -> secretsmanager.Secret:
        """The key that signs guest tokens (`functions.guests`). No API Gateway authorizer stands in
        front of the function URL, so a question without a signed-in user needs a guest token."""
        secret = secretsmanager.Secret(
            self,
            "GuestTokenKey",
            description="genai-stack: HMAC key of the widget's guest-session tokens",
            encryption_key=data.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=data.removal_policy,
        )
        secret.grant_read(self.function)
        self.function.add_environment(EnvVar.GUEST_SECRET_ARN, secret.secret_arn)
        self.function.add_environment(EnvVar.GUEST_TOKEN_REQUIRED, "true")
        acknowledge(
            secret,
            "SMG4",
            reason="a new key only ends the guest sessions open at the time (at most "
            "guest_session_seconds); rotate it by updating the secret when needed",
        )
        return secret

    def _build_function(self, config: ApiConfig, functions: FunctionFactory) -> lambda_.Function:
        query = config.functions["query"]  # the same work as the query route, so the same sizing
        adapter = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapter", WEB_ADAPTER_LAYER.format(region=cdk.Stack.of(self).region)
        )
        function = functions.build(
            self,
            "Stream",
            handler=STREAM_SERVER,
            description="genai-stack API: streamed answers (Lambda Web Adapter, response streaming)",
            memory_mb=query.memory_mb,
            timeout=STREAM_TIMEOUT,
            reserved_concurrency=query.reserved_concurrency,
            layers=[*functions.layers, adapter],
        )
        for name, value in {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
            "AWS_LWA_INVOKE_MODE": "response_stream",
            "AWS_LWA_PORT": STREAM_PORT,
            "AWS_LWA_READINESS_CHECK_PATH": "/health",
        }.items():
            function.add_environment(name, value)
        return function

    def _build_distribution(self, data: DataStores, web_acl_arn: str | None) -> cloudfront.Distribution:
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="genai-stack widget: CSP, HSTS and the usual hardening headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365),
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )
        stream = cloudfront.BehaviorOptions(
            origin=origins.FunctionUrlOrigin.with_origin_access_control(
                self.function_url, read_timeout=STREAM_TIMEOUT
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=headers,
        )
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="genai-stack chat widget and streamed answers",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
            ),
            additional_behaviors={STREAM_PATH: stream, GUEST_PATH: stream},
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=data.access_logs,
            log_file_prefix="cloudfront/",
            web_acl_id=web_acl_arn,
        )
        acknowledge(
            distribution,
            "CFR1",
            reason="a store's help page is visited from anywhere; per-visitor limits guard the cost",
        )
        if web_acl_arn is None:
            acknowledge(
                distribution,
                "CFR2",
                reason="edge.enabled is false: no web ACL in this stack; the streaming origin takes "
                "only CloudFront-signed requests and guest sessions are limited per session",
                checkov=("CKV_AWS_68",),
            )
        acknowledge(
            distribution,
            "CFR4",
            reason="the default *.cloudfront.net certificate allows no minimum-TLS setting; a custom "
            "domain with TLSv1.2_2021 is a deployment choice (docs/DEPLOY.md)",
            checkov=("CKV_AWS_174",),
        )
        return distribution
