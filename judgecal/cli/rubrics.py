"""``judgecal rubrics``: list, validate and render rubrics (and check gold sets against them)."""

from __future__ import annotations

import sys

import typer

from judgecal.cli._common import boundary, err, out

rubrics_app = typer.Typer(help="List, validate and render rubrics.", no_args_is_help=True)


@rubrics_app.command("list")
@boundary
def list_rubrics_command() -> None:
    """Every rubric on the search path (./rubrics, $JUDGECAL_RUBRICS, the bundled ones)."""
    from rich.markup import escape
    from rich.table import Column, Table

    from judgecal.errors import RubricError
    from judgecal.rubric import list_rubrics, load_rubric

    table = Table(
        Column("rubric", no_wrap=True),
        Column("scale", no_wrap=True),
        "criteria",
        "version",
        Column("hash", no_wrap=True),
        "inputs",
    )
    for name, folder in list_rubrics().items():
        try:
            r = load_rubric(folder)
        except RubricError as exc:
            table.add_row(name, "[red]invalid[/]", "", "", "", escape(str(exc)))
            continue
        scale = r.scale.kind + (f" 1..{len(r.scale.labels)}" if r.scale.kind == "ordinal" else "")
        table.add_row(name, scale, str(len(r.criteria)), r.version, r.rubric_hash[:12], ", ".join(r.inputs))
    out.print(table)


@rubrics_app.command("validate")
@boundary
def validate(
    rubrics: list[str] = typer.Argument(..., help="Rubric names or folders."),
    gold: str | None = typer.Option(
        None, "--gold", "-g", help="Also validate this gold set against the rubric."
    ),
) -> None:
    """Validate rubrics (and a gold set); exit code 2 with file:line: field on the first problem."""
    from judgecal.gold import find_gold
    from judgecal.rubric import find_rubric

    for name in rubrics:
        r = find_rubric(name)
        out.print(
            f"[green]ok[/] rubric {r.name} ({r.scale.kind}, "
            f"rubric {r.rubric_hash[:12]}, template {r.template_hash[:12]})"
        )
        if gold:
            g = find_gold(gold, r)
            n_dev = sum(1 for s in g.splits.values() if s == "dev")
            out.print(
                f"[green]ok[/] gold set {g.name}: {len(g.items)} items, "
                f"annotators {', '.join(g.annotators)}, "
                f"{n_dev} dev / {len(g.items) - n_dev} test (split {g.split_hash[:12]})"
            )
            tied = [it.id for it in g.items if it.labels and it.majority() is None]
            if tied:
                shown = ", ".join(tied[:10]) + (", ..." if len(tied) > 10 else "")
                out.print(
                    f"[yellow]note:[/] {len(tied)} of {len(g.items)} items have no majority label "
                    f"(their annotators tie): {shown}. Calibration and approval leave them out; "
                    "add an annotator or adjudicate them to count them.",
                    highlight=False,
                )


@rubrics_app.command("render")
@boundary
def render(
    rubric: str = typer.Argument(..., help="Rubric name or folder."),
    gold: str | None = typer.Option(
        None, "--gold", "-g", help="Take the item from this gold set (default: the rubric's name)."
    ),
    item: str | None = typer.Option(None, "--item", "-i", help="Item id (default: the first item)."),
    as_json: bool = typer.Option(False, "--json", help="Print the messages as JSON."),
) -> None:
    """Show the exact prompt a judge receives for one gold item, byte for byte on stdout (the
    prompt hash and item id follow on stderr)."""
    import json

    from judgecal.errors import NotFoundError
    from judgecal.gold import find_gold
    from judgecal.prompt import messages_text, prompt_hash, render_messages
    from judgecal.rubric import find_rubric

    r = find_rubric(rubric)
    g = find_gold(gold or r.name, r)
    chosen = g.items[0] if item is None else next((it for it in g.items if it.id == item), None)
    if chosen is None:
        ids = ", ".join(it.id for it in g.items[:10])
        raise NotFoundError(f"no item {item!r} in {g.path}; ids start: {ids}, ...")
    messages = render_messages(r, chosen.inputs)
    if as_json:
        out.print_json(json.dumps(messages))
        return
    # byte for byte on stdout (no wrapping, no markup); the footer goes to stderr
    sys.stdout.write(messages_text(messages))
    sys.stdout.flush()
    err.print(f"\n[dim]prompt hash {prompt_hash(messages)} · item {chosen.id}[/]")
