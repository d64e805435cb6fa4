"""The reranker's IAM: granted only when the stack switches a rerank model on, and then for that
model only (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.contract import EnvVar, handler_path
from tests.infra.conftest import Synthesized, synthesize

RERANK_MODEL = "amazon.rerank-v1:0"


@pytest.fixture(scope="module")
def rerank_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-rerank"), **{"models.rerank_model_id": RERANK_MODEL})


def _statements(stack: Synthesized) -> list[dict[str, Any]]:
    return [
        statement
        for policy in stack.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _query_environment(stack: Synthesized) -> dict[str, Any]:
    (function,) = (
        resource
        for resource in stack.resources("AWS::Lambda::Function").values()
        if resource["Properties"]["Handler"] == handler_path("query")
    )
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_without_a_rerank_model_no_function_may_rerank(default_stack: Synthesized) -> None:
    assert not any("bedrock:Rerank" in _actions(s) for s in _statements(default_stack))
    assert EnvVar.RERANK_MODEL_ARN not in _query_environment(default_stack)


def test_with_a_rerank_model_the_query_function_may_invoke_that_model_only(rerank_stack: Synthesized) -> None:
    statements = _statements(rerank_stack)
    reranks = [s for s in statements if "bedrock:Rerank" in _actions(s)]
    # Rerank takes only "*"; CDK merges it with the X-Ray actions that take only "*" too, nothing else.
    tracing = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
    assert reranks and all(set(_actions(s)) - {"bedrock:Rerank"} <= tracing for s in reranks)
    invokes = [str(s["Resource"]) for s in statements if "bedrock:InvokeModel" in _actions(s)]
    rerank_invokes = [resource for resource in invokes if "rerank" in resource]
    assert rerank_invokes and all(f"foundation-model/{RERANK_MODEL}" in r for r in rerank_invokes)
    assert not any(resource in {"*", "['*']"} for resource in invokes)
    environment = _query_environment(rerank_stack)
    assert f"foundation-model/{RERANK_MODEL}" in str(environment[EnvVar.RERANK_MODEL_ARN])


def test_the_wildcard_rerank_needs_is_acknowledged_with_its_reason(rerank_stack: Synthesized) -> None:
    (report,) = rerank_stack.validation_report["pluginReports"]

    assert report["violations"] == []
    assert any("bedrock:Rerank" in finding["reason"] for finding in report["suppressedViolations"])
