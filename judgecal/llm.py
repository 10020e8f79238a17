"""The one module that imports litellm, behind a small protocol; and the provider registry.

litellm takes seconds to import, so it is imported on first use, never at start-up.

A model string ``<prefix>/<name>`` whose prefix is a registered provider
(:func:`register_provider`) is opened by that provider's factory; anything else goes to litellm
as is. The built-in providers register through the same call, from their own modules, which are
imported on the first lookup of their prefix (:data:`BUILTIN_PROVIDERS`), so this module imports
none of them: ``sim/<preset>`` (:mod:`judgecal.simulate`) starts judgecal's simulated judge on
loopback and ``local/<name>`` (:mod:`judgecal.local`) a GGUF model in llama.cpp, and both are
reached through the very same litellm path (``openai/<name>`` with an ``api_base``), as a user's
provider would be.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from judgecal.errors import ConfigError
from judgecal.redact import register as register_key
from judgecal.verdict import response_format

__all__ = [
    "BUILTIN_PROVIDERS",
    "CallFailed",
    "Completer",
    "Completion",
    "LiteLLMCompleter",
    "ProviderFactory",
    "find_provider",
    "open_completer",
    "register_provider",
]

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else import stalls on a fetch

ErrorKind = Literal[
    "rate_limit",
    "server",
    "timeout",
    "connection",
    "conflict",
    "bad_request",
    "auth",
    "not_found",
    "bad_body",
    "other",
]
"""How a failed call is classified (:func:`_classify`), once, from the status and the exception:

