"""How the pipelines name what they create at run time, and where an execution's files go."""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn

#: Jobs, models and endpoint configs of the pipelines are named `genai-<uuid>[-<step>]`.
NAME_PREFIX = "genai"
RUN_NAMES = "names this pipeline gives what it creates at run time (genai-<execution uuid>[-<step>])"
#: Default base model of fine-tuning: a Hugging Face model folder the user uploads (docs/DEPLOY.md).
BASE_MODEL_PREFIX = "base-model/"
#: Default golden question set of the evaluation's answer checks: a QA JSONL file the user uploads.
GOLDEN_SET_PREFIX = "golden-set/"


def arn_pattern(resource: str) -> str:
    """How a finding spells this pipeline's SageMaker resource ARNs of one type."""
    return f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:{resource}/{NAME_PREFIX}-*"


def run_uri(template: str) -> str:
    """`template` with its `{}` filled with the execution's run id (a JSONPath expression)."""
    return sfn.JsonPath.format(template, sfn.JsonPath.string_at("$.run_id"))


def job_output(models_bucket: str, step: str, path: str = "") -> str:
    """The model folder the job `step` of this execution writes (uncompressed), or a path in it."""
    return run_uri(f"s3://{models_bucket}/jobs/{{}}-{step}/output/model/{path}")
