"""Cold start of each Lambda function: how long its handler module takes to import in a fresh
interpreter that sees only what Lambda would (the function code, the layer's packages and the
runtime's boto3), and how big the function plus its layers are unzipped, against Lambda's 250 MB.

Import times are the minimum of 5 fresh interpreters, interpreter start-up excluded, with the
environment Lambda sets (`LAMBDA_TASK_ROOT`, so Powertools' tracer switches on and patches as it
does there). Two cases: as the stack ships, without bytecode (the asset copies no
`__pycache__` and pip builds the layer with `--no-compile`, so Lambda compiles every module at
each cold start), and with bytecode compiled beforehand. The runtime's boto3/botocore are part of
the Lambda image and count as compiled in both. The import bundle is installed for this machine's
CPU and Python (Lambda's arm64 wheels cannot load here); the sizes are those of the arm64 /
Python 3.14 layer, built by the same pip command as `cdk synth` (`infra.layers.PipInstall`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench.common import REPO_ROOT, Options, markdown_table, new_figure, progress, save_figure
from functions.contract import METRICS_NAMESPACE, SERVICE_NAME

LAYERS = REPO_ROOT / "layers"
FUNCTION_PACKAGE = REPO_ROOT / "functions"
LAMBDA_LIMIT_MB = 250.0
RUNS = 5
MB = 1_000_000
#: Two public reference handlers, for scale: min of 5 fresh interpreters' import time (with and
#: without bytecode) and their size, measured on a 2-core x86 machine; printed as given, not re-run.
REFERENCES = [
    ("GAAB Bedrock chat handler (langchain 1.3, langchain-aws)", "1.05", "2.9", "210 (with layers)"),
    ("aws-genai-llm-chatbot request handler (langchain 0.3, OpenAI stack)", "1.88", "3.7", "183 MiB deps"),
    (
        "fastapi + mangum + powertools + pydantic-settings + langchain-core prompts + opensearch-py",
        "0.70",
        "1.8",
        "85 MiB deps",
    ),
]
_HANDLER = re.compile(r"^(handler\s*=|def handler\()", re.MULTILINE)
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def handler_modules(folder: Path = FUNCTION_PACKAGE / "handlers") -> list[str]:
    """Every module of `folder` that defines a top-level `handler` (the Lambda entry points)."""
    return sorted(
        path.stem for path in folder.glob("*.py") if _HANDLER.search(path.read_text(encoding="utf-8"))
    )


def import_cost_by_package(importtime_stderr: str) -> dict[str, float]:
    """Milliseconds of `-X importtime` self time per top-level package, most expensive first."""
    costs: dict[str, float] = defaultdict(float)
    for line in importtime_stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            costs[match[4].split(".")[0]] += int(match[1]) / 1000.0
    return dict(sorted(costs.items(), key=lambda item: item[1], reverse=True))


def tree_size(folder: Path, *, bytecode: bool = False) -> int:
    """Bytes of the files under `folder`; only bytecode caches when `bytecode`, else none of them."""
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and ("__pycache__" in path.parts) is bytecode
    )


def _bundle_root(cache_dir: Path) -> Path:
    """A dot folder: mypy and other tools that walk `bench/` skip it (it holds installed packages)."""
    return cache_dir / ".lambda"


def _requirements() -> list[Path]:
    return sorted(LAYERS.glob("*/requirements.txt"))


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _requirements_key(*parts: str) -> str:
    """A key that changes with `parts` and with any layer's requirements."""
    return _key(*parts, *(path.read_text(encoding="utf-8") for path in _requirements()))


