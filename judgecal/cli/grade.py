"""``judgecal grade``: a judge over a gold set (or an input file of items)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import typer

from judgecal.cli._common import SplitName, boundary, fmt_cost, fmt_ms, out, show_progress
from judgecal.cli._judging import (
    AggName,
    ExecutorName,
    OrdersName,
    aggregation_option,
    api_base_option,
    api_key_env_option,
    concurrency_option,
    deadline_option,
    dry_run_option,
    executor_option,
    gold_option,
    judge_config,
    judge_option,
    make_executor,
    max_calls_option,
    max_cost_option,
    max_retries_option,
    max_tokens_option,
    orders_option,
    preflight_option,
    print_plan,
    ray_address_option,
    ray_workers_option,
    samples_option,
    temperature_option,
    timeout_option,
)
from judgecal.cli._judging import api_key as resolve_api_key
from judgecal.cli._judging import limits as call_limits


@boundary
def grade_command(
    rubric: str = typer.Argument(..., help="Rubric name (from rubrics/) or path to a rubric folder."),
    judge: str | None = judge_option(),
    gold: str | None = gold_option(),
    input_file: Path | None = typer.Option(
        None, "--input", help="Grade a .jsonl of items without human labels instead of a gold set."
    ),
    split: SplitName = typer.Option(SplitName.all, "--split", help="Which split of the gold set."),
    samples: int = samples_option(),
    aggregation: AggName = aggregation_option(),
    orders: OrdersName = orders_option(),
    temperature: float | None = temperature_option(),
    max_tokens: int | None = max_tokens_option(),
    seed: int | None = typer.Option(None, "--seed", help="Base sampling seed sent to the provider."),
    api_base: str | None = api_base_option(),
    api_key_env: str | None = api_key_env_option(),
    concurrency: int | None = concurrency_option(),
    timeout: float | None = timeout_option(),
    max_retries: int | None = max_retries_option(),
    max_calls: int | None = max_calls_option(),
    max_cost: float | None = max_cost_option(),
    deadline: float | None = deadline_option(),
    preflight: bool = preflight_option(),
    executor: ExecutorName = executor_option(),
    ray_address: str | None = ray_address_option(),
    ray_workers: int | None = ray_workers_option(),
    dry_run: bool = dry_run_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Grade every item of a gold set with a judge; store every call; reuse stored verdicts.

    Exit code 0 when the run finished (invalid answers and failed calls are outcomes, counted in
    the summary), 2 for bad input (an unset --api-key-env variable included), 3 when no unit got an
    answer at all or the provider refused the model, the key or every request (the run is stored as
    failed with the cause).
    """
    from judgecal.errors import ConfigError, ProviderError
    from judgecal.gold import find_gold, load_gold
    from judgecal.judge import grade
    from judgecal.rubric import find_rubric
    from judgecal.settings import load_config
    from judgecal.store import Store

    cfg = load_config().grade
    model = judge or cfg.judge
    if not model:
        raise ConfigError(
            "no judge given: pass --judge (e.g. --judge openai/gpt-4o-mini, or --judge sim/accurate for "
            "the bundled simulated judge), set JUDGECAL_JUDGE, or set grade.judge in judgecal.toml"
        )
    loaded_rubric = find_rubric(rubric)
    if input_file is not None:
        if gold is not None:
            raise ConfigError("give --gold or --input, not both")
        gold_set = load_gold(input_file, loaded_rubric, require_labels=False)
    else:
        gold_set = find_gold(gold or loaded_rubric.name, loaded_rubric)
    key_env, key = resolve_api_key(api_key_env, cfg)
    judge_cfg = judge_config(
        model,
        cfg,
        temperature=temperature,
        max_tokens=max_tokens,
        samples=samples,
        aggregation=aggregation,
        orders=orders,
        seed=seed,
        api_key_env=key_env,
    )
    limits = call_limits(
        cfg,
        concurrency=concurrency,
        timeout=timeout,
        max_retries=max_retries,
        max_calls=max_calls,
        max_cost=max_cost,
        deadline=deadline,
    )
    store = Store()
    if dry_run:
        from judgecal.plan import plan_grade

        print_plan(
            plan_grade(
                loaded_rubric, gold_set, judge_cfg, store=store, split=split.value, preflight=preflight
            )
        )
        return
    from judgecal.execute import use_executor
    from judgecal.judge import sim_items_from_gold

    spread = make_executor(
        executor,
        address=ray_address,
        workers=ray_workers,
        model=model,
        api_base=api_base or cfg.api_base,
        api_key=key,
        sim_items=sim_items_from_gold(loaded_rubric, gold_set.items)
        if model.startswith("sim/") and executor is ExecutorName.ray
        else None,  # only Ray's workers start simulators of their own
    )
    run = functools.partial(
        grade,
        loaded_rubric,
        gold_set,
        judge_cfg,
        store=store,
        split=split.value,
        limits=limits,
        api_base=api_base or cfg.api_base,
        api_key=key,
        preflight=preflight,
    )
    try:
        with use_executor(spread), show_progress("grading", quiet=quiet or as_json, width=7) as meter:
            result = run(progress=lambda _done, total: meter.set_stage("grading", total))
    finally:
        if spread is not None:
            spread.close()
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json", exclude={"verdicts"})))
    else:
        render_summary(result, gold_set.name, split.value)
    if result.n_units and result.n_ok + result.n_invalid == 0:
        cause = (store.get_run(result.run_id).error or "").removeprefix("no unit got an answer; ")
        raise ProviderError(
            f"no unit got an answer from {model}"
            + (f" ({cause})" if cause else "")
            + f"; see `judgecal runs show {result.run_id[:12]}`"
        )


def render_summary(result, gold_name: str, split: str) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(
        title=f"judgecal grade · {result.rubric} · {result.model}", show_header=False, title_justify="left"
    )
    table.add_column(style="bold")
    table.add_column()
    agree, n = result.agreement
    table.add_row("run", result.run_id[:12] + f"  ({result.status})")
    table.add_row(
        "gold set", f"{gold_name} · split {split} · {result.n_items} items · {result.n_units} units"
    )
    table.add_row(
        "verdicts",
        f"{result.n_ok} ok · {result.n_invalid} invalid · {result.n_error} failed"
        f" · {result.n_skipped} skipped",
    )
    table.add_row(
        "cache", f"{result.n_cached} reused · {result.n_calls} provider requests (retries included)"
    )
    lat = result.latency_ms
    table.add_row(
        "latency", f"p50 {fmt_ms(lat['p50'])} · p95 {fmt_ms(lat['p95'])} · p99 {fmt_ms(lat['p99'])}"
    )
    table.add_row("cost", fmt_cost(result.cost))
    if n:
        table.add_row(
            "raw agreement",
            f"{agree}/{n} items match the human majority ({agree / n:.1%}; raw, not chance-corrected)",
        )
    table.add_row("time", f"{result.wall_s:.1f} s")
    out.print(table)
