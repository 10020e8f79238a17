"""Where judgecal keeps its data, and configuration precedence.

Precedence for every setting: command-line flag > ``JUDGECAL_*`` environment variable >
``judgecal.toml`` (in the working directory, or ``$JUDGECAL_CONFIG``) > default.

- ``JUDGECAL_HOME``: the home folder (default ``./.judgecal``, project-local like ``.git``).
- ``DATABASE_URL`` (or ``JUDGECAL_DATABASE_URL``): the database; default SQLite in the home folder.
- ``api_key_env`` (``--api-key-env``, ``JUDGECAL_API_KEY_ENV``): the *name* of the environment
  variable holding the provider's key. judgecal reads the key from it when a command starts and
  never stores or prints it (:mod:`judgecal.redact`).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judgecal._yamlio import error_message, field_name
from judgecal.errors import ConfigError

__all__ = ["Config", "GradeDefaults", "api_key_from_env", "database_url", "home", "load_config"]

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,199}$"
"""What an environment variable's name looks like."""


def check_env_name(value: str | None) -> str | None:
    """``value`` if it is an environment variable's name (or None); else a ValueError that does
    not repeat it — it may be the key itself, pasted by mistake (it is registered for redaction)."""
    if value is None:
        return None
    value = value.strip()
    if re.match(ENV_NAME, value):
        return value
    from judgecal.redact import register  # noqa: PLC0415

    register(value)
    raise ValueError(
        "must be the name of an environment variable (letters, digits and _), not the key itself"
    )


class GradeDefaults(BaseModel):
    """Defaults for ``judgecal grade``; every key is also a flag."""

    model_config = ConfigDict(extra="forbid")

    judge: str | None = None
    """Default judge model string (e.g. ``openai/gpt-4o-mini``, ``sim/accurate``)."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible server."""
    api_key_env: str | None = None
    """The name of the environment variable holding the provider's key (never the key itself),
    sent to any provider, ``api_base`` servers included."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return check_env_name(value)

    concurrency: int = Field(default=8, ge=1, le=1024)
    """Calls in flight at once."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds before one call is abandoned (then retried)."""
    max_retries: int = Field(default=6, ge=0, le=50)
    """Retries of one call on 429, 5xx, timeouts and dropped connections."""
    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature."""
    max_tokens: int = Field(default=512, ge=1)
    """Cap on the judge's answer length."""


class Config(BaseModel):
    """The contents of ``judgecal.toml``."""

    model_config = ConfigDict(extra="forbid")

    home: str | None = None
    """The home folder (overridden by ``JUDGECAL_HOME``)."""
    database_url: str | None = None
    """SQLAlchemy URL (overridden by ``DATABASE_URL``)."""
    grade: GradeDefaults = Field(default_factory=GradeDefaults)
    """Defaults for grading."""


def config_path() -> Path | None:
    env = os.environ.get("JUDGECAL_CONFIG")
    if env:
        return Path(env)
    p = Path.cwd() / "judgecal.toml"
    return p if p.is_file() else None


def _line_of_key(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def load_config() -> Config:
    """Read ``judgecal.toml`` (if any) into a validated :class:`Config`."""
    path = config_path()
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config ({exc.strerror})", location=str(path)) from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", location=str(path)) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of_key(text, str(loc[-1])) if loc else None
        raise ConfigError(
            error_message(err), location=f"{path}:{line}" if line else str(path), field=field_name(loc)
        ) from None


def api_key_from_env(name: str, *, source: str) -> str:
    """The key in environment variable ``name`` (named by ``source``: a flag, a variable or a
    file), registered with :func:`judgecal.redact.register` so it is never stored or printed.

    A :class:`ConfigError` naming the variable and ``source`` when the name is not a variable's
    name (the key itself, pasted by mistake: it is not repeated), or the variable is unset or
    empty."""
    from judgecal.redact import register  # noqa: PLC0415

    try:
        check_env_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc), field=source) from None
    value = os.environ.get(name)
    if value is None or not value.strip():
        state = "is not set" if value is None else "is empty"
        raise ConfigError(
            f"environment variable {name} {state}; set it to the provider's API key, or name another "
            "variable",
            field=source,
        )
    value = value.strip()
    register(value)
    return value


def home() -> Path:
    """The home folder, created if missing."""
    env = os.environ.get("JUDGECAL_HOME")
    path = Path(env) if env else Path(load_config().home or Path.cwd() / ".judgecal")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """``DATABASE_URL`` > ``JUDGECAL_DATABASE_URL`` > config > SQLite in the home folder."""
    for var in ("DATABASE_URL", "JUDGECAL_DATABASE_URL"):
        if os.environ.get(var):
            return os.environ[var]
    cfg = load_config()
    if cfg.database_url:
        return cfg.database_url
    return f"sqlite:///{home() / 'judgecal.db'}"
