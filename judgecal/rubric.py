"""Rubrics: a folder with ``rubric.yaml`` and a prompt template, validated and content-hashed.

The format is documented in ``docs/formats.md``. A rubric is data: loading it never runs code
from it, and every stored verdict records the rubric's and the template's SHA-256.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal, NoReturn

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from judgecal._model import Strict, sha256_bytes
from judgecal._yamlio import load_yaml, raise_validation
from judgecal.errors import NotFoundError, RubricError

__all__ = ["InputName", "Rubric", "Scale", "find_rubric", "list_rubrics", "load_rubric", "rubric_path"]

InputName = Literal["input", "output", "reference", "output_a", "output_b"]
Label = str | int
_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Scale(Strict):
    """What a verdict can say."""

    kind: Literal["binary", "ordinal", "pairwise"]
    """``binary`` (pass/fail), ``ordinal`` (1..k) or ``pairwise`` (A/B, optionally tie)."""
    levels: dict[int, str] | None = None
    """Ordinal only: a described anchor for every level 1..k."""
    pass_threshold: int | None = None
    """Ordinal only: scores at or above it count as a pass."""
    allow_tie: bool = False
    """Pairwise only: whether ``tie`` is an allowed verdict."""

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if self.kind == "ordinal":
            if not self.levels:
                raise ValueError("an ordinal scale needs 'levels' (1..k, each with an anchor)")
            keys = sorted(self.levels)
            if keys != list(range(1, len(keys) + 1)) or len(keys) < 2:
                raise ValueError(f"levels must be numbered 1..k without gaps (k >= 2), got {keys}")
            if self.pass_threshold is None or not 1 <= self.pass_threshold <= len(keys):
                raise ValueError(f"an ordinal scale needs 'pass_threshold' within 1..{len(keys)}")
            if any(not str(v).strip() for v in self.levels.values()):
                raise ValueError("every level needs a non-empty anchor description")
        else:
            if self.levels is not None or self.pass_threshold is not None:
                raise ValueError(f"'levels' and 'pass_threshold' apply to ordinal scales, not {self.kind}")
        if self.allow_tie and self.kind != "pairwise":
            raise ValueError("'allow_tie' applies to pairwise scales only")
        return self

    @property
    def labels(self) -> list[Label]:
        """The verdicts this scale allows, in order."""
        if self.kind == "binary":
            return ["pass", "fail"]
        if self.kind == "ordinal":
            assert self.levels is not None
            return list(range(1, len(self.levels) + 1))
        return ["A", "B", "tie"] if self.allow_tie else ["A", "B"]

    def normalise(self, value: object) -> Label | None:
        """Map a raw label (``"Pass"``, ``"4"``, ``4.0``, ``"[[A]]"``) onto the scale, or None."""
        if isinstance(value, bool):
            return None
        if self.kind == "ordinal":
            if isinstance(value, int | float) and float(value).is_integer():
                n = int(value)
            elif isinstance(value, str) and value.strip().lstrip("[").rstrip("]").strip().isdigit():
                n = int(value.strip().lstrip("[").rstrip("]"))
            else:
                return None
            return n if n in self.labels else None
        if not isinstance(value, str):
            return None
        text = value.strip().strip("[]").strip().lower()
        if self.kind == "binary":
            return text if text in ("pass", "fail") else None
        mapping = {"a": "A", "b": "B", "tie": "tie"} if self.allow_tie else {"a": "A", "b": "B"}
        return mapping.get(text)

    def passed(self, label: Label) -> bool | None:
        """Whether a label counts as a pass (None for pairwise scales)."""
        if self.kind == "binary":
            return label == "pass"
        if self.kind == "ordinal":
            assert self.pass_threshold is not None
            return int(label) >= self.pass_threshold
        return None


class Criterion(Strict):
    """One thing the judge checks."""

    id: str = Field(pattern=_ID_PATTERN)
    """A snake_case identifier, unique in the rubric."""
    description: str = Field(min_length=1)
    """What the judge checks, in a sentence or two."""


class FailureMode(Strict):
    """A named way an output can fail; verdicts cite these ids."""

    id: str = Field(pattern=_ID_PATTERN)
    """A snake_case identifier, unique in the rubric."""
    description: str = Field(min_length=1)
    """What the failure looks like."""


class Example(Strict):
    """A few-shot example, rendered into the prompt before the item."""

    inputs: dict[InputName, str]
    """The example's inputs, keyed like the item's."""
    verdict: Label
    """The verdict the judge should give, a label of the scale."""
    reasoning: str = Field(min_length=1)
    """Why."""
    failure_modes: list[str] = Field(default_factory=list)
    """Failure-mode ids the example shows."""


class Rubric(Strict):
    """A validated rubric. Load one with :func:`load_rubric`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    """The rubric's name; equals its folder name."""
    version: str = Field(min_length=1)
    """Free-form version, shown in reports."""
    description: str = Field(min_length=1)
    """One paragraph for humans (and the judge)."""
    scale: Scale
    """What a verdict can say."""
    inputs: list[InputName] = Field(min_length=1)
    """The item fields the prompt needs."""
    criteria: list[Criterion] = Field(min_length=1)
    """What the judge checks, in order."""
    pass_rule: str | None = None
    """When an output passes (required for binary and ordinal scales)."""
    failure_modes: list[FailureMode] = Field(default_factory=list)
    """The vocabulary of failure modes a verdict may cite."""
    examples: list[Example] = Field(default_factory=list)
    """Optional few-shot examples."""
    template: str = "prompt.j2"
    """The prompt template file, relative to the rubric folder."""

    _dir: Path = PrivateAttr(default=Path("."))
    _rubric_hash: str = PrivateAttr(default="")
    _template_hash: str = PrivateAttr(default="")
    _template_source: str = PrivateAttr(default="")

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("inputs are listed twice")
        return v

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        for what, entries in (("criteria", self.criteria), ("failure_modes", self.failure_modes)):
            ids = [e.id for e in entries]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{what} ids must be unique; repeated: {', '.join(dupes)}")
        if self.scale.kind == "pairwise":
            if not {"output_a", "output_b"} <= set(self.inputs) or "output" in self.inputs:
                raise ValueError("a pairwise rubric needs inputs output_a and output_b (not output)")
        else:
            if "output" not in self.inputs or {"output_a", "output_b"} & set(self.inputs):
                raise ValueError(f"a {self.scale.kind} rubric needs input 'output' (not output_a/_b)")
            if not self.pass_rule:
                raise ValueError(f"a {self.scale.kind} rubric needs a 'pass_rule'")
        modes = {m.id for m in self.failure_modes}
        for i, ex in enumerate(self.examples):
            if set(ex.inputs) != set(self.inputs):
                raise ValueError(
                    f"examples[{i}] must give exactly the inputs {self.inputs}, got {sorted(ex.inputs)}"
                )
            if self.scale.normalise(ex.verdict) != ex.verdict:
                raise ValueError(f"examples[{i}].verdict {ex.verdict!r} is not one of {self.scale.labels}")
            unknown = [m for m in ex.failure_modes if m not in modes]
            if unknown:
                raise ValueError(f"examples[{i}] cites unknown failure modes {unknown}")
        return self

    @property
    def directory(self) -> Path:
        """The rubric's folder."""
        return self._dir

    @property
    def rubric_hash(self) -> str:
        """SHA-256 of ``rubric.yaml``'s bytes."""
        return self._rubric_hash

    @property
    def template_hash(self) -> str:
        """SHA-256 of the prompt template's bytes."""
        return self._template_hash

    @property
    def template_source(self) -> str:
        """The prompt template's text."""
        return self._template_source

    @cached_property
    def failure_mode_ids(self) -> list[str]:
        return [m.id for m in self.failure_modes]


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
    from judgecal.prompt import check_template  # noqa: PLC0415 (prompt imports rubric)

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
