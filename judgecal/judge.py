"""Grading: a judge (model + rubric + sampling settings) over items, with concurrency, retries,
caps, a record of every call and a cache.

A unit of work is one (item, presentation order, sample). Its cache key is
``sha256([model, settings_hash, prompt_hash, sample_index])``: a unit whose key already has an
``ok`` or ``invalid`` call in the store is answered from there, so an identical re-run makes no
provider call and an interrupted run resumes where it stopped. Calls that failed (``error``) are
not reused: the next run tries them again.

How a failed call ends (its kind: :data:`judgecal.llm.ErrorKind`):

- **fatal** (credentials missing or refused, unknown model): the run stops at once — calls in
  flight finish, nothing new starts, the remaining units are ``skipped`` — and is stored as
  ``failed`` with the cause; :func:`agrade` then raises :class:`ProviderError`.
- **final** (any other 4xx but 408/409/429): that call is not retried; its unit is an ``error``.
  When the first :data:`REFUSED_STOP` calls of a run that end are all final refusals and none
  answered, the provider refuses every request as sent: the run stops as fatal.
- **retryable** (429, 408, 409, 5xx, timeouts, dropped connections): retried up to
  ``Limits.max_retries`` times with full-jitter exponential backoff, or after the provider's
  ``Retry-After`` when it sends one, up to ``Limits.retry_after_max`` seconds. A provider that
  asks for a longer wait is not waited for: the unit is an ``error`` saying so and the run stops
  (``stopped``); the same command later resumes it.

``Limits.deadline`` bounds the whole run, waits included: when it passes, calls in flight are
abandoned and every unit without an answer is ``skipped`` (the run is ``stopped``, "deadline
reached"). A run in which no unit got an answer is never ``completed``: it is stored as
``failed`` with the last error.

Every error text, raw answer and reasoning is stored redacted of keys (:mod:`judgecal.redact`).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from judgecal import __version__
from judgecal._model import Strict, sha256_json
from judgecal.errors import ProviderError
from judgecal.gold import GoldItem, GoldSet
from judgecal.llm import CallFailed, Completer, open_completer
from judgecal.prompt import prompt_hash, render_messages
from judgecal.redact import redact
from judgecal.rubric import Rubric
from judgecal.store import Store
from judgecal.store.tables import RunRow
from judgecal.verdict import Verdict, answer_schema, parse_answer

__all__ = ["ItemVerdict", "JudgeConfig", "Limits", "RunResult", "Sampling", "agrade", "grade"]

Order = Literal["", "ab", "ba"]
REFUSED_STOP = 5
"""Final refusals (4xx) with no answer before them after which a run stops as failed."""


class Sampling(Strict):
    """Sampling settings sent with every call."""

    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature."""
    max_tokens: int = Field(default=512, ge=1, le=100_000)
    """Cap on the answer's length."""
    seed: int | None = None
    """Base seed; sample ``i`` of an item is sent ``seed + i`` (or ``i`` when samples > 1)."""


