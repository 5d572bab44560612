"""One validated settings object per process: the base every process's settings class extends, and its checks.

Each process (action server, each gateway, dashboard) has one `BaseSettings` subclass, read from the environment once
at start with `load()` and passed to what needs it. A bad value raises `SettingsError` naming the variable; entry
points wrap their start in `exit_on_bad_settings`, so a resident-facing service never starts half-configured and
the operator reads one clear line instead of a traceback. App venv only (pydantic-settings); Rasa's add-ons read
their settings from endpoints.yml.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

T = TypeVar("T")
S = TypeVar("S", bound=BaseSettings)

PLACEHOLDERS = {"", "changeme", "change-me", "xxx", "your-token", "todo", "secret"}
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")
MEMORY = "memory://"  # the terminal demo's in-process stand-in; nothing else may run on it


class SettingsError(RuntimeError):
    """A setting is missing, a placeholder, or invalid."""


def not_placeholder(value: str) -> str:
    """A secret's check: set, and not the placeholder .env.example ships with."""
    cleaned = value.strip()
    if cleaned.lower() in PLACEHOLDERS or "change-me" in cleaned.lower() or "changeme" in cleaned.lower():
        raise ValueError("is not set, or still the placeholder from .env.example")
    return cleaned


def _redis_url(value: str) -> str:
    cleaned = value.strip()
    if not cleaned.startswith(REDIS_SCHEMES):
        raise ValueError(f"must start with {', '.join(REDIS_SCHEMES)}")
    return cleaned


def _redis_or_memory(value: str) -> str:
    cleaned = value.strip()
    return cleaned if cleaned == MEMORY else _redis_url(cleaned)


# A secret: required, and never the placeholder .env.example ships with.
Secret = Annotated[str, AfterValidator(not_placeholder), Field(repr=False)]
# Redis for a process that shares state with others (gateways, dashboard): a real server only.
RedisURL = Annotated[str, AfterValidator(_redis_url)]
# Redis for the action server: a real server, or memory:// in the terminal demo (`make run`).
RedisOrMemoryURL = Annotated[str, AfterValidator(_redis_or_memory)]


class ProcessSettings(BaseSettings):
    """Read from the environment (variable = field name in capitals); unknown variables are ignored."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True, env_ignore_empty=True,
                                      populate_by_name=True,
                                      hide_input_in_errors=True)


def _variable(settings_class: type[BaseSettings], loc: tuple[Any, ...]) -> str:
    name = str(loc[0]) if loc else "?"
    field = settings_class.model_fields.get(name)
    alias = field.validation_alias if field is not None else None
    return (alias if isinstance(alias, str) else name).upper()


def describe(settings_class: type[BaseSettings], error: ValidationError) -> str:
    """One line per bad variable: `WEB_TRUST_FORWARDED: must be true or false`, values left out (they may be secrets)."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        if item.get("type") == "missing":
            message = "is not set (see .env.example and the README's settings table)"
        loc = tuple(item.get("loc", ()))
        lines.append(f"{_variable(settings_class, loc)}: {message}" if loc else message)
    return "; ".join(lines)


def load(settings_class: type[S], **values: Any) -> S:
    """Read and check one process's settings; SettingsError with one clear line per bad variable."""
    try:
        return settings_class(**values)
    except ValidationError as exc:
        raise SettingsError(describe(settings_class, exc)) from None
    except PydanticSettingsError as exc:  # a value the environment source cannot even parse
        raise SettingsError(str(exc)) from None


def exit_on_bad_settings(start: Callable[[], T], process: str) -> T:
    """Run an entry point; on bad settings print what to fix and exit with status 2 instead of a traceback."""
    try:
        return start()
    except SettingsError as exc:
        print(f"{process}: cannot start, bad settings: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
