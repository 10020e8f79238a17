"""The exceptions judgecal raises, as one small tree.

::

    JudgecalError                  any failure of judgecal itself (CLI exit code 3)
    ├── InputError                 a file or argument the user gave is wrong (exit code 2)
    │   ├── RubricError            rubric.yaml or its prompt template
    │   ├── GoldError              a gold set or an input file of items
    │   ├── ConfigError            judgecal.toml, JUDGECAL_* variables, CLI options
    │   ├── LabelError             a label the labelling app refuses (token, scale, queue, stale)
    │   └── NotFoundError          a rubric, gold set, run or preset that does not exist
    ├── NotApprovedError           no valid approval for a judge a caller asked for (exit code 1)
    ├── ProviderError              the judge's provider could not be used at all
    └── StoreError                 the database could not be opened or migrated

A judge that answers badly is *not* an exception: an unparseable answer is a verdict with status
``invalid``, and a call that failed after its retries is a verdict with status ``error``. Both are
recorded and counted. A failed gate is a value too.

Every message passes :func:`judgecal.redact.redact`: an error that quotes a provider's answer
cannot carry an API key into a terminal, a log or an HTTP response.
"""

from __future__ import annotations

from typing import Any

from judgecal.redact import redact

__all__ = [
    "ConfigError",
    "GoldError",
    "InputError",
    "JudgecalError",
    "LabelError",
    "NotApprovedError",
    "NotFoundError",
    "ProviderError",
    "RubricError",
    "StoreError",
]


class JudgecalError(Exception):
    """Base class of every error judgecal raises on purpose (its message redacted of keys)."""

    exit_code = 3

    def __init__(self, *args: Any):
        super().__init__(*(redact(a) for a in args))


class InputError(JudgecalError):
    """Something the user wrote is wrong. ``location`` is ``file:line`` where known."""

    exit_code = 2

    def __init__(self, message: str, *, location: str | None = None, field: str | None = None):
        self.location = location
        self.field = field
        self.detail = redact(message)
        parts = [p for p in (location, field) if p]
        super().__init__(": ".join([*parts, message]))


class RubricError(InputError):
    """A rubric folder, its ``rubric.yaml`` or its prompt template is invalid."""


class GoldError(InputError):
    """A gold set (or an input file of items) is invalid."""


class ConfigError(InputError):
    """A configuration value (file, environment variable or option) is invalid."""


class NotFoundError(InputError):
    """A named thing does not exist; the message lists the valid names."""


class LabelError(InputError):
    """A label that cannot be stored: an unknown token, a label off the scale, an item not in
    the annotator's queue, a page older than the item or the rubric. Nothing is stored.
    ``kind`` says which (``unknown_token``, ``off_scale``, ``not_in_queue``, ``stale``,
    ``bad_request``) and picks the HTTP status the labelling app answers with."""

    def __init__(self, message: str, *, kind: str = "bad_request", field: str | None = None):
        self.kind = kind
        super().__init__(message, field=field)


class NotApprovedError(JudgecalError):
    """A grader was asked for a judge without a valid approval (none, rejected, revoked or stale).

    The message says which; pass ``allow_unapproved=True`` to use the judge anyway."""

    exit_code = 1


class ProviderError(JudgecalError):
    """The provider could not be used at all (unknown model, missing or refused credentials, bad
    api_base, every call refused), or no unit of a run got an answer."""


class StoreError(JudgecalError):
    """The verdict store could not be opened, migrated or written."""