class JudgeConfig(Strict):
    """A judge: a model string, sampling settings, samples per item and how to aggregate them."""

    model: str = Field(min_length=1)
    """A litellm model string (``openai/gpt-4o-mini``, ``ollama/llama3.1``) or ``sim/<preset>``."""
    sampling: Sampling = Field(default_factory=Sampling)
    """Sampling settings."""
    samples: int = Field(default=1, ge=1, le=100)
    """Samples per item (and per presentation order)."""
    aggregation: Literal["majority", "median", "mean"] = "majority"
    """How an item's samples become one verdict (see :func:`aggregate`)."""
    orders: Literal["ab", "both"] = "ab"
    """Pairwise rubrics: judge as given (``ab``) or in both presentation orders (``both``)."""
    structured: Literal["auto", "json_schema", "none"] = "auto"
    """Whether to send the verdict JSON schema as ``response_format``."""
    api_key_env: str | None = None
    """The *name* of the environment variable holding the provider's API key (never the key);
    None: litellm's own variable for the provider (``OPENAI_API_KEY``, ...). Not part of the
    cache key nor of the judge's identity: the same model with another key is the same judge."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        from judgecal.settings import check_env_name  # noqa: PLC0415

        return check_env_name(value)

    def settings(self) -> dict[str, Any]:
        """What, besides the prompt, changes the answer: the settings part of the cache key."""
        return {"sampling": self.sampling.model_dump(), "structured": self.structured}

    @property
    def settings_hash(self) -> str:
        return sha256_json(self.settings())

    def api_key(self) -> str | None:
        """The key in :attr:`api_key_env` (None when it names no variable); a
        :class:`~judgecal.errors.ConfigError` when the variable is unset or empty."""
        if self.api_key_env is None:
            return None
        from judgecal.settings import api_key_from_env  # noqa: PLC0415

        return api_key_from_env(self.api_key_env, source="the judge's api_key_env")


class Limits(Strict):
    """How hard to push the provider, and when to stop."""

    concurrency: int = Field(default=8, ge=1, le=1024)
    """Calls in flight at once."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds before one call is abandoned (and retried)."""
    max_retries: int = Field(default=6, ge=0, le=50)
    """Retries of one call after a 429, 5xx, timeout or dropped connection."""
    backoff_base: float = Field(default=0.5, ge=0)
    """First backoff in seconds; doubles each retry, with full jitter."""
    backoff_max: float = Field(default=30.0, ge=0)
    """Longest backoff in seconds when the provider sends no Retry-After."""
    retry_after_max: float = Field(default=60.0, ge=0)
    """Longest Retry-After honoured, in seconds. A provider asking for a longer wait is not
    waited for: the call fails with the wait it asked for and the run stops (``stopped``)."""
    max_calls: int | None = Field(default=None, ge=0)
    """Stop making provider requests (attempts, retries included) after this many."""
    max_cost: float | None = Field(default=None, ge=0)
    """Stop making provider requests once this much USD has been spent in the run."""
    deadline: float | None = Field(default=None, gt=0)
    """Seconds the whole run may take, waits included (None: no limit). When it passes, calls in
    flight are abandoned and the units without an answer are ``skipped`` (the run is
    ``stopped``, "deadline reached")."""
    deadline_at: float | None = Field(default=None, gt=0)
    """The same as a moment (seconds since the epoch, :func:`time.time`); the earlier of the two
    applies. A command of several runs (validate, compare, probe) sets it once, so every stage
    shares one deadline."""

    def ends_at(self, started: float) -> float | None:
        """When a run started at ``started`` (:func:`time.time`) must end, or None."""
        ends = [
            t for t in (self.deadline_at, None if self.deadline is None else started + self.deadline) if t
        ]
        return min(ends) if ends else None


class ItemVerdict(BaseModel):
    """An item's verdict after aggregating its samples and presentation orders."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    """The item's id."""
    status: Literal["ok", "invalid", "error", "skipped"]
    """``ok`` when at least one unit gave a verdict; else the worst outcome of its units."""
    label: str | int | None = None
    """The aggregated verdict."""
    passed: bool | None = None
    """Whether the verdict counts as a pass (binary and ordinal rubrics)."""
    score_mean: float | None = None
    """Ordinal: the mean of the sampled scores."""
    votes: dict[str, int] = Field(default_factory=dict)
    """How many units gave each label."""
    n_units: int = 0
    """Units (orders x samples) of the item."""
    consistent: bool | None = None
    """Whether every valid unit gave the same label (None when fewer than two)."""
    human: str | int | None = None
    """The human majority label, when the item has labels."""


class RunResult(BaseModel):
    """What a grading run did."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    """The run's id in the store."""
    status: Literal["completed", "stopped", "interrupted", "failed"]
    """``stopped``: a cap on calls or cost ended it early."""
    model: str
    """The judge's model string."""
    rubric: str
    """The rubric's name."""
    n_items: int
    """Items graded."""
    n_units: int
    """Units of work (items x orders x samples)."""
    n_ok: int
    """Units with a verdict."""
    n_invalid: int
    """Units whose answer was unusable (kept, never scored)."""
    n_error: int
    """Units with no answer after every retry."""
    n_skipped: int
    """Units not attempted because a cap was reached."""
    n_cached: int
    """Units answered from the cache (no provider call)."""
    n_calls: int
    """Provider requests made, retries included."""
    cost: float | None
    """USD spent on new calls (None when a model's price is unknown)."""
    latency_ms: dict[str, float | None]
    """p50/p95/p99 of new calls' latency."""
    wall_s: float
    """Wall time of the run."""
    verdicts: list[Verdict] = Field(repr=False)
    """Every unit's verdict."""
    items: list[ItemVerdict] = Field(repr=False)
    """Every item's aggregated verdict."""

    @property
    def agreement(self) -> tuple[int, int]:
        """(items whose verdict equals the human majority, items with both) — a raw figure;
        ``judgecal calibrate`` gives the chance-corrected ones with intervals."""
        pairs = [iv for iv in self.items if iv.status == "ok" and iv.human is not None]
        return sum(iv.label == iv.human for iv in pairs), len(pairs)


