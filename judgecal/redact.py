"""Keys never leave the process: every error text, raw answer and log line judgecal stores or
prints passes :func:`redact` first.

Two things are removed:

- **the key values judgecal was given** in this process — each key is :func:`register`\\ ed
  when it is resolved (``--api-key-env``, ``api_key=`` of the Python API), so a provider that
  echoes the key back in its error message cannot get it stored;
- **common key shapes**, whoever's they are: ``sk-…`` (OpenAI, Anthropic's ``sk-ant-…``),
  ``Bearer <token>``, ``Authorization: <value>``, ``api_key=…`` / ``"api_key": "…"`` (also
  ``api-key``, ``x-api-key``, ``access_token``, ``client_secret``, ``secret_key``), AWS access key ids
  (``AKIA…``, ``ASIA…``), Google API keys (``AIza…``), GitHub tokens (``ghp_…``) and any long
  token (16+ letters and digits) right after the word ``key`` or ``token``.

Each is replaced by ``[redacted]``; the text around it stays, so an error still says what went
wrong. Importing this module also redacts every log record of the ``judgecal`` and ``LiteLLM``
loggers (and of litellm's HTTP clients, ``openai`` and ``httpx``), whichever handler prints them.

>>> register("s3cr3t-value-123")
>>> redact("401: you sent Authorization: Bearer s3cr3t-value-123")
'401: you sent Authorization: Bearer [redacted]'
>>> redact('{"api_key": "abc", "model": "gpt-4o-mini"}')
'{"api_key": "[redacted]", "model": "gpt-4o-mini"}'
>>> redact("bad key sk-proj-AbCdEf0123456789xyz")
'bad key [redacted]'
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["MARK", "install_log_redaction", "redact", "register", "registered"]

MARK = "[redacted]"
"""What a removed secret is replaced with."""

_MIN_SECRET = 4
"""Shorter values are not registered (they would redact ordinary words)."""
_PLACEHOLDERS = frozenset({"none", "null", "sim", "x", "dummy", "placeholder", "empty"})
"""Values that are placeholders, not keys (never registered)."""

_lock = threading.Lock()
_secrets: set[str] = set()

_VALUE = r"(?!\[redacted\])[^\s\"',;&}\]]+"
_TOKEN = r"[A-Za-z0-9+/=_\-.]"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer xyz / Authorization: Basic xyz / "authorization": "xyz"
    (
        re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:bearer|basic|token|key)\s+" + _VALUE),
        rf"\1{MARK}",
    ),
    (
        re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?=[^\s\"']*\d)" + _VALUE),
        rf"\1{MARK}",
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), rf"\1{MARK}"),
    # api_key=..., "api_key": "...", x-api-key: ..., access_token=..., client_secret: ...
    (
        re.compile(
            r"(?i)(\b(?:x-)?(?:api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key)"
            r"[\"']?\s*[:=]\s*[\"']?)" + _VALUE
        ),
        rf"\1{MARK}",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), MARK),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MARK),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), MARK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MARK),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), MARK),
    # a long token (letters and digits) after the word key or token: "invalid key 0123abcd..."
    (
        re.compile(
            r"(?i)(\b(?:key|token)s?\b[\"']?\s*(?:[:=]|is)?\s*[\"'`]?)"
            rf"(?={_TOKEN}*\d)(?={_TOKEN}*[A-Za-z]){_TOKEN}{{16,}}"
        ),
        rf"\1{MARK}",
    ),
]


def register(value: str | None) -> None:
    """Remember a key value: :func:`redact` removes it from every text from now on (this
    process). Placeholders and values shorter than 4 characters are ignored."""
    if not value:
        return
    value = value.strip()
    if len(value) < _MIN_SECRET or value.lower() in _PLACEHOLDERS:
        return
    with _lock:
        _secrets.add(value)


def registered() -> int:
    """How many key values are registered (for tests and diagnostics; never the values)."""
    return len(_secrets)


def redact(text: Any) -> Any:
    """``text`` with every registered key value and every common key shape replaced by
    ``[redacted]`` (module docstring). Anything but a non-empty string is returned as is."""
    if not isinstance(text, str) or not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MARK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


_REDACTED_LOGGERS = ("judgecal", "LiteLLM", "litellm", "openai", "httpx", "httpcore")
"""Loggers (with their children) whose records are redacted: judgecal's, and those of the
clients that carry the provider's requests and errors."""


def _covered(name: str) -> bool:
    return any(
        name == root or name.startswith(root + ".") or name.startswith(root + " ")
        for root in _REDACTED_LOGGERS
    )


def install_log_redaction() -> None:
    """Redact the message (arguments merged) and the traceback of every log record of the
    loggers in ``_REDACTED_LOGGERS`` and their children, at the record's creation, so no handler
    sees the clear text. Idempotent; done on import."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_judgecal_redacts", False):
        return
    formatter = logging.Formatter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _covered(record.name):
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave it to the handler to report
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    factory._judgecal_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


install_log_redaction()
