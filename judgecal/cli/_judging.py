"""The options every judging command shares (grade, validate, compare, probe), declared once, and
how they combine with ``judgecal.toml`` (flag > ``JUDGECAL_*`` variable > file > default)."""

from __future__ import annotations

import os
import time
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from judgecal.judge import JudgeConfig, Limits
    from judgecal.settings import GradeDefaults


class OrdersName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    ab = "ab"
    both = "both"


class ExecutorName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    local = "local"
    ray = "ray"


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


def api_key_env_option() -> Any:
    # no envvar= here: api_key() reads JUDGECAL_API_KEY_ENV itself, to name the source in errors
    return typer.Option(
        None,
        "--api-key-env",
        metavar="NAME",
        help="Name of the environment variable holding the provider's API key (not the key), sent to "
        "any provider, --api-base servers included; or set JUDGECAL_API_KEY_ENV, or grade.api_key_env "
        "in judgecal.toml. Default: litellm's variable for the provider (OPENAI_API_KEY, ...).",
    )


def deadline_option() -> Any:
    return typer.Option(
        None,
        "--deadline",
        min=0.001,
        metavar="SECONDS",
        envvar="JUDGECAL_DEADLINE",
        help="Stop after this many seconds in all, retries and waits included; units without an answer "
        'are skipped (the run is stopped, "deadline reached"). Default: none.',
    )


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


def dry_run_option() -> Any:
    return typer.Option(
        False,
        "--dry-run",
        help="Print the provider calls each stage would make (after the cache) and the estimated cost "
        'from litellm\'s price map (or "unknown price"); make no call, write nothing. Exit code 0.',
    )


def preflight_option() -> Any:
    return typer.Option(
        True,
        "--preflight/--no-preflight",
        help="Before the first call, check with one tiny call that the model answers with this key "
        "(a missing or refused key, or an unknown model, then stops the command at once with exit "
        "code 3). Skipped anyway when every unit would come from the cache.",
    )


def executor_option() -> Any:
    return typer.Option(
        ExecutorName.local,
        "--executor",
        envvar="JUDGECAL_EXECUTOR",
        help="Where the units are done: local (this process) or ray (spread over a Ray cluster's workers; "
        "needs the ray extra installed, and a database the workers can open: a SQLite file "
        "on one machine, PostgreSQL across machines).",
    )


def ray_address_option() -> Any:
    return typer.Option(
        None,
        "--ray-address",
        metavar="ADDR",
        envvar="JUDGECAL_RAY_ADDRESS",
        help="With --executor ray: the cluster to use (auto, host:6379 or ray://host:10001). Default: "
        "RAY_ADDRESS, else a local cluster started for the command.",
    )


def ray_workers_option() -> Any:
    return typer.Option(
        None,
        "--ray-workers",
        min=1,
        metavar="N",
        envvar="JUDGECAL_RAY_WORKERS",
        help="With --executor ray: workers a run is spread over, each with --concurrency calls in flight "
        "(default: the cluster's CPUs).",
    )


def make_executor(
    executor: ExecutorName,
    *,
    address: str | None,
    workers: int | None,
    model: str,
    api_base: str | None,
    api_key: str | None,
    sim_items: Any = None,
) -> Any:
    """The executor the flags choose: None for ``local``, else a
    :class:`judgecal.ray_executor.RayExecutor` whose workers open the same model with the same
    ``api_base`` and key (in memory only) — imported only then, so Ray costs nothing otherwise.
    ``--ray-address`` and ``--ray-workers`` apply only to ``ray``."""
    if executor is ExecutorName.local:
        return None
    from judgecal.ray_executor import CompleterSpec, RayExecutor  # noqa: PLC0415

    spec = CompleterSpec(model=model, api_base=api_base, api_key=api_key, sim_items=sim_items)
    return RayExecutor(address=address, workers=workers, model_spec=spec)


def print_plan(plan: Any) -> None:
    """A dry run's plan (:func:`judgecal.plan.render_plan`), as plain text on stdout."""
    from judgecal.plan import render_plan

    typer.echo(render_plan(plan))


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


def api_key(flag: str | None, cfg: GradeDefaults) -> tuple[str | None, str | None]:
    """The variable naming the provider's key and the key in it: ``--api-key-env``, else
    ``JUDGECAL_API_KEY_ENV``, else ``grade.api_key_env`` in judgecal.toml; ``(None, None)`` when none
    is given (litellm then reads the provider's own variable). A :class:`ConfigError` naming the
    variable and where it was named when the variable is unset or empty — before any call."""
    from judgecal.settings import api_key_from_env, config_path  # noqa: PLC0415

    if flag:
        name, source = flag, "--api-key-env"
    elif os.environ.get("JUDGECAL_API_KEY_ENV"):
        name, source = os.environ["JUDGECAL_API_KEY_ENV"], "JUDGECAL_API_KEY_ENV"
    elif cfg.api_key_env:
        name, source = cfg.api_key_env, f"grade.api_key_env in {config_path() or 'judgecal.toml'}"
    else:
        return None, None
    return name, api_key_from_env(name.strip(), source=source)


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
    api_key_env: str | None = None,
) -> JudgeConfig:
    """The judge configuration the flags describe: each sampling flag, else the configuration's
    value. ``api_key_env``: the variable's name, as :func:`api_key` resolved it (never the key)."""
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
        api_key_env=api_key_env.strip() if api_key_env else None,
    )


def limits(
    cfg: GradeDefaults,
    *,
    concurrency: int | None,
    timeout: float | None,
    max_retries: int | None,
    max_calls: int | None = None,
    max_cost: float | None = None,
    deadline: float | None = None,
) -> Limits:
    """The call limits: each flag, else the configuration's value. ``deadline`` counts from now
    and is shared by every run of the command (``Limits.deadline_at``)."""
    from judgecal.judge import Limits  # noqa: PLC0415

    return Limits(
        concurrency=cfg.concurrency if concurrency is None else concurrency,
        timeout=cfg.timeout if timeout is None else timeout,
        max_retries=cfg.max_retries if max_retries is None else max_retries,
        max_calls=max_calls,
        max_cost=max_cost,
        deadline=deadline,
        deadline_at=None if deadline is None else time.time() + deadline,
    )