- ``auth``: credentials missing (litellm or the provider's client says so before any request)
  or refused (401, 403); ``not_found``: unknown model or wrong ``api_base`` (404). Both are
  **fatal**: the run stops at once (:attr:`CallFailed.fatal`).
- ``bad_request``: any other 4xx but 408, 409 and 429 (400, 413, 422, a context window
  exceeded, a content filter): **final** for that call, never retried — the same request would
  be refused again. ``other``: an exception with no status (final too).
- ``rate_limit`` (429), ``timeout`` (408, or no answer in time), ``conflict`` (409),
  ``server`` (5xx), ``connection`` (refused, dropped, reset) and ``bad_body`` (the provider
  answered HTTP 200 with a body that is not an OpenAI chat completion: an HTML error page from a
  proxy, text, JSON without ``choices``; litellm reports it as a 500 it never received):
  **retryable**.
"""
_RETRYABLE: frozenset[str] = frozenset(
    {"rate_limit", "server", "timeout", "connection", "conflict", "bad_body"}
)
_FATAL: frozenset[str] = frozenset({"auth", "not_found"})


@dataclass(slots=True)
class Completion:
    """One provider answer."""

    text: str | None
    finish_reason: str | None
    response_model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    latency_ms: float


class CallFailed(Exception):
    """One provider call failed, classified (:data:`ErrorKind`); the message is redacted of keys.

    ``retryable``: trying again may help; ``fatal``: no call of the run can succeed (credentials,
    unknown model); neither: this call is final (a 4xx such as 400 or 413)."""

    def __init__(
        self, kind: ErrorKind, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        from judgecal.redact import redact  # noqa: PLC0415

        super().__init__(redact(f"{kind}: {message}"))
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in _RETRYABLE

    @property
    def fatal(self) -> bool:
        return self.kind in _FATAL


class Completer(Protocol):
    """Anything that turns messages into a :class:`Completion` (or raises :class:`CallFailed`)."""

    model: str

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        timeout: float,
    ) -> Completion: ...


_litellm: Any = None


def _import_litellm() -> Any:
    global _litellm
    if _litellm is None:
        import litellm  # noqa: PLC0415 - deliberately lazy

        logging.getLogger("LiteLLM").setLevel(logging.ERROR)  # its warnings would land in our output
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.drop_params = True
        _litellm = litellm
    return _litellm


def _retry_after(exc: Exception) -> float | None:
    candidates = (
        getattr(exc, "litellm_response_headers", None),  # litellm keeps the provider's headers here
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    )
    for headers in candidates:
        if not headers:
            continue
        millis = headers.get("retry-after-ms")  # OpenAI's, more precise when both are sent
        if millis is not None:
            try:
                return max(0.0, float(millis) / 1000)
            except ValueError:
                pass
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime  # noqa: PLC0415

            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    return None


def _looks_like_connection(exc: BaseException) -> bool:
    """litellm reports a refused or dropped connection to an OpenAI-compatible server as an
    InternalServerError("Connection error."); look at the message and the exception chain."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        name = type(seen).__name__
        if "Connect" in name or "RemoteProtocolError" in name or "ServerDisconnected" in name:
            return True
        if "connection error" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_MISSING_KEY = re.compile(
    r"missing credentials|missing [\w ]{0,30}api[ _-]?key|api[ _-]?key client option must be set"
    r"|no api[ _-]?key|api[ _-]?key (?:is )?(?:not set|not found|not provided|missing|required)"
    r"|(?:invalid|incorrect) (?:x-)?api[ _-]?key",
    re.IGNORECASE,
)
"""What litellm and the providers' clients say when no key (or a malformed one) was given. They
say it before any request, as an InternalServerError (OpenAI) or an APIConnectionError
(Gemini), which would otherwise be retried as a server or connection error."""


def _status_kind(status: int) -> ErrorKind | None:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 408:
        return "timeout"
    if status == 409:
        return "conflict"
    if status == 429:
        return "rate_limit"
    if 400 <= status < 500:
        return "bad_request"
    return None


_BAD_BODY = re.compile(
    r"Empty or invalid response from LLM endpoint\. Received: (?P<received>.*?)\. Check the reverse proxy"
    r"|provider returned (?:a response with no 'choices'|'choices' that is not a list)",
    re.DOTALL,
)
"""What litellm 1.106 says when an HTTP 200 answer is not a chat completion: a body that is not
JSON (``text/html``, ``text/plain``: the OpenAI client hands litellm a string), or JSON without a
``choices`` list. A body sent as ``application/json`` that does not parse leaves a
:class:`json.JSONDecodeError` in the exception chain instead. litellm raises all of them as an
``InternalServerError`` with a status 500 of its own making."""


def _bad_body(exc: BaseException) -> str | None:
    """The message of a ``bad_body`` failure when ``exc`` (or what caused it) says the provider's
    HTTP 200 answer was not an OpenAI chat completion, else None (an HTTP error status anywhere
    in the chain is a real error status, whatever its body)."""
    import ast  # noqa: PLC0415
    import json  # noqa: PLC0415

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(type(e).__name__ == "HTTPStatusError" for e in chain):  # httpx's: a real 4xx/5xx
        return None
    for e in chain:
        excerpt: str
        if isinstance(e, json.JSONDecodeError):  # sent as application/json, but it is not JSON
            excerpt = e.doc
        else:
            m = _BAD_BODY.search(str(e))
            if m is None:
                continue
            received = m.group("received")
            if received is None:  # JSON, but without a list of choices
                return _bad_body_message(None)
            try:
                value = ast.literal_eval(received)  # litellm shows the body as its repr
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                value = received
            excerpt = value if isinstance(value, str) else json.dumps(value, default=str)
        return _bad_body_message(excerpt)
    return None


def _bad_body_message(body: str | None) -> str:
    """What a ``bad_body`` failure says about the HTTP 200 ``body`` (its first 80 characters,
    whitespace collapsed; None: JSON without choices); the simulated judge's in-process ``html``
    fault says the same."""
    if body is None:
        shown = " (JSON without a list of choices)"
    else:
        head = " ".join(body.split())[:80]
        shown = f": {head!r}" if head else " (an empty body)"
    return f"the provider answered HTTP 200 with a body that is not an OpenAI chat completion{shown}"


def _classify(exc: Exception) -> CallFailed:
    """A litellm exception -> a :class:`CallFailed` of the right :data:`ErrorKind` (its docstring)."""
    litellm = _import_litellm()
    status = getattr(exc, "status_code", None)
    message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
    by_status = _status_kind(status) if isinstance(status, int) else None
    kind: ErrorKind
    # an HTTP 200 whose body is no chat completion: litellm calls it a 500, though none was sent
    bad_body = _bad_body(exc)
    if bad_body is not None:
        return CallFailed("bad_body", bad_body, status=200)
    # the HTTP status decides over litellm's exception class (which it sometimes picks from the
    # error body's wording); a message saying the key is missing decides over both
    if _MISSING_KEY.search(str(exc)[:2000]):
        kind = "auth"
    elif by_status is not None:
        kind = by_status
    elif isinstance(exc, litellm.RateLimitError):
        kind = "rate_limit"
    elif isinstance(exc, litellm.Timeout | asyncio.TimeoutError | TimeoutError):
        kind = "timeout"
    elif isinstance(exc, litellm.APIConnectionError) or _looks_like_connection(exc):
        kind = "connection"
    elif isinstance(status, int) and status >= 500:
        kind = "server"
    elif isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        kind = "auth"
    elif isinstance(exc, litellm.NotFoundError):
        kind = "not_found"
    elif isinstance(exc, litellm.BadRequestError):
        kind = "bad_request"
    elif (
        isinstance(status, int)
        and status >= 500
        or isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError | litellm.APIError)
    ):
        kind = "server"
    else:
        kind = "other"
    return CallFailed(kind, message, status=status, retry_after=_retry_after(exc))


