"""``judgecal validate``: grade + calibrate + probes + gate, and an approval record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from judgecal.cli._common import boundary, fmt_cost, fmt_ms, out, show_progress
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
    html_option,
    judge_config,
    judge_option,
    make_executor,
    markdown_option,
    max_calls_option,
    max_cost_option,
    max_retries_option,
    max_tokens_option,
    orders_option,
    preflight_option,
    print_plan,
    ray_address_option,
    ray_workers_option,
    report_json_option,
    samples_option,
    temperature_option,
    timeout_option,
)
from judgecal.cli._judging import api_key as resolve_api_key
from judgecal.cli._judging import limits as call_limits

TIER_STYLE = {
    "approved": "bold green",
    "approved_with_correction": "bold yellow",
    "provisional": "bold yellow",
    "inconclusive": "bold yellow",
    "rejected": "bold red",
}
STATUS_STYLE = {
    "pass": "green",
    "provisional": "yellow",
    "inconclusive": "yellow",
    "fail": "bold red",
    "skipped": "dim",
}


@boundary
def validate_command(
    rubric: str = typer.Argument(..., help="Rubric name (from rubrics/) or path to a rubric folder."),
    judge: str | None = judge_option(),
    gold: str | None = gold_option(),
    policy: Path | None = typer.Option(
        None, "--policy", envvar="JUDGECAL_POLICY", help="Approval policy YAML (default: the bundled one)."
    ),
    probe: list[str] = typer.Option(
        [], "--probe", "-p", help="Gate on these probes instead of the policy's list (repeatable)."
    ),
    family: str | None = typer.Option(
        None, "--family", help="The judge's model family for self-preference (default: inferred)."
    ),
    samples: int = samples_option(),
    aggregation: AggName = aggregation_option(),
    orders: OrdersName = orders_option(),
    temperature: float | None = temperature_option(),
    max_tokens: int | None = max_tokens_option(),
    api_base: str | None = api_base_option(),
    api_key_env: str | None = api_key_env_option(),
    concurrency: int | None = concurrency_option(),
    timeout: float | None = timeout_option(),
    max_retries: int | None = max_retries_option(),
    max_calls: int | None = max_calls_option(),
    max_cost: float | None = max_cost_option(),
    deadline: float | None = deadline_option(),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Seed for probe variants and bootstraps."),
    fail_fast: bool = typer.Option(
        False,
        "--fail-fast",
        help="Skip the bias probes once the calibration gates have rejected the judge (they could not "
        "change the decision).",
    ),
    preflight: bool = preflight_option(),
    executor: ExecutorName = executor_option(),
    ray_address: str | None = ray_address_option(),
    ray_workers: int | None = ray_workers_option(),
    dry_run: bool = dry_run_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the approval record as JSON."),
    out_file: Path | None = typer.Option(None, "--out", help="Also write the approval record (JSON) here."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    html: Path | None = html_option(),
    markdown: Path | None = markdown_option(),
    report_json: Path | None = report_json_option(),
) -> None:
    """Decide whether a judge may be trusted: grade the gold set's test split, calibrate against
    the human labels, run the gated bias probes, apply the approval policy, and store an approval
    record (for every outcome). With --fail-fast the probes are skipped when the calibration gates
    have already rejected the judge.

    Exit code 0 when approved (also with correction), 1 when provisional (too few labels: not an
    approval), inconclusive or rejected, 2 for bad input, 3 when the judge could not be reached.
    """
    from judgecal.approval import validate
    from judgecal.errors import ConfigError
    from judgecal.settings import load_config

    cfg = load_config().grade
    model = judge or cfg.judge
    if not model:
        raise ConfigError(
            "no judge given: pass --judge (e.g. --judge openai/gpt-4o-mini, or --judge sim/accurate for "
            "the bundled simulated judge), set JUDGECAL_JUDGE, or set grade.judge in judgecal.toml"
        )
    key_env, key = resolve_api_key(api_key_env, cfg)
    judge_cfg = judge_config(
        model,
        cfg,
        temperature=temperature,
        max_tokens=max_tokens,
        samples=samples,
        aggregation=aggregation,
        orders=orders,
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
    if dry_run:
        from judgecal.plan import plan_validation

        plan = plan_validation(
            rubric,
            judge_cfg,
            gold=gold,
            policy=policy,
            probes=list(probe) or None,
            judge_family=family,
            seed=seed,
            fail_fast=fail_fast,
            preflight=preflight,
        )
        print_plan(plan)
        return
    options: dict[str, Any] = {
        "gold": gold,
        "policy": policy,
        "probes": list(probe) or None,
        "api_base": api_base or cfg.api_base,
        "api_key": key,
        "limits": limits,
        "judge_family": family,
        "n_resamples": resamples,
        "seed": seed,
        "fail_fast": fail_fast,
        "preflight": preflight,
    }
    from judgecal.execute import use_executor

    sim_items = None
    if model.startswith("sim/") and executor is ExecutorName.ray:
        from judgecal.gold import find_gold
        from judgecal.judge import sim_items_from_gold
        from judgecal.rubric import find_rubric

        loaded = find_rubric(rubric)
        sim_items = sim_items_from_gold(loaded, find_gold(gold or loaded.name, loaded).items)
    spread = make_executor(
        executor,
        address=ray_address,
        workers=ray_workers,
        model=model,
        api_base=api_base or cfg.api_base,
        api_key=key,
        sim_items=sim_items,
    )
    try:
        with use_executor(spread), show_progress("grading the test split", quiet=quiet or as_json, width=28):
            result = validate(rubric, judge_cfg, **options)
    finally:
        if spread is not None:
            spread.close()
    record = result.certificate.model_dump(mode="json")
    if out_file is not None:
        _write_json(out_file, record)
    if as_json:
        out.print_json(json.dumps(record))
    else:
        render(result.certificate)
    from judgecal.cli.report import write_reports
    from judgecal.report.model import from_validation
    from judgecal.store import Store

    write_reports(
        lambda: from_validation(Store(), result), html=html, markdown=markdown, json_file=report_json
    )
    raise typer.Exit(result.exit_code)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temp file renamed into place): nothing half-written."""
    from judgecal._files import write_atomic

    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False))


