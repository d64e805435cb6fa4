"""Launch a training job on SageMaker with the sagemaker SDK 3 `ModelTrainer`.

Instance types, counts, spot, run-time limits, volume and image come from the same configuration
the CDK stack reads (`infra.config.StackConfig.training`, from `cdk.json`); flags override them.
The job's code (`training_jobs/`, and the parts of `functions/` it imports) is staged with a
`requirements.txt` made from the `training` extra of `pyproject.toml` (the image brings torch).
Jobs that train run under torchrun (`Torchrun`: every GPU of every node); with managed spot, the
checkpoint folder `/opt/ml/checkpoints` is synced with a checkpoint S3 URI, which the jobs resume
from. Outputs are written uncompressed, so a model folder can be the input channel of the next job.
Everything after `--` is the job's own flags: checked here with the job's parser, then passed as
hyperparameters (SageMaker hands them back to the script as `--name value`).

Usage:
    genai-stack train launch finetune --role ROLE_ARN --s3-uri s3://bucket/genai-stack \\
        --input model=s3://bucket/genai-stack/models/base/ --input sft=s3://bucket/genai-stack/data/sft/ \\
        -- --load_in_4bit --max_steps 500
    genai-stack train launch pretrain --instance-count 4 --role ROLE_ARN --s3-uri s3://bucket/genai-stack \\
        --input corpus=s3://bucket/genai-stack/data/corpus/ -- --parallelism fsdp
    genai-stack train launch finetune --tiny --role ROLE_ARN --s3-uri s3://bucket/genai-stack
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from training_jobs.common.args import INPUT_ERROR_STATUS, configure_logging, parse_job_args
from training_jobs.common.jobs import CODE, JOBS, REPO_ROOT, TINY_INSTANCE_TYPE, Job, training_requirements
from training_jobs.common.sagemaker import SM_CHECKPOINT_DIR, InputError

logger = logging.getLogger(__name__)

#: Where SageMaker mounts the code channel; on PYTHONPATH so the entry scripts import the packages.
SM_CODE_DIR = "/opt/ml/input/data/code"


@dataclass
class LaunchArguments:
    job: str
    role: str
    s3_uri: str
    instance_type: str | None = None
    instance_count: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    spot: bool | None = None
    checkpoint_s3_uri: str | None = None
    job_name: str | None = None
    region: str | None = None
    cdk_json: str | None = None
    tiny: bool = False
    wait: bool = False
    job_args: list[str] = field(default_factory=list)


def make_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """Launch flags; the job's own flags come after `--`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("job", choices=sorted(JOBS), help="The job to run.")
    parser.add_argument("--role", required=True, help="IAM role ARN the training job runs as.")
    parser.add_argument(
        "--s3-uri", required=True, help="s3://bucket/prefix under which code, outputs and checkpoints go."
    )
    parser.add_argument(
        "--instance-type", help="Default: the job's instance type in cdk.json's training section."
    )
    parser.add_argument(
        "--instance-count", type=int, help="Default: pretrain_instance_count for pretrain, else 1."
    )
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="CHANNEL=S3_URI",
        help="An input channel (repeatable); see the job's channels in docs/TRAINING.md.",
    )
    parser.add_argument(
        "--spot",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Managed spot. Default: training.use_spot.",
    )
    parser.add_argument(
        "--checkpoint-s3-uri", help="Resume from and checkpoint to this prefix. Default: per job."
    )
    parser.add_argument("--job-name", help="Base name of the training job. Default: genai-stack-<job>.")
    parser.add_argument("--region", help="AWS region. Default: the session's.")
    parser.add_argument("--cdk-json", help="The cdk.json to read the training section from.")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help=f"Smoke test: the job's --tiny preset on {TINY_INSTANCE_TYPE}, on demand, one instance.",
    )
    parser.add_argument("--wait", action="store_true", help="Wait for the job and stream its logs.")
    return parser


def parse(argv: list[str], prog: str | None = None) -> LaunchArguments:
    """Launch flags before `--`, the job's flags after it."""
    split = argv.index("--") if "--" in argv else len(argv)
    namespace = make_parser(prog).parse_args(argv[:split])
    if not namespace.s3_uri.startswith("s3://"):
        raise InputError(f"--s3-uri {namespace.s3_uri!r}: expected s3://bucket/prefix")
    inputs = {}
    for item in namespace.inputs:
        name, separator, uri = item.partition("=")
        if not separator or not uri.startswith("s3://"):
            raise InputError(f"--input {item!r}: expected CHANNEL=s3://bucket/prefix")
        inputs[name] = uri
    values = {key: value for key, value in vars(namespace).items() if key != "inputs"}
    return LaunchArguments(**values, inputs=inputs, job_args=argv[split + 1 :])


