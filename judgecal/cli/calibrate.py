"""``judgecal calibrate``: judge verdicts against human gold labels."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from judgecal.cli._common import SplitName, boundary, out
from judgecal.cli._judging import html_option, markdown_option, report_json_option
from judgecal.fmt import fmt_estimate as _fmt
from judgecal.fmt import fmt_number as _num


class OrderName(str, Enum):
    both = "both"
    ab = "ab"
    ba = "ba"


class AnnotatorType(str, Enum):
    expert = "expert"
    skilled = "skilled"
    crowd = "crowd"


@boundary
def calibrate_command(
    run_id: str | None = typer.Argument(None, help="A stored run id or prefix (default: the newest run)."),
    split: SplitName = typer.Option(
        SplitName.test, "--split", help="Approval figures use test; dev is for prompt work."
    ),
    judgments: Path | None = typer.Option(
        None,
        "--judgments",
        help="Import human labels and recorded judge verdicts (PandaLM, LLMBar, MT-Bench, CSV, JSONL).",
    ),
    fmt: str | None = typer.Option(None, "--format", help="Format of --judgments (default: detected)."),
    mapping: str | None = typer.Option(
        None, "--map", help="Column mapping for CSV/JSONL (docs/importers.md)."
    ),
    verdicts: Path | None = typer.Option(
        None, "--verdicts", help="Recorded verdicts (JSONL: item_id, judge, label, raw, order) for --gold."
    ),
    gold: str | None = typer.Option(
        None, "--gold", "-g", help="With --verdicts: the gold set (name or path)."
    ),
    rubric: str | None = typer.Option(
        None, "--rubric", "-r", help="With --verdicts: the rubric (default: the gold set's name)."
    ),
    judge: str | None = typer.Option(None, "--judge", "-j", help="Which judge of --judgments/--verdicts."),
    order: OrderName = typer.Option(
        OrderName.both, "--order", help="Pairwise: which recorded presentation orders to use."
    ),
    invalid_as: str | None = typer.Option(
        None,
        "--invalid-as",
        help="Count unparseable imported verdicts as this label (e.g. tie) instead of invalid.",
    ),
    annotators: AnnotatorType = typer.Option(
        AnnotatorType.skilled,
        "--annotators",
        help="Annotator type: sets the alt-test margin ε (0.2 / 0.15 / 0.1).",
    ),
    epsilon: float | None = typer.Option(
        None, "--epsilon", min=0, max=1, help="Alt-test margin ε (overrides --annotators)."
    ),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    confidence: float = typer.Option(
        0.95, "--confidence", min=0.5, max=0.999, help="Interval confidence level."
    ),
    min_slice_n: int = typer.Option(
        10, "--min-slice-n", min=1, help="Slices smaller than this are shown, not tested."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    output: Path | None = typer.Option(None, "--out", "-o", help="Also write the JSON report to this file."),
    html: Path | None = html_option(),
    markdown: Path | None = markdown_option(),
    report_json: Path | None = report_json_option(),
) -> None:
    """Agreement with human gold labels: chance-corrected statistics with intervals, the human
    ceiling, the alternative annotator test, the corrected pass rate, score calibration, slices."""
    from judgecal.calibrate import inputs
    from judgecal.calibrate.ceiling import EPSILON_BY_ANNOTATOR_TYPE
    from judgecal.calibrate.report import build_report
    from judgecal.errors import ConfigError, NotFoundError

    stored: Any = None
    if judgments is not None and verdicts is not None:
        raise ConfigError("give --judgments or --verdicts, not both")
    if judgments is not None:
        from judgecal.importers import load_judgments, parse_mapping

        options: dict[str, Any] = {}
        if mapping:
            options["mapping"] = parse_mapping(mapping)
        js = load_judgments(judgments, format=fmt, **options)
        name = judge or (next(iter(js.judges)) if len(js.judges) == 1 else None)
        if name is None:
            raise ConfigError(
                f"{judgments} has several judges: pick one with --judge ({', '.join(sorted(js.judges))})"
            )
        inp = inputs.input_from_judgments(js, name, order=order.value, invalid_as=invalid_as)
    elif verdicts is not None:
        from judgecal.gold import find_gold
        from judgecal.importers import load_verdicts
        from judgecal.rubric import find_rubric

        if gold is None:
            raise ConfigError("--verdicts needs --gold (the gold set the verdicts are about)")
        r = find_rubric(rubric or Path(gold).stem)
        g = find_gold(gold, r)
        recorded = load_verdicts(verdicts, labels=r.scale.labels, item_ids={it.id for it in g.items})
        name = judge or (next(iter(recorded)) if len(recorded) == 1 else None)
        if name is None or name not in recorded:
            raise NotFoundError(f"pick a judge with --judge: {', '.join(sorted(recorded))}")
        inp = inputs.input_from_verdicts(
            g,
            recorded[name],
            judge_name=name,
            scale=r.scale.kind,
            labels=list(r.scale.labels),
            order=order.value,
            invalid_as=invalid_as,
            rubric=r.name,
            pass_threshold=r.scale.pass_threshold,
            source=f"verdicts {verdicts}",
        )
    else:
        from judgecal.store import Store

        store = stored = Store()
        if run_id is None:
            runs = store.list_runs(limit=1, kind="grade")
            if not runs:
                raise NotFoundError("no runs yet: `judgecal grade <rubric> --judge <model>` makes one")
            run_id = runs[0].id
        inp = inputs.input_from_run(store, run_id)
    _require_split_items(inp, split.value)
    eps = epsilon if epsilon is not None else EPSILON_BY_ANNOTATOR_TYPE[annotators.value]
    report = build_report(
        inp,
        split=split.value,
        n_resamples=resamples,
        seed=seed,
        confidence=confidence,
        epsilon=eps,
        min_slice_n=min_slice_n,
    )
    payload = report.model_dump_json(indent=2)
    if output is not None:
        from judgecal._files import write_atomic

        write_atomic(output, payload)  # never a half-written report
    if as_json:
        out.print_json(payload)
    else:
        render(report)
    from judgecal.cli.report import write_reports
    from judgecal.report.model import from_calibration

    write_reports(
        lambda: from_calibration(inp, report, store=stored),
        html=html,
        markdown=markdown,
        json_file=report_json,
    )


def _require_split_items(inp: Any, split: str) -> None:
    """A split with no items gives no figure at all: say so (exit 2) instead of a table of
    undefined values."""
    from collections import Counter

    from judgecal.errors import InputError

    have = Counter(it.split for it in inp.items)
    if split == "all" and inp.items or have[split]:
        return
    what = ", ".join(f"{n} {name}" for name, n in sorted(have.items())) or "none"
    hints = [f"use --split {name} or --split all" for name in ("test", "dev") if have[name]][:1]
    if split != "all":
        hints.append(f"grade that split with `judgecal grade {inp.rubric or '<rubric>'} --split {split}`")
    raise InputError(
        f"no {split}-split items to calibrate on in {inp.source} (items by split: {what})"
        + "".join(f"; {hint}" for hint in hints),
        field="--split",
    )


def render(report: Any) -> None:  # noqa: C901 - one linear rendering
    from rich.table import Table

    c = report.counts
    title = (
        f"judgecal calibrate · {report.rubric or '-'} · {report.judge} · split {report.split} · "
        f"{c['with_majority']} items with a human majority"
    )
    out.print(f"[bold]{title}[/]", highlight=False)
    out.print(
        f"invalid verdicts: {c['judge_invalid']} of {c['judge_ok'] + c['judge_invalid']} "
        f"({_fmt(report.invalid_rate, pct=True)})"
        + (
            f" · no verdict (failed calls): {c['judge_error'] + c['judge_skipped']}"
            if c["judge_error"] + c["judge_skipped"]
            else ""
        )
        + (f" · dev-split versions so far: {report.dev_versions}" if report.dev_versions is not None else ""),
        highlight=False,
    )
    a, b = report.agreement["invalid_as_disagreement"], report.agreement["invalid_excluded"]
    t = Table(
        "judge vs human majority",
        f"invalid = disagreement (n={a.n})",
        f"invalid excluded (n={b.n})",
        title=f"agreement, {int(report.confidence * 100)}% intervals",
        title_justify="left",
    )
    t.add_row("percent agreement", _fmt(a.percent_agreement, True), _fmt(b.percent_agreement, True))
    t.add_row("Cohen's κ", _fmt(a.cohen_kappa), _fmt(b.cohen_kappa))
    t.add_row("Scott's π", _fmt(a.scott_pi), _fmt(b.scott_pi))
    t.add_row("Gwet's AC1", _fmt(a.gwet_ac1), _fmt(b.gwet_ac1))
    for w in a.weighted_kappa:
        t.add_row(f"κ ({w} weights)", _fmt(a.weighted_kappa[w]), _fmt(b.weighted_kappa.get(w)))
    if a.tpr is not None:
        t.add_row("TPR (pass recall)", _fmt(a.tpr, True), _fmt(b.tpr, True))
        t.add_row("TNR (fail recall)", _fmt(a.tnr, True), _fmt(b.tnr, True))
        t.add_row(
            "Youden's J",
            f"{a.youden_j:.3f}" if a.youden_j is not None else "-",
            f"{b.youden_j:.3f}" if b.youden_j is not None else "-",
        )
    for key, est in a.mt_bench.items():
        t.add_row(f"MT-Bench {key.replace('_', ' ')}", _fmt(est, True), _fmt(b.mt_bench.get(key), True))
    if a.correlations:
        t.add_row(
            "Spearman / Kendall τ-b",
            f"{a.correlations['spearman']:.3f} / {a.correlations['kendall_tau_b']:.3f}",
            "",
        )
        t.add_row("MAE", f"{a.mae:.3f}" if a.mae is not None else "-", "")
    t.add_row("macro F1", f"{a.macro['f1']:.3f}", f"{b.macro['f1']:.3f}")
    out.print(t)
    if report.ceiling:
        h = report.ceiling["human_agreement"]
        loo = report.ceiling["leave_one_out"]
        alt = report.ceiling["alt_test"]
        mean_kappa = h["mean_pairwise_kappa"]
        out.print(
            f"[bold]human ceiling[/]: {len(h['annotators'])} annotators, mean pairwise κ "
            f"{'undefined' if mean_kappa is None else round(mean_kappa, 3)}, "
            f"Krippendorff α {_fmt(h['alpha'])} (n={h['n_items_2plus']})",
            highlight=False,
        )
        out.print(
            f"leave one annotator out: judge vs the others {_fmt(loo['judge_agreement'], True)}, "
            f"a human vs the others {_fmt(loo['human_agreement'], True)}, "
            f"difference {_fmt(loo['agreement_difference'], True)}",
            highlight=False,
        )
        verdict = "[green]passes[/]" if alt["passed"] else "[red]fails[/]"
        out.print(
            f"alternative annotator test (ε={alt['epsilon']}): {verdict} · winning rate "
            f"{alt['winning_rate']} over {alt['m']} annotators · "
            f"advantage probability {_num(alt['advantage_probability'])}",
        )
    cp = report.corrected_pass_rate
    if cp:
        out.print(
            f"[bold]pass rate[/]: judge {_fmt(cp['observed'], True)} → "
            f"corrected {_fmt(cp['corrected'], True)} (humans {_fmt(cp['human_pass_rate'], True)}; "
            "Rogan–Gladen, Lee et al. interval)",
            highlight=False,
        )
    sc = report.score_calibration
    if sc:
        test = sc["test"]
        out.print(
            f"score calibration (isotonic on dev, n={sc['map']['n']}; test n={test['n']}): ECE raw "
            f"{test['raw']['ece']:.3f} → {test['calibrated']['ece']:.3f}, Brier {test['raw']['brier']:.3f} → "
            f"{test['calibrated']['brier']:.3f}",
            highlight=False,
        )
    if report.slices:
        st = Table("slice", "n", "agreement", "κ", "p (Holm)", "", title="by slice", title_justify="left")
        for row in report.slices:
            st.add_row(
                row.slice,
                str(row.n),
                _fmt(row.percent_agreement, True),
                "-" if row.cohen_kappa is None else f"{row.cohen_kappa:.2f}",
                "-" if row.p_adjusted is None else f"{row.p_adjusted:.3f}",
                "[red]worse than the rest[/]" if row.flagged else ("" if row.reported else "n < min"),
            )
        out.print(st)
    for note in report.notes:
        out.print(f"[dim]note: {note}[/]", highlight=False)
