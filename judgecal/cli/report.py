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
    run_id: str = typer.Argument(..., help="A grading run id or an approval record id (or a unique prefix)."),
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
) -> None:
    """Write the report of a stored run: a grading run gets the calibration view; an approval record
    (from `judgecal validate`) the full view with the decision and the probes. The HTML is one file
    that opens offline. `judgecal compare` is not stored: use its --html/--markdown options.
    """
    from judgecal.errors import ConfigError, NotFoundError
    from judgecal.report import model
    from judgecal.store import Store

    store = Store()
    cert, run = _lookup(store, run_id)
    if cert is not None and run is not None:
        raise NotFoundError(
            f"{run_id!r} matches both run {run.id[:12]} and approval record {cert.id[:12]}: "
            "give more characters"
        )
    if cert is not None:
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
    subject = (cert or run).id
    if out_file is None and fmt is FormatName.html:
        out_file = Path(f"judgecal-report-{subject[:12]}.html")
    emit(report, fmt.value, out_file)


def _lookup(store: Any, ident: str) -> tuple[Any, Any]:
    """(the approval record, the run) the id or prefix names; either may be None, not both."""
    from judgecal.errors import NotFoundError

    found = []
    for get in (store.get_certificate, store.get_run):
        try:
            found.append(get(ident))
        except NotFoundError:
            found.append(None)
    if found == [None, None]:
        raise NotFoundError(
            f"{ident!r} matches no run and no approval record; `judgecal runs list` and "
            "`judgecal approvals list` show them"
        )
    return found[0], found[1]


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
