"""The OpenSearch Service domain with k-NN, and the custom resource that creates its index.

Access is IAM only: the domain's resource policy names the roles granted here, and each role's own
policy gets the HTTP verbs it needs. The policy is set on the L1 resource, not through the L2
`access_policies` prop, which adds a custom-resource Lambda only to break a dependency cycle this
stack does not have (the roles never depend on the domain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from functions.contract import handler_path, knn_index_body
from infra.config import SearchConfig
from infra.lambdas import FunctionFactory, Placement
from infra.nag import acknowledge, arn_of, principal_of

READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")
WRITE_ACTIONS = (*READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch")


def index_body(config: SearchConfig) -> dict[str, object]:
    """The index settings and mapping for this configuration: the runtime's own definition."""
    return knn_index_body(
        config.dimension,
        engine=config.engine,
        space_type=config.space_type,
        m=config.m,
        ef_construction=config.ef_construction,
        ef_search=config.ef_search,
        shards=config.shards,
        replicas=config.replicas,
    )


@dataclass
class _AccessPolicy:
    """The domain's resource policy, rebuilt as roles are granted."""

    domain_arn: str
    readers: list[str] = field(default_factory=list)
    writers: list[str] = field(default_factory=list)

    def document(self) -> dict[str, object]:
        statements = [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": list(actions),
                "Resource": self.domain_arn,
            }
            for principals, actions in ((self.readers, READ_ACTIONS), (self.writers, WRITE_ACTIONS))
            if principals
        ]
        return {"Version": "2012-10-17", "Statement": statements}


