"""What every command shares: the error boundary, consoles, option helpers."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from judgecal.fmt import fmt_cost as fmt_cost
from judgecal.fmt import fmt_ms as fmt_ms

if TYPE_CHECKING:
    from judgecal.progress import Meter

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = False
    signal: int | None = None
    """The signal (SIGTERM) that stopped the command, when one did."""


state = _State()
out = Console()
err = Console(stderr=True)


def boundary(func: F) -> F:
    """Turn judgecal errors into one red line and the right exit code (``--debug`` prints the
    traceback instead of the line, and exits with the same code).
    The line is redacted of keys (:mod:`judgecal.redact`), like the error's own message."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from judgecal.errors import JudgecalError
        from judgecal.redact import redact

        previous = _stop_on_sigterm()
        try:
            return func(*args, **kwargs)
        except JudgecalError as exc:
            if state.debug:  # the traceback, and still the error's exit code (not Python's 1)
                traceback.print_exc()
                raise typer.Exit(exc.exit_code) from None
            err.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            if state.signal is not None:
                err.print(
                    "[yellow]terminated[/] (SIGTERM): stopped sending; every answer received is stored and"
                    " the run is marked interrupted; run the same command to resume"
                )
                raise typer.Exit(128 + state.signal) from None
            err.print(
                "[yellow]interrupted[/]: stopped sending; every answer received is stored and the run is"
                " marked interrupted; run the same command to resume"
            )
            raise typer.Exit(130) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def _stop_on_sigterm() -> Any:
    """Make SIGTERM (what ``timeout``, systemd, Kubernetes and CI runners send) stop a command
    exactly as Ctrl-C does: whatever handles SIGINT now (asyncio's runner cancels the run, which
    then stores what it received) handles it; the command exits 143. Returns the handler it
    replaced (None off the main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(signum: int, frame: Any) -> None:
        state.signal = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    state.signal = None
    return signal.signal(signal.SIGTERM, on_term)


def progress_bar(width: int) -> Any:
    """A transient rich progress bar on stderr for a :class:`~judgecal.progress.Meter`: the stage
    (padded to ``width``), the bar, done/total, units a second, the ETA, the time elapsed, calls
    made, cost so far, invalid answers and failed calls. :func:`show_progress` keeps it current."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"{{task.description:<{width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        TextColumn("calls {task.fields[calls]}"),
        TextColumn("{task.fields[cost]}"),
        TextColumn("invalid {task.fields[invalid]}"),
        TextColumn("failed {task.fields[failed]}"),
        console=err,
        transient=True,
    )


PLAIN_INTERVAL_S = 10.0
"""Seconds between two plain progress lines (when stderr is not a terminal), at the latest."""


@contextlib.contextmanager
def show_progress(stage: str, *, quiet: bool = False, width: int = 24) -> Iterator[Meter]:
    """Make a :class:`~judgecal.progress.Meter` current for the block and show it on stderr:
    the rich bar on a terminal, else one plain line every :data:`PLAIN_INTERVAL_S` seconds or
    each 10% step, and a final line (a CI log). ``quiet``: count, show nothing."""
    import sys

    from judgecal.progress import Meter, PlainReporter, fmt_duration, fmt_rate, use_meter

    meter = Meter(stage)
    if quiet:
        with use_meter(meter):
            yield meter
    elif err.is_terminal:
        with progress_bar(width) as bar:
            task = bar.add_task(stage, total=None, rate="", eta="-", calls=0, cost="$0", invalid=0, failed=0)

            def refresh() -> None:
                snap = meter.snapshot()
                bar.update(
                    task,
                    description=snap.stage[:width],
                    completed=snap.done,
                    total=snap.total,
                    rate=fmt_rate(snap.rate),
                    eta="-" if snap.eta is None else fmt_duration(snap.eta),
                    calls=snap.calls,
                    cost=f"${snap.cost:.4f}" + ("" if snap.cost_known else "+"),
                    invalid=snap.invalid,
                    failed=snap.failed,
                )

            meter.on_change(refresh)
            with use_meter(meter):
                yield meter
    else:
        with PlainReporter(meter, sys.stderr, interval=PLAIN_INTERVAL_S), use_meter(meter):
            yield meter


class SplitName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    """A gold-set split, as a command-line choice."""

    all = "all"
    dev = "dev"
    test = "test"