def _pip_target(target: Path, arguments: list[str]) -> Path:
    """`pip install --target` once per set of requirements (the folder name holds their hash)."""
    if not target.is_dir():
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(staging),
        ]
        done = subprocess.run([*command, *arguments], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pip install into {target} failed:\n{done.stderr[-2000:]}")
        staging.rename(target)
    return target


@dataclass(frozen=True)
class Bundle:
    """A Lambda-shaped set of folders on this machine: function code, layer, runtime packages."""

    function: Path
    layer: Path
    runtime: Path

    def environment(self, name: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(str(p) for p in (self.function, self.layer, self.runtime)),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(self.function),
            "AWS_LAMBDA_FUNCTION_NAME": f"genai-stack-{name}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }

    def set_bytecode(self, compiled: bool) -> None:
        for folder in (self.function, self.layer):
            for cache in list(folder.rglob("__pycache__")):
                shutil.rmtree(cache)
            if compiled:
                _compile(folder)


def _compile(folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(folder)], check=True)


def build_bundle(cache_dir: Path) -> Bundle:
    """The current `functions` package and the layer's packages installed for this machine."""
    from infra.layers import RUNTIME_PROVIDED

    root = _bundle_root(cache_dir)
    function = root / "function"
    shutil.rmtree(function, ignore_errors=True)
    shutil.copytree(
        FUNCTION_PACKAGE, function / "functions", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    requirement_args = [arg for path in _requirements() for arg in ("--requirement", str(path))]
    layer = _pip_target(root / f"layer-host-{_requirements_key(sys.version)}", requirement_args)
    for name in RUNTIME_PROVIDED:
        for path in [layer / name, *layer.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    runtime = root / f"runtime-host-{_key(sys.version, 'boto3')}"
    if not runtime.is_dir():
        _compile(_pip_target(runtime, ["boto3"]))
    return Bundle(function, layer, runtime)


def lambda_layer_bytes(cache_dir: Path) -> int:
    """Unzipped bytes of every layer as `cdk synth` builds it (arm64, the runtime's Python)."""
    import aws_cdk as cdk

    from infra.layers import PLATFORMS, PYTHON_VERSION, PipInstall

    total = 0
    for requirements in _requirements():
        name = f"layer-{requirements.parent.name}-{_requirements_key(PYTHON_VERSION, *PLATFORMS)}"
        target = _bundle_root(cache_dir) / name
        if not target.is_dir():
            staging = target.with_name(target.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            PipInstall(requirements).try_bundle(str(staging), image=cast(cdk.DockerImage, None))
            staging.rename(target)
        total += tree_size(target)
    return total


def import_seconds(bundle: Bundle, name: str) -> float:
    """The fastest of RUNS fresh imports of the handler module."""
    code = (
        "import importlib, time; started = time.perf_counter(); "
        f"importlib.import_module('functions.handlers.{name}'); print(time.perf_counter() - started)"
    )
    times = []
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-S", "-c", code],
            env=bundle.environment(name),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ImportError(done.stderr.strip().splitlines()[-1])
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def import_profile(bundle: Bundle, name: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", f"import functions.handlers.{name}"],
        env=bundle.environment(name),
        capture_output=True,
        text=True,
        check=True,
    )
    return import_cost_by_package(done.stderr)


@dataclass
class HandlerResult:
    name: str
    shipped_s: float | None = None
    compiled_s: float | None = None
    top: dict[str, float] | None = None
    error: str | None = None


def _measure(bundle: Bundle, names: list[str]) -> list[HandlerResult]:
    results = {name: HandlerResult(name) for name in names}
    for compiled in (False, True):
        bundle.set_bytecode(compiled)
        for name, result in results.items():
            if result.error:
                continue
            progress(f"cold start: {name}, {'with' if compiled else 'without'} bytecode")
            try:
                seconds = import_seconds(bundle, name)
            except ImportError as error:
                result.error = str(error)
                continue
            if compiled:
                result.compiled_s, result.top = seconds, import_profile(bundle, name)
            else:
                result.shipped_s = seconds
    return list(results.values())


def run(options: Options) -> str:
    names = handler_modules()
    bundle = build_bundle(options.cache_dir)
    results = _measure(bundle, names)
    function_mb = tree_size(bundle.function) / MB
    bytecode_mb = (tree_size(bundle.function, bytecode=True) + tree_size(bundle.layer, bytecode=True)) / MB
    bundle.set_bytecode(False)
    layer_mb = lambda_layer_bytes(options.cache_dir) / MB
    total_mb = function_mb + layer_mb

    rows: list[tuple[Any, ...]] = []
    for r in results:
        if r.error:
            rows.append((f"`{r.name}`", "fails", "fails", r.error))
            continue
        top = ", ".join(f"{package} {ms:.0f}" for package, ms in list((r.top or {}).items())[:4])
        rows.append((f"`{r.name}`", f"{r.shipped_s:.2f}", f"{r.compiled_s:.2f}", top))
    _plot(options, results)
    versions = f"Python {sys.version.split()[0]}"
    return (
        "Each function's handler module imported in a fresh interpreter that sees only the function "
        "code, the layer's packages and boto3 (`python -S`, `PYTHONPATH`), with Lambda's environment "
        f"(`LAMBDA_TASK_ROOT` set: the X-Ray tracer patches as in Lambda); minimum of {RUNS}, "
        f"interpreter start-up excluded, {versions} on this machine (Lambda runs 3.14 on arm64).\n\n"
        + markdown_table(
            [
                "handler",
                "import s, no bytecode (as shipped)",
                "import s, with bytecode",
                "largest import costs, ms self time (with bytecode)",
            ],
            rows,
        )
        + "\n\n"
        + markdown_table(
            ["unzipped size", "MB"],
            [
                ("function code (`functions/`, no bytecode)", f"{function_mb:.1f}"),
                ("layers, arm64 / Python 3.14 as `cdk synth` builds them", f"{layer_mb:.1f}"),
                (
                    f"**total** (Lambda limit {LAMBDA_LIMIT_MB:.0f} MB)",
                    f"**{total_mb:.1f}** ({total_mb / LAMBDA_LIMIT_MB:.0%})",
                ),
                ("bytecode, if shipped (measured with this Python)", f"+{bytecode_mb:.1f}"),
            ],
        )
        + "\n\nThe total counts every layer, the most any function carries (functions deployed without a "
        "layer are smaller). Reference stacks, measured on a 2-core x86 machine and printed as given "
        "(`REFERENCES` in bench/cold_start.py):\n\n"
        + markdown_table(
            ["reference handler", "import s, bytecode", "import s, no .pyc", "size MB"], REFERENCES
        )
        + "\n\n"
        + options.plot_link("cold_start.png", "import time per handler with and without bytecode")
    )


def _plot(options: Options, results: list[HandlerResult]) -> None:
    measured = [r for r in results if r.error is None]
    figure = new_figure(7.0, 0.5 * len(measured) + 1.5)
    axes = figure.subplots()
    positions = range(len(measured))
    axes.barh(
        [p + 0.2 for p in positions],
        [r.shipped_s or 0.0 for r in measured],
        height=0.4,
        label="no bytecode (as shipped)",
    )
    axes.barh(
        [p - 0.2 for p in positions],
        [r.compiled_s or 0.0 for r in measured],
        height=0.4,
        label="with bytecode",
    )
    axes.set_yticks(list(positions), [r.name for r in measured])
    axes.set(xlabel="import seconds (min of 5)", title="Lambda handler import time")
    axes.grid(axis="x", alpha=0.3)
    axes.legend()
    save_figure(figure, options, "cold_start.png")