def missing_key_hint(model: str, *, api_base: str | None = None, api_key: str | None = None) -> str | None:
    """Which environment variable litellm looks for the key of ``model`` in, when it is unset and
    no key was given (``"OPENAI_API_KEY is not set"``); None when there is nothing to say."""
    prefix, slash, _ = model.partition("/")
    if api_key or api_base or (slash and _is_provider(prefix)):
        return None
    try:
        found = _import_litellm().validate_environment(model)
    except Exception:  # noqa: BLE001 - a hint only
        return None
    names = [k for k in found.get("missing_keys") or [] if "KEY" in k or "TOKEN" in k]
    if not names:
        return None
    return f"{' or '.join(names)} is not set"


def what_to_check(model: str, failed: CallFailed, completer: Any = None) -> str:
    """What a user should check after the fatal or final failure ``failed`` of ``model`` (through
    ``completer``): the unset key variable, the model string, or the request itself."""
    if failed.kind == "auth":
        missing = missing_key_hint(
            model, api_base=getattr(completer, "api_base", None), api_key=getattr(completer, "api_key", None)
        )
        if missing:
            return (
                f"{missing}: set it, or name the variable holding the key with --api-key-env "
                "(api_key_env in judgecal.toml)"
            )
        return (
            "check the API key (missing, wrong, or not allowed this model; --api-key-env names the "
            "variable holding it)"
        )
    if failed.kind == "not_found":
        return "check the model string (litellm's form, e.g. openai/gpt-4o-mini) and --api-base"
    return "the provider refuses the request as sent"


