"""Build the training sets from an interaction export (and optionally knowledge-base Markdown).

Writes, under the output directory:
    sft/{train,eval}.jsonl          {"messages": [user, assistant]}
    preference/{train,eval}.jsonl   {"prompt": [...], "chosen": [...], "rejected": [...]} (trl format)
    corpus/{train,eval}.jsonl       {"text": ...} for pretraining
    dataset_card.json, dataset_card.md   counts of what was read, redacted, deduplicated and split

Usage:
    python -m training_jobs.data.build --export_path exports/ --kb_dir data/sample_kb --output_dir outputs/data
    python -m training_jobs.data.build --tiny --output_dir outputs/data
    genai-stack train data --tiny

On SageMaker the export comes from the channel `export` and the Markdown from the channel `kb`.
"""

from __future__ import annotations

from collections.abc import Sequence

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from functions.contract import REVIEW_PAIRS_FILE
from training_jobs.common.args import JobArguments, make_job_parser, run_job
from training_jobs.common.jsonl import DatasetError, read_jsonl, write_jsonl
from training_jobs.common.sagemaker import SageMakerEnvironment

if TYPE_CHECKING:
    from trl.scripts.utils import TrlParser

    from functions.contract import InteractionRecord, ReviewPairRecord

logger = logging.getLogger(__name__)

SETS = ("sft", "preference", "corpus")


@dataclass
class DataArguments(JobArguments):
    export_path: str | None = field(
        default=None,
        metadata={
            "help": "Interaction export: a .jsonl file, or a folder of them (as `genai-stack export` writes "
            "it, with the reviewers' pairs in review_pairs.jsonl). Default: channel 'export'."
        },
    )
    kb_dir: str | None = field(
        default=None,
        metadata={"help": "Folder of knowledge-base Markdown for the pretraining corpus. Default: channel 'kb'."},
    )
    eval_fraction: float = field(default=0.1, metadata={"help": "Share of question groups held out for eval."})
    near_duplicate_threshold: float = field(
        default=0.85, metadata={"help": "Estimated Jaccard similarity above which two examples are duplicates."}
    )
    question_threshold: float = field(
        default=0.6, metadata={"help": "Similarity above which two questions count as the same question."}
    )


def read_export(path: Path) -> list[InteractionRecord]:
    """The records of one export file or of every interactions `.jsonl` file in a folder, checked
    for text (a folder's reviewers' pairs are read by `read_review_pairs`)."""
    files = (
        [file for file in sorted(path.glob("*.jsonl")) if file.name != REVIEW_PAIRS_FILE]
        if path.is_dir()
        else [path]
    )
    if not files and not (path / REVIEW_PAIRS_FILE).is_file():
        raise DatasetError(f"the export folder {path} holds no .jsonl files")
    records: list[InteractionRecord] = []
    for file in files:
        for number, row in enumerate(read_jsonl(file), start=1):
            if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
                raise DatasetError(f"{file}: record {number} lacks a text 'question' or 'answer'")
            records.append(cast("InteractionRecord", row))
    return records


def read_review_pairs(path: Path) -> list[ReviewPairRecord]:
    """Reviewers' preference pairs of an export folder (`functions.feedback.export`), checked for
    the conversational preference format; none for a single export file."""
    file = path / REVIEW_PAIRS_FILE
    if not path.is_dir() or not file.is_file():
        return []
    pairs = []
    for number, row in enumerate(read_jsonl(file), start=1):
        turns = [row.get(key) for key in ("prompt", "chosen", "rejected")]
        if not all(isinstance(turn, list) and turn and isinstance(turn[-1], dict) for turn in turns):
            raise DatasetError(f"{file}: pair {number} lacks a 'prompt', 'chosen' or 'rejected' chat")
        pairs.append(cast("ReviewPairRecord", row))
    return pairs


def read_documents(kb_dir: Path | None) -> list[str]:
    """The Markdown files of the knowledge base, in path order."""
    if kb_dir is None:
        return []
    return [file.read_text(encoding="utf-8") for file in sorted(kb_dir.rglob("*.md"))]


def write_card(card: dict[str, Any], directory: Path) -> None:
    """The card as JSON (for machines) and Markdown (for people)."""
    (directory / "dataset_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    lines = ["# Dataset card", "", "Built by `training_jobs.data.build`.", ""]
    lines += [f"- {key}: {value}" for key, value in card.items() if not isinstance(value, dict)]
    lines += ["", "| set | candidates | exact duplicates | near duplicates | train | eval |", "|---|---|---|---|---|---|"]
    for name in SETS:
        counts = card[name]
        lines.append(
            f"| {name} | {counts['candidates']} | {counts['exact_duplicates']} | {counts['near_duplicates']} "
            f"| {counts['train']} | {counts['eval']} |"
        )
    (directory / "dataset_card.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(args: DataArguments) -> dict[str, Any]:
    """Build and write the three sets; returns the dataset card."""
    from training_jobs.common.tiny import tiny_inputs
    from training_jobs.data.builders import BuildOptions, build_datasets
    from training_jobs.data.sample import tiny_export

    env = SageMakerEnvironment.from_environ()
    output_dir = env.output_dir(args.output_dir, "data")
    export = env.require_channel(
        "export", args.export_path, "--export_path", (lambda: tiny_export(tiny_inputs(output_dir))) if args.tiny else None
    )
    kb_dir = env.channel("kb", args.kb_dir)
    options = BuildOptions(args.eval_fraction, args.near_duplicate_threshold, args.question_threshold, args.seed)
    records, review_pairs = read_export(export), read_review_pairs(export)
    if not records and not review_pairs:
        raise DatasetError(f"the export at {export} holds no records; nothing to train on")
    built = build_datasets(records, read_documents(kb_dir), options, review_pairs)
    for name in SETS:
        for split, rows in getattr(built, name).items():
            write_jsonl(output_dir / name / f"{split}.jsonl", rows)
    built.card["source"] = str(export)
    write_card(built.card, output_dir)
    if not built.card["preference"]["train"]:
        logger.warning("no preference pairs: the reward, policy and dpo jobs need thumbs-down, escalated or "
                       "rephrased answers next to a thumbs-up or human answer to the same question")
    logger.info("wrote %s: %s", output_dir, {name: built.card[name] for name in SETS})
    return built.card


def tiny_datasets(root: Path) -> Path:
    """Folder with sft/, preference/ and corpus/ built from the sample export (built once in the
    tiny-inputs folder `root`)."""
    from training_jobs.data.sample import tiny_export

    directory = root / "data"
    if not (directory / "dataset_card.json").is_file():
        main(DataArguments(output_dir=str(directory), export_path=str(tiny_export(root))))
    return directory


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    """The job's flags (`argv` is unused: its `--tiny` preset is applied in `main`)."""
    return make_job_parser(prog, __doc__, DataArguments)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
