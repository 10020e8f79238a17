"""``judgecal compare``: several judges on the same gold items; can B replace A?"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from judgecal.cli._common import SplitName, boundary, fmt_cost, fmt_ms, out


@boundary
def compare_command(
    rubric: str = typer.Argument(..., help="Rubric name (from rubrics/) or path to a rubric folder."),
    judge: list[str] = typer.Option(
        ..., "--judge", "-j", help="A judge's model string (repeat; the first is the incumbent)."
    ),
    gold: str | None = typer.Option(None, "--gold", "-g", help="Gold set (default: the rubric's name)."),
    split: SplitName = typer.Option(SplitName.test, "--split", help="Which split of the gold set."),
    margin: float | None = typer.Option(
        None, "--margin", min=0.0001, max=1, help="Non-inferiority margin (default: the policy's, 0.05)."
    ),
    policy: Path | None = typer.Option(None, "--policy", envvar="JUDGECAL_POLICY", help="Policy YAML."),
    samples: int = typer.Option(1, "--samples", min=1, max=100, help="Samples per item."),
    temperature: float = typer.Option(0.0, "--temperature", min=0, max=2, help="Sampling temperature."),
    api_base: str | None = typer.Option(
        None, "--api-base", envvar="JUDGECAL_API_BASE", help="OpenAI-compatible base URL."
    ),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Grade two or more judges on the same gold items, show them side by side, and answer "can B
    replace A?" for every pair with a paired non-inferiority test on agreement with the humans
    (invalid verdicts count as disagreements). Exit code 0: a comparison is information, not a gate."""
    from rich.markup import escape
    from rich.table import Table

    from judgecal.approval import load_policy
    from judgecal.compare import compare_judges
    from judgecal.gold import find_gold
    from judgecal.judge import JudgeConfig, Sampling
    from judgecal.rubric import find_rubric

    pol = load_policy(policy)
    loaded = find_rubric(rubric)
    gold_set = find_gold(gold or loaded.name, loaded)
    configs = [
        JudgeConfig(model=m, samples=samples, sampling=Sampling(temperature=temperature)) for m in judge
    ]
    result = compare_judges(
        loaded,
        gold_set,
        configs,
        split=split.value,
        margin=pol.compare.margin if margin is None else margin,
        metric=pol.compare.metric,
        confidence=pol.confidence,
        n_resamples=resamples,
        seed=seed,
        api_base=api_base,
    )
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json")))
        return
    table = Table("", *[escape(j.model) for j in result.judges])
    rows = [
        ("agreement", [f"{j.percent_agreement:.3f}" for j in result.judges]),
        ("Cohen's κ", [f"{j.cohen_kappa:.3f}" for j in result.judges]),
        (
            "TPR / TNR",
            [
                f"{j.tpr:.3f} / {j.tnr:.3f}" if j.tpr is not None and j.tnr is not None else "-"
                for j in result.judges
            ],
        ),
        ("invalid rate", [f"{j.invalid_rate:.3f}" for j in result.judges]),
        ("cost", [fmt_cost(j.cost) for j in result.judges]),
        ("calls", [str(j.calls) for j in result.judges]),
        (
            "latency p50 / p95",
            [f"{fmt_ms(j.latency_ms.get('p50'))} / {fmt_ms(j.latency_ms.get('p95'))}" for j in result.judges],
        ),
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    out.print(
        f"{result.n_items} items of {escape(result.gold)} ({result.split} split), "
        f"rubric {escape(result.rubric)}"
    )
    out.print(table)
    for pair in result.pairs:
        mark = "[green]yes[/]" if pair.non_inferior else "[red]no[/]"
        out.print(f"{mark}  {escape(pair.answer)}  (McNemar p {pair.mcnemar_p:.3g})", highlight=False)
