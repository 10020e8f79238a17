"""Progress of a long command: what has been done so far, and how it is shown.

A :class:`Meter` counts what a command did — units committed (out of a total, once known), calls
made, units answered from the cache, money spent, invalid answers and failed calls — and names
the stage it is in. The command makes it current with :func:`use_meter` (a context variable, as
:func:`judgecal.execute.use_executor` does for executors); the grading loop
(:mod:`judgecal.execute`) records every unit the moment its outcome is committed, and the Ray
executor records the units its workers stored as it polls the store. A library caller that
makes no meter current pays nothing.

Two ways to show a meter: the CLI's rich bar on a terminal (``judgecal.cli._common``), and
:class:`PlainReporter` — one plain line to a stream (stderr) every ``interval`` seconds or each
10% step, whichever comes first, plus a final line — for CI logs and anything not a terminal::

    judgecal: grading 120/400 (30%) 3.1/s ETA 1m30s calls 118 cached 2 cost $0.0123 invalid 2 failed 0
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Meter", "PlainReporter", "Snapshot", "current_meter", "fmt_duration", "fmt_rate", "use_meter"]


@dataclass(frozen=True)
class Snapshot:
    """One consistent reading of a :class:`Meter`."""

    stage: str
    """What the command is doing now (``grading``, ``probe position``, ...)."""
    done: int
    """Units committed so far (answers, cache hits, failures and skips alike)."""
    total: int | None
    """Units the command will do in all; None while not yet known."""
    calls: int
    """Provider calls made (each retry counts; a cache hit is no call)."""
    cached: int
    """Units answered without a call (from the store)."""
    cost: float
    """USD spent so far on the calls whose price is known."""
    cost_known: bool
    """False once any call's price was unknown (``cost`` is then a lower bound)."""
    invalid: int
    """Units whose answer could not be parsed into a verdict."""
    failed: int
    """Units whose call failed for good (after retries)."""
    skipped: int
    """Units not done because a cap or the deadline stopped the run."""
    elapsed: float
    """Seconds since the meter started."""
    working: float = 0.0
    """Seconds since the work started (a total was first known, or the first unit committed):
    the rate leaves out the setup before it (loading, the preflight, the plan)."""

    @property
    def rate(self) -> float | None:
        """Units a second so far; None before any unit or time passed."""
        if self.done <= 0 or self.working <= 0:
            return None
        return self.done / self.working

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None when the total or the rate is not known."""
        rate = self.rate
        if self.total is None or rate is None:
            return None
        return max(0, self.total - self.done) / rate

    @property
    def fraction(self) -> float | None:
        """Done / total in [0, 1]; None while the total is unknown (1.0 for a total of 0)."""
        if self.total is None:
            return None
        if self.total <= 0:
            return 1.0
        return min(1.0, self.done / self.total)

    def line(self) -> str:
        """The one-line plain rendering (without the ``judgecal:`` prefix)."""
        parts = [self.stage]
        if self.total is None:
            parts.append(str(self.done))
        else:
            parts.append(f"{self.done}/{self.total} ({math.floor(100 * (self.fraction or 0.0))}%)")
        rate, eta = self.rate, self.eta
        parts.append(fmt_rate(rate))
        if self.total is not None:
            parts.append("ETA " + ("-" if eta is None else fmt_duration(eta)))
        parts.append(f"calls {self.calls}")
        if self.cached:
            parts.append(f"cached {self.cached}")
        parts.append(f"cost ${self.cost:.4f}" + ("" if self.cost_known else "+ (some prices unknown)"))
        parts.append(f"invalid {self.invalid}")
        parts.append(f"failed {self.failed}")
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        return " ".join(parts)


def fmt_rate(rate: float | None) -> str:
    """``3.1/s``, ``250/s``; ``-/s`` when not known."""
    if rate is None:
        return "-/s"
    return f"{rate:.1f}/s" if rate < 100 else f"{rate:.0f}/s"


def fmt_duration(seconds: float) -> str:
    """``42s``, ``1m30s``, ``2h05m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Meter:
    """Thread-safe counters of one command's progress (see the module docstring).

    The total is either fixed up front with :meth:`set_total` (a validation: its grading plus
    every probe's units, from the plan) or, when not, the sum of the totals each stage announces
    in :meth:`set_stage` (a comparison's judges, one after another).
    """

    def __init__(self, stage: str = "", *, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()
        self._working: float | None = None
        self._stage = stage
        self._fixed: int | None = None
        self._stage_totals: dict[str, int] = {}
        self._done = self._calls = self._cached = self._invalid = self._failed = self._skipped = 0
        self._cost = 0.0
        self._cost_known = True
        self._listeners: list[Callable[[], None]] = []

    def set_total(self, total: int | None) -> None:
        """Fix the total units of the whole command (None: back to the stages' totals)."""
        with self._lock:
            self._fixed = total
            self._start_work()
        self._changed()

    def set_stage(self, stage: str, total: int | None = None) -> None:
        """Name the current stage; ``total`` is its units (counted once per stage name, and only
        when no total was fixed)."""
        with self._lock:
            self._stage = stage
            if total is not None:
                self._stage_totals[stage] = total
                self._start_work()
        self._changed()

    def record(
        self,
        *,
        units: int = 0,
        calls: int = 0,
        cached: int = 0,
        cost: float = 0.0,
        cost_known: bool = True,
        invalid: int = 0,
        failed: int = 0,
        skipped: int = 0,
    ) -> None:
        """Add what was just committed; ``cost_known`` False: some call's price is unknown."""
        with self._lock:
            self._start_work()
            self._done += units
            self._calls += calls
            self._cached += cached
            self._cost += cost
            self._cost_known = self._cost_known and cost_known
            self._invalid += invalid
            self._failed += failed
            self._skipped += skipped
        self._changed()

    def start(self) -> None:
        """The work begins now (the grading loop starts): the rate is measured from here."""
        with self._lock:
            self._start_work()

    def _start_work(self) -> None:
        if self._working is None:
            self._working = self._clock()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from whichever thread recorded) after every change."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._clock()
            total = self._fixed
            if total is None and self._stage_totals:
                total = sum(self._stage_totals.values())
            return Snapshot(
                stage=self._stage,
                done=self._done,
                total=total,
                calls=self._calls,
                cached=self._cached,
                cost=self._cost,
                cost_known=self._cost_known,
                invalid=self._invalid,
                failed=self._failed,
                skipped=self._skipped,
                elapsed=now - self._started,
                working=0.0 if self._working is None else now - self._working,
            )


