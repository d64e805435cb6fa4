"""What every section of the stack's configuration shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """A context value is missing or invalid; the message names the key."""


class Section(BaseModel):
    """A section of the context: frozen, and an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)
