"""Preflight: one cheap call that checks the judge answers with these credentials, before a run.

A run of a thousand calls should not find out on its first call — or after two minutes of
retries — that the key is missing or the model name is wrong. :func:`apreflight` sends one tiny
prompt (:data:`PROMPT`, at most :data:`MAX_TOKENS` answer tokens, no schema) through the same
completer the run will use, and:

- a **fatal** failure — credentials missing or refused (401/403), unknown model (404), or any
  other 4xx but 408, 409 and 429 (the request itself is wrong) — raises
  :class:`~judgecal.errors.ProviderError` at once (exit code 3), with the provider's cause;
- a **transient** failure — 429, 5xx, 408/409, a timeout, a dropped or refused connection — is
  tried again up to :data:`ATTEMPTS` times in all, a second or two apart (a ``Retry-After`` is
  honoured up to :data:`MAX_WAIT` seconds), then raises :class:`ProviderError` naming the last
  cause: a provider that cannot answer one call in a row now would not serve the run either.

Nothing is stored, whatever the outcome: the preflight call is not a verdict, is not cached and
does not count in a run's calls, cost or caps (its price is a few dozen tokens). It is skipped
when every unit of the run would come from the cache (no call is needed), when a cap allows no
call, and when the caller turns it off (``preflight=False``; ``--no-preflight``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from judgecal._model import Strict
from judgecal.errors import ProviderError

if TYPE_CHECKING:
    from judgecal.gold import GoldSet
    from judgecal.judge_types import JudgeConfig, Limits
    from judgecal.llm import CallFailed, Completer
    from judgecal.rubric import Rubric
    from judgecal.store import Store

__all__ = [
    "ATTEMPTS",
    "MAX_TOKENS",
    "MAX_WAIT",
    "PROMPT",
    "PreflightResult",
    "apreflight",
    "apreflight_grade",
    "apreflight_run",
    "is_fatal",
]

PROMPT = [{"role": "user", "content": "This is a connectivity check. Reply with the single word OK."}]
"""The preflight's messages."""
MAX_TOKENS = 16
"""Answer tokens the preflight call allows."""
ATTEMPTS = 3
"""Preflight calls at most (the first and two retries) when the failures are transient."""
MAX_WAIT = 5.0
"""Longest wait in seconds between two preflight attempts (a longer Retry-After is cut to it)."""
_FATAL_KINDS = frozenset({"auth", "not_found", "bad_request"})
_TRANSIENT_STATUS = frozenset({408, 409, 429})


class PreflightResult(Strict):
    """What the preflight found (it raises instead when the provider cannot be used)."""

    model: str
    """The judge's model string."""
    status: Literal["ok", "skipped"]
    """``ok``: the model answered; ``skipped``: no call was made (``skipped_because`` says why)."""
    skipped_because: str | None = None
    """Why no preflight call was made (turned off, every unit cached, a cap of zero)."""
    attempts: int = 0
    """Calls made (retries of transient failures included)."""
    latency_ms: float | None = None
    """Latency of the answering call."""
    cost: float | None = None
    """USD the answering call cost; None when the provider reported no cost (or none was made)."""
    cost_reported: bool = False
    """Whether an answering call reported its cost (what a ``max_cost`` cap needs)."""
    response_model: str | None = None
    """The model the provider says answered."""
    errors: list[str] = Field(default_factory=list)
    """The transient failures retried before the answer."""


def is_fatal(failed: CallFailed) -> bool:
    """Whether a failed call is final: credentials, unknown model, or a 4xx other than 408/409/429."""
    if failed.kind in _FATAL_KINDS:
        return True
    status = failed.status
    return isinstance(status, int) and 400 <= status < 500 and status not in _TRANSIENT_STATUS


def _cause(model: str, failed: CallFailed, completer: Completer | None = None) -> str:
    from judgecal.llm import what_to_check  # noqa: PLC0415

    hint = what_to_check(model, failed, completer)
    status = f" (HTTP {failed.status})" if failed.status else ""
    return f"{model}: the preflight call failed{status}: {failed} — {hint}"


