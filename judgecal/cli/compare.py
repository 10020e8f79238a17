"""``judgecal compare``: several judges on the same gold items; can B replace A?"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from judgecal.cli._common import SplitName, boundary, fmt_ms, out, show_progress
from judgecal.cli._judging import (
    AggName,
    OrdersName,
    aggregation_option,
    api_base_option,
    api_key_env_option,
    concurrency_option,
    deadline_option,
    dry_run_option,
    gold_option,
    html_option,
    judge_config,
    markdown_option,
    max_calls_option,
    max_cost_option,
    max_retries_option,
    max_tokens_option,
    orders_option,
    preflight_option,
    print_plan,
    report_json_option,
    samples_option,
    temperature_option,
    timeout_option,
)
from judgecal.cli._judging import api_key as resolve_api_key
from judgecal.cli._judging import limits as call_limits


class MetricName(str, Enum):
    cohen_kappa = "cohen_kappa"
    percent_agreement = "percent_agreement"


VERDICT = {
    "superior": "[bold green]yes[/], better",
    "interchangeable": "[green]yes[/], interchangeable",
    "non_inferior": "[green]yes[/], not worse",
    "not_shown": "[yellow]not shown[/]",
    "inferior": "[bold red]no[/], worse",
    "undetermined": "[dim]undetermined[/]",
}
"""The short answer per conclusion (see ``PairVerdict.conclusion``)."""


@boundary
def compare_command(
    rubric: str = typer.Argument(..., help="Rubric name (from rubrics/) or path to a rubric folder."),
    judge: list[str] = typer.Option(
        ...,
        "--judge",
        "-j",
        help="A judge's model string or sim/<preset> (repeat; the first is the incumbent).",
    ),
    gold: str | None = gold_option(),
    split: SplitName = typer.Option(SplitName.test, "--split", help="Which split of the gold set."),
    margin: float | None = typer.Option(
        None,
        "--margin",
        min=0.0001,
        max=0.9999,
        help="Non-inferiority margin (default: the policy's compare.margin, 0.05).",
    ),
    metric: MetricName | None = typer.Option(
        None, "--metric", help="Measure compared (default: the policy's compare.metric, cohen_kappa)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", envvar="JUDGECAL_POLICY", help="Approval policy YAML (default: the bundled one)."
    ),
    samples: int = samples_option("Samples per item (every judge)."),
    aggregation: AggName = aggregation_option(),
    orders: OrdersName = orders_option(),
    temperature: float | None = temperature_option(),
    max_tokens: int | None = max_tokens_option(),
    api_base: str | None = api_base_option(),
    api_key_env: str | None = api_key_env_option(),
    concurrency: int | None = concurrency_option(),
    timeout: float | None = timeout_option(),
    max_retries: int | None = max_retries_option(),
    max_calls: int | None = max_calls_option("Stop each judge after this many provider requests."),
    max_cost: float | None = max_cost_option("Stop each judge after spending this many USD."),
    deadline: float | None = deadline_option(),
    preflight: bool = preflight_option(),
    dry_run: bool = dry_run_option(),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    out_file: Path | None = typer.Option(None, "--out", help="Also write the comparison (JSON) here."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    html: Path | None = html_option(),
    markdown: Path | None = markdown_option(),
    report_json: Path | None = report_json_option(),
) -> None:
    """Grade two or more judges on the same gold items, show them side by side, and answer "can
    B replace A?" for every pair: a paired non-inferiority test on agreement with the humans
    (invalid verdicts count as disagreements), margin from the approval policy.

    Exit code 0 (a comparison is information, not a gate), 2 for bad input, 3 when a judge
    could not be reached at all.
    """
    from judgecal.cli.validate import _write_json
    from judgecal.compare import _policy_compare, compare_judges
    from judgecal.settings import load_config

    cfg = load_config().grade
    policy_margin, policy_metric, confidence = _policy_compare(policy)
    key_env, key = resolve_api_key(api_key_env, cfg)
    configs = [
        judge_config(
            m,
            cfg,
            temperature=temperature,
            max_tokens=max_tokens,
            samples=samples,
            aggregation=aggregation,
            orders=orders,
            api_key_env=key_env,
        )
        for m in judge
    ]
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
        from judgecal.gold import find_gold
        from judgecal.plan import plan_compare
        from judgecal.rubric import find_rubric

        rubric_ = find_rubric(rubric)
        gold_ = find_gold(gold or rubric_.name, rubric_)
        print_plan(plan_compare(rubric_, gold_, configs, split=split.value, preflight=preflight))
        return
    options: dict[str, Any] = {
        "preflight": preflight,
        "split": split.value,
        "margin": policy_margin if margin is None else margin,
        "metric": policy_metric if metric is None else metric.value,
        "confidence": confidence,
        "n_resamples": resamples,
        "seed": seed,
        "limits": limits,
        "api_base": api_base or cfg.api_base,
        "api_key": key,
    }
    with show_progress("grading", quiet=quiet or as_json, width=32) as meter:

        def progress(stage: str, _done: int, total: int) -> None:
            if stage.startswith("grading:"):  # one stage per judge: their units add up
                meter.set_stage(f"grading {stage[8:]}", total)
            else:
                meter.set_stage(stage)

        result = compare_judges(rubric, gold, configs, progress=progress, **options)
    data = result.model_dump(mode="json")
    if out_file is not None:
        _write_json(out_file, data)
    if as_json:
        out.print_json(json.dumps(data))
    else:
        render(result)
    from judgecal.cli.report import write_reports
    from judgecal.report.model import from_comparison
    from judgecal.store import Store

    write_reports(
        lambda: from_comparison(Store(), result), html=html, markdown=markdown, json_file=report_json
    )


def _est(e: Any, pct: bool = False) -> str:
    """``0.724 (0.521–0.883)``: a value and its interval."""
    if e is None or e.value != e.value:  # None or nan
        return "-"

    def fmt(x: float) -> str:
        return f"{x:.1%}" if pct else f"{x:.3f}"

    ci = f" ({fmt(e.lo)}–{fmt(e.hi)})" if e.lo is not None and e.hi is not None else ""
    return f"{fmt(e.value)}{ci}"


def _cost(j: Any) -> str:
    if j.cost is None:
        return "unknown price"
    per = f" (${j.cost_per_item * 1000:.2f}/1k)" if j.cost_per_item is not None else ""
    return f"${j.cost:.4f}{per}"


def render(result: Any) -> None:
    """The judges side by side, then one row per ordered pair, then the incumbent's answers."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    out.print(
        f"[bold]judgecal compare[/] · rubric {escape(result.rubric)} · gold {escape(result.gold)} "
        f"({result.split} split) · {result.n_items} items every judge answered",
        highlight=False,
    )
    js = result.judges
    table = Table(
        "",
        *[escape(j.name) + ("\n(incumbent)" if i == 0 else "") for i, j in enumerate(js)],
        box=box.SIMPLE_HEAD,
    )
    kappa = "quadratic-weighted κ" if result.metric_label == "quadratic-weighted κ" else "Cohen's κ"
    rows = [
        (
            f"agreement ({js[0].percent_agreement.confidence:.0%} CI)",
            [_est(j.percent_agreement, True) for j in js],
        ),
        (f"{kappa} ({js[0].kappa.confidence:.0%} CI)", [_est(j.kappa) for j in js]),
        ("TPR / TNR", [f"{j.tpr.value:.1%} / {j.tnr.value:.1%}" if j.tpr and j.tnr else "-" for j in js]),
        ("invalid verdicts", [_est(j.invalid_rate, True) for j in js]),
        ("left out (no verdict)", [str(j.left_out) for j in js]),
        ("cost of the verdicts", [_cost(j) for j in js]),
        ("calls now / cached", [f"{j.calls} / {j.cached}" for j in js]),
        (
            "latency p50/p95/p99",
            ["/".join(fmt_ms(j.latency_ms.get(p)) for p in ("p50", "p95", "p99")) for j in js],
        ),
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    out.print(table)
    conf = f"{2 * result.confidence - 1:.0%}"
    pairs = Table(
        "B (candidate)",
        "A (in use)",
        f"Δ = B − A ({conf} CI)",
        "B can replace A?",
        "only A : only B right, McNemar p",
        box=box.SIMPLE_HEAD,
        title=f"Can B replace A? Paired non-inferiority on {escape(result.metric_label)}, margin "
        f"{result.margin:g}: yes when the CI's lower end > −{result.margin:g}",
        title_justify="left",
    )
    for p in result.pairs:
        d = p.delta
        answer = VERDICT[p.conclusion]
        if p.items_needed:
            answer += f" (≈{p.items_needed} items)"
        delta = "-" if d.value != d.value else f"{d.value:+.3f}"
        if d.lo is not None and d.hi is not None:
            delta += f" ({d.lo:+.3f}, {d.hi:+.3f})"
        pairs.add_row(
            escape(p.candidate),
            escape(p.incumbent),
            delta,
            answer,
            f"{p.discordant['a_only']} : {p.discordant['b_only']}, p {p.mcnemar_p:.2g}",
        )
    out.print(pairs)
    for p in result.pairs[: 2 * (len(js) - 1)]:  # the incumbent's pairs, both ways
        out.print(f"- {escape(p.answer)}", highlight=False)
    for note in result.notes:
        out.print(f"[dim]note:[/] {escape(note)}", highlight=False)
    out.print(
        f"comparison {result.id[:12]} stored: `judgecal report {result.id[:12]}` writes its HTML report",
        highlight=False,
    )
