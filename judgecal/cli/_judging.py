"""The options every judging command shares (grade, validate, compare, probe), declared once, and
how they combine with ``judgecal.toml`` (flag > ``JUDGECAL_*`` variable > file > default)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from judgecal.judge import JudgeConfig, Limits
    from judgecal.settings import GradeDefaults


class OrdersName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    ab = "ab"
    both = "both"


class AggName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    majority = "majority"
    median = "median"
    mean = "mean"


def judge_option() -> Any:
    return typer.Option(
        None,
        "--judge",
        "-j",
        envvar="JUDGECAL_JUDGE",
        help="litellm model string (openai/gpt-4o-mini, ollama/llama3.1, ...), local/<name> or sim/<preset>.",
    )


def gold_option() -> Any:
    return typer.Option(
        None, "--gold", "-g", help="Gold set name or .jsonl path (default: the rubric's name)."
    )


def samples_option(help: str = "Samples per item.") -> Any:
    return typer.Option(1, "--samples", min=1, max=100, help=help)


def aggregation_option() -> Any:
    return typer.Option(AggName.majority, "--aggregation", help="How samples combine.")


def orders_option() -> Any:
    return typer.Option(OrdersName.ab, "--orders", help="Pairwise: judge one or both orders.")


def temperature_option() -> Any:
    return typer.Option(
        None,
        "--temperature",
        min=0,
        max=2,
        envvar="JUDGECAL_TEMPERATURE",
        help="Sampling temperature (default 0, or grade.temperature in judgecal.toml).",
    )


def max_tokens_option() -> Any:
    return typer.Option(
        None,
        "--max-tokens",
        min=1,
        envvar="JUDGECAL_MAX_TOKENS",
        help="Cap on the answer length (default 512).",
    )


def api_base_option() -> Any:
    return typer.Option(None, "--api-base", envvar="JUDGECAL_API_BASE", help="OpenAI-compatible base URL.")


def concurrency_option() -> Any:
    return typer.Option(
        None,
        "--concurrency",
        "-c",
        min=1,
        envvar="JUDGECAL_CONCURRENCY",
        help="Calls in flight at once (default 8).",
    )


def timeout_option() -> Any:
    return typer.Option(
        None, "--timeout", min=0.001, envvar="JUDGECAL_TIMEOUT", help="Seconds per call (default 60)."
    )


def max_retries_option() -> Any:
    return typer.Option(
        None,
        "--max-retries",
        min=0,
        envvar="JUDGECAL_MAX_RETRIES",
        help="Retries per call on 429/5xx/timeouts/drops (default 6).",
    )


def max_calls_option(help: str = "Stop after this many provider requests.") -> Any:
    return typer.Option(None, "--max-calls", min=0, help=help)


def max_cost_option(help: str = "Stop after spending this many USD.") -> Any:
    return typer.Option(None, "--max-cost", min=0, help=help)


def html_option() -> Any:
    return typer.Option(None, "--html", help="Also write the HTML report (one offline file).")


def markdown_option() -> Any:
    return typer.Option(
        None, "--markdown", help="Also write the Markdown summary (for a pull-request comment)."
    )


def report_json_option() -> Any:
    return typer.Option(None, "--report-json", help="Also write the report as JSON.")


def judge_config(
    model: str,
    cfg: GradeDefaults,
    *,
    temperature: float | None,
    max_tokens: int | None,
    samples: int,
    aggregation: AggName,
    orders: OrdersName,
    seed: int | None = None,
) -> JudgeConfig:
    """The judge configuration the flags describe: each sampling flag, else the configuration's
    value."""
    from judgecal.judge import JudgeConfig, Sampling  # noqa: PLC0415

    return JudgeConfig(
        model=model,
        sampling=Sampling(
            temperature=cfg.temperature if temperature is None else temperature,
            max_tokens=cfg.max_tokens if max_tokens is None else max_tokens,
            seed=seed,
        ),
        samples=samples,
        aggregation=aggregation.value,
        orders=orders.value,
    )


def limits(
    cfg: GradeDefaults,
    *,
    concurrency: int | None,
    timeout: float | None,
    max_retries: int | None,
    max_calls: int | None = None,
    max_cost: float | None = None,
) -> Limits:
    """The call limits: each flag, else the configuration's value."""
    from judgecal.judge import Limits  # noqa: PLC0415

    return Limits(
        concurrency=cfg.concurrency if concurrency is None else concurrency,
        timeout=cfg.timeout if timeout is None else timeout,
        max_retries=cfg.max_retries if max_retries is None else max_retries,
        max_calls=max_calls,
        max_cost=max_cost,
    )
