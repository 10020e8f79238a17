"""Doing the units of a run: claim each in the store, call the provider, store the answer at once.

This is the one code path every executor runs — one asyncio loop in this process
(:func:`execute`), or one such loop in each Ray worker (:mod:`judgecal.ray_executor`):

1. **Claim before calling.** Units are claimed in the store in small batches, just ahead of the
   calls (:meth:`judgecal.store.Store.claim`). A unit with a reusable stored answer is taken from
   there (``cached``); a unit another worker holds is waited for and then reused; only a unit
   this worker holds is sent to the provider. Two processes on the same items make each call once.
2. **A received answer is durable before anything else happens to it.** Every answer (and every
   failed or skipped unit) goes to one writer thread that commits whatever has arrived in one
   transaction — the answer, the run's record of it, and the release of its claim — and the unit
   counts as done only once that commit returned. A ``kill -9`` loses only calls still in flight.
   The writer also renews this worker's claims and the run's heartbeat every
   :data:`~judgecal.store.work.HEARTBEAT_S` seconds.
3. **A store that fails stops the run.** When a commit fails (disk or database full, database
   gone) or the SQLite file was deleted or replaced, nothing new is sent; :class:`StoreFailed`
   says what was and was not saved.

How each failed call is retried or not: :mod:`judgecal.judge`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from judgecal.errors import StoreError
from judgecal.llm import CallFailed, Completer
from judgecal.progress import current_meter
from judgecal.redact import redact
from judgecal.rubric import Rubric
from judgecal.store import Store
from judgecal.store.work import HEARTBEAT_S, owner_id
from judgecal.units import Unit, seed_for, verdict_from_call
from judgecal.verdict import TRANSIENT_REASONS, Verdict, answer_schema, parse_answer

if TYPE_CHECKING:
    from judgecal.judge_types import JudgeConfig, Limits

__all__ = [
    "Executor",
    "Outcome",
    "Shard",
    "StoreFailed",
    "Writer",
    "current_executor",
    "execute",
    "use_executor",
]

REFUSED_STOP = 5
"""Final refusals (4xx) with no answer before them after which a run stops as failed."""
DRAIN_S = 10.0
"""Seconds an interrupted run waits for its calls in flight to answer (and be stored)."""
CLAIM_BATCH = 32
"""Units claimed at once (at least; ``2 x concurrency`` when that is more)."""


class StoreFailed(StoreError):
    """The store stopped taking writes during a run; the message says what was saved."""


@dataclass
class Shard:
    """What one worker needs to do its part of a run. Plain data (it travels to Ray workers)."""

    rubric: Rubric
    judge: JudgeConfig
    limits: Limits
    run_id: str
    units: list[Unit]
    ends_at: float | None = None
    owner: str = ""
    """The claim owner (``host:pid:run[:shard]``); set by the worker that runs the shard."""
    heartbeat_run: bool = True
    """Whether this worker renews the run's own heartbeat (the local executor does; Ray workers
    leave it to the driver)."""


@dataclass
class Outcome:
    """What a worker did. Plain data (it travels back from Ray workers)."""

    calls: int = 0
    cost: float = 0.0
    cost_known: bool = True
    stop_reason: str | None = None
    fatal: tuple[str, str, int | None] | None = None
    """(kind, message, status) of the fatal failure that stopped the run."""
    answered: int = 0
    refused: int = 0
    last_error: str | None = None
    latencies: list[float] = field(default_factory=list)
    saved: int = 0
    """Provider answers of this worker committed to the store."""
    unsaved: int = 0
    """Provider answers received that could not be committed (the store failed)."""
    store_error: str | None = None
    verdicts: dict[tuple[str, str, int], Verdict] = field(default_factory=dict)

    def failed(self) -> CallFailed | None:
        """The fatal failure as the :class:`CallFailed` it was."""
        if self.fatal is None:
            return None
        kind, message, status = self.fatal
        exc = CallFailed.__new__(CallFailed)
        Exception.__init__(exc, message)
        exc.kind, exc.status, exc.retry_after = kind, status, None  # type: ignore[assignment]
        return exc


class Executor(Protocol):
    """Where a run's units are done: :func:`execute` in this process, or spread over workers
    (:class:`judgecal.ray_executor.RayExecutor`). ``progress(done, total)`` as units are stored."""

    async def run(
        self,
        shard: Shard,
        completer: Completer,
        store: Store,
        progress: Callable[[int, int], None] | None,
    ) -> Outcome: ...


_EXECUTOR: contextvars.ContextVar[Executor | None] = contextvars.ContextVar("judgecal_executor", default=None)


def current_executor() -> Executor | None:
    """The executor set by :func:`use_executor` (None: in this process)."""
    return _EXECUTOR.get()


@contextlib.contextmanager
def use_executor(executor: Executor | None) -> Iterator[None]:
    """Run every grading run started inside (a validation's grading and probes included) on
    ``executor``; None leaves them in this process."""
    token = _EXECUTOR.set(executor)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


# -- the writer ----------------------------------------------------------------------------------


@dataclass
class _Write:
    calls: list[dict[str, Any]]
    items: list[dict[str, Any]]
    released: list[str]
    done: concurrent.futures.Future[None]


class Writer:
    """One thread that commits what the grading loop hands it, as soon as it arrives: everything
    waiting is one transaction (group commit). :meth:`write` returns once its rows are committed
    (or raises :class:`StoreError`); after a failure every later write fails at once."""

    def __init__(self, store: Store, *, owner: str, run_id: str | None):
        self.store = store
        self.owner = owner
        self.run_id = run_id
        self.saved = 0
        self.unsaved = 0
        self.error: StoreError | None = None
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="judgecal-writer", daemon=True)
        self._thread.start()

    async def write(
        self, calls: list[dict[str, Any]], items: list[dict[str, Any]], released: list[str] | None = None
    ) -> None:
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put(_Write(calls, items, released or [], done))
        await asyncio.wrap_future(done)

    def close(self) -> None:
        """Commit what is waiting, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    @staticmethod
    def _answers(calls: list[dict[str, Any]]) -> int:
        return sum(c["status"] in ("ok", "invalid") for c in calls)

    def _loop(self) -> None:
        next_beat = time.monotonic() + HEARTBEAT_S
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=max(0.0, next_beat - time.monotonic()))
            except queue.Empty:
                first = None
                batch: list[_Write] = []
            else:
                batch = []
                if first is None:
                    stopping = True
                else:
                    batch.append(first)
                while len(batch) < 512:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stopping = True
                    else:
                        batch.append(nxt)
            if batch:
                self._commit(batch)
            if time.monotonic() >= next_beat and self.error is None:
                next_beat = time.monotonic() + HEARTBEAT_S
                try:
                    self.store.check_file()
                    self.store.heartbeat(self.run_id, [self.owner])
                except StoreError as exc:
                    self.error = exc

    def _commit(self, batch: list[_Write]) -> None:
        calls = [c for w in batch for c in w.calls]
        answers = self._answers(calls)
        if self.error is None:
            try:
                self.store.check_file()
                self.store.write_batch(
                    calls,
                    [i for w in batch for i in w.items],
                    owner=self.owner,
                    released=[k for w in batch for k in w.released],
                )
                self.store.check_file()  # written to a file deleted meanwhile: not saved
            except StoreError as exc:
                self.error = exc
            else:
                self.saved += answers
                for w in batch:
                    if w.done.set_running_or_notify_cancel():  # its waiter may have been cancelled
                        w.done.set_result(None)
                return
        self.unsaved += answers
        for w in batch:
            if w.done.set_running_or_notify_cancel():
                w.done.set_exception(self.error)


