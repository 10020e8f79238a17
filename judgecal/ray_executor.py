"""Spreading a grading run's units over a Ray cluster's workers (the ``ray`` extra).

:class:`RayExecutor` is an :class:`~judgecal.execute.Executor`: the driver (the process that
called :func:`judgecal.judge.agrade`) splits the run's units into sub-shards, and each Ray task
runs the very code path of a local run on its sub-shard — :func:`judgecal.execute.execute` in
one asyncio loop, claiming each unit in the store before calling the provider and committing each
answer as it arrives. The store is the only thing the workers share: every worker opens the
run's database itself (a SQLite file when every worker is on this machine, PostgreSQL across
machines), so the database URL must be reachable from the workers.

A Ray worker that dies (killed, its node lost) is retried by Ray (``max_retries``): the retried
task skips the units already stored for the run (:meth:`~judgecal.store.Store.done_units`) and
takes over the claims of the dead process at once on the same host (after their lease,
:data:`~judgecal.store.work.LEASE_S`, on another). Every answer the dead worker had committed
stays; only its calls in flight are bought again.

While the tasks run the driver renews the run's heartbeat (so the run is not reaped as dead) and
reports progress by counting the run's stored units.

    with use_executor(RayExecutor(workers=4)):
        grade(rubric, gold, judge)
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from judgecal import _aio
from judgecal.errors import ConfigError, JudgecalError
from judgecal.execute import DRAIN_S, Outcome, Shard, execute
from judgecal.llm import Completer
from judgecal.progress import Meter, current_meter
from judgecal.store import Store

if TYPE_CHECKING:
    from judgecal.simulate import SimItem
    from judgecal.units import Unit

__all__ = ["CompleterSpec", "RayExecutor", "RayTaskFailed", "split_shard"]

INSTALL_HINT = 'pip install -e ".[ray]"'
POLL_S = 2.0
"""How often the driver renews the run's heartbeat and counts the stored units."""
TASK_RETRIES = 3
"""How many times Ray runs a sub-shard again after its worker died."""


class RayTaskFailed(JudgecalError):
    """A sub-shard's Ray task failed for good (its worker died more than ``TASK_RETRIES`` times,
    or the cluster went away); what its units did up to then is stored."""


@dataclass
class CompleterSpec:
    """What a Ray worker needs to open its own completer (:func:`judgecal.llm.open_completer`):
    a completer object cannot travel to another process.

    ``api_key`` is handed to the tasks in memory (as a task argument) and never written anywhere
    by judgecal; None: the worker's own environment supplies litellm's variable for the provider
    (a local cluster's workers inherit the driver's environment; a remote cluster's do not).
    ``sim_items``: for ``sim/<preset>`` models, the items each worker's own in-process simulated
    judge is told about (see :func:`judgecal.judge.sim_items_from_gold`)."""

    model: str | None = None
    """The judge's model string; None: the shard's (``JudgeConfig.model``)."""
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    sim_items: list[SimItem] | None = field(default=None, repr=False)


def _require_ray() -> Any:
    try:
        import ray  # noqa: PLC0415 - optional and slow to import
    except ImportError as exc:
        raise ConfigError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


