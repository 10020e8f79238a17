"""What every command shares: the error boundary, consoles, option helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = False


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

        try:
            return func(*args, **kwargs)
        except JudgecalError as exc:
            if state.debug:
                raise
            err.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: what finished is stored; run the same command to resume")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


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
