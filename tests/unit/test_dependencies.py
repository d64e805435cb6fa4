"""The dependency lists that must agree: pyproject.toml's extras, and the runtime layer's file."""

from __future__ import annotations

import re
import tomllib

from infra.lambdas import REPO_ROOT
from infra.layers import RUNTIME_PROVIDED

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LAYER_REQUIREMENTS = REPO_ROOT / "layers" / "runtime" / "requirements.txt"
#: What the layer adds to the core set, and why (the comments in the file say more).
LAYER_ONLY = {
    "beautifulsoup4": "the ingestion function cleans HTML (locally it comes with the `local` extra)",
    "python-dateutil": "pinned below 3 for botocore in the Lambda runtime",
    "uvicorn": "the streaming function serves the app under the Lambda Web Adapter (infra/widget.py)",
}


def name(requirement: str) -> str:
    """The distribution name of a requirement, lower-cased, without extras or version."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return match.group(0).lower()


def by_name(requirements: list[str]) -> dict[str, str]:
    return {name(requirement): requirement for requirement in requirements}


def layer_requirements() -> list[str]:
    lines = LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_runtime_layer_installs_the_core_dependencies_as_pyproject_states_them() -> None:
    core = {
        package: requirement
        for package, requirement in by_name(PYPROJECT["dependencies"]).items()
        if package not in RUNTIME_PROVIDED  # the Lambda runtime has them; the layer leaves them out
    }
    layer = by_name(layer_requirements())

    assert {package: layer.get(package) for package in core} == core
    assert set(layer) - set(core) == set(LAYER_ONLY)


def test_a_package_in_several_lists_has_one_constraint_everywhere() -> None:
    lists = {"core": PYPROJECT["dependencies"], "layer": layer_requirements()}
    lists |= {
        f"[{extra}]": requirements for extra, requirements in PYPROJECT["optional-dependencies"].items()
    }
    constraints: dict[str, set[str]] = {}
    for requirements in lists.values():
        for requirement in requirements:
            constraints.setdefault(name(requirement), set()).add(requirement)

    assert {package: found for package, found in constraints.items() if len(found) > 1} == {}
