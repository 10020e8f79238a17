"""``judgecal init``: scaffold a rubric, a gold-set template and a ``judgecal.toml`` to start from.

The files come from ``judgecal/templates/init/`` (shipped inside the package): a rubric folder per
scale kind (``rubric.yaml`` + ``prompt.j2``), a gold set with two annotators and three example
items that load against it, its data card, and a commented config file. :func:`scaffold` checks
every target before it writes the first one: an existing file of the rubric or its gold set is
refused (all of them named) unless ``force``, and nothing is written then. An existing
``judgecal.toml`` is the whole folder's configuration, shared by every rubric in it: it is kept as
it is (reported, not an error) unless ``force``, so a second ``judgecal init`` adds a rubric to a
project.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from enum import Enum
from importlib import resources
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict

from judgecal.cli._common import boundary, err, out

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
"""A rubric name: what :class:`judgecal.rubric.Rubric` accepts (``name``), at most 100 characters."""

_TEMPLATES = "templates/init"


class ScaleName(str, Enum):  # noqa: UP042 - typer needs a str Enum
    """The scale kind of the scaffolded rubric."""

    binary = "binary"
    ordinal = "ordinal"
    pairwise = "pairwise"


_SCALE_TEXT = {
    "binary": "binary pass/fail",
    "ordinal": "ordinal 1..5, pass from 4",
    "pairwise": "pairwise A/B/tie",
}


class Scaffold(BaseModel):
    """What :func:`scaffold` wrote."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The rubric's (and the gold set's) name."""
    scale: str
    """binary, ordinal or pairwise."""
    root: Path
    """The folder the files were written under."""
    rubric_dir: Path
    """``<root>/rubrics/<name>``."""
    gold_file: Path
    """``<root>/gold/<name>.jsonl``."""
    config_file: Path
    """``<root>/judgecal.toml``."""
    written: list[Path]
    """Every file written, in order."""
    overwritten: list[Path]
    """The files among them that existed before (only with ``force``)."""
    kept: list[Path]
    """Existing files left as they were: ``judgecal.toml`` without ``force``."""


def check_name(name: str) -> str:
    """``name`` if it can name a rubric folder and a gold file; else a ConfigError saying what is allowed."""
    from judgecal.errors import ConfigError

    if not NAME_PATTERN.match(name) or name.endswith("."):
        raise ConfigError(
            f"{name!r} is not a valid rubric name: use lowercase letters, digits, '-', '_' and '.', "
            "start with a letter or digit, do not end with '.', at most 100 characters (e.g. my-rubric)",
            field="NAME",
        )
    return name


def _template(*parts: str) -> str:
    return resources.files("judgecal").joinpath(_TEMPLATES, *parts).read_text(encoding="utf-8")


def plan(name: str, *, root: Path, scale: str = "binary") -> dict[Path, str]:
    """The files to write for rubric ``name`` under ``root`` and their text (pure: reads only
    judgecal's own templates)."""
    check_name(name)
    if scale not in _SCALE_TEXT:
        from judgecal.errors import ConfigError

        raise ConfigError(f"unknown scale {scale!r}; choose one of {', '.join(_SCALE_TEXT)}", field="--scale")

    def fill(text: str) -> str:
        return text.replace("__NAME__", name).replace("__SCALE__", _SCALE_TEXT[scale])

    rubric_dir = root / "rubrics" / name
    return {
        rubric_dir / "rubric.yaml": fill(_template(scale, "rubric.yaml")),
        rubric_dir / "prompt.j2": fill(_template(scale, "prompt.j2")),
        root / "gold" / f"{name}.jsonl": fill(_template(scale, "gold.jsonl")),
        root / "gold" / f"{name}.md": fill(_template("gold.md")),
        root / "judgecal.toml": fill(_template("judgecal.toml")),
    }