def render(cert: Any, *, status: tuple[str, str] | None = None) -> None:
    """The decision, the gates and the record's vital figures."""
    from rich.markup import escape
    from rich.table import Table

    d = cert.decision
    style = TIER_STYLE[d.tier]
    out.print(
        f"[{style}]{d.tier.replace('_', ' ').upper()}[/]  {escape(cert.model)} on rubric "
        f"{escape(cert.rubric)} (gold {escape(cert.gold)}, test split)",
        highlight=False,
    )
    table = Table("gate", "checks", "status", show_lines=False, expand=False)
    for g in d.gates:
        table.add_row(g.gate, escape(g.name), f"[{STATUS_STYLE[g.status]}]{g.status}[/]")
    out.print(table)
    if d.tier == "provisional":
        out.print(
            "[yellow]provisional is not an approval (exit code 1):[/] graders use this judge only when the "
            'caller opts in (load_grader(..., allow_provisional=True), "allow_provisional": true over HTTP, '
            "--judgecal-allow-provisional), and every verdict then says approval_tier provisional",
            highlight=False,
        )
    out.print("[bold]figures:[/]" if d.tier == "approved" else "[bold]why:[/]")
    for reason in d.reasons:
        out.print(f"  - {escape(reason)}", highlight=False)
    if d.established:
        out.print("[bold]established by these labels:[/]")
        for line in d.established:
            out.print(f"  - {escape(line)}", highlight=False)
    if d.labels_needed:
        what = "approve" if d.tier == "provisional" else "decide"
        per_class = ", ".join(f"{n} {escape(label)}" for label, n in d.labels_needed_per_class.items())
        out.print(
            f"[bold]to {what}:[/] about {d.labels_needed} more human-labelled gold items"
            + (f" ({per_class}, by human majority)" if per_class else "")
            + " would likely settle the inconclusive gates (an estimate from the current intervals)",
            highlight=False,
        )
        out.print(
            f"  collect them: judgecal label {escape(cert.rubric)} --for {cert.id[:12]} --pool ITEMS.jsonl "
            "-a NAME -a NAME -a NAME (docs/labelling.md)",
            highlight=False,
            soft_wrap=True,
        )
    for ob in d.obligations:
        out.print(f"[yellow]obligation:[/] {escape(ob)}", highlight=False)
    lat = cert.latency_ms or {}
    out.print(
        f"record [bold]{cert.id[:12]}[/]  calls {cert.calls}  cost {fmt_cost(cert.cost)}  latency p50 "
        f"{fmt_ms(lat.get('p50'))} p95 {fmt_ms(lat.get('p95'))} p99 {fmt_ms(lat.get('p99'))}  "
        f"model version {escape(cert.model_version or 'not reported')}",
        highlight=False,
    )
    if status is not None:
        out.print(f"status: {status[0]} — {escape(status[1])}", highlight=False)
