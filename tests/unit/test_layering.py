"""What may import what (docs/ARCHITECTURE.md, "What may import what"), read from the source,
imports inside functions included. The training package's own order (common imports no job, a
job only earlier steps) is tests/training/test_imports.py."""

from __future__ import annotations

from pathlib import Path

from tests.training.test_imports import imported_modules, module_name
from training_jobs.common.jobs import REPO_ROOT


def imports_of(package: str) -> dict[str, set[str]]:
    """Module -> the project modules (of any top-level package) it imports."""
    return {module_name(path): imported_modules(path) for path in Path(REPO_ROOT, package).rglob("*.py")}


def top(name: str) -> str:
    return name.split(".", 1)[0]


def test_the_runtime_imports_no_infrastructure_benchmark_or_test_and_training_only_from_the_cli() -> None:
    wrong = {
        (module, name)
        for module, names in imports_of("functions").items()
        for name in names
        if top(name) in {"infra", "bench", "tests"}
        or (top(name) == "training_jobs" and module != "functions.cli")  # `genai-stack train`
    }
    assert wrong == set()


#: The runtime modules the stack may read: shared names, the settings' constants, the guardrail policy.
INFRA_READS = {
    "functions.contract",
    "functions.settings",
    "functions.guardrails.config",
    "functions.guardrails.base",
}


def test_the_stack_reads_only_the_contract_settings_policy_and_job_catalogue() -> None:
    wrong = {
        (module, name)
        for module, names in imports_of("infra").items()
        for name in names
        if (top(name) == "functions" and not any(name.startswith(allowed) for allowed in INFRA_READS))
        or (top(name) == "training_jobs" and not name.startswith("training_jobs.common.jobs"))
        or top(name) in {"bench", "tests"}
    }
    assert wrong == set()


def test_no_shipped_code_imports_a_benchmark_or_a_test() -> None:
    wrong = {
        (module, name)
        for package in ("functions", "infra", "training_jobs")
        for module, names in imports_of(package).items()
        for name in names
        if top(name) in {"bench", "tests"}
    }
    assert wrong == set()