@dataclass(slots=True)
class _Unit:
    item: GoldItem
    order: Order
    sample_index: int
    messages: list[dict[str, str]]
    prompt_hash: str
    cache_key: str
    verdict: Verdict | None = None


@dataclass
class _RunState:
    calls: int = 0
    cost: float = 0.0
    cost_known: bool = True
    stop_reason: str | None = None
    fatal: CallFailed | None = None
    answered: int = 0
    refused: int = 0
    last_error: str | None = None
    ends_at: float | None = None
    done: int = 0
    pending_calls: list[dict[str, Any]] = field(default_factory=list)
    pending_items: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    last_flush: float = field(default_factory=time.monotonic)


_SWAP = {"A": "B", "B": "A", "tie": "tie"}


def _unit_inputs(item: GoldItem, order: Order) -> dict[str, str]:
    if order != "ba":
        return item.inputs
    swapped = dict(item.inputs)
    swapped["output_a"], swapped["output_b"] = item.inputs["output_b"], item.inputs["output_a"]
    return swapped


def build_units(rubric: Rubric, items: list[GoldItem], judge: JudgeConfig) -> list[_Unit]:
    """Every (item, order, sample) with its rendered prompt and cache key."""
    if rubric.scale.kind == "pairwise":
        orders: list[Order] = ["ab", "ba"] if judge.orders == "both" else ["ab"]
    else:
        orders = [""]
    settings_hash = judge.settings_hash
    units: list[_Unit] = []
    for item in items:
        for order in orders:
            messages = render_messages(rubric, _unit_inputs(item, order))
            p_hash = prompt_hash(messages)
            for i in range(judge.samples):
                key = sha256_json([judge.model, settings_hash, p_hash, i])
                units.append(_Unit(item, order, i, messages, p_hash, key))
    return units


def _seed_for(judge: JudgeConfig, sample_index: int) -> int | None:
    if judge.sampling.seed is not None:
        return judge.sampling.seed + sample_index
    return sample_index if judge.samples > 1 else None