class LiteLLMCompleter:
    """A judge model reached through ``litellm.acompletion``.

    ``structured``: ``auto`` sends the verdict JSON schema as ``response_format`` and, if the
    provider rejects it, falls back to plain text (parsed tolerantly) for the rest of the run;
    ``json_schema`` always sends it; ``none`` never does.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        structured: Literal["auto", "json_schema", "none"] = "auto",
    ):
        self.model = model
        """The model string as the user wrote it: the judge's identity in records and cache keys."""
        self.litellm_model = model
        """The model string litellm is called with."""
        self.api_base = api_base
        # a keyless OpenAI-compatible server still needs *a* key for the OpenAI client to send
        self.api_key = api_key or ("none" if api_base else None)
        register_key(api_key)
        self.structured = structured
        self._schema_rejected = False
        _import_litellm()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        timeout: float,
    ) -> Completion:
        litellm = _litellm
        kwargs: dict[str, Any] = {
            "model": self.litellm_model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "timeout": timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if seed is not None:
            kwargs["seed"] = seed
        use_schema = schema is not None and self.structured != "none" and not self._schema_rejected
        if use_schema:
            kwargs["response_format"] = response_format(schema)  # type: ignore[arg-type]
        start = time.perf_counter()
        try:
            response = await asyncio.wait_for(litellm.acompletion(**kwargs), timeout=timeout + 5)
        except Exception as exc:  # noqa: BLE001 - every provider failure is classified
            failed = _classify(exc)
            if (
                failed.kind == "bad_request"
                and use_schema
                and self.structured == "auto"
                and "response_format" in str(exc).lower()
            ):
                self._schema_rejected = True
                return await self.complete(
                    messages,
                    schema=None,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    seed=seed,
                    timeout=timeout,
                )
            raise failed from exc
        latency_ms = (time.perf_counter() - start) * 1000
        if response is None or not getattr(response, "choices", None):
            # litellm 1.106 answers an HTTP 422 by retrying once without the parameters it can drop
            # (drop_params), then returns None instead of raising: the request was refused as sent
            raise CallFailed(
                "bad_request", "the provider returned no completion (an HTTP 422 that litellm swallowed?)"
            )
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        return Completion(
            text=choice.message.content,
            finish_reason=choice.finish_reason,
            response_model=getattr(response, "model", None),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost=float(cost) if isinstance(cost, int | float) else None,
            latency_ms=latency_ms,
        )


def _register_free(model: str) -> None:
    litellm = _import_litellm()
    litellm.register_model(
        {
            model: {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
                "litellm_provider": "openai",
                "mode": "chat",
            }
        }
    )


class OpenedCompleter:
    """A completer plus whatever must be stopped after the run (the simulated judge)."""

    def __init__(self, completer: Completer, sim: Any = None):
        self.completer = completer
        self.sim = sim
        """What the provider started and :meth:`close` stops (anything with ``stop()``): the
        simulated judge for ``sim/<preset>``, which is also what is taught derived items' truth."""

    def close(self) -> None:
        if self.sim is not None:
            self.sim.stop()

    def __enter__(self) -> OpenedCompleter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProviderFactory(Protocol):
    """Opens ``<prefix>/<name>`` for a provider registered under ``prefix`` (gets ``name``)."""

    def __call__(
        self,
        name: str,
        /,
        *,
        model: str,
        api_base: str | None,
        api_key: str | None,
        sim_items: Sequence[Any] | None,
    ) -> OpenedCompleter: ...


BUILTIN_PROVIDERS: dict[str, str] = {"local": "judgecal.local", "sim": "judgecal.simulate"}
"""The built-in providers' prefixes and the modules that register them when imported (on the
first lookup of the prefix: so this module imports neither, and ``local`` needs its optional
extra only when used)."""

_PROVIDERS: dict[str, ProviderFactory] = {}


def register_provider(prefix: str, factory: ProviderFactory) -> None:
    """Open model strings ``<prefix>/<name>`` with ``factory`` (the built-ins register this way).

    ``factory(name, *, model, api_base, api_key, sim_items)`` gets the part after the prefix, the
    whole model string, and :func:`open_completer`'s options (``sim_items``: the items' truth, for
    a simulated judge; others ignore it). Registering a prefix again replaces its factory."""
    if not prefix or "/" in prefix:
        raise ValueError(f"a provider prefix is a non-empty name without '/', got {prefix!r}")
    _PROVIDERS[prefix] = factory


def _is_provider(prefix: str) -> bool:
    """Whether ``prefix`` names a registered or built-in provider (without importing it)."""
    return prefix in _PROVIDERS or prefix in BUILTIN_PROVIDERS


def find_provider(prefix: str) -> ProviderFactory | None:
    """The factory registered under ``prefix`` (importing a built-in's module first), or None."""
    if prefix not in _PROVIDERS and prefix in BUILTIN_PROVIDERS:
        importlib.import_module(BUILTIN_PROVIDERS[prefix])
    return _PROVIDERS.get(prefix)


def open_completer(
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    sim_items: Sequence[Any] | None = None,
) -> OpenedCompleter:
    """Resolve a model string into a completer.

    A ``<prefix>/<name>`` whose prefix is a registered provider is opened by its factory
    (:func:`register_provider`). ``sim/<preset>`` starts the bundled simulated judge (preset from
    :data:`judgecal.simulate.PRESETS`) on a free loopback port, tells it about ``sim_items``
    and reaches it through litellm as ``openai/<preset>``. ``local/<name>`` loads a local GGUF
    model into llama.cpp on this machine (once per process; :mod:`judgecal.local`) and reaches it
    the same way; ``api_base`` does not apply to it. Anything else goes to litellm as is.
    """
    prefix, slash, name = model.partition("/")
    factory = find_provider(prefix) if slash else None
    if factory is not None:
        return factory(name, model=model, api_base=api_base, api_key=api_key, sim_items=sim_items)
    if "/" not in model and not api_base:
        raise ConfigError(
            f"model {model!r} has no provider prefix; use litellm's form, e.g. openai/gpt-4o-mini, "
            "anthropic/claude-3-5-haiku-latest, ollama/llama3.1, local/smollm2 or sim/accurate"
        )
    return OpenedCompleter(LiteLLMCompleter(model, api_base=api_base, api_key=api_key))