def worker_store_url(store: Store) -> str:
    """The store's URL as the workers must open it: a SQLite path made absolute (a worker's
    working folder is not the driver's); a ConfigError for an in-memory SQLite database, which
    no other process can reach."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(store.url)
    if url.get_backend_name() != "sqlite":
        return store.url
    db = url.database or ""
    if not db or db == ":memory:" or "mode=memory" in db or "mode=memory" in str(url.query):
        raise ConfigError(
            f"the Ray executor needs a database its workers can open; {store._safe_url()} is an "
            "in-memory SQLite database (use a SQLite file on one machine, PostgreSQL across machines)"
        )
    if db.startswith("file:"):
        return store.url
    return url.set(database=os.path.abspath(db)).render_as_string(hide_password=False)


def split_shard(shard: Shard, n: int) -> list[Shard]:
    """``shard`` as at most ``n`` sub-shards, round-robin over its distinct cache keys (units
    sharing a key — the same question twice — stay together). Each is a copy with
    ``heartbeat_run=False`` (the driver renews the run's heartbeat) and no owner (the worker sets
    its own), and ``max_calls`` / ``max_cost`` divided evenly among them (the remainder of
    ``max_calls`` to the first sub-shards): the run as a whole never goes past its caps, but one
    sub-shard may stop at its share while another has calls left."""
    groups: dict[str, list[Unit]] = {}
    for unit in shard.units:
        groups.setdefault(unit.cache_key, []).append(unit)
    n = max(1, min(n, len(groups)))
    parts: list[list[Unit]] = [[] for _ in range(n)]
    for i, units in enumerate(groups.values()):
        parts[i % n].extend(units)
    lim = shard.limits
    out = []
    for i, units in enumerate(parts):
        update: dict[str, Any] = {}
        if lim.max_calls is not None:
            update["max_calls"] = lim.max_calls // n + (1 if i < lim.max_calls % n else 0)
        if lim.max_cost is not None:
            update["max_cost"] = lim.max_cost / n
        out.append(
            replace(
                shard,
                units=units,
                limits=lim.model_copy(update=update),
                heartbeat_run=False,
                owner="",
            )
        )
    return out


def merge_outcomes(outcomes: list[Outcome]) -> Outcome:
    """The outcomes of a run's sub-shards as one: counts summed, the first stop reason, fatal
    failure, store error and last error, every verdict."""
    merged = Outcome()
    for o in outcomes:
        merged.calls += o.calls
        merged.cost += o.cost
        merged.cost_known = merged.cost_known and o.cost_known
        merged.answered += o.answered
        merged.refused += o.refused
        merged.saved += o.saved
        merged.unsaved += o.unsaved
        merged.latencies.extend(o.latencies)
        merged.stop_reason = merged.stop_reason or o.stop_reason
        merged.fatal = merged.fatal or o.fatal
        merged.store_error = merged.store_error or o.store_error
        merged.last_error = merged.last_error or o.last_error
        merged.verdicts.update(o.verdicts)
    return merged


def _sim_items_for(spec: CompleterSpec, shard: Shard) -> list[SimItem]:
    """The items a worker's simulated judge is told about: the spec's, and the shard's items
    with a human majority that the spec does not name (a probe's derived items whose truth
    differs from their source's, or any item when the spec gives none)."""
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415

    known = list(spec.sim_items or [])
    by_id = {it.id: it for it in known}
    extra = []
    seen: set[str] = set()
    for unit in shard.units:
        item = unit.item
        if item.id in by_id or item.id in seen:
            continue
        seen.add(item.id)
        source = by_id.get(str(item.metadata.get("source_item", "")))
        if source is not None and item.majority() == source.truth and "concise_source" not in item.metadata:
            continue  # a variant keeping its source's truth: the simulator must see it as a copy
        extra.append(item)
    return known + sim_items_from_gold(shard.rubric, extra)


def _run_sub_shard(spec: CompleterSpec, shard: Shard, db_url: str, index: int) -> Outcome:
    """One Ray task: open the store and a completer here, and :func:`execute` the sub-shard."""
    from judgecal.llm import open_completer  # noqa: PLC0415
    from judgecal.store.work import owner_id  # noqa: PLC0415

    model = spec.model or shard.judge.model
    sim_items = _sim_items_for(spec, shard) if model.startswith("sim/") else None
    shard.owner = f"{owner_id(shard.run_id)}:{index}"
    store = Store(db_url)
    try:
        with open_completer(model, api_base=spec.api_base, api_key=spec.api_key, sim_items=sim_items) as op:
            return _aio.run(execute(shard, op.completer, store))
    finally:
        store.close()


_REMOTE: Any = None


def _remote(ray: Any) -> Any:
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = ray.remote(max_retries=TASK_RETRIES, num_cpus=1)(_run_sub_shard)
    return _REMOTE


def _count_stored(store: Store, run_id: str) -> int:
    from sqlalchemy import func, select  # noqa: PLC0415

    from judgecal.store import RunItemRow  # noqa: PLC0415

    table: Any = RunItemRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(table.c.run_id == run_id)).scalar_one())


