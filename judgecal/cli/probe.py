"""``judgecal probe``: bias probes for a judge."""

from __future__ import annotations

import json

import typer

from judgecal.cli._common import SplitName, boundary, err, out
from judgecal.cli._judging import (
    api_base_option,
    api_key_env_option,
    concurrency_option,
    deadline_option,
    dry_run_option,
    judge_option,
    max_calls_option,
    max_cost_option,
    max_retries_option,
    preflight_option,
    print_plan,
    timeout_option,
)
from judgecal.cli._judging import api_key as resolve_api_key
from judgecal.cli._judging import limits as call_limits


@boundary
def probe_command(
    rubric: str | None = typer.Argument(None, help="Rubric name or folder (not needed with --list)."),
    judge: str | None = judge_option(),
    gold: str | None = typer.Option(None, "--gold", "-g", help="Gold set (default: the rubric's name)."),
    probe: list[str] = typer.Option(
        [], "--probe", "-p", help="Run only this probe (repeatable; default: all)."
    ),
    split: SplitName = typer.Option(
        SplitName.test, "--split", help="The gold split the probes derive cases from."
    ),
    family: str | None = typer.Option(
        None,
        "--family",
        help="The judge's model family for self-preference (default: inferred from the model string).",
    ),
    api_base: str | None = api_base_option(),
    api_key_env: str | None = api_key_env_option(),
    concurrency: int | None = concurrency_option(),
    timeout: float | None = timeout_option(),
    max_retries: int | None = max_retries_option(),
    max_calls: int | None = max_calls_option("Stop the whole battery after this many provider requests."),
    max_cost: float | None = max_cost_option("Stop the whole battery after spending this many USD."),
    deadline: float | None = deadline_option(),
    preflight: bool = preflight_option(),
    dry_run: bool = dry_run_option(),
    seed: int = typer.Option(0, "--seed", help="Seed for variants and bootstraps."),
    plan_only: bool = typer.Option(
        False, "--plan", help="Print each probe's cost in calls and whether it can pass; make no call."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run probes whose items cannot reach a pass (underpowered) anyway."
    ),
    list_only: bool = typer.Option(False, "--list", help="List the registered probes and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Run bias probes (position, verbosity, self-preference, injection, resample consistency,
    sensitivity, rewording, and any installed plugin) and show each statistic with its interval and
    outcome: pass, FAIL, inconclusive, underpowered (no call made: the items cannot reach a pass),
    undefined or not applicable. The gated probes are decided together (Holm within each probe's
    families, then across the probes).
    Exit code 1 when a gated probe fails, else 0. Probe runs go through the cache: a second run
    makes no provider call."""
    from judgecal.errors import ConfigError
    from judgecal.probes import available_probes

    if list_only:
        from rich.table import Table

        from judgecal.probes.base import ProbePluginError, probe_names

        table = Table("probe", "gated", "description")
        for name in probe_names():
            try:
                p = available_probes([name])[name]
            except ProbePluginError as exc:
                table.add_row(name, "", f"[red]cannot load[/]: {exc}")
                continue
            table.add_row(name, "yes" if p.gated else "", p.description)
        out.print(table)
        return
    if rubric is None:
        raise ConfigError("name a rubric (or use --list)")
    from judgecal.settings import load_config

    cfg = load_config().grade
    judge = judge or cfg.judge
    if not judge:
        raise ConfigError(
            "no judge given: pass --judge (e.g. --judge sim/position-biased), set JUDGECAL_JUDGE, or set "
            "grade.judge in judgecal.toml"
        )
    from judgecal.gold import find_gold
    from judgecal.judge import JudgeConfig
    from judgecal.probes import run_probes
    from judgecal.rubric import find_rubric

    r = find_rubric(rubric)
    g = find_gold(gold or r.name, r)
    if plan_only:
        from judgecal.probes.base import plan_probes

        render_plans(
            plan_probes(r, g, names=probe or None, split=split.value, judge_family=family), as_json=as_json
        )
        return
    key_env, key = resolve_api_key(api_key_env, cfg)
    judge_cfg = JudgeConfig(model=judge, api_key_env=key_env)
    if dry_run:
        from judgecal.plan import plan_probe

        print_plan(
            plan_probe(
                r,
                g,
                judge_cfg,
                names=probe or None,
                split=split.value,
                judge_family=family,
                seed=seed,
                force=force,
                preflight=preflight,
            )
        )
        return
    limits = call_limits(
        cfg,
        concurrency=concurrency,
        timeout=timeout,
        max_retries=max_retries,
        max_calls=max_calls,
        max_cost=max_cost,
        deadline=deadline,
    )
    with err.status("probing…"):
        report = run_probes(
            r,
            g,
            judge_cfg,
            preflight=preflight,
            api_base=api_base or cfg.api_base,
            api_key=key,
            names=probe or None,
            split=split.value,
            limits=limits,
            judge_family=family,
            seed=seed,
            force=force,
        )
    if as_json:
        out.print_json(json.dumps(report.model_dump(mode="json")))
    else:
        render(report)
    if report.failed:
        raise typer.Exit(1)


OUTCOME_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "underpowered": "yellow",
    "undefined": "yellow",
    "not_applicable": "dim",
}
"""Rich styles of the outcomes (the words themselves are ``judgecal.probes.base.OUTCOME_WORDS``)."""


def render_plans(plans, *, as_json: bool = False) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    if as_json:
        out.print_json(
            json.dumps(
                {
                    name: p if p is None or isinstance(p, str) else p.model_dump(mode="json")
                    for name, p in plans.items()
                }
            )
        )
        return
    table = Table("probe", "calls (at most)", "cases", "can pass", "why", title="judgecal probe --plan")
    total = 0
    for name, p in plans.items():
        if p is None:
            table.add_row(name, "?", "?", "?", "[dim]this probe does not plan[/]")
        elif isinstance(p, str):
            table.add_row(name, "0", "-", "-", f"[dim]not applicable: {escape(p)}[/]")
        else:
            total += p.calls
            can = "yes" if p.passable else f"[yellow]no: needs ≥ {p.min_items or '?'} items[/]"
            table.add_row(name, str(p.calls), str(p.cases), can, escape(p.reason))
    out.print(table)
    out.print(f"[dim]at most {total} judge calls in all (fewer when the store already has answers)[/]")


def render(report) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "probe",
        "statistic",
        "estimate [CI]",
        "n",
        "threshold",
        "result",
        title=f"judgecal probe · {report.rubric} · {report.judge} · split {report.split}",
        title_justify="left",
    )
    for r in report.results:
        if r.outcome in ("not_applicable", "underpowered"):
            style = OUTCOME_STYLE[r.outcome or "undefined"]
            table.add_row(r.probe, "-", "-", "-", "-", f"[{style}]{r.word}[/]")
            continue
        est = r.estimate
        shown = (
            "-"
            if est is None
            else (
                f"{est.value:.3f}"
                + (f" [{est.lo:.3f}, {est.hi:.3f}]" if est.lo is not None and est.hi is not None else "")
            )
        )
        verdict = f"[{OUTCOME_STYLE[r.outcome or 'undefined']}]{r.word}[/]"
        gate = "" if r.gated else " (report)"
        table.add_row(
            r.probe,
            escape(r.statistic),
            shown,
            str(r.n),
            escape(", ".join(f"{k} {v:g}" for k, v in r.threshold.items())),
            verdict + gate,
        )
    out.print(table)
    for r in report.results:
        if r.reason:
            out.print(f"[bold]{r.probe}[/] ({r.word}): {escape(r.reason)}", highlight=False)
    n_probes = sum(1 for r in report.results if r.gated and r.tests)
    if n_probes:
        out.print(
            f"[dim]gated probes decided together: Holm within each probe's families, then across "
            f"{n_probes} probes; family-wise false-fail rate {report.alpha:g}[/]"
        )
    out.print(f"[dim]{report.calls} provider requests[/]")
