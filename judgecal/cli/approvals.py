"""``judgecal approvals``: the approval records (certificates)."""

from __future__ import annotations

import json
import textwrap

import typer

from judgecal.cli._common import boundary, out

_REASON_WIDTH = 16
"""Characters per line of a stale record's reason in the status column (the column does not wrap,
so that a status is never cut at 80 columns)."""

approvals_app = typer.Typer(help="Approval records: list, show, revoke.", no_args_is_help=True)


@approvals_app.command("list")
@boundary
def list_approvals(
    rubric: str | None = typer.Option(None, "--rubric", "-r", help="Only this rubric's records."),
    judge: str | None = typer.Option(None, "--judge", "-j", help="Only this model string's records."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Newest N records."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List approval records, newest first, with whether each still applies (valid, provisional —
    usable only with an explicit opt-in —, stale, expired, revoked, or not approved) and when it
    expires (the policy's max_age; - when it does not)."""
    from rich.markup import escape
    from rich.table import Column

    from judgecal.cli._listing import id_column, listing_table
    from judgecal.store import ApprovalRow, Store

    store = Store()
    certs = store.list_certificates(rubric=rubric, model=judge, limit=limit)
    rows = []
    for cert in certs:
        status, why = cert.status()
        rows.append((cert, status, why))
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "created_at": c.created_at.isoformat(),
                        "rubric": c.rubric,
                        "model": c.model,
                        "tier": c.tier,
                        "status": s,
                        "status_reason": w,
                        "expires_at": None if c.expires_at is None else c.expires_at.isoformat(),
                    }
                    for c, s, w in rows
                ]
            )
        )
        return
    if not rows:
        out.print("no approval records yet: `judgecal validate RUBRIC --judge MODEL` makes one")
        return
    short = store.short_ids([c.id for c, _s, _w in rows], ApprovalRow)
    table = listing_table(
        id_column(short.values()),
        Column("created\n(UTC)", no_wrap=True),
        Column("rubric", overflow="fold"),
        Column("judge", overflow="fold"),
        Column("tier", no_wrap=True),
        Column("status", no_wrap=True),
        Column("expires\n(UTC)", no_wrap=True),
    )
    style = {
        "valid": "green",
        "provisional": "yellow",
        "stale": "yellow",
        "expired": "yellow",
        "revoked": "red",
        "not_approved": "dim",
    }
    for c, s, w in rows:
        why = "\n" + escape(textwrap.fill(f"({w})", _REASON_WIDTH)) if s == "stale" else ""
        table.add_row(
            short[c.id],
            f"{c.created_at:%Y-%m-%d\n%H:%M}",
            escape(c.rubric),
            escape(c.model),
            c.tier.replace("_", "\n"),
            f"[{style[s]}]{s.replace('_', chr(10))}[/]{why}",
            "-" if c.expires_at is None else f"{c.expires_at:%Y-%m-%d\n%H:%M}",
        )
    out.print(table)


@approvals_app.command("show")
@boundary
def show_approval(
    record_id: str = typer.Argument(..., help="Record id or a unique prefix."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
) -> None:
    """Show one approval record: decision, gates, hashes, cost and latency, and whether it still applies."""
    from judgecal.cli.validate import render
    from judgecal.store import Store

    cert = Store().get_certificate(record_id)
    if as_json:
        out.print_json(cert.model_dump_json())
        return
    render(cert, status=cert.status())
    out.print("hashes: " + ", ".join(f"{k} {v[:12]}" for k, v in cert.hashes.items()), highlight=False)


@approvals_app.command("revoke")
@boundary
def revoke_approval(
    record_id: str = typer.Argument(..., help="Record id or a unique prefix."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the record)."),
) -> None:
    """Revoke an approval: graders and the service stop using it (the record is kept)."""
    from judgecal.store import Store

    cert = Store().revoke_certificate(record_id, reason)
    out.print(f"revoked {cert.id[:12]} ({cert.model} on {cert.rubric}): {reason}", highlight=False)
