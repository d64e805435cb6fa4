"""The optional VPC: private subnets for the OpenSearch domain and the functions that reach it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import NetworkConfig
from infra.lambdas import Placement
from infra.nag import acknowledge

#: CDK's provider that removes the rules of the VPC's default security group at deploy time.
RESTRICT_DEFAULT_SG = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


class Network(Construct):
    """Public subnets hold only the NAT gateways; functions and the domain live in private ones."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: NetworkConfig, log_retention: logs.RetentionDays
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        logs.LogGroup(self, "FlowLogs", retention=log_retention)
                    )
                )
            },
        )
        acknowledge(
            cdk.Stack.of(self).node.find_child(RESTRICT_DEFAULT_SG),
            checkov=("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"),
            reason="CDK's own deploy-time provider that empties the default security group, called "
            "by CloudFormation, which reports its failure; the construct takes no VPC, concurrency "
            "or dead-letter setting",
        )
        # S3 and DynamoDB traffic stays on the AWS network and skips the NAT gateway's per-GB charge.
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        functions_group = ec2.SecurityGroup(
            self, "Functions", vpc=vpc, description="genai-stack functions: outbound only"
        )
        self.placement = Placement(vpc=vpc, security_group=functions_group)