class _RayMeter:
    """Feeds the command's :class:`~judgecal.progress.Meter` from the driver: the workers'
    meters live in other processes, so units come from polling the run's stored units, and the
    calls, cost and invalid/failed counts from the merged outcome at the end."""

    def __init__(self, meter: Meter | None, total: int):
        self.meter = meter
        self.total = total
        self.seen = 0

    def stored(self, n: int) -> None:
        if self.meter is not None and n > self.seen:
            self.meter.record(units=n - self.seen)
            self.seen = n

    def finish(self, units: list[Any], out: Outcome) -> None:
        if self.meter is None:
            return
        status = [u.verdict.status for u in units if u.verdict is not None]
        self.meter.record(
            units=max(0, len(status) - self.seen),
            calls=out.calls,
            cached=sum(u.verdict.cached for u in units if u.verdict is not None),
            cost=out.cost,
            cost_known=out.cost_known,
            invalid=status.count("invalid"),
            failed=status.count("error"),
            skipped=status.count("skipped"),
        )
        self.seen = max(self.seen, len(status))


def _recover(store: Store, shard: Shard, out: Outcome) -> None:
    """Add to ``out`` the units whose outcome is stored but missing from the workers' outcomes
    (done by a worker that died before its task returned): their verdicts from the store, and
    their new calls' requests, cost and latency."""
    from judgecal.units import verdict_from_call  # noqa: PLC0415

    missing = {u.key: u for u in shard.units if u.key not in out.verdicts}
    if not missing:
        return
    seen_calls: set[str] = set()
    for ri, call in store.run_calls(shard.run_id):
        unit = missing.get((ri.item_id, ri.order, ri.sample_index))
        if unit is None:
            continue
        if call is None:
            from judgecal.verdict import Verdict  # noqa: PLC0415

            out.verdicts[unit.key] = Verdict(
                item_id=unit.item.id,
                status="skipped",
                order=unit.order or None,
                sample_index=unit.sample_index,
            )
            continue
        out.verdicts[unit.key] = verdict_from_call(shard.rubric, unit, call, ri.cached)
        if call.run_id == shard.run_id and not ri.cached and call.id not in seen_calls:
            seen_calls.add(call.id)
            out.calls += call.attempts or 1
            if call.status in ("ok", "invalid"):
                out.answered += 1
                out.saved += 1
            if call.cost is None:
                out.cost_known = out.cost_known and call.status == "error"
            else:
                out.cost += call.cost
            if call.latency_ms is not None:
                out.latencies.append(call.latency_ms)


