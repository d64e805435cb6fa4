"""Argument parsing and the run wrapper shared by the job scripts, in the style of trl's scripts.

Each job declares dataclasses whose fields carry `help` metadata, a `make_parser(prog, argv)` factory
and `main(*args)`; `run_job` parses the command line (after the SageMaker hyperparameters, so a
flag given by hand wins) and turns an `InputError` into one clear log line and exit status 2
instead of a traceback. The parser is trl's `TrlParser`: `--config FILE.yaml` sets defaults from a
YAML mapping of field names (and environment variables under `env`), which flags then override.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from training_jobs.common.sagemaker import InputError, SageMakerEnvironment

if TYPE_CHECKING:
    from transformers.hf_argparser import DataClassType
    from trl.scripts.utils import TrlParser

logger = logging.getLogger(__name__)

#: Exit status of a job stopped by bad input (argparse uses 2 for bad flags too).
INPUT_ERROR_STATUS = 2


@dataclass
class TinyArguments:
    """The `--tiny` preset flag, which every job has."""

    tiny: bool = field(
        default=False,
        metadata={
            "help": "Preset for a laptop CPU (under a minute): tiny sizes and few steps; inputs that are not "
            "given are built on the spot (sample data, a tiny pretrained base). Flags given explicitly win."
        },
    )


@dataclass
class JobArguments(TinyArguments):
    """The flags of the jobs that do not train through a trl trainer (whose config has the other two)."""

    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where the job writes its result. Default: SM_MODEL_DIR on SageMaker, else outputs/<job>."
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed for data order and initialisation."})


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the flag list, and the module docstring's command lines kept as written."""


def make_job_parser(prog: str | None, description: str | None, *dataclass_types: type) -> TrlParser:
    """trl's parser over the job's dataclasses: their flags, and `--config` for a YAML file of them."""
    from trl.scripts.utils import TrlParser

    return TrlParser(
        cast("list[DataClassType]", list(dataclass_types)),
        prog=prog,
        description=description,
        formatter_class=_HelpFormatter,
    )


def apply_preset(preset: Mapping[str, Any], *args: object) -> None:
    """Set each preset value on the dataclass that has the field, unless the user changed it."""
    for name, value in preset.items():
        owners = [a for a in args if any(f.name == name for f in dataclasses.fields(a))]  # type: ignore[arg-type]
        if not owners:
            raise KeyError(f"preset field {name!r} is in none of the argument classes")
        for owner in owners:
            spec = next(f for f in dataclasses.fields(owner) if f.name == name)  # type: ignore[arg-type]
            default = (
                spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
            )
            if getattr(owner, name) == default:
                setattr(owner, name, value)


def wants_tiny(argv: Sequence[str]) -> bool:
    """Whether the command line asks for the `--tiny` preset (`--tiny`, or `--tiny true` as a
    SageMaker hyperparameter), read before the parser whose defaults it changes is built."""
    from transformers import HfArgumentParser

    parser = HfArgumentParser(cast("DataClassType", TinyArguments), add_help=False)
    tiny, _ = parser.parse_args_into_dataclasses(args=list(argv), return_remaining_strings=True)
    return bool(tiny.tiny)


def set_job_defaults(parser: TrlParser, defaults: Mapping[str, Any]) -> None:
    """Replace the defaults of the parser's flags (a YAML `--config`, then the flags, still win)."""
    flags = {action.dest for action in parser._actions}
    unknown = sorted(set(defaults) - flags)
    if unknown:
        raise KeyError(f"defaults for flags the parser does not have: {unknown}")
    parser.set_defaults(**defaults)


def parse_job_args(parser: TrlParser, argv: list[str]) -> tuple[Any, ...]:
    """The job's dataclasses, from `--config` (YAML) and the flags; an unknown flag or key ends with
    argparse's usage message and status 2."""
    import yaml

    if "--config" in argv:
        index = argv.index("--config") + 1
        if index == len(argv) or not os.path.isfile(argv[index]):
            parser.error("--config: expected the path of a YAML file")
    try:
        *parsed, unknown = parser.parse_args_and_config(args=argv, return_remaining_strings=True)
    except (ValueError, yaml.YAMLError) as error:  # a config file that is not a mapping of fields
        parser.error(f"--config: {error}")
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return tuple(parsed)


def configure_logging() -> None:
    """INFO on the main process, WARNING on the other ranks of a torchrun job."""
    level = logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


#: A job's parser factory: the program name, and the command line (whose `--tiny` sets defaults).
ParserFactory = Callable[[str | None, Sequence[str]], "TrlParser"]


def run_job(
    make_parser: ParserFactory,
    main: Callable[..., object],
    argv: list[str] | None = None,
    prog: str | None = None,
) -> int:
    """Parse the flags (SageMaker hyperparameters first), run `main`, map bad input to status 2."""
    given = sys.argv[1:] if argv is None else argv
    hyperparameters = SageMakerEnvironment.from_environ().hyperparameter_argv()
    argv = [*hyperparameters, *given]
    parsed = parse_job_args(make_parser(prog, argv), argv)
    configure_logging()
    try:
        main(*parsed)
    except InputError as error:
        logger.error("%s", error)
        return INPUT_ERROR_STATUS
    return 0