async def apreflight(
    completer: Completer,
    *,
    timeout: float = 60.0,
    attempts: int = ATTEMPTS,
) -> PreflightResult:
    """Make the preflight call through ``completer`` (module docstring). Raises
    :class:`~judgecal.errors.ProviderError` when the provider cannot be used."""
    from judgecal.llm import CallFailed  # noqa: PLC0415 - judgecal.llm imports litellm lazily

    errors: list[str] = []
    for attempt in range(1, max(1, attempts) + 1):
        try:
            done = await completer.complete(
                [dict(m) for m in PROMPT],
                schema=None,
                temperature=0.0,
                max_tokens=MAX_TOKENS,
                seed=None,
                timeout=timeout,
            )
        except CallFailed as failed:
            if is_fatal(failed):
                raise ProviderError(_cause(completer.model, failed, completer)) from None
            errors.append(str(failed))
            if attempt >= attempts:
                raise ProviderError(
                    f"{completer.model}: no answer to the preflight call after {attempt} attempts "
                    f"(last: {failed}); try again later, check --api-base, or skip the check "
                    "(--no-preflight)"
                ) from None
            wait = failed.retry_after if failed.retry_after is not None else 0.5 * 2 ** (attempt - 1)
            await asyncio.sleep(min(MAX_WAIT, max(0.0, wait)))
            continue
        return PreflightResult(
            model=completer.model,
            status="ok",
            attempts=attempt,
            latency_ms=round(done.latency_ms, 3),
            cost=done.cost,
            cost_reported=done.cost is not None,
            response_model=done.response_model,
            errors=errors,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def skipped(model: str, why: str) -> PreflightResult:
    """A preflight that made no call, and why."""
    return PreflightResult(model=model, status="skipped", skipped_because=why)


async def apreflight_run(
    completer: Completer,
    new_calls: int,
    *,
    enabled: bool = True,
    limits: Limits | None = None,
) -> PreflightResult:
    """The preflight of a run that will make ``new_calls`` provider calls (from
    :mod:`judgecal.plan`): skipped when turned off, when no call is needed, or when a cap allows
    none; otherwise :func:`apreflight` with the run's per-call timeout. Then, when the run needs
    a call, a ``limits.max_cost`` that cannot be enforced is refused
    (:func:`judgecal.budget.require_known_price`) — so count ``new_calls`` whenever the preflight
    is on *or* a cost cap is set."""
    from judgecal.budget import require_known_price  # noqa: PLC0415

    if not enabled:
        result = skipped(completer.model, "turned off")
    elif new_calls == 0:
        result = skipped(completer.model, "every unit would come from the cache: no call is needed")
    elif limits is not None and (limits.max_calls == 0 or limits.max_cost == 0):
        result = skipped(completer.model, "a cap of zero allows no call")
    else:
        result = await apreflight(completer, timeout=limits.timeout if limits is not None else 60.0)
    if new_calls:
        require_known_price(completer.model, limits.max_cost if limits is not None else None, result)
    return result


async def apreflight_grade(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    completer: Completer,
    *,
    store: Store,
    split: Literal["dev", "test", "all"] = "all",
    limits: Limits | None = None,
    enabled: bool = True,
) -> PreflightResult:
    """The preflight of one grading run (``judgecal grade``, each judge of ``judgecal compare``):
    counts the units the store cannot answer (no call: the calls
    :func:`judgecal.plan.plan_grade` counts, without pricing them) and makes the check only when
    there is one. Call it inside the ``open_completer`` block, before :func:`judgecal.judge.agrade`."""
    from judgecal.units import build_units  # noqa: PLC0415

    needed = 0
    if enabled or (limits is not None and limits.max_cost is not None):
        units = build_units(rubric, gold.select(split), judge)
        hits = store.cached_calls(u.cache_key for u in units)
        needed = sum(u.cache_key not in hits for u in units)
    return await apreflight_run(completer, needed, enabled=enabled, limits=limits)
