"""What the stack does for human preference collection: the reviewers group, the reviews table,
its function with the reviewer routes, and who may read and write the table."""

from __future__ import annotations

from typing import Any

from functions.contract import REVIEWERS_GROUP, EnvVar, handler_path
from functions.contract import DynamoDBLayout as Layout
from tests.infra.conftest import Synthesized


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dynamodb_actions(stack: Synthesized, role_prefix: str, table_id: str) -> set[str]:
    return {
        action
        for policy_id, policy in stack.resources("AWS::IAM::Policy").items()
        if policy_id.startswith(role_prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if table_id in str(statement["Resource"])
        for action in _as_list(statement["Action"])
        if action.startswith("dynamodb:")
    }


def test_reviewers_are_a_group_of_the_user_pool(default_stack: Synthesized) -> None:
    (group,) = default_stack.resources("AWS::Cognito::UserPoolGroup").values()
    assert group["Properties"]["GroupName"] == REVIEWERS_GROUP
    (pool_id,) = default_stack.resources("AWS::Cognito::UserPool")
    assert group["Properties"]["UserPoolId"] == {"Ref": pool_id}


def test_the_reviews_table_and_who_may_use_it(default_stack: Synthesized) -> None:
    tables = default_stack.resources("AWS::DynamoDB::Table")
    (table_id,) = [
        logical_id
        for logical_id, table in tables.items()
        if table["Properties"]["KeySchema"][0]["AttributeName"] == Layout.REVIEW_PAIR_KEY
    ]
    assert tables[table_id]["Properties"]["KeySchema"][1] == {
        "AttributeName": Layout.REVIEW_ENTRY_KEY,
        "KeyType": "RANGE",
    }
    functions = default_stack.resources("AWS::Lambda::Function").values()
    (review,) = [f for f in functions if f["Properties"]["Handler"] == handler_path("review")]
    environment = review["Properties"]["Environment"]["Variables"]
    assert environment[EnvVar.REVIEWS_TABLE] == {"Ref": table_id}
    assert EnvVar.PSEUDONYM_SECRET_ARN in environment  # reviewer ids are pseudonymised
    assert {"dynamodb:PutItem", "dynamodb:Scan", "dynamodb:GetItem"} <= _dynamodb_actions(
        default_stack, "ApiReviewRole", table_id
    )
    export = _dynamodb_actions(default_stack, "TrainingExportRole", table_id)
    assert "dynamodb:Scan" in export and "dynamodb:PutItem" not in export  # the export only reads
    assert not _dynamodb_actions(default_stack, "ApiQueryRole", table_id)


def test_the_reviewer_routes_go_to_the_review_function_behind_the_authorizer(
    default_stack: Synthesized,
) -> None:
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in default_stack.resources("AWS::ApiGatewayV2::Route").values()
    }
    for key in ("GET /v1/review/next", "POST /v1/review/choices"):
        assert routes[key]["AuthorizationType"] == "JWT"
