"""What the training package imports, read from its source (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

from training_jobs.common.jobs import CODE, REPO_ROOT

PACKAGE = REPO_ROOT / "training_jobs"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every absolute module `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in REPO_ROOT.glob("functions/**/*.py")} | {
        module_name(path): path for path in PACKAGE.rglob("*.py")
    }


#: Modules that run on the operator's machine, never in a SageMaker job: the launcher, and the
#: guardrail classifiers' trainer (it reads the runtime's detectors and the shared data sets).
RUN_HERE_ONLY = ("training_jobs.launch", "training_jobs.guardrails")


def test_the_shipped_code_holds_every_project_module_a_job_imports() -> None:
    modules = project_modules()
    shipped = {
        module_name(path)
        for name in CODE
        for path in ((REPO_ROOT / name).rglob("*.py") if (REPO_ROOT / name).is_dir() else [REPO_ROOT / name])
    }
    needed: set[str] = set()
    pending = [
        module for module in map(module_name, PACKAGE.rglob("*.py")) if not module.startswith(RUN_HERE_ONLY)
    ]
    while pending:
        module = pending.pop()
        if module in needed:
            continue
        needed.add(module)
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        imports = imported_modules(modules[module]) | set(parents)
        pending += [name for name in imports if name in modules and name not in needed]

    assert needed - shipped == set()
    assert "functions.guardrails.pii" in needed  # the data builder's redactor: the walk follows imports


#: The pipeline's order: a job may import what comes before it (its inputs' producers), never after.
PIPELINE = (
    ("training_jobs.data",),
    ("training_jobs.pretrain",),
    ("training_jobs.finetune",),
    ("training_jobs.rlhf.reward",),
    ("training_jobs.rlhf.policy", "training_jobs.rlhf.dpo"),
    ("training_jobs.evaluate",),
)


def stage(module: str) -> int | None:
    """The module's place in the pipeline; None for `common` and for the CLI and launch above it."""
    for index, prefixes in enumerate(PIPELINE):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def test_common_imports_no_job_and_jobs_import_only_earlier_steps() -> None:
    backwards = []
    for module, path in project_modules().items():
        if not module.startswith("training_jobs."):
            continue
        imports = {name for name in imported_modules(path) if name.startswith("training_jobs.")}
        jobs = {name for name in imports if stage(name) is not None}
        if module.startswith("training_jobs.common"):
            backwards += [(module, name) for name in jobs]
        elif (own := stage(module)) is not None:
            backwards += [(module, name) for name in jobs if (stage(name) or 0) > own]
    assert backwards == []
