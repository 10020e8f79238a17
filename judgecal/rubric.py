"""Rubrics: a folder with ``rubric.yaml`` and a prompt template, validated and content-hashed.

The format is documented in ``docs/formats.md``. A rubric is data: loading it never runs code
from it, and every stored verdict records the rubric's and the template's SHA-256. The models
live in :mod:`judgecal._rubric_model` (below :mod:`judgecal.verdict` and :mod:`judgecal.prompt`,
which loading uses to check the template) and are importable from here.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import NoReturn

from pydantic import ValidationError

from judgecal._model import sha256_bytes
from judgecal._rubric_model import (  # noqa: F401 - re-exported: the public path
    Criterion,
    Example,
    FailureMode,
    InputName,
    Label,
    Rubric,
    Scale,
)
from judgecal._yamlio import load_yaml, raise_validation
from judgecal.errors import NotFoundError, RubricError

__all__ = ["InputName", "Rubric", "Scale", "find_rubric", "list_rubrics", "load_rubric", "rubric_path"]


def _template_path(folder: Path, template: str, location: str) -> Path:
    """``template`` inside ``folder``: a relative path without ``..`` whose real path (symlinks
    followed) stays inside the folder's real path; a RubricError on the ``template`` field otherwise."""

    def refuse(why: str) -> NoReturn:
        raise RubricError(
            f"template path {template!r} {why}; it must name a file inside the rubric folder",
            location=location,
            field="template",
        )

    if not template.strip() or "\0" in template:
        refuse("is empty or not a valid path")
    pure = PurePosixPath(template.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(template).is_absolute() or PureWindowsPath(template).drive:
        refuse("is absolute")
    if ".." in pure.parts:
        refuse("has a '..' component")
    candidate = folder / pure
    try:
        real = candidate.resolve(strict=False)
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError):  # a symlink loop, or an unreadable folder
        refuse("cannot be resolved")
    if real == root or not real.is_relative_to(root):
        refuse(f"resolves to {real}, outside the rubric folder {root} (symlinks are followed)")
    return real


def load_rubric(path: str | os.PathLike[str]) -> Rubric:
    """Load and validate a rubric folder (or its ``rubric.yaml``).

    Raises :class:`RubricError` naming the file, line and field of the first problem.
    """
    path = Path(path)
    folder = path.parent if path.is_file() else path
    yaml_path = folder / "rubric.yaml"
    if not yaml_path.is_file():
        raise RubricError("no rubric.yaml in this folder", location=str(folder))
    data, lines = load_yaml(yaml_path, RubricError)
    if not isinstance(data, dict):
        raise RubricError("must be a mapping of keys to values", location=f"{yaml_path}:1")
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        raise_validation(exc, str(yaml_path), lines.line_of, RubricError)
        raise  # unreachable
    if rubric.name != folder.name:
        raise RubricError(
            f"name {rubric.name!r} must equal the folder name {folder.name!r}",
            location=f"{yaml_path}:{lines.line_of(('name',))}",
            field="name",
        )
    template_path = _template_path(
        folder, rubric.template, f"{yaml_path}:{lines.line_of(('template',)) or 1}"
    )
    try:
        template_bytes = template_path.read_bytes()
    except OSError:
        raise RubricError(
            f"template file {rubric.template!r} not found in {folder}",
            location=f"{yaml_path}:{lines.line_of(('template',)) or 1}",
            field="template",
        ) from None
    rubric._dir = folder
    rubric._rubric_hash = sha256_bytes(yaml_path.read_bytes())
    rubric._template_hash = sha256_bytes(template_bytes)
    try:
        rubric._template_source = template_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise RubricError("template is not UTF-8 text", location=str(template_path)) from None
    from judgecal.prompt import check_template  # noqa: PLC0415 - jinja2, only when loading

    check_template(rubric)
    return rubric


def rubric_search_path() -> list[Path]:
    """Where rubric names are looked up, in order."""
    out: list[Path] = []
    env = os.environ.get("JUDGECAL_RUBRICS")
    if env:
        out += [Path(p) for p in env.split(os.pathsep) if p]
    out.append(Path.cwd() / "rubrics")
    here = Path(__file__).resolve().parent
    out.append(here / "_bundled" / "rubrics")  # installed wheel
    out.append(here.parent / "rubrics")  # source checkout / editable install
    seen: list[Path] = []
    for p in out:
        if p.is_dir() and p.resolve() not in [s.resolve() for s in seen]:
            seen.append(p)
    return seen


def list_rubrics() -> dict[str, Path]:
    """Every rubric name on the search path (first one wins) and its folder."""
    found: dict[str, Path] = {}
    for root in rubric_search_path():
        for child in sorted(root.iterdir()):
            if (child / "rubric.yaml").is_file():
                found.setdefault(child.name, child)
    return found


def rubric_path(name: str) -> Path:
    """The folder of the rubric named ``name`` on the search path (a name only, never a path)."""
    known = list_rubrics()
    if name not in known:
        names = ", ".join(sorted(known)) or "(none)"
        raise NotFoundError(f"no rubric named {name!r}; known rubrics: {names}")
    return known[name]


def find_rubric(name_or_path: str) -> Rubric:
    """Load a rubric by folder path or by name from the search path."""
    p = Path(name_or_path)
    if p.exists():
        return load_rubric(p)
    return load_rubric(rubric_path(name_or_path))