def _problems(
    files: list[Path], root: Path, *, force: bool, shared: Path
) -> tuple[list[str], list[Path], list[Path]]:
    """Why the files cannot be written (nothing is written then), which exist already, and which
    of those to keep (``shared``, the config file, when it exists and not ``force``)."""
    problems: list[str] = []
    existing: list[Path] = []
    kept: list[Path] = []
    for path in files:
        for parent in reversed(path.relative_to(root).parents):
            folder = root / parent
            if folder.exists() and not folder.is_dir():
                problems.append(f"{folder} is a file, not a folder")
                break
        else:
            if path.is_dir():
                problems.append(f"{path} is a folder, not a file")
            elif (path.exists() or path.is_symlink()) and path == shared and not force:
                kept.append(path)
            elif path.exists() or path.is_symlink():
                existing.append(path)
    if existing and not force:
        problems.append(
            "refusing to overwrite existing "
            + ("file " if len(existing) == 1 else "files ")
            + ", ".join(str(p) for p in existing)
            + " (pass --force to overwrite)"
        )
    if not problems:
        ancestor = root
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not os.access(ancestor, os.W_OK | os.X_OK):
            problems.append(f"cannot write in {ancestor} (permission denied)")
    return list(dict.fromkeys(problems)), existing, kept


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def scaffold(
    name: str, *, root: str | os.PathLike[str] = ".", scale: str = "binary", force: bool = False
) -> Scaffold:
    """Write rubric ``name`` (``rubrics/<name>/``), its gold-set template (``gold/<name>.jsonl``
    and data card) and ``judgecal.toml`` under ``root``.

    Every target is checked first: a name that is not a rubric name, an existing file of the
    rubric or its gold set (unless ``force``), a folder where a file goes or a file where a folder
    goes raise :class:`~judgecal.errors.ConfigError` naming them, and nothing is written. An
    existing ``judgecal.toml`` is kept (unless ``force``): it configures every rubric of the folder.
    A write that fails midway removes the files this call created and raises
    :class:`~judgecal.errors.JudgecalError`.
    """
    from judgecal.errors import ConfigError, JudgecalError

    base = Path(root)
    files = plan(name, root=base, scale=scale)
    config = base / "judgecal.toml"
    problems, existing, kept = _problems(list(files), base, force=force, shared=config)
    if problems:
        raise ConfigError("; ".join(problems) + "; nothing was written")
    new_dirs = sorted(
        {d for path in files for d in path.parents if d.is_relative_to(base) and not d.exists()},
        key=lambda d: len(d.parts),
        reverse=True,
    )
    written: list[Path] = []
    try:
        for path, text in files.items():
            if path in kept:
                continue
            _write(path, text)
            written.append(path)
    except OSError as exc:
        for path in written:
            if path not in existing:
                path.unlink(missing_ok=True)
        for folder in new_dirs:  # deepest first; only the empty ones this call made
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise JudgecalError(
            f"cannot write {exc.filename or 'a file'} ({exc.strerror}); the files and folders this "
            "command created were removed"
        ) from None
    return Scaffold(
        name=name,
        scale=scale,
        root=base,
        rubric_dir=base / "rubrics" / name,
        gold_file=base / "gold" / f"{name}.jsonl",
        config_file=config,
        written=written,
        overwritten=[p for p in written if p in existing],
        kept=kept,
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _shadowed(result: Scaffold) -> list[str]:
    """Notes when a name would not find the new files from the working folder (a folder on
    ``$JUDGECAL_RUBRICS`` / ``$JUDGECAL_GOLD`` holds the same name, and comes first)."""
    from judgecal.gold import list_gold
    from judgecal.rubric import list_rubrics

    notes = []
    rubric = list_rubrics().get(result.name)
    if rubric is not None and rubric.resolve() != result.rubric_dir.resolve():
        notes.append(f"the name {result.name} finds the rubric {rubric} first; pass the folder path instead")
    gold = list_gold().get(result.name)
    if gold is not None and gold.resolve() != result.gold_file.resolve():
        notes.append(f"the name {result.name} finds the gold set {gold} first; pass the file path instead")
    return notes


@boundary
def init_command(
    name: str = typer.Argument(
        "my-rubric", help="Name of the rubric and its gold set (e.g. support-refunds)."
    ),
    directory: Path = typer.Option(
        Path("."), "--dir", "-d", help="Create the files under this folder (default: the current one)."
    ),
    scale: ScaleName = typer.Option(ScaleName.binary, "--scale", help="The rubric's scale kind."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
) -> None:
    """Start your own rubric: scaffold rubrics/NAME/ (rubric.yaml, prompt.j2), a gold-set template
    gold/NAME.jsonl with two annotators (and its data card gold/NAME.md) and judgecal.toml.

    Existing files are never overwritten without --force: the rubric's or gold set's files make it
    exit with code 2 naming them, and nothing is written; an existing judgecal.toml (shared by
    every rubric of the folder) is kept. Prints the next three commands.
    """
    from rich.markup import escape

    result = scaffold(name, root=directory, scale=scale.value, force=force)
    for path in result.written:
        verb = "overwrote" if path in result.overwritten else "created"
        out.print(f"[green]{verb}[/] {escape(_shown(path))}", highlight=False, soft_wrap=True)
    for path in result.kept:
        out.print(
            f"[dim]kept[/] {escape(_shown(path))} (it exists; --force rewrites it)",
            highlight=False,
            soft_wrap=True,
        )
    here = result.root.resolve() == Path.cwd().resolve()
    if here:
        for note in _shadowed(result):
            err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    gold = f"gold/{result.name}.jsonl"
    lines = [
        "",
        "Next:" if here else f"Next, in {_shown(result.root)}:",
        f"  1. edit {gold}: replace the 3 example items with your own, each labelled by two people "
        f"(a1, a2), and make rubrics/{result.name}/rubric.yaml describe your task (how many items "
        "and annotators approval takes: docs/guide.md, 'Start your own rubric')",
        f"  2. judgecal rubrics validate {result.name} --gold {gold}",
        f"  3. judgecal validate {result.name} --judge <model>    "
        "(a real judge, e.g. openai/gpt-4o-mini or local/smollm2; sim/... knows only the gold items "
        "it is taught and answers anything else at random)",
    ]
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
