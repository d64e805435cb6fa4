"""Run the benchmarks and write docs/BENCHMARKS.md (plots in docs/bench/).

Usage (from the repository root, in the project's virtual environment; `make bench` runs them all):
    python -m bench.run                                  # every section
    python -m bench.run --only retrieval,latency         # some sections; the others keep their last figures
    python -m bench.run --only latency --sizes 1000,10000 --latency-queries 50   # a quick look

Each section is written into the report as soon as it finishes, between markers, with the date,
commit, command and machine it was measured with; a section not run keeps what it had.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import cold_start, guardrails, ingestion, intents, latency, load, retrieval
from bench.common import REPO_ROOT, Options, SkipSection, machine, progress, quiet_runtime

SECTIONS: dict[str, tuple[str, Callable[[Options], str]]] = {
    "retrieval": ("Retrieval quality", retrieval.run),
    "latency": ("Query latency without a language model", latency.run),
    "cold_start": ("Cold start of the Lambda functions", cold_start.run),
    "ingestion": ("Ingestion", ingestion.run),
    "load": ("Load on the local server", load.run),
    "guardrails": ("Guardrails", guardrails.run),
    "intents": ("Intent tagging", intents.run),
}
HEADER = """# Benchmarks

Written by `make bench` (`python -m bench.run`, see `bench/`); do not edit by hand. Every figure is
measured by the code in this repository, beside a baseline measured in the same run; each section
names when, at which commit, with which command and on which machine it was measured.
"""
_BLOCK = re.compile(r"<!-- bench:(?P<name>\w+) -->\n.*?<!-- /bench:(?P=name) -->\n", re.DOTALL)


def merge_report(existing: str, fresh: Mapping[str, str], order: Sequence[str]) -> str:
    """The report with `fresh` sections replacing or adding theirs; others kept; in `order`."""
    blocks = {match["name"]: match[0] for match in _BLOCK.finditer(existing)}
    blocks.update(
        {
            name: f"<!-- bench:{name} -->\n{text.strip()}\n<!-- /bench:{name} -->\n"
            for name, text in fresh.items()
        }
    )
    return HEADER + "".join(f"\n{blocks[name]}" for name in order if name in blocks)


def section_command(argv: Sequence[str], name: str) -> str:
    """The command that measures only this section with the same options."""
    kept: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == "--only":
            skip_next = True
        elif not arg.startswith("--only="):
            kept.append(arg)
    return " ".join(["python -m bench.run", "--only", name, *kept])


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{sha} with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else sha


def _parse(argv: Sequence[str]) -> tuple[Options, list[str]]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--datasets", type=Path, default=defaults.datasets, help="the shared data sets folder"
    )
    parser.add_argument("--output", type=Path, default=defaults.output, help="the report to write")
    parser.add_argument("--sizes", default=",".join(map(str, defaults.sizes)), help="store sizes for latency")
    parser.add_argument("--latency-queries", type=int, default=defaults.latency_queries)
    parser.add_argument("--ingest-scifact-docs", type=int, default=defaults.ingest_scifact_docs)
    parser.add_argument("--load-seconds", type=int, default=defaults.load_seconds)
    parser.add_argument("--load-users", type=int, default=defaults.load_users)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    options = Options(
        output=args.output,
        datasets=args.datasets,
        sizes=tuple(int(size) for size in args.sizes.split(",")),
        latency_queries=args.latency_queries,
        ingest_scifact_docs=args.ingest_scifact_docs,
        load_seconds=args.load_seconds,
        load_users=args.load_users,
    )
    return options, names


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    options, names = _parse(arguments)
    where, commit = machine(), _commit()
    started_all = time.perf_counter()
    quiet_runtime()
    # The runtime's EMF metric lines (printed every 100 metrics, as in Lambda) would drown the progress
    # lines; the report is the output.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for name in names:
            run_section(name, options, arguments, where, commit)
    progress(f"all done in {time.perf_counter() - started_all:.0f} s")
    return 0


def run_section(name: str, options: Options, arguments: Sequence[str], where: str, commit: str) -> None:
    """Measure one section and write it into the report at once."""
    title, section = SECTIONS[name]
    progress(f"{name}: starting")
    started = time.perf_counter()
    try:
        body = section(options)
    except SkipSection as skipped:
        progress(f"{name}: skipped: {skipped}")
        body = f"Skipped: {skipped}"
    seconds = time.perf_counter() - started
    stamp = (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit} with "
        f"`{section_command(arguments, name)}` on {where}; the section took {seconds:.0f} s._"
    )
    existing = options.output.read_text(encoding="utf-8") if options.output.is_file() else ""
    report = merge_report(existing, {name: f"## {title}\n\n{stamp}\n\n{body}"}, list(SECTIONS))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report, encoding="utf-8")
    progress(f"{name}: done in {seconds:.0f} s, written to {options.output}")


if __name__ == "__main__":
    sys.exit(main())
