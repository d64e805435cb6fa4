"""`genai-stack train`: every training job from one command, and `launch` to run one on SageMaker.

Each job parses its own flags (`genai-stack train JOB --help`), so this module imports nothing
heavy until a job is chosen.

Examples:
    genai-stack train data --tiny --output-dir outputs/data
    genai-stack train pretrain --tiny --output-dir outputs/pretrain
    genai-stack train finetune --tiny --output-dir outputs/finetune
    genai-stack train launch finetune --instance-type ml.g5.2xlarge --role ARN \\
        --s3-uri s3://bucket/genai-stack --input model=s3://bucket/models/base/ \\
        --input sft=s3://bucket/data/sft/ -- --load_in_4bit
"""

from __future__ import annotations

import argparse
import importlib

from training_jobs.common.jobs import JOBS

LAUNCH_SUMMARY = "run one of the jobs on SageMaker (ModelTrainer; spot, checkpoints, torchrun)"


def main(argv: list[str] | None = None) -> int:
    """Run `genai-stack train JOB ...`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="genai-stack train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, job in JOBS.items():
        jobs.add_parser(name, help=job.summary, add_help=False)  # the job's own parser answers --help
    jobs.add_parser("launch", help=LAUNCH_SUMMARY, add_help=False)
    chosen, rest = parser.parse_known_args(argv)
    module = importlib.import_module(
        "training_jobs.launch" if chosen.job == "launch" else JOBS[chosen.job].module
    )
    status: int = module.cli(rest, prog=f"genai-stack train {chosen.job}")
    return status
