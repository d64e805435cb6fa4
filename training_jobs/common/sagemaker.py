"""The SageMaker training contract, read in one place, with local fallbacks.

A SageMaker training container describes its job through environment variables (`SM_MODEL_DIR`,
`SM_CHANNEL_<NAME>`, `SM_OUTPUT_DATA_DIR`, `SM_HOSTS`, `SM_CURRENT_HOST`, `SM_HPS`), a
hyperparameters file and the checkpoint folder that managed spot training syncs with S3. Jobs ask
this module for their inputs and outputs, so the same script runs on a laptop, where a command-line
flag or a default under `outputs/` takes the place of each variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Where SageMaker syncs checkpoints with the checkpoint S3 URI (CheckpointConfig.local_path).
SM_CHECKPOINT_DIR = Path("/opt/ml/checkpoints")
#: The hyperparameters of the job, as SageMaker writes them for the container.
SM_HYPERPARAMETERS_FILE = Path("/opt/ml/input/config/hyperparameters.json")
#: Where a job writes when neither a flag nor SageMaker says where.
LOCAL_OUTPUT_ROOT = Path("outputs")


class InputError(ValueError):
    """The job's input is missing or unusable; the message says what to fix (no traceback needed)."""


class MissingInputError(InputError):
    """A required input (a channel, a model, a data set) was not given."""


@dataclass(frozen=True)
class SageMakerEnvironment:
    """What SageMaker told this container; every field is empty outside SageMaker."""

    model_dir: Path | None = None
    output_data_dir: Path | None = None
    checkpoint_dir: Path | None = None
    channels: Mapping[str, Path] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    current_host: str | None = None
    hyperparameters: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        checkpoint_dir: Path = SM_CHECKPOINT_DIR,
        hyperparameters_file: Path = SM_HYPERPARAMETERS_FILE,
    ) -> SageMakerEnvironment:
        """Read the contract from `environ` (default `os.environ`) and the container's files."""
        env = os.environ if environ is None else environ
        channels = {
            key.removeprefix("SM_CHANNEL_").lower(): Path(value)
            for key, value in env.items()
            if key.startswith("SM_CHANNEL_")
        }
        return cls(
            model_dir=_path(env.get("SM_MODEL_DIR")),
            output_data_dir=_path(env.get("SM_OUTPUT_DATA_DIR")),
            checkpoint_dir=checkpoint_dir if checkpoint_dir.is_dir() else None,
            channels=channels,
            hosts=tuple(json.loads(env.get("SM_HOSTS", "[]"))),
            current_host=env.get("SM_CURRENT_HOST"),
            hyperparameters=_hyperparameters(env, hyperparameters_file),
        )

    def channel(self, name: str, override: str | None) -> Path | None:
        """The input `name`: the command-line value if given, else the SageMaker channel, else None."""
        if override:
            return Path(override)
        return self.channels.get(name)

    def require_channel(
        self, name: str, override: str | None, flag: str, fallback: Callable[[], Path] | None = None
    ) -> Path:
        """Like `channel`, but a missing input comes from `fallback` (the `--tiny` preset's own input)
        or stops the job with a message saying how to give it."""
        path = self.channel(name, override)
        if path is None and fallback is not None:
            return fallback()
        if path is None:
            raise MissingInputError(
                f"no '{name}' input: pass {flag} PATH, or attach the SageMaker channel '{name}' "
                f"(SM_CHANNEL_{name.upper()})"
            )
        if not path.exists():
            raise MissingInputError(f"the '{name}' input {path} does not exist")
        return path

    def output_dir(self, override: str | None, job: str) -> Path:
        """Where the final model goes: the flag, else SM_MODEL_DIR, else `outputs/<job>`."""
        if override:
            return Path(override)
        return self.model_dir or LOCAL_OUTPUT_ROOT / job

    def checkpoints(self, override: str | None, output_dir: Path) -> Path:
        """Where checkpoints go: the flag, else SageMaker's synced folder, else `<output>/checkpoints`."""
        if override:
            return Path(override)
        return self.checkpoint_dir or output_dir / "checkpoints"

    def hyperparameter_argv(self) -> list[str]:
        """The job's hyperparameters as `--name value` flags (SageMaker's own keys left out)."""
        argv: list[str] = []
        for name, value in self.hyperparameters.items():
            if name.startswith(("sagemaker_", "_")):
                continue
            if isinstance(value, list):
                argv += [f"--{name}", *(str(item) for item in value)]
            else:
                argv += [f"--{name}", json.dumps(value) if isinstance(value, bool) else str(value)]
        return argv


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _hyperparameters(env: Mapping[str, str], file: Path) -> dict[str, object]:
    """SM_HPS (SDK 3 and the training toolkit) or the hyperparameters file; values JSON-decoded."""
    if "SM_HPS" in env:
        raw: dict[str, object] = json.loads(env["SM_HPS"])
    elif file.is_file():
        raw = json.loads(file.read_text(encoding="utf-8"))
    else:
        return {}
    return {name: _decode(value) for name, value in raw.items()}


def _decode(value: object) -> object:
    """The classic toolkit stores every value as a JSON string; keep plain strings as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
