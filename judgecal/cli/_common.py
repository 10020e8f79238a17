"""What every command shares: the error boundary, consoles, option helpers."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = False
    signal: int | None = None
    """The signal (SIGTERM) that stopped the command, when one did."""


state = _State()
out = Console()
err = Console(stderr=True)


def boundary(func: F) -> F:
    """Turn judgecal errors into one red line and the right exit code (``--debug`` re-raises).
    The line is redacted of keys (:mod:`judgecal.redact`), like the error's own message."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from judgecal.errors import JudgecalError
        from judgecal.redact import redact

        previous = _stop_on_sigterm()
        try:
            return func(*args, **kwargs)
        except JudgecalError as exc:
            if state.debug:
                raise
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
    """A transient progress bar on stderr: the task's description (padded to ``width``), the bar,
    done/total and the time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"{{task.description:<{width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def fmt_cost(cost: float | None) -> str:
    return "unknown (model price not in litellm's cost map)" if cost is None else f"${cost:.4f}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


class SplitName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    """A gold-set split, as a command-line choice."""

    all = "all"
    dev = "dev"
    test = "test"