class SearchDomain(Construct):
    """An encrypted, HTTPS-only OpenSearch domain with slow logs, and the k-NN index on it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: SearchConfig,
        key: kms.IKey,
        functions: FunctionFactory,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.index_name = config.index_name
        self.domain = self._build_domain(
            config, key, functions.placement, functions.log_retention, removal_policy
        )
        self._access = _AccessPolicy(
            domain_arn=cdk.Stack.of(self).format_arn(
                service="es", resource="domain", resource_name=f"{config.domain_name}/*"
            )
        )
        self._build_index(functions)

    @property
    def endpoint(self) -> str:
        return self.domain.domain_endpoint

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Search and read documents (GET, HEAD, and POST for `_search`)."""
        self._access.readers += _principal_arns(grantee)
        self._grant(grantee, READ_ACTIONS)

    def grant_read_write(self, grantee: iam.IGrantable) -> None:
        """Also index, update and delete documents and create indices."""
        self._access.writers += _principal_arns(grantee)
        self._grant(grantee, WRITE_ACTIONS)

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[f"{self.domain.domain_arn}/*"]
        )
        cast(opensearch.CfnDomain, self.domain.node.default_child).access_policies = self._access.document()
        acknowledge(
            principal_of(grantee),
            f"IAM5[Resource::{arn_of(self.domain)}/*]",
            reason="OpenSearch authorizes each HTTP path as a sub-resource of its domain: this domain only",
        )

    def _build_domain(
        self,
        config: SearchConfig,
        key: kms.IKey,
        placement: Placement | None,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> opensearch.Domain:
        slow_search = logs.LogGroup(
            self, "SlowSearchLogs", retention=log_retention, removal_policy=removal_policy
        )
        slow_index = logs.LogGroup(
            self, "SlowIndexLogs", retention=log_retention, removal_policy=removal_policy
        )
        app_logs = logs.LogGroup(
            self, "ApplicationLogs", retention=log_retention, removal_policy=removal_policy
        )
        log_policy = logs.ResourcePolicy(
            self,
            "LogDelivery",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in (slow_search, slow_index, app_logs)],
                    conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
                )
            ],
        )
        masters = config.dedicated_master_count or None
        domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=config.domain_name,
            version=opensearch.EngineVersion.open_search(config.engine_version),
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=config.instance_type,
                data_nodes=config.data_nodes,
                master_nodes=masters,
                master_node_instance_type=config.dedicated_master_instance_type if masters else None,
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(
                volume_size=config.volume_size_gb, volume_type=ec2.EbsDeviceVolumeType.GP3
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=config.zone_awareness, availability_zone_count=config.availability_zones
            )
            if config.zone_awareness
            else None,
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=key),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=slow_search,
                slow_index_log_enabled=True,
                slow_index_log_group=slow_index,
                app_log_enabled=True,
                app_log_group=app_logs,
            ),
            suppress_logs_resource_policy=True,
            vpc=placement.vpc if placement else None,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)]
            if placement
            else None,
            security_groups=[self._domain_security_group(placement)] if placement else None,
            removal_policy=removal_policy,
        )
        domain.node.add_dependency(log_policy)
        self._acknowledge_sizing(domain, config, placement)
        return domain

    @staticmethod
    def _acknowledge_sizing(
        domain: opensearch.Domain, config: SearchConfig, placement: Placement | None
    ) -> None:
        """The cost-saving defaults, acknowledged only while they are configured."""
        if placement is None:
            acknowledge(
                domain,
                "OS1",
                reason="network.vpc_enabled is false (no NAT gateway to pay for): the domain answers only "
                "SigV4-signed HTTPS (TLS 1.2) from the roles its access policy names",
            )
        acknowledge(
            domain,
            checkov=("CKV_AWS_317",),
            reason="audit logs need fine-grained access control, whose internal users and role "
            "mappings would sit beside IAM as a second authorization layer; access here is IAM only "
            "(the resource policy names each role and its HTTP verbs), and CloudTrail records "
            "every configuration change",
        )
        acknowledge(
            domain,
            "OS3",
            reason="access is by IAM role, not IP: Lambda functions have no fixed addresses, and the "
            "resource policy names this stack's roles only",
        )
        if not config.dedicated_master_count:
            acknowledge(
                domain,
                "OS4",
                reason="search.dedicated_master_count is 0: a small support index on few data nodes; "
                "set 3 for production clusters of three or more data nodes",
            )
        if not config.zone_awareness:
            acknowledge(
                domain,
                "OS7",
                reason="search.zone_awareness is false to run a single node; the index can be rebuilt from "
                "the documents bucket; enable it with two or more data nodes",
            )

    def _domain_security_group(self, placement: Placement) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "DomainSecurityGroup",
            vpc=placement.vpc,
            description="OpenSearch: HTTPS from the functions only",
        )
        group.add_ingress_rule(
            placement.security_group, ec2.Port.tcp(443), "HTTPS from the stack's functions"
        )
        return group

    def _build_index(self, functions: FunctionFactory) -> None:
        """Creates the k-NN index once the domain is up; changing the mapping needs a new index name."""
        creator = functions.build(
            self,
            "CreateIndex",
            handler=handler_path("create_index"),
            description="Creates the k-NN index (custom resource); needs no layer",
            memory_mb=256,
            timeout=cdk.Duration.minutes(2),
            layers=[],
        )
        self.grant_read_write(creator)
        cdk.CustomResource(
            self,
            "Index",
            service_token=creator.function_arn,
            resource_type="Custom::OpenSearchIndex",
            properties={
                "EndpointUrl": f"https://{self.endpoint}",
                "IndexName": self.index_name,
                # A JSON string: CloudFormation would turn the mapping's numbers into strings.
                "IndexBody": json.dumps(index_body(self.config), sort_keys=True),
            },
        )


def _principal_arns(grantee: iam.IGrantable) -> list[str]:
    """The ARNs a resource policy names for a role (or a function's role)."""
    arns = grantee.grant_principal.policy_fragment.principal_json.get("AWS", [])
    if not arns:
        raise ValueError(f"{grantee} has no IAM role to name in the domain's access policy")
    return list(arns)
