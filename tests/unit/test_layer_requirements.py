"""The Lambda layer ships the core dependencies: pyproject's list and the layer's file agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
#: Comes with the Lambda runtime (the layer's build removes it).
RUNTIME_PROVIDED = {"boto3"}


def layer_requirements() -> dict[str, Requirement]:
    lines = (ROOT / "layers" / "runtime" / "requirements.txt").read_text().splitlines()
    parsed = (Requirement(line) for line in lines if line.strip() and not line.startswith("#"))
    return {requirement.name.lower(): requirement for requirement in parsed}


def test_every_core_dependency_is_in_the_layer_with_the_same_version_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    layer = layer_requirements()
    for line in project["dependencies"]:
        core = Requirement(line)
        if core.name.lower() in RUNTIME_PROVIDED:
            continue
        shipped = layer.get(core.name.lower())
        assert shipped is not None, f"{core.name} is a core dependency missing from the layer"
        assert (shipped.specifier, shipped.extras) == (core.specifier, core.extras), core.name


def test_the_layer_can_verify_cognito_tokens() -> None:
    assert layer_requirements()["pyjwt"].extras == {"crypto"}  # RS256 needs cryptography