def hyperparameters(job: Job, job_args: list[str], tiny: bool) -> dict[str, str]:
    """The job's flags as SageMaker hyperparameters, after the job's own parser accepted them."""
    import importlib

    if "--config" in job_args:
        raise InputError("--config: a launched job gets its flags as hyperparameters; give them after `--`")
    module = importlib.import_module(job.module)
    parse_job_args(module.make_parser(None, job_args), job_args)
    values: dict[str, str] = {"tiny": "true"} if tiny else {}
    index = 0
    while index < len(job_args):
        flag = job_args[index]
        if not flag.startswith("--"):
            raise InputError(f"job flag expected, got {flag!r}")
        following = []
        index += 1
        while index < len(job_args) and not job_args[index].startswith("--"):
            following.append(job_args[index])
            index += 1
        if len(following) > 1:
            raise InputError(f"{flag}: give one value per flag to a launched job, got {following}")
        values[flag[2:].replace("-", "_")] = following[0] if following else "true"
    return values


def stage_code(directory: Path) -> Path:
    """A copy of the code every job ships (`CODE`), with the training requirements; returns its folder."""
    for name in CODE:
        source, target = REPO_ROOT / name, directory / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (directory / "requirements.txt").write_text(training_requirements(), encoding="utf-8")
    return directory


def main(args: LaunchArguments) -> str:
    """Start the training job; returns its name."""
    import boto3
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import (
        CheckpointConfig,
        Compute,
        InputData,
        OutputDataConfig,
        SourceCode,
        StoppingCondition,
    )
    from sagemaker.train import ModelTrainer
    from sagemaker.train.distributed import Torchrun

    from infra.config import StackConfig, load_context

    job = JOBS[args.job]
    unknown = sorted(set(args.inputs) - set(job.channels))
    if unknown:
        raise InputError(f"{args.job} reads the channels {list(job.channels)}, not {unknown}")
    config = StackConfig.from_context(
        load_context(args.cdk_json) if args.cdk_json else load_context()
    ).training
    bucket, _, prefix = args.s3_uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    boto_session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    session = Session(boto_session=boto_session, default_bucket=bucket, default_bucket_prefix=prefix or None)
    spot = False if args.tiny else (config.use_spot if args.spot is None else args.spot)
    count = args.instance_count or (
        config.pretrain_instance_count if args.job == "pretrain" and not args.tiny else 1
    )
    base_name = args.job_name or f"genai-stack-{args.job}"
    root = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    with tempfile.TemporaryDirectory() as staging:
        trainer = ModelTrainer(
            sagemaker_session=session,
            role=args.role,
            base_job_name=base_name,
            training_image=config.image_uri.format(region=boto_session.region_name),
            source_code=SourceCode(
                source_dir=str(stage_code(Path(staging))),
                entry_script=job.entry_script,
                requirements="requirements.txt",
            ),
            distributed=Torchrun() if job.torchrun else None,
            compute=Compute(
                instance_type=args.instance_type
                or (TINY_INSTANCE_TYPE if args.tiny else job.instance_type(config)),
                instance_count=count,
                volume_size_in_gb=config.volume_size_gb,
                enable_managed_spot_training=spot,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=config.max_runtime_seconds,
                max_wait_time_in_seconds=config.max_wait_seconds if spot else None,
            ),
            checkpoint_config=CheckpointConfig(
                s3_uri=args.checkpoint_s3_uri, local_path=str(SM_CHECKPOINT_DIR)
            ),
            output_data_config=OutputDataConfig(
                s3_output_path=f"{root}/{args.job}/output", compression_type="NONE"
            ),
            environment={"PYTHONPATH": SM_CODE_DIR},
            hyperparameters=hyperparameters(job, args.job_args, args.tiny),
        )
        trainer.train(
            input_data_config=[
                InputData(channel_name=name, data_source=uri) for name, uri in args.inputs.items()
            ],
            wait=args.wait,
            logs=args.wait,
        )
    name: str = trainer._latest_training_job.training_job_name
    logger.info("started training job %s", name)
    return name


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse, launch, and turn bad input into one clear line and status 2."""
    import sys

    configure_logging()
    try:
        main(parse(sys.argv[1:] if argv is None else argv, prog))
    except InputError as error:
        logger.error("%s", error)
        return INPUT_ERROR_STATUS
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