# -- the worker ------------------------------------------------------------------------------------


class _Worker:
    def __init__(
        self,
        shard: Shard,
        completer: Completer,
        writer: Writer,
        store: Store,
        progress: Callable[[int], None] | None,
    ):
        self.shard = shard
        self.rubric = shard.rubric
        self.judge = shard.judge
        self.limits = shard.limits
        self.completer = completer
        self.writer = writer
        self.store = store
        self.progress = progress
        self.meter = current_meter()
        if self.meter is not None:
            self.meter.start()
        self.metered: tuple[int, float] = (0, 0.0)
        """Calls and cost of ``out`` already recorded in ``meter``."""
        self.schema = answer_schema(shard.rubric)
        self.settings_hash = shard.judge.settings_hash
        self.out = Outcome()
        self.prior_calls, self.prior_cost = 0, 0.0
        """What an earlier attempt at this shard spent (a retried Ray task): counted against the
        caps, not reported again (the driver reads those calls back from the store)."""
        self.interrupted = False
        """Set when the run is cancelled: nothing new starts; calls in flight finish and are stored."""
        self.rng = random.Random()
        self.by_key: dict[str, list[Unit]] = {}
        for unit in shard.units:
            self.by_key.setdefault(unit.cache_key, []).append(unit)

    # -- bookkeeping

    def _run_item(self, unit: Unit, call_id: str | None, status: str, cached: bool) -> dict[str, Any]:
        return {
            "run_id": self.shard.run_id,
            "item_id": unit.item.id,
            "order": unit.order,
            "sample_index": unit.sample_index,
            "call_id": call_id,
            "status": status,
            "cached": cached,
        }

    def _done(self, units: list[Unit]) -> None:
        for unit in units:
            if unit.verdict is not None:
                self.out.verdicts[unit.key] = unit.verdict
        if self.meter is not None:  # the command's progress (judgecal.progress): what just committed
            calls, cost = self.out.calls - self.metered[0], self.out.cost - self.metered[1]
            self.metered = (self.out.calls, self.out.cost)
            status = [u.verdict.status if u.verdict is not None else "" for u in units]
            self.meter.record(
                units=len(units),
                calls=calls,
                cached=sum(u.verdict is not None and u.verdict.cached for u in units),
                cost=cost,
                cost_known=self.out.cost_known,
                invalid=status.count("invalid"),
                failed=status.count("error"),
                skipped=status.count("skipped"),
            )
        if self.progress is not None:
            self.progress(len(units))

    async def _store(
        self, calls: list[dict[str, Any]], items: list[dict[str, Any]], released: list[str]
    ) -> bool:
        """Commit; False (and the run stops) when the store failed."""
        try:
            await self.writer.write(calls, items, released)
        except StoreError as exc:
            if self.out.store_error is None:
                self.out.store_error = str(exc)
                self.out.stop_reason = self.out.stop_reason or f"the store failed: {exc}"
            return False
        return True

    async def record_call(self, key: str, call: dict[str, Any]) -> None:
        """A call (answer or failure) for ``key``: every unit with that key gets it (the first as
        a new call, any twin as reusing it)."""
        units = self.by_key[key]
        items = [self._run_item(u, call["id"], call["status"], i > 0) for i, u in enumerate(units)]
        if await self._store([call], items, []):
            for i, unit in enumerate(units):
                unit.verdict = verdict_from_call(self.rubric, unit, call, i > 0)
            self._done(units)

    async def record_cached(self, answered: dict[str, Any]) -> None:
        units = [u for key in answered for u in self.by_key[key]]
        items = [
            self._run_item(u, answered[u.cache_key].id, answered[u.cache_key].status, True) for u in units
        ]
        if await self._store([], items, []):
            for unit in units:
                unit.verdict = verdict_from_call(self.rubric, unit, answered[unit.cache_key], True)
            self._done(units)

    async def skip(self, keys: list[str], reason: str, *, release: bool) -> None:
        units = [u for key in keys for u in self.by_key[key] if u.verdict is None]
        if not units:
            return
        items = [self._run_item(u, None, "skipped", False) for u in units]
        if await self._store([], items, keys if release else []):
            for unit in units:
                unit.verdict = Verdict(
                    item_id=unit.item.id,
                    status="skipped",
                    error=reason,
                    order=unit.order or None,
                    sample_index=unit.sample_index,
                )
            self._done(units)

    def cap_reached(self) -> str | None:
        s, lim = self.out, self.limits
        if s.stop_reason:
            return s.stop_reason
        if lim.max_calls is not None and s.calls + self.prior_calls >= lim.max_calls:
            s.stop_reason = f"call cap reached ({lim.max_calls} requests)"
        elif lim.max_cost is not None and s.cost + self.prior_cost >= lim.max_cost:
            s.stop_reason = f"cost cap reached (${s.cost:.4f} >= ${lim.max_cost})"
        elif self.shard.ends_at is not None and time.time() >= self.shard.ends_at:
            s.stop_reason = self.deadline_reason()
        return s.stop_reason

    def deadline_reason(self) -> str:
        given = self.limits.deadline
        return "deadline reached" + ("" if given is None else f" ({given:g} s)")

    def _delay(self, attempt: int, failed: CallFailed | None) -> float | None:
        """Seconds to wait before the next attempt; None when the provider's Retry-After is past
        ``retry_after_max`` (not waited for)."""
        if failed is not None and failed.retry_after is not None:
            if failed.retry_after > self.limits.retry_after_max:
                return None
            return min(self.limits.retry_after_max, failed.retry_after * (1 + 0.1 * self.rng.random()))
        return self.rng.uniform(0, min(self.limits.backoff_max, self.limits.backoff_base * 2**attempt))

    def _refused(self, failed: CallFailed) -> None:
        """A final refusal (4xx); :data:`REFUSED_STOP` of them before any answer stop the run."""
        s = self.out
        s.refused += 1
        if s.answered == 0 and s.refused >= REFUSED_STOP and s.fatal is None:
            s.fatal = (failed.kind, str(failed), failed.status)
            s.stop_reason = (
                f"the provider refused the first {s.refused} calls and answered none (last: {failed})"
            )

    # -- one unit

    async def run_key(self, key: str) -> None:
        unit = self.by_key[key][0]
        errors: list[str] = []
        attempt = 0
        while True:
            if self.interrupted and not errors:
                return  # not started: its claim is released when the run ends
            reason = self.cap_reached()
            if reason:
                if errors:
                    break  # record the failure we have
                await self.skip([key], reason, release=True)
                return
            self.out.calls += 1
            failed: CallFailed | None = None
            try:
                completion = await self.completer.complete(
                    unit.messages,
                    schema=self.schema,
                    temperature=self.judge.sampling.temperature,
                    max_tokens=self.judge.sampling.max_tokens,
                    seed=seed_for(self.judge, unit.sample_index),
                    timeout=self.limits.timeout,
                )
            except CallFailed as exc:
                failed = exc
                errors.append(str(failed))
                self.out.last_error = str(failed)
                if failed.fatal:
                    if self.out.fatal is None:
                        self.out.fatal = (failed.kind, str(failed), failed.status)
                        self.out.stop_reason = f"provider refused: {failed}"
                    break
                if not failed.retryable:
                    self._refused(failed)
                    break
            else:
                parsed = parse_answer(self.rubric, completion.text, finish_reason=completion.finish_reason)
                self._account(completion)
                transient = parsed.status == "invalid" and parsed.invalid_reason in TRANSIENT_REASONS
                if not transient or attempt >= self.limits.max_retries:
                    self.out.answered += 1
                    await self.record_call(
                        key, self._answer_call(unit, completion, parsed, attempt + 1, errors)
                    )
                    return
                errors.append(f"transient answer: {parsed.invalid_reason} (retried)")
            if attempt >= self.limits.max_retries:
                break
            delay = self._delay(attempt, failed)
            if delay is None:
                assert failed is not None
                wait = (
                    f"the provider asked to wait {failed.retry_after:g} s (Retry-After), more than "
                    f"retry_after_max {self.limits.retry_after_max:g} s"
                )
                errors[-1] = f"{errors[-1]} ({wait}: not retried)"
                self.out.stop_reason = self.out.stop_reason or f"{wait}; run the same command later to resume"
                break
            await asyncio.sleep(delay)
            attempt += 1
        await self.record_call(
            key, self._call_dict(unit, status="error", attempts=attempt + 1, errors=errors)
        )

    def _account(self, completion: Any) -> None:
        if completion.cost is None:
            self.out.cost_known = False
        else:
            self.out.cost += completion.cost
        self.out.latencies.append(completion.latency_ms)

    def _call_dict(
        self, unit: Unit, *, status: str, attempts: int, errors: list[str], **values: Any
    ) -> dict[str, Any]:
        call = {
            "id": uuid.uuid4().hex,
            "run_id": self.shard.run_id,
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

    def _answer_call(
        self, unit: Unit, completion: Any, parsed: Any, attempts: int, errors: list[str]
    ) -> dict[str, Any]:
        label = parsed.label
        return self._call_dict(
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

    # -- the loop

    async def claim(self, keys: list[str]) -> list[str]:
        """Claim ``keys``; record the answered ones; returns (claimed, held)."""
        try:
            got = await asyncio.to_thread(
                self.store.claim, keys, run_id=self.shard.run_id, owner=self.shard.owner
            )
        except StoreError as exc:
            if self.out.store_error is None:
                self.out.store_error = str(exc)
                self.out.stop_reason = self.out.stop_reason or f"the store failed: {exc}"
            return []
        if got.answered:
            await self.record_cached(got.answered)
        self._held.extend(got.held)
        return got.claimed

    async def produce(self, work: asyncio.Queue[str | None], n_consumers: int) -> None:
        keys = list(self.by_key)
        size = max(CLAIM_BATCH, 2 * self.limits.concurrency)
        self._held: list[str] = []
        for start in range(0, len(keys), size):
            # the cache is looked at even once a cap is reached: a stored answer costs nothing
            if self.out.store_error is not None:
                break
            claimed = await self.claim(keys[start : start + size])
            reason = self.cap_reached() if claimed else None
            if reason:
                await self.skip(claimed, reason, release=True)
                continue
            for key in claimed:
                await work.put(key)
        wait = 0.05
        while self._held and self.out.store_error is None:
            await asyncio.sleep(wait)
            wait = min(1.0, wait * 2)
            held, self._held = self._held, []
            claimed = await self.claim(held)
            reason = self.cap_reached() if claimed or self._held else None
            if reason:
                await self.skip(claimed + self._held, reason, release=True)
                break
            for key in claimed:
                await work.put(key)
        for _ in range(n_consumers):  # no more work (when cancelled, the consumers are too)
            await work.put(None)

    async def consume(self, work: asyncio.Queue[str | None]) -> None:
        while True:
            key = await work.get()
            if key is None or self.interrupted:
                return
            await self.run_key(key)


async def execute(
    shard: Shard,
    completer: Completer,
    store: Store,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Do ``shard``'s units (see the module docstring); ``progress(n)`` after ``n`` more units
    are stored. Units already stored in the run (a retried Ray worker's) are left as they are.

    Cancelled (Ctrl-C, SIGTERM): what was received is committed before this returns the
    cancellation; nothing is marked skipped."""
    shard.owner = shard.owner or owner_id(shard.run_id)
    done = store.done_units(shard.run_id) if shard.heartbeat_run is False else set()
    if done:
        shard.units = [u for u in shard.units if u.key not in done]
    writer = Writer(store, owner=shard.owner, run_id=shard.run_id if shard.heartbeat_run else None)
    worker = _Worker(shard, completer, writer, store, progress)
    if done:  # a retried worker: what the dead attempt spent on this shard counts against its caps
        worker.prior_calls, worker.prior_cost = store.spent(shard.run_id, list(worker.by_key))
    n_consumers = min(shard.limits.concurrency, max(1, len(worker.by_key)))
    work: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max(CLAIM_BATCH, 2 * shard.limits.concurrency))
    tasks = [asyncio.ensure_future(worker.produce(work, n_consumers))]
    tasks += [asyncio.ensure_future(worker.consume(work)) for _ in range(n_consumers)]
    ends_at = shard.ends_at
    try:
        # asyncio.wait, not gather: a cancelled run must not cancel the calls in flight at once
        timeout = None if ends_at is None else max(0.0, ends_at - time.time())
        finished, pending = await asyncio.wait(tasks, timeout=timeout)
        if pending:
            worker.out.stop_reason = worker.out.stop_reason or worker.deadline_reason()
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for t in finished:
            t.result()  # a bug in a unit is raised, as gather would
        left = [k for k, us in worker.by_key.items() if any(u.verdict is None for u in us)]
        if left and worker.out.store_error is None:
            await worker.skip(left, worker.out.stop_reason or worker.deadline_reason(), release=True)
    except asyncio.CancelledError:
        # Ctrl-C or SIGTERM: start nothing new; the calls in flight are paid for, so let them
        # finish and be stored, for at most DRAIN_S seconds (a second Ctrl-C aborts at once)
        worker.interrupted = True
        tasks[0].cancel()
        _done, pending = await asyncio.wait(tasks[1:], timeout=DRAIN_S) if tasks[1:] else (set(), set())
        for t in {tasks[0], *pending}:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    except BaseException:
        for t in tasks:
            t.cancel()
        raise
    finally:
        await asyncio.to_thread(writer.close)
        out = worker.out
        out.saved, out.unsaved = writer.saved, writer.unsaved
        if writer.error is not None and out.store_error is None:
            out.store_error = str(writer.error)
        if writer.error is None:
            try:
                store.release_owner(shard.owner)
            except StoreError as exc:
                out.store_error = str(exc)
    return out