class RayExecutor:
    """Runs a grading run's units as Ray tasks, ``workers`` sub-shards at once (see the module
    docstring). ``address``: a running cluster (``ray://host:10001``, ``auto``, or ``host:6379``);
    None starts a local one with ``workers`` CPUs (or connects where ``RAY_ADDRESS`` says).
    ``workers``: how many sub-shards a run is split into (default: the cluster's CPUs). Each
    sub-shard keeps the run's ``Limits.concurrency`` calls in flight, so a run has up to
    ``workers x concurrency``.

    ``model_spec``: what the workers open their completers with; None takes the model string,
    ``api_base`` and ``api_key`` of the driver's completer (for ``sim/<preset>`` models each
    worker starts its own simulated judge, told the truth of the shard's items). The key is
    passed to the tasks in memory and never stored.

    Ray is imported on the first run, and the local cluster this executor started is stopped
    by :meth:`close` (a process that ends stops it anyway)."""

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        model_spec: CompleterSpec | None = None,
        poll_s: float = POLL_S,
    ):
        try:
            found = importlib.util.find_spec("ray") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}")
        if workers is not None and workers < 1:
            raise ConfigError(f"--ray-workers must be at least 1, not {workers}")
        self.address = address or None
        self.workers = workers
        self.model_spec = model_spec
        self.poll_s = poll_s
        self._started = False

    def _ray(self) -> Any:
        ray = _require_ray()
        if not ray.is_initialized():
            import logging  # noqa: PLC0415

            kwargs: dict[str, Any] = {
                "address": self.address,
                "ignore_reinit_error": True,
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
            }
            if self.address is None and not os.environ.get("RAY_ADDRESS"):
                kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a local cluster"
                raise ConfigError(f"cannot start or reach the Ray cluster ({where}): {exc}") from exc
            self._started = True
        return ray

    def close(self) -> None:
        """Stop the Ray cluster (or connection) this executor started."""
        if self._started:
            ray = _require_ray()
            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spec(self, shard: Shard, completer: Completer) -> CompleterSpec:
        if self.model_spec is not None:
            return self.model_spec
        model = shard.judge.model
        if model.startswith("sim/"):
            return CompleterSpec(model=model)
        return CompleterSpec(
            model=model,
            api_base=getattr(completer, "api_base", None),
            api_key=getattr(completer, "api_key", None),
        )

    def _n_workers(self, ray: Any) -> int:
        if self.workers is not None:
            return self.workers
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    async def run(
        self,
        shard: Shard,
        completer: Completer,
        store: Store,
        progress: Callable[[int, int], None] | None,
    ) -> Outcome:
        total = len(shard.units)
        if not shard.units:
            return Outcome()
        db_url = worker_store_url(store)
        spec = self._spec(shard, completer)
        ray = await asyncio.to_thread(self._ray)
        subs = split_shard(shard, self._n_workers(ray))
        task = _remote(ray)
        refs = [task.remote(spec, sub, db_url, i) for i, sub in enumerate(subs)]
        futures = {asyncio.wrap_future(ref.future()): ref for ref in refs}
        pending = set(futures)
        meter = _RayMeter(current_meter(), total)
        try:
            while pending:
                _done, pending = await asyncio.wait(pending, timeout=self.poll_s)
                await asyncio.to_thread(self._beat, store, shard.run_id, progress, total, meter)
        except asyncio.CancelledError:
            # Ctrl-C or SIGTERM: each task is interrupted as a local run is (it stores what it
            # received from its calls in flight), then the run is marked interrupted by agrade
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
            with contextlib.suppress(BaseException):
                await asyncio.wait(set(futures), timeout=DRAIN_S + 5)
            raise
        outcomes: list[Outcome] = []
        failures: list[BaseException] = []
        for fut in futures:
            exc = fut.exception()
            if exc is None:
                outcomes.append(fut.result())
            else:
                failures.append(exc)
        out = merge_outcomes(outcomes)
        await asyncio.to_thread(_recover, store, shard, out)
        if failures:
            first = failures[0]
            cause = getattr(first, "cause", None)
            if isinstance(cause, JudgecalError):  # a judgecal error in a worker, as a local run raises it
                raise cause
            raise RayTaskFailed(
                f"{len(failures)} of {len(subs)} Ray tasks of run {shard.run_id[:12]} failed "
                f"({type(first).__name__}: {str(first).splitlines()[0] if str(first) else ''}); "
                "every answer they received is stored: run the same command to resume"
            ) from first
        for unit in shard.units:
            unit.verdict = out.verdicts.get(unit.key)
        # the calls were made by the workers' completers, not the driver's: a completer that
        # meters what passes through it (a validation's) is told what they did
        note = getattr(completer, "note_outcome", None)
        if callable(note):
            note(out)
        meter.finish(shard.units, out)
        if progress is not None:
            progress(sum(u.verdict is not None for u in shard.units), total)
        return out

    def _beat(
        self,
        store: Store,
        run_id: str,
        progress: Callable[[int, int], None] | None,
        total: int,
        meter: _RayMeter | None = None,
    ) -> None:
        from judgecal.errors import StoreError  # noqa: PLC0415

        with contextlib.suppress(StoreError):  # a failing store is the workers' to report
            store.heartbeat(run_id, [])
        if progress is not None or (meter is not None and meter.meter is not None):
            with contextlib.suppress(Exception):
                stored = min(total, _count_stored(store, run_id))
                if meter is not None:
                    meter.stored(stored)
                if progress is not None:
                    progress(stored, total)
