"""``judgecal report``: the HTML, Markdown or JSON report of a stored run or approval record."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from judgecal.cli._common import SplitName, boundary, out


class FormatName(str, Enum):
    html = "html"
    md = "md"
    json = "json"


@boundary
def report_command(
    run_id: str | None = typer.Argument(
        None, help="A grading run, approval record or comparison id (or a unique prefix)."
    ),
    fmt: FormatName = typer.Option(
        FormatName.html, "--format", "-f", help="html, md (Markdown summary) or json."
    ),
    out_file: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Where to write it (default: judgecal-report-<id>.html for html; md and json go to stdout).",
    ),
    split: SplitName | None = typer.Option(
        None, "--split", help="A grading run: the split to report (default: the run's own; test for all)."
    ),
    resamples: int = typer.Option(2000, "--resamples", min=100, help="A grading run: bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="A grading run: bootstrap seed."),
    list_only: bool = typer.Option(
        False, "--list", help="List what can be reported: recent grading runs, approval records, comparisons."
    ),
) -> None:
    """Write the report of a stored run: a grading run gets the calibration view; an approval record
    (from `judgecal validate`) the full view with the decision and the probes; a comparison (from
    `judgecal compare`) the judges side by side. The HTML is one file that opens offline.
    """
    from judgecal.errors import ConfigError, NotFoundError
    from judgecal.report import model
    from judgecal.store import Store

    store = Store()
    if list_only:
        _list(store)
        return
    if not run_id:
        raise ConfigError("name a grading run, approval record or comparison id (`judgecal report --list`)")
    cert, run, comparison = _lookup(store, run_id)
    found = [x for x in (cert, run, comparison) if x is not None]
    if len(found) > 1:
        raise NotFoundError(
            f"{run_id!r} matches more than one of: "
            + ", ".join(
                f"{kind} {x.id}"
                for kind, x in (("run", run), ("approval record", cert), ("comparison", comparison))
                if x is not None
            )
            + ": give more characters"
        )
    if comparison is not None:
        report = model.from_comparison(store, comparison)
    elif cert is not None:
        report = model.from_certificate(store, cert)
    elif run.kind != "grade":
        raise ConfigError(
            f"run {run.id[:12]} is a {run.kind} run, not a grading run of gold items: report a grading run "
            "or the approval record of a validation (`judgecal approvals list`)"
        )
    else:
        report = model.from_run(
            store, run.id, split=None if split is None else split.value, n_resamples=resamples, seed=seed
        )
    subject = (comparison or cert or run).id
    if out_file is None and fmt is FormatName.html:
        out_file = Path(f"judgecal-report-{subject[:12]}.html")
    emit(report, fmt.value, out_file)


def _lookup(store: Any, ident: str) -> tuple[Any, Any, Any]:
    """(the approval record, the run, the comparison) the id or prefix names; not all None."""
    from judgecal.errors import NotFoundError
    from judgecal.store.ids import AmbiguousIdError

    found = []
    for get in (store.get_certificate, store.get_run, store.get_comparison):
        try:
            found.append(get(ident))
        except AmbiguousIdError:
            raise
        except NotFoundError:
            found.append(None)
    if found == [None, None, None]:
        raise NotFoundError(
            f"{ident!r} matches no run, approval record or comparison; `judgecal report --list` shows them"
        )
    return found[0], found[1], found[2]


def _list(store: Any, limit: int = 20) -> None:
    """The newest grading runs, approval records and comparisons, newest first."""
    from rich.markup import escape
    from rich.table import Column

    from judgecal.cli._listing import id_column, listing_table
    from judgecal.store import ApprovalRow, ComparisonRow, RunRow

    rows = [
        (r.created_at, "grading run", r.id, r.rubric_name, r.model)
        for r in store.list_runs(limit=limit, kind="grade")
    ]
    rows += [
        (c.created_at, f"approval\n({c.decision.tier.replace('_', ' ')})", c.id, c.rubric, c.model)
        for c in store.list_certificates(limit=limit)
    ]
    rows += [
        (c.created_at, "comparison", c.id, c.rubric, " vs ".join(j.name for j in c.judges))
        for c in store.list_comparisons(limit=limit)
    ]
    rows = sorted(rows, key=lambda r: r[0], reverse=True)[:limit]
    short = store.short_ids([r[2] for r in rows], RunRow, ApprovalRow, ComparisonRow)
    table = listing_table(
        id_column(short.values()),
        Column("what", no_wrap=True),
        Column("created (UTC)", no_wrap=True),
        Column("rubric", overflow="fold"),
        Column("judge(s)", overflow="fold"),
    )
    for created, what, ident, rubric, judges in rows:
        table.add_row(short[ident], what, f"{created:%Y-%m-%d %H:%M}", escape(rubric), escape(judges))
    out.print(table)


def emit(report: Any, fmt: str, path: Path | None) -> None:
    """Write the report to ``path`` (and say so on stderr), or print it when there is no path."""
    from judgecal.cli._common import err
    from judgecal.report import render, write

    if path is None:
        out.file.write(render(report, fmt))  # type: ignore[arg-type]
        return
    size = write(report, path, fmt)  # type: ignore[arg-type]
    listed = ", ".join(f"{v.name} {len(v.disagreements)}" for v in report.judges)
    err.print(
        f"report ({fmt}, {size:,} bytes): {path} — {report.title}; disagreements listed: {listed}",
        highlight=False,
        soft_wrap=True,
    )


def write_reports(
    report_factory: Any, *, html: Path | None, markdown: Path | None, json_file: Path | None
) -> None:
    """The --html/--markdown/--report-json options of validate, calibrate and compare."""
    if html is None and markdown is None and json_file is None:
        return
    report = report_factory()
    for fmt, path in (("html", html), ("md", markdown), ("json", json_file)):
        if path is not None:
            emit(report, fmt, path)
