"""Grading: a judge (model + rubric + sampling settings) over items, with concurrency, retries,
caps, a record of every call and a cache.

A unit of work is one (item, presentation order, sample) (:mod:`judgecal.units`). Its cache key
is ``sha256([model, settings_hash, prompt_hash, sample_index])``: a unit whose key already has an
``ok`` call, or an ``invalid`` one from the model's own text, is answered from the store, so an
identical re-run makes no provider call and an interrupted run resumes where it stopped. Calls
that failed (``error``) and transient answers (``empty``, ``truncated``) are not reused: the next
run tries them again. Units are claimed before they are called and every answer is committed as
it arrives (:mod:`judgecal.execute`): a killed run loses only its calls in flight, and two runs
on the same items make each call once.

How a failed call ends (its kind: :data:`judgecal.llm.ErrorKind`):

- **fatal** (credentials missing or refused, unknown model): the run stops at once — calls in
  flight finish, nothing new starts, the remaining units are ``skipped`` — and is stored as
  ``failed`` with the cause; :func:`agrade` then raises :class:`ProviderError`.
- **final** (any other 4xx but 408/409/429): that call is not retried; its unit is an ``error``.
  When the first :data:`REFUSED_STOP` calls of a run that end are all final refusals and none
  answered, the provider refuses every request as sent: the run stops as fatal.
- **transient answers** (empty content; an answer cut at the token limit, ``finish_reason``
  ``length``): retried like a retryable failure; after the last retry stored as ``invalid``
  (``empty`` / ``truncated``), never reused from the cache.
- **retryable** (429, 408, 409, 5xx, timeouts, dropped connections, a 200 whose body is not a
  chat completion): retried up to
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
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from judgecal import __version__, _aio
from judgecal.errors import ProviderError, StoreError
from judgecal.execute import REFUSED_STOP, Executor, Outcome, Shard, StoreFailed, current_executor, execute
from judgecal.gold import GoldItem, GoldSet
from judgecal.judge_types import ItemVerdict, JudgeConfig, Limits, RunResult, Sampling
from judgecal.llm import CallFailed, Completer, open_completer
from judgecal.redact import redact
from judgecal.rubric import Rubric
from judgecal.store import Store
from judgecal.store.tables import RunRow
from judgecal.units import Order, Unit, build_units, verdict_from_call
from judgecal.verdict import Verdict

__all__ = [
    "REFUSED_STOP",
    "ItemVerdict",
    "JudgeConfig",
    "Limits",
    "Order",
    "RunResult",
    "Sampling",
    "StoreFailed",
    "agrade",
    "build_units",
    "grade",
]


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
    executor: Executor | None = None,
) -> RunResult:
    """Grade the items of ``gold`` (one split of it) with ``judge`` through ``completer``.

    ``kind`` labels the stored run (``grade``, or ``probe`` for a bias probe's derived items).
    ``executor``: where the units are done — in this process (None, the default), or spread
    over a Ray cluster (:class:`judgecal.ray_executor.RayExecutor`); the result is the same.

    Every unit ends as a verdict (``ok``/``invalid``) or a recorded failure (``error``), or as
    ``skipped`` when a cap or the deadline stops the run. Each is committed to the store as it
    arrives (:mod:`judgecal.execute`). Raises :class:`ProviderError` when the provider refuses the
    model or the credentials, or every request as sent (after recording what was done: the run is
    stored as ``failed`` with the cause), and :class:`~judgecal.execute.StoreFailed` when the store
    stops taking writes. How each failure is handled: the module docstring.
    """
    limits = limits or Limits()
    items = gold.select(split)
    started = time.perf_counter()
    units = build_units(rubric, items, judge)
    run = new_run_row(rubric, gold, judge, split, len(units), kind)
    store.create_run(run)
    shard = Shard(rubric, judge, limits, run.id, units, ends_at=limits.ends_at(time.time()))
    status: Literal["completed", "stopped", "interrupted", "failed"] = "completed"
    out = Outcome()
    executor = executor or current_executor()
    try:
        if executor is None:
            done = 0

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(done, len(units))

            out = await execute(shard, completer, store, tick)
        else:
            out = await executor.run(shard, completer, store, progress)
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        _finish(
            store,
            run.id,
            status,
            units,
            out,
            error="interrupted (Ctrl-C or SIGTERM); run the same command to resume",
        )
        raise
    verdicts = [u.verdict for u in units if u.verdict is not None]
    if executor is not None:  # the workers' verdicts, in the order of the units
        for unit in units:
            unit.verdict = out.verdicts.get(unit.key)
        verdicts = [u.verdict for u in units if u.verdict is not None]
    counts = Counter(v.status for v in verdicts)
    error = out.stop_reason
    try:
        store.check_file()  # deleted after the last answer: nothing of the run can be read back
    except StoreError as exc:
        out.store_error = out.store_error or str(exc)
    if out.store_error is not None:
        raise StoreFailed(_store_failure(store, run.id, out, units, counts))
    if out.fatal:
        status = "failed"
    elif counts["error"] and not counts["ok"] + counts["invalid"]:
        status = "failed"
        error = f"no unit got an answer; {out.stop_reason or f'last error: {out.last_error}'}"
    else:
        status = "stopped" if out.stop_reason else "completed"
    _finish(store, run.id, status, units, out, error=error)
    failed = out.failed()
    if failed is not None:
        raise ProviderError(_fatal_message(judge.model, out, failed, completer, run.id))
    item_verdicts = aggregate_items(rubric, judge, items, verdicts)
    return RunResult(
        run_id=run.id,
        status=status,
        model=judge.model,
        rubric=rubric.name,
        n_items=len(items),
        n_units=len(units),
        **_counts(verdicts, out),
        latency_ms=latency_percentiles(out.latencies),
        wall_s=round(time.perf_counter() - started, 3),
        verdicts=verdicts,
        items=item_verdicts,
    )


def _finish(
    store: Store, run_id: str, status: str, units: list[Unit], out: Outcome, *, error: str | None
) -> None:
    """Store how the run ended, its counts taken from its units' stored outcomes."""
    verdicts = [u.verdict for u in units if u.verdict is not None] or list(out.verdicts.values())
    store.finish_run(run_id, status, **_counts(verdicts, out), error=redact(error))


def _counts(verdicts: list[Verdict], out: Outcome) -> dict[str, Any]:
    """A run's counts, as the run row and :class:`RunResult` both hold them."""
    counts = Counter(v.status for v in verdicts)
    return {
        "n_ok": counts["ok"],
        "n_invalid": counts["invalid"],
        "n_error": counts["error"],
        "n_skipped": counts["skipped"],
        "n_cached": sum(v.cached for v in verdicts),
        "n_calls": out.calls,
        "cost": round(out.cost, 8) if out.cost_known else None,
    }


def _store_failure(store: Store, run_id: str, out: Outcome, units: list[Unit], counts: Counter[Any]) -> str:
    """What a run whose store failed says: the cause, what was saved and what was not."""
    cause = out.store_error or "the store failed"
    vanished = "was deleted" in cause or "was replaced" in cause
    unattempted = len(units) - sum(counts.values())
    if vanished:
        saved = (
            f"the {out.saved} answers of this run written to it are gone with it, and"
            f" {out.unsaved} more received answers were not saved"
        )
    else:
        saved = (
            f"saved: {out.saved} answers of this run (with {counts['error']} failed and"
            f" {counts['skipped']} skipped units); not saved: {out.unsaved} answers received after the"
            " failure (paid for: running the same command again buys them again)"
        )
    try:
        store.check_file()
        _finish(store, run_id, "failed", units, out, error=f"the store failed: {cause}")
        marked = f"run {run_id[:12]} is marked failed"
    except StoreError:
        marked = (
            f"run {run_id[:12]} could not be marked finished"
            " (it shows as interrupted once its heartbeat stops)"
        )
    return f"{cause}; {saved}; {unattempted} units were not attempted; {marked}"


def _fatal_message(model: str, out: Outcome, failed: CallFailed, completer: Completer, run_id: str) -> str:
    """What a run stopped by a fatal failure says: the cause, what to check, the stored run."""
    from judgecal.llm import what_to_check  # noqa: PLC0415

    cause = out.stop_reason or str(failed)
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
        unit = Unit(item, ri.order, ri.sample_index, [], "", "")
        if call is None:
            verdicts.append(
                Verdict(
                    item_id=item.id, status="skipped", order=ri.order or None, sample_index=ri.sample_index
                )
            )
        else:
            verdicts.append(verdict_from_call(rubric, unit, call, ri.cached))
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

        return _aio.run(checked())