_METER: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("judgecal_meter", default=None)


def current_meter() -> Meter | None:
    """The meter :func:`use_meter` made current here, or None."""
    return _METER.get()


@contextlib.contextmanager
def use_meter(meter: Meter | None) -> Iterator[Meter | None]:
    """Make ``meter`` current for the block (the grading loop records into it)."""
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


class PlainReporter:
    """Writes ``judgecal: <snapshot line>`` to ``stream`` every ``interval`` seconds and at each
    ``step`` fraction crossed (10% by default), whichever comes first, and once more on
    :meth:`close`. Nothing is written while nothing changed. A context manager; the timer is a
    daemon thread woken every ``interval`` seconds."""

    def __init__(
        self,
        meter: Meter,
        stream: TextIO,
        *,
        interval: float = 10.0,
        step: float = 0.1,
        prefix: str = "judgecal: ",
        start_thread: bool = True,
    ):
        self.meter = meter
        self.stream = stream
        self.interval = interval
        self.step = step
        self.prefix = prefix
        self._lock = threading.Lock()
        self._last: tuple[object, ...] | None = None
        self._last_bucket = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        meter.on_change(self._check_step)
        if start_thread:
            self._thread = threading.Thread(target=self._loop, name="judgecal-progress", daemon=True)
            self._thread.start()

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _key(self, snap: Snapshot) -> tuple[object, ...]:
        return (snap.stage, snap.done, snap.total, snap.calls, snap.invalid, snap.failed, snap.skipped)

    def tick(self) -> bool:
        """Write a line now unless nothing changed since the last one; True when one was written."""
        snap = self.meter.snapshot()
        if not snap.total and not snap.done and not snap.calls:
            return False  # nothing planned or started yet (set-up, or an error before the first unit)
        with self._lock:
            key = self._key(snap)
            if key == self._last:
                return False
            self._last = key
            frac = snap.fraction
            if frac is not None and self.step > 0:
                self._last_bucket = max(self._last_bucket, int(frac / self.step + 1e-9))
            self.stream.write(self.prefix + snap.line() + "\n")
            self.stream.flush()
            return True

    def _check_step(self) -> None:
        frac = self.meter.snapshot().fraction
        if frac is None or self.step <= 0 or frac <= 0:
            return
        if int(frac / self.step + 1e-9) > self._last_bucket:
            self.tick()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def close(self) -> None:
        """Stop the timer and write the final line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        snap = self.meter.snapshot()
        with self._lock:
            if self._key(snap) == self._last and self._last is not None:
                return
        self.tick()
