"""StackConfig: cdk.json is valid, overrides apply, and a bad value names its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import ConfigError, StackConfig, load_context


def test_cdk_json_is_a_valid_configuration() -> None:
    config = StackConfig.from_context(load_context())

    assert config.training.finetune_instance_type == "ml.g5.12xlarge"
    assert config.training.pretrain_instance_type == "ml.p4d.24xlarge"
    assert config.training.pretrain_instance_count == 2
    assert config.training.use_spot is False
    assert config.training.schedule_enabled is False


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"training": {"pretrain_instance_count": 1}}, "training.pretrain_instance_count"),
        ({"training.pretrain_instance_count": "1"}, "training.pretrain_instance_count"),
        ({"training": {"finetune_instance_type": "g5.12xlarge"}}, "training.finetune_instance_type"),
        ({"training": {"image_uri": "pytorch:latest"}}, "training.image_uri"),
        ({"training": {"schedule_expression": "every week"}}, "training.schedule_expression"),
        ({"search": {"instance_type": "t3.medium"}}, "search.instance_type"),
        ({"search": {"replicas": 1}}, "replicas must be below data_nodes"),
        ({"data": {"log_retention_days": 31}}, "data.log_retention_days"),
        ({"api": {"allowed_origins": ["http://shop.example.com"]}}, "api.allowed_origins"),
        ({"models": {"embedder": "sagemaker"}}, "embedding_endpoint_name is required"),
        ({"training": {"epochs": 3}}, "training.epochs"),
        ({"search": {"dimension": 384}}, "search.dimension must be one of"),
        ({"training.use_spot": "true", "training.max_wait_seconds": 60}, "max_wait_seconds must be at least"),
    ],
)
def test_a_bad_value_fails_with_its_key_named(context: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        StackConfig.from_context(context)


def test_dotted_keys_override_one_field_and_keep_the_section() -> None:
    # GIVEN a section from cdk.json and a command-line override (`cdk synth -c training.use_spot=true`)
    context = {"training": {"finetune_instance_type": "ml.g6.12xlarge"}, "training.use_spot": "true"}

    config = StackConfig.from_context(context)

    assert config.training.use_spot is True
    assert config.training.finetune_instance_type == "ml.g6.12xlarge"
    assert context["training"] == {"finetune_instance_type": "ml.g6.12xlarge"}  # caller's dict untouched


def test_keys_of_cdk_and_other_tools_are_ignored() -> None:
    context = {
        "@aws-cdk/core:newStyleStackSynthesis": True,
        "aws:cdk:bundling-stacks": ["**"],
        "acknowledged-issue-numbers": [1],
    }

    assert StackConfig.from_context(context) == StackConfig()


def test_load_context_reads_the_context_object(tmp_path: Path) -> None:
    path = tmp_path / "cdk.json"
    path.write_text(
        json.dumps({"app": "python3 app.py", "context": {"stack_name": "Other"}}), encoding="utf-8"
    )

    assert StackConfig.from_context(load_context(path)).stack_name == "Other"