def latency_percentiles(values: list[float], ndigits: int | None = None) -> dict[str, float | None]:
    """p50/p95/p99 of latencies (inclusive quantiles; one value is all three; none gives None),
    rounded to ``ndigits`` when given."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    if len(values) == 1:
        p50 = p95 = p99 = values[0]
    else:
        q = statistics.quantiles(values, n=100, method="inclusive")
        p50, p95, p99 = statistics.median(values), q[94], q[98]
    if ndigits is not None:
        p50, p95, p99 = round(p50, ndigits), round(p95, ndigits), round(p99, ndigits)
    return {"p50": p50, "p95": p95, "p99": p99}


def _label_out(rubric: Rubric, label: str | int | None, order: Order) -> str | int | None:
    if label is None or order != "ba":
        return label
    return _SWAP[str(label)]


def _verdict_from_call(rubric: Rubric, unit: _Unit, call: Any, cached: bool) -> Verdict:
    """A stored call (a row or its dict) -> the unit's verdict, in the item's own A/B terms."""
    get = call.get if isinstance(call, dict) else lambda k: getattr(call, k)
    label: str | int | None = get("label")
    if label is not None and rubric.scale.kind == "ordinal":
        label = int(label)
    label = _label_out(rubric, label, unit.order)
    return Verdict(
        item_id=unit.item.id,
        status=get("status") or "error",
        label=label,
        passed=rubric.scale.passed(label) if label is not None else None,
        reasoning=get("reasoning"),
        failure_modes=json.loads(get("failure_modes_json") or "[]"),
        order=unit.order or None,
        sample_index=unit.sample_index,
        raw=get("raw_response"),
        invalid_reason=get("invalid_reason"),
        error=get("error"),
        latency_ms=get("latency_ms"),
        prompt_tokens=get("prompt_tokens"),
        completion_tokens=get("completion_tokens"),
        cost=get("cost"),
        cached=cached,
        call_id=get("id"),
    )


OrderRule = Literal["conservative", "judgebench"]
"""How the two presentation orders of a pair combine (see :func:`aggregate`)."""


def aggregate(
    rubric: Rubric,
    judge: JudgeConfig,
    item: GoldItem,
    verdicts: list[Verdict],
    *,
    order_rule: OrderRule = "conservative",
) -> ItemVerdict:
    """One item's units -> one verdict.

    Samples of one presentation order:

    - ``majority``: the most frequent label. A tied vote resolves to ``fail`` (binary: the
      conservative side), the lower score (ordinal), or ``tie`` (pairwise: the samples show no
      preference).
    - ``median``: the lower median score (ordinal); ``mean``: the rounded mean score (ordinal).
      Both fall back to ``majority`` for other scales.

    Invalid and error units do not vote; an order with no valid unit takes the status of its
    units (invalid before error before skipped).

    **Both orders of a pair** (units with order ``ab`` and ``ba``; labels already in the item's
    own terms): each order's samples give that order's verdict as above, then

    - an order without a verdict makes the item ``invalid`` when one of its answers was
      unparseable (an unusable answer in either order is an invalid output), else ``error`` /
      ``skipped`` (no answer yet);
    - two equal verdicts are the item's verdict;
    - two different verdicts are an **order-inconsistent** pair — a position outcome, never an
      invalid one. ``order_rule="conservative"`` (the default; Zheng et al. 2023, NeurIPS
      Datasets and Benchmarks, "Judging LLM-as-a-Judge"): a win counts only when both orders
      agree, so the pair is ``tie``. ``order_rule="judgebench"`` (Tan et al. 2024, JudgeBench):
      a tie in one order and a win in the other is that win; opposite wins are ``tie``.

    ``tie`` is the verdict of an order-inconsistent pair even on a scale without ties: the
    judge preferred neither output. ``consistent`` is False whenever two valid units differ.
    """
    scale = rubric.scale
    human = item.majority()
    base: dict[str, Any] = {"item_id": item.id, "n_units": len(verdicts), "human": human}
    orders = {v.order for v in verdicts}
    if scale.kind == "pairwise" and {"ab", "ba"} <= orders:
        per_order = [
            aggregate(rubric, judge, item, [v for v in verdicts if v.order == o]) for o in ("ab", "ba")
        ]
        unit_votes: Counter[str] = Counter(
            str(v.label) for v in verdicts if v.status == "ok" and v.label is not None
        )
        consistent = len(unit_votes) == 1 if unit_votes.total() > 1 else None
        if any(iv.status != "ok" for iv in per_order):
            statuses = {iv.status for iv in per_order}
            status = next(s for s in ("invalid", "error", "skipped") if s in statuses)
            return ItemVerdict(status=status, votes=dict(unit_votes), consistent=consistent, **base)  # type: ignore[arg-type]
        first, second = (iv.label for iv in per_order)
        label: str | int | None
        if first == second:
            label = first
        elif order_rule == "judgebench" and "tie" in (first, second):
            label = second if first == "tie" else first
        else:
            label = "tie"
        return ItemVerdict(status="ok", label=label, votes=dict(unit_votes), consistent=consistent, **base)
    labels = [v.label for v in verdicts if v.status == "ok" and v.label is not None]
    if not labels:
        statuses = {v.status for v in verdicts}
        status = next((s for s in ("invalid", "error") if s in statuses), "skipped")
        return ItemVerdict(status=status, **base)  # type: ignore[arg-type]
    votes = Counter(labels)
    consistent = len(votes) == 1 if len(labels) > 1 else None
    score_mean = statistics.fmean(int(x) for x in labels) if scale.kind == "ordinal" else None
    if scale.kind == "ordinal" and judge.aggregation == "median":
        label = sorted(int(x) for x in labels)[(len(labels) - 1) // 2]
    elif scale.kind == "ordinal" and judge.aggregation == "mean":
        label = int(score_mean + 0.5) if score_mean is not None else None
    else:
        ranked = votes.most_common()
        top = [lab for lab, n in ranked if n == ranked[0][1]]
        if len(top) == 1:
            label = top[0]
        elif scale.kind == "binary":
            label = "fail"
        elif scale.kind == "ordinal":
            label = min(int(x) for x in top)
        else:
            label = "tie"
    return ItemVerdict(
        status="ok",
        label=label,
        passed=scale.passed(label) if label is not None else None,
        score_mean=score_mean,
        votes={str(k): n for k, n in votes.items()},
        consistent=consistent,
        **base,
    )


class _Grader:
    def __init__(
        self,
        rubric: Rubric,
        judge: JudgeConfig,
        completer: Completer,
        store: Store,
        limits: Limits,
        run_id: str,
        total: int,
        progress: Callable[[int, int], None] | None,
    ):
        self.rubric = rubric
        self.judge = judge
        self.completer = completer
        self.store = store
        self.limits = limits
        self.run_id = run_id
        self.total = total
        self.progress = progress
        self.schema = answer_schema(rubric)
        self.settings_hash = judge.settings_hash
        self.state = _RunState()
        self.rng = random.Random()

    def _flush(self, force: bool = False) -> None:
        s = self.state
        if not s.pending_items:
            return
        if force or len(s.pending_items) >= 64 or time.monotonic() - s.last_flush > 1.0:
            self.store.write_batch(s.pending_calls, s.pending_items)
            s.pending_calls.clear()
            s.pending_items.clear()
            s.last_flush = time.monotonic()

    def _tick(self) -> None:
        self.state.done += 1
        if self.progress is not None:
            self.progress(self.state.done, self.total)

    def record(self, unit: _Unit, call: dict[str, Any], status: str, cached: bool) -> None:
        if not cached:
            self.state.pending_calls.append(call)
        self.state.pending_items.append(
            {
                "run_id": self.run_id,
                "item_id": unit.item.id,
                "order": unit.order,
                "sample_index": unit.sample_index,
                "call_id": call["id"],
                "status": status,
                "cached": cached,
            }
        )
        unit.verdict = _verdict_from_call(self.rubric, unit, call, cached)
        self._tick()
        self._flush()

    def _cap_reached(self) -> str | None:
        s, lim = self.state, self.limits
        if s.stop_reason:
            return s.stop_reason
        if lim.max_calls is not None and s.calls >= lim.max_calls:
            s.stop_reason = f"call cap reached ({lim.max_calls} requests)"
        elif lim.max_cost is not None and s.cost >= lim.max_cost:
            s.stop_reason = f"cost cap reached (${s.cost:.4f} >= ${lim.max_cost})"
        elif s.ends_at is not None and time.time() >= s.ends_at:
            s.stop_reason = self.deadline_reason()
        return s.stop_reason

    def deadline_reason(self) -> str:
        given = self.limits.deadline
        return "deadline reached" + ("" if given is None else f" ({given:g} s)")

    def _skip(self, unit: _Unit, reason: str) -> None:
        self.state.pending_items.append(
            {
                "run_id": self.run_id,
                "item_id": unit.item.id,
                "order": unit.order,
                "sample_index": unit.sample_index,
                "call_id": None,
                "status": "skipped",
                "cached": False,
            }
        )
        unit.verdict = Verdict(
            item_id=unit.item.id,
            status="skipped",
            error=reason,
            order=unit.order or None,
            sample_index=unit.sample_index,
        )
        self._tick()
        self._flush()

    def _delay(self, attempt: int, failed: CallFailed) -> float | None:
        """Seconds to wait before the next attempt; None when the provider's Retry-After is past
        ``retry_after_max`` (not waited for)."""
        if failed.retry_after is not None:
            if failed.retry_after > self.limits.retry_after_max:
                return None
            return min(self.limits.retry_after_max, failed.retry_after * (1 + 0.1 * self.rng.random()))
        return self.rng.uniform(0, min(self.limits.backoff_max, self.limits.backoff_base * 2**attempt))

    def _refused(self, failed: CallFailed) -> None:
        """A final refusal (4xx); :data:`REFUSED_STOP` of them before any answer stop the run."""
        s = self.state
        s.refused += 1
        if s.answered == 0 and s.refused >= REFUSED_STOP and s.fatal is None:
            s.fatal = failed
            s.stop_reason = (
                f"the provider refused the first {s.refused} calls and answered none (last: {failed})"
            )

    async def run_unit(self, unit: _Unit, sem: asyncio.Semaphore) -> None:
        async with sem:
            errors: list[str] = []
            attempt = 0
            while True:
                reason = self._cap_reached()
                if reason:
                    if errors:
                        break  # record the failure we have
                    self._skip(unit, reason)
                    return
                self.state.calls += 1
                try:
                    completion = await self.completer.complete(
                        unit.messages,
                        schema=self.schema,
                        temperature=self.judge.sampling.temperature,
                        max_tokens=self.judge.sampling.max_tokens,
                        seed=_seed_for(self.judge, unit.sample_index),
                        timeout=self.limits.timeout,
                    )
                except CallFailed as failed:
                    errors.append(str(failed))
                    self.state.last_error = str(failed)
                    if failed.fatal:
                        if self.state.fatal is None:
                            self.state.fatal = failed
                            self.state.stop_reason = f"provider refused: {failed}"
                        break
                    if not failed.retryable:
                        self._refused(failed)
                        break
                    if attempt >= self.limits.max_retries:
                        break
                    delay = self._delay(attempt, failed)
                    if delay is None:
                        wait = (
                            f"the provider asked to wait {failed.retry_after:g} s (Retry-After), more than "
                            f"retry_after_max {self.limits.retry_after_max:g} s"
                        )
                        errors[-1] = f"{errors[-1]} ({wait}: not retried)"
                        self.state.stop_reason = self.state.stop_reason or (
                            f"{wait}; run the same command later to resume"
                        )
                        break
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
                self.state.answered += 1
                self._record_answer(unit, completion, attempt + 1, errors)
                return
            self.record(
                unit,
                self._call_dict(unit, status="error", attempts=attempt + 1, errors=errors),
                "error",
                False,
            )

    def _call_dict(
        self, unit: _Unit, *, status: str, attempts: int, errors: list[str], **values: Any
    ) -> dict[str, Any]:
        call = {
            "id": uuid.uuid4().hex,
            "run_id": self.run_id,
            "cache_key": unit.cache_key,
            "item_id": unit.item.id,
            "item_hash": unit.item.item_hash,
            "order": unit.order or None,
            "sample_index": unit.sample_index,
            "model": self.judge.model,
            "response_model": None,
            "settings_hash": self.settings_hash,
            "rubric_hash": self.rubric.rubric_hash,
            "template_hash": self.rubric.template_hash,
            "prompt_hash": unit.prompt_hash,
            "prompt_json": json.dumps(unit.messages, ensure_ascii=False),  # ours: no provider text
            "status": status,
            "label": None,
            "passed": None,
            "reasoning": None,
            "failure_modes_json": "[]",
            "invalid_reason": None,
            "parse_note": None,
            "raw_response": None,
            "finish_reason": None,
            "error": redact(errors[-1]) if status == "error" and errors else None,
            "attempts": attempts,
            "attempt_errors_json": json.dumps([redact(e) for e in errors]),
            "latency_ms": None,
            "prompt_tokens": None,
            "completion_tokens": None,
            "cost": None,
        }
        call.update(values)
        return call

    def _record_answer(self, unit: _Unit, completion: Any, attempts: int, errors: list[str]) -> None:
        s = self.state
        parsed = parse_answer(self.rubric, completion.text, finish_reason=completion.finish_reason)
        if completion.cost is None:
            s.cost_known = False
        else:
            s.cost += completion.cost
        s.latencies.append(completion.latency_ms)
        label = parsed.label
        call = self._call_dict(
            unit,
            status=parsed.status,
            attempts=attempts,
            errors=errors,
            response_model=completion.response_model,
            label=None if label is None else str(label),
            passed=self.rubric.scale.passed(label) if label is not None else None,
            reasoning=redact(parsed.reasoning),
            failure_modes_json=json.dumps(parsed.failure_modes),
            invalid_reason=parsed.invalid_reason,
            parse_note=redact(parsed.note),
            raw_response=redact(completion.text),
            finish_reason=completion.finish_reason,
            latency_ms=round(completion.latency_ms, 3),
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost=completion.cost,
        )
        self.record(unit, call, parsed.status, False)


def new_run_row(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    split: Literal["dev", "test", "all"],
    n_units: int,
    kind: str = "grade",
) -> RunRow:
    """The stored record of a grading run about to start (status ``running``)."""
    return RunRow(
        id=uuid.uuid4().hex,
        kind=kind,
        rubric_name=rubric.name,
        rubric_version=rubric.version,
        rubric_hash=rubric.rubric_hash,
        template_hash=rubric.template_hash,
        gold_name=gold.name,
        gold_path=gold.path,
        gold_hash=gold.file_hash,
        split=split,
        split_hash=gold.split_hash,
        model=judge.model,
        settings_json=json.dumps(judge.model_dump(mode="json")),
        settings_hash=judge.settings_hash,
        samples=judge.samples,
        aggregation=judge.aggregation,
        orders=judge.orders,
        n_items=len(gold.select(split)),
        n_units=n_units,
        judgecal_version=__version__,
    )


async def agrade(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    completer: Completer,
    *,
    store: Store,
    split: Literal["dev", "test", "all"] = "all",
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    kind: str = "grade",
) -> RunResult:
    """Grade the items of ``gold`` (one split of it) with ``judge`` through ``completer``.

    ``kind`` labels the stored run (``grade``, or ``probe`` for a bias probe's derived items).

    Every unit ends as a verdict (``ok``/``invalid``) or a recorded failure (``error``), or as
    ``skipped`` when a cap or the deadline stops the run. Raises :class:`ProviderError` when the
    provider refuses the model or the credentials, or every request as sent (after recording what
    was done: the run is stored as ``failed`` with the cause). How each failure is handled: the
    module docstring.
    """
    limits = limits or Limits()
    items = gold.select(split)
    started = time.perf_counter()
    ends_at = limits.ends_at(time.time())
    units = build_units(rubric, items, judge)
    run = new_run_row(rubric, gold, judge, split, len(units), kind)
    store.create_run(run)
    grader = _Grader(rubric, judge, completer, store, limits, run.id, len(units), progress)
    grader.state.ends_at = ends_at
    cached = store.cached_calls(u.cache_key for u in units)
    todo: list[_Unit] = []
    for unit in units:
        hit = cached.get(unit.cache_key)
        if hit is None:
            todo.append(unit)
        else:
            grader.record(unit, hit.model_dump(), hit.status, True)
    status: Literal["completed", "stopped", "interrupted", "failed"] = "completed"
    sem = asyncio.Semaphore(limits.concurrency)
    tasks = [asyncio.ensure_future(grader.run_unit(u, sem)) for u in todo]
    try:
        if tasks and ends_at is None:
            await asyncio.gather(*tasks)
        elif tasks and ends_at is not None:
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, ends_at - time.time()))
            if pending:
                grader.state.stop_reason = grader.state.stop_reason or grader.deadline_reason()
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            for t in done:
                t.result()  # a bug in a unit is raised, as gather would
            for u in todo:
                if u.verdict is None:  # abandoned in flight, or never started
                    grader._skip(u, grader.state.stop_reason or grader.deadline_reason())
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        for t in tasks:
            t.cancel()
        raise
    finally:
        grader._flush(force=True)
        s = grader.state
        verdicts = [u.verdict for u in units if u.verdict is not None]
        counts = Counter(v.status for v in verdicts)
        n_skipped = counts["skipped"]
        error = s.stop_reason
        if status != "interrupted":
            if s.fatal:
                status = "failed"
            elif counts["error"] and not counts["ok"] + counts["invalid"]:
                status = "failed"
                error = f"no unit got an answer; {s.stop_reason or f'last error: {s.last_error}'}"
            else:
                status = "stopped" if s.stop_reason else "completed"
        store.finish_run(
            run.id,
            status,
            n_ok=counts["ok"],
            n_invalid=counts["invalid"],
            n_error=counts["error"],
            n_skipped=n_skipped,
            n_cached=sum(v.cached for v in verdicts),
            n_calls=s.calls,
            cost=round(s.cost, 8) if s.cost_known else None,
            error=redact(error),
        )
    if s.fatal is not None:
        raise ProviderError(_fatal_message(judge.model, s, completer, run.id))
    item_verdicts = aggregate_items(rubric, judge, items, verdicts)
    return RunResult(
        run_id=run.id,
        status=status,
        model=judge.model,
        rubric=rubric.name,
        n_items=len(items),
        n_units=len(units),
        n_ok=counts["ok"],
        n_invalid=counts["invalid"],
        n_error=counts["error"],
        n_skipped=n_skipped,
        n_cached=sum(v.cached for v in verdicts),
        n_calls=s.calls,
        cost=round(s.cost, 8) if s.cost_known else None,
        latency_ms=latency_percentiles(s.latencies),
        wall_s=round(time.perf_counter() - started, 3),
        verdicts=verdicts,
        items=item_verdicts,
    )


def _fatal_message(model: str, state: _RunState, completer: Completer, run_id: str) -> str:
    """What a run stopped by a fatal failure says: the cause, what to check, the stored run."""
    from judgecal.llm import what_to_check  # noqa: PLC0415

    failed = state.fatal
    assert failed is not None
    cause = state.stop_reason or str(failed)
    check = what_to_check(model, failed, completer)
    return f"{model}: {cause} — {check} (run {run_id[:12]} recorded as failed)"


def verdicts_from_rows(
    rubric: Rubric, judge: JudgeConfig, items: list[GoldItem], rows: list[tuple[Any, Any]]
) -> tuple[list[Verdict], list[ItemVerdict]]:
    """A stored run's (run item, call) rows -> unit verdicts and aggregated item verdicts."""
    by_id = {item.id: item for item in items}
    verdicts: list[Verdict] = []
    for ri, call in rows:
        item = by_id.get(ri.item_id)
        if item is None:
            continue
        unit = _Unit(item, ri.order, ri.sample_index, [], "", "")
        if call is None:
            verdicts.append(
                Verdict(
                    item_id=item.id, status="skipped", order=ri.order or None, sample_index=ri.sample_index
                )
            )
        else:
            verdicts.append(_verdict_from_call(rubric, unit, call, ri.cached))
    return verdicts, aggregate_items(rubric, judge, items, verdicts)


def aggregate_items(
    rubric: Rubric, judge: JudgeConfig, items: list[GoldItem], verdicts: list[Verdict]
) -> list[ItemVerdict]:
    """Every item's units -> its :func:`aggregate`d verdict, in item order."""
    grouped: dict[str, list[Verdict]] = {}
    for v in verdicts:
        grouped.setdefault(v.item_id, []).append(v)
    return [aggregate(rubric, judge, item, grouped.get(item.id, [])) for item in items]


def sim_items_from_gold(rubric: Rubric, items: list[GoldItem]) -> list[Any]:
    """Tell the simulated judge the hidden truth (the human majority) of the items."""
    from judgecal.simulate import SimItem  # noqa: PLC0415

    out = []
    for item in items:
        truth = item.majority()
        if truth is None:
            continue
        md = item.metadata
        out.append(
            SimItem(
                id=item.id,
                output=item.inputs.get("output"),
                output_a=item.inputs.get("output_a"),
                output_b=item.inputs.get("output_b"),
                truth=truth,  # type: ignore[arg-type]  # SimItem validates it
                family=md.get("generator_family"),
                family_a=md.get("generator_family_a"),
                family_b=md.get("generator_family_b"),
            )
        )
    return out


def grade(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    *,
    store: Store | None = None,
    split: Literal["dev", "test", "all"] = "all",
    limits: Limits | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    preflight: bool = True,
) -> RunResult:
    """Synchronous :func:`agrade` that also resolves the model string (``sim/...`` included).
    ``api_key``: the provider's key; when None, the one in ``judge.api_key_env`` (if set).

    ``preflight``: before the first call, check with one tiny call that the judge answers
    (:mod:`judgecal.preflight`; skipped when every unit would come from the cache); a fatal
    failure raises :class:`ProviderError` with nothing stored. A ``max_cost`` cap whose price
    cannot be known is refused before any call (:func:`judgecal.budget.require_known_price`)."""
    from judgecal.preflight import apreflight_grade  # noqa: PLC0415

    if api_key is None:
        api_key = judge.api_key()
    store = store or Store()
    sim_items = sim_items_from_gold(rubric, gold.items) if judge.model.startswith("sim/") else None
    with open_completer(judge.model, api_base=api_base, api_key=api_key, sim_items=sim_items) as opened:

        async def checked() -> RunResult:
            try:
                await apreflight_grade(
                    rubric,
                    gold,
                    judge,
                    opened.completer,
                    store=store,
                    split=split,
                    limits=limits,
                    enabled=preflight,
                )
            except ProviderError as exc:
                # the run that could not start is recorded, failed with its cause (runs list/show)
                row = new_run_row(
                    rubric, gold, judge, split, len(build_units(rubric, gold.select(split), judge))
                )
                store.create_run(row)
                store.finish_run(row.id, "failed", n_skipped=row.n_units, error=redact(f"preflight: {exc}"))
                raise ProviderError(f"{exc} (run {row.id[:12]} recorded as failed)") from None
            return await agrade(
                rubric,
                gold,
                judge,
                opened.completer,
                store=store,
                split=split,
                limits=limits,
                progress=progress,
            )

        return asyncio.run(checked())
