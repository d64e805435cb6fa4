"""The HTTPS API: Cognito JWT authorizer, one Lambda function per router, throttling and access logs.

Each route's method and path are read from the FastAPI router the function mounts, so the API
Gateway routes and the app's routes are one definition. Each function gets only the grants its
routes need (the feedback function cannot search, the retrieval function cannot write).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_logs as logs
from constructs import Construct
from fastapi import APIRouter
from fastapi.routing import APIRoute

from functions.contract import ADMIN_SCOPE, API_HANDLERS, REVIEWERS_GROUP, cognito_issuer, handler_path
from infra.config import ApiConfig
from infra.data import DataStores
from infra.lambdas import FunctionFactory
from infra.models import ModelAccess
from infra.nag import acknowledge
from infra.search import SearchDomain

#: HTTP API context variables written per request (JSON, one line each).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "user": "$context.authorizer.claims.sub",
    }
)


#: The functions whose routes accept the admin client's tokens.
ADMIN_ROUTES = ("privacy", "stats")


def route_keys(handler: str) -> Iterator[str]:
    """`METHOD /path` of every route in `functions.api.routes.<handler>`'s router."""
    router = cast(APIRouter, importlib.import_module(f"functions.api.routes.{handler}").router)
    for route in router.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                yield f"{method} {route.path}"


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Where and how the stage writes access logs (the construct library offers only the interface)."""

    def __init__(
        self, destination: apigwv2.IAccessLogDestination, log_format: apigateway.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return self._format


class Api(Construct):
    """Cognito user pool, HTTP API and the four API functions."""

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
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool, self.client = self._build_user_pool(config, data.removal_policy)
        self.admin_client = self._build_admin_client(self.user_pool)
        # Reviewers (the /v1/review routes) are the members of this group (`cognito:groups` claim).
        self.reviewers = cognito.CfnUserPoolGroup(
            self,
            "Reviewers",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=REVIEWERS_GROUP,
            description="genai-stack: may compare answers and record preferences (/v1/review)",
        )
        self.functions = {
            name: functions.build(
                self,
                name.capitalize(),
                handler=handler_path(name),
                description=f"genai-stack API: {name}",
                memory_mb=config.functions[name].memory_mb,
                timeout=cdk.Duration.seconds(config.functions[name].timeout_seconds),
                reserved_concurrency=config.functions[name].reserved_concurrency,
            )
            for name in API_HANDLERS
        }
        self._grant(data, search, models)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="genai-stack support assistant",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(config.allowed_origins),
                allow_methods=[
                    apigwv2.CorsHttpMethod.GET,
                    apigwv2.CorsHttpMethod.POST,
                    apigwv2.CorsHttpMethod.DELETE,  # a user erasing their own data from the widget
                ],
                allow_headers=["authorization", "content-type"],
                max_age=cdk.Duration.hours(1),
            ),
        )
        self.stage = self._build_stage(functions.log_retention, data.removal_policy)
        self._build_routes(config)

    @property
    def url(self) -> str:
        return self.http_api.api_endpoint

    @property
    def issuer(self) -> str:
        """The `iss` of the user pool's tokens (`functions.contract.cognito_issuer`)."""
        return cognito_issuer(cdk.Stack.of(self).region, self.user_pool.user_pool_id)

    def _build_user_pool(
        self, config: ApiConfig, removal_policy: cdk.RemovalPolicy
    ) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_symbols=True,
                require_uppercase=True,
            ),
            mfa=cognito.Mfa.REQUIRED if config.mfa_required else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            removal_policy=removal_policy,
        )
        if not config.mfa_required:
            acknowledge(
                pool,
                "COG2",
                reason="api.mfa_required is false: customers of a support widget get optional TOTP MFA; "
                "set it true for staff-only deployments",
            )
        acknowledge(
            pool,
            "COG8",
            reason="the Plus plan (threat protection) is billed per monthly active user; these users are "
            "support customers with no privileged access",
        )
        client = pool.add_client(
            "Widget",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,  # a browser widget cannot keep a secret
            prevent_user_existence_errors=True,
        )
        return pool, client

    def _build_admin_client(self, pool: cognito.UserPool) -> cognito.UserPoolClient:
        """The admin scope (`functions.contract.ADMIN_SCOPE`) and a machine client that gets it
        (OAuth client credentials): the only tokens that may erase another user's data."""
        identifier, name = ADMIN_SCOPE.split("/")
        scope = cognito.ResourceServerScope(
            scope_name=name, scope_description="erase any user's data; read the loop's statistics"
        )
        server = pool.add_resource_server("ApiScopes", identifier=identifier, scopes=[scope])
        return pool.add_client(
            "Admin",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.resource_server(server, scope)],
            ),
            prevent_user_existence_errors=True,
        )

    def _grant(self, data: DataStores, search: SearchDomain, models: ModelAccess) -> None:
        query, retrieval, feedback = (self.functions[name] for name in ("query", "retrieval", "feedback"))
        for function in (query, retrieval):
            search.grant_read(function)
            models.grant_embed(function)
        models.grant_chat(query)
        data.grant_table(data.conversations, query, write=True)
        data.grant_count_requests(query)
        data.grant_table(data.conversations, feedback, write=False)
        data.grant_table(data.feedback, feedback, write=True)
        data.grant_table(data.idempotency, feedback, write=True)
        data.grant_publish_escalations(feedback)
        data.grant_erase_users(self.functions["privacy"])
        stats = self.functions["stats"]
        search.grant_read(stats)
        data.grant_table(data.conversations, stats, write=False)
        data.grant_table(data.feedback, stats, write=False)
        data.grant_table(data.reviews, self.functions["review"], write=True)
        # guardrails: pure functions of the request; no data access at all.

    def _build_stage(
        self, log_retention: logs.RetentionDays, removal_policy: cdk.RemovalPolicy
    ) -> apigwv2.HttpStage:
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        return apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            detailed_metrics_enabled=True,
            access_log_settings=_AccessLogSettings(
                destination=apigwv2.LogGroupLogDestination(access_logs),
                log_format=apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
            ),
        )

    def _build_routes(self, config: ApiConfig) -> None:
        # A JWT authorizer on the contract's issuer (what HttpUserPoolAuthorizer builds), so the
        # streaming function, which verifies tokens itself, checks the very same issuer and client.
        authorizer = authorizers.HttpJwtAuthorizer(
            "Cognito", self.issuer, jwt_audience=[self.client.user_pool_client_id]
        )
        # The erasure and statistics routes also take the admin client's tokens.
        admin_authorizer = authorizers.HttpUserPoolAuthorizer(
            "CognitoOrAdmin", self.user_pool, user_pool_clients=[self.client, self.admin_client]
        )
        route_settings: dict[str, dict[str, float]] = {}
        for name, function in self.functions.items():
            integration = integrations.HttpLambdaIntegration(f"{name.capitalize()}Integration", function)
            for key in route_keys(name):
                method, path = key.split(" ", 1)
                for route in self.http_api.add_routes(
                    path=path,
                    methods=[apigwv2.HttpMethod(method)],
                    integration=integration,
                    authorizer=admin_authorizer if name in ADMIN_ROUTES else authorizer,
                    # the statistics are for admins only; erasure is also for the user themself
                    authorization_scopes=[ADMIN_SCOPE] if name == "stats" else None,
                ):
                    self.stage.node.add_dependency(route)
                limits = config.functions[name]
                route_settings[key] = {
                    "ThrottlingRateLimit": limits.rate_limit,
                    "ThrottlingBurstLimit": limits.burst_limit,
                }
        cast(apigwv2.CfnStage, self.stage.node.default_child).route_settings = route_settings
