"""``judgecal runs``: stored runs. Error texts and raw answers are stored redacted of keys; what
is shown passes :func:`judgecal.redact.redact` again (a database written before redaction)."""

from __future__ import annotations

import json

import typer

from judgecal.cli._common import boundary, out
from judgecal.redact import redact

runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)


@runs_app.command("list")
@boundary
def list_runs(
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    rubric: str | None = typer.Option(None, "--rubric", help="Only runs of this rubric."),
    kind: str | None = typer.Option(None, "--kind", help="Only 'grade' runs or only 'probe' runs."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The newest runs first."""
    from rich.table import Column

    from judgecal.cli._listing import id_column, listing_table
    from judgecal.store import RunRow, Store

    store = Store()
    runs = store.list_runs(limit=limit, rubric=rubric, kind=kind)
    if as_json:
        out.print_json(redact(json.dumps([r.model_dump(mode="json") for r in runs])))
        return
    if not runs:
        out.print("no runs yet: `judgecal grade <rubric> --judge <model>` makes one")
        return
    short = store.short_ids([r.id for r in runs], RunRow)
    table = listing_table(
        id_column(short.values(), "run"),
        Column("created\n(UTC)", no_wrap=True),
        Column("status", no_wrap=True),
        Column("rubric · split", overflow="fold"),
        Column("model", overflow="fold"),
        Column("ok/inv/\nfail", no_wrap=True),
        Column("cached", no_wrap=True),
        Column("cost", no_wrap=True),
    )
    for r in runs:
        table.add_row(
            short[r.id],
            r.created_at.strftime("%m-%d %H:%M"),
            r.status if r.kind == "grade" else f"{r.status}\n({r.kind})",
            f"{r.rubric_name} · {r.split}",
            r.model,
            f"{r.n_ok}/{r.n_invalid}/{r.n_error}",
            f"{r.n_cached}/{r.n_units}",
            "-" if r.cost is None else f"${r.cost:.4f}",
        )
    out.print(table)


@runs_app.command("show")
@boundary
def show_run(
    run_id: str = typer.Argument(..., help="A run id or a unique prefix of one."),
    items: bool = typer.Option(False, "--items", help="List every unit's verdict."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One run: its configuration, hashes, counts and (with --items) verdicts."""
    from rich.table import Table

    from judgecal.store import Store

    store = Store()
    run = store.get_run(run_id)
    rows = store.run_calls(run.id) if (items or as_json) else []
    if as_json:
        payload = run.model_dump(mode="json")
        payload["units"] = [
            {
                **ri.model_dump(mode="json"),
                "call": None if c is None else c.model_dump(mode="json", exclude={"prompt_json"}),
            }
            for ri, c in rows
        ]
        out.print_json(redact(json.dumps(payload)))
        return
    table = Table(show_header=False, title=f"run {run.id}", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    values = run.model_dump()
    for key in type(run).model_fields:
        if key != "id":
            table.add_row(key, "-" if values[key] is None else redact(str(values[key])))
    out.print(table)
    if items:
        t = Table(
            "item",
            "order",
            "sample",
            "status",
            "verdict",
            "cached",
            "latency",
            "reason / error",
            show_lines=False,
        )
        for ri, call in rows:
            note = ""
            if call is not None:
                note = call.error or call.invalid_reason or (call.reasoning or "")[:80]
            t.add_row(
                ri.item_id,
                ri.order or "-",
                str(ri.sample_index),
                ri.status,
                (call.label if call else None) or "-",
                "yes" if ri.cached else "",
                f"{call.latency_ms:.0f} ms" if call and call.latency_ms else "-",
                redact(note),
            )
        out.print(t)
