"""What every section shares: options, where data and caches live, the machine, tables and plots."""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Result = TypeVar("Result")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The shared data sets sit beside the checkout; they are read there, never copied in.
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
#: Costly, reproducible intermediates (SciFact embeddings, the Lambda bundle); gitignored.
CACHE_DIR = REPO_ROOT / "bench" / "results" / "cache"
SAMPLE_KB = REPO_ROOT / "data" / "sample_kb"
PUBLIC_VALUES = REPO_ROOT / "data" / "public-values.txt"
LABELLED_SETS = {
    "test set (questions.jsonl)": REPO_ROOT / "tests" / "fixtures" / "questions.jsonl",
    "dev set (dev_questions.jsonl)": REPO_ROOT / "tests" / "fixtures" / "dev_questions.jsonl",
}


class SkipSection(Exception):
    """A section cannot run here (a data set or tool is missing); the message says what to provide."""


@dataclass(frozen=True)
class Options:
    """Knobs of one run; the defaults are what `make bench` measures."""

    output: Path = REPO_ROOT / "docs" / "BENCHMARKS.md"
    datasets: Path = DEFAULT_DATASETS
    cache_dir: Path = CACHE_DIR
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    latency_queries: int = 300
    ingest_scifact_docs: int = 1_000
    load_seconds: int = 30
    load_users: int = 8

    @property
    def plots_dir(self) -> Path:
        return self.output.parent / "bench"

    def plot_link(self, name: str, alt: str) -> str:
        """Markdown image for `docs/bench/<name>`, relative to the report."""
        return f"![{alt}]({self.plots_dir.name}/{name})"

    def scifact_dir(self) -> Path:
        folder = self.datasets / "retrieval" / "scifact"
        if not (folder / "corpus.jsonl").is_file():
            raise SkipSection(
                f"SciFact not found at {folder}: put the shared data sets there or pass --datasets"
            )
        return folder


def progress(message: str) -> None:
    """A progress line on stderr; the report itself goes to docs/BENCHMARKS.md."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def in_fresh_process(function: Callable[..., Result], *args: object) -> Result:
    """`function(*args)` in a newly started interpreter, so that its peak memory and thread pools
    are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def quiet_runtime() -> None:
    """The runtime logs at WARNING and prints no EMF metrics, as `genai-stack` does outside
    `serve`: no line per query."""
    from functions.observability import logger

    logger.setLevel("WARNING")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"


def labelled_sets() -> dict[str, Path]:
    """The project's labelled question sets that exist in this checkout."""
    return {name: path for name, path in LABELLED_SETS.items() if path.is_file()}


def machine() -> str:
    """One line naming the machine a figure was measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def p50_p99_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Median and 99th percentile (inclusive method, so p99 never exceeds the maximum), in ms."""
    if len(seconds) < 2:
        raise ValueError("need at least two samples for percentiles")
    cuts = statistics.quantiles([s * 1000.0 for s in seconds], n=100, method="inclusive")
    return cuts[49], cuts[98]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub table; numbers are written as given, so callers choose their precision."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, the table {len(headers)} columns")
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def new_figure(width: float = 7.0, height: float = 4.0) -> Figure:
    """A figure on the file-only Agg backend (no display on the machines that run the bench)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def save_figure(figure: Figure, options: Options, name: str) -> None:
    options.plots_dir.mkdir(parents=True, exist_ok=True)
    figure.savefig(options.plots_dir / name)
