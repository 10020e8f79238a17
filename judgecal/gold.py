"""Gold sets: items with inputs, metadata and labels from named annotators; the dev/test split.

Format: ``docs/formats.md``. Loading is strict and reports ``file:line: field: problem``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from judgecal._model import sha256_bytes, sha256_json
from judgecal._yamlio import error_message, field_name
from judgecal.errors import GoldError, NotFoundError
from judgecal.rubric import Rubric

__all__ = ["DEV_FRACTION", "GoldItem", "GoldSet", "find_gold", "gold_path", "list_gold", "load_gold"]

DEV_FRACTION = 0.3
"""Share of every stratum that goes to the dev split."""

Label = str | int
Split = Literal["dev", "test"]


class GoldItem(BaseModel):
    """One item to judge, with its human labels."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    """Unique within the gold set."""
    inputs: dict[str, str]
    """The fields the rubric's prompt needs (input, output, reference, output_a, output_b)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Optional: slice, generator_model, generator_family(_a/_b), split; other keys are kept."""
    labels: dict[str, Label] = Field(default_factory=dict)
    """Annotator name -> label on the rubric's scale."""
    _line: int = PrivateAttr(default=0)

    @field_validator("inputs")
    @classmethod
    def _non_empty(cls, v: dict[str, str]) -> dict[str, str]:
        for key, text in v.items():
            if not text.strip():
                raise ValueError(f"input {key!r} is empty")
        return v

    @property
    def line(self) -> int:
        """The 1-based line of the file the item came from (0 when built in code)."""
        return self._line

    @property
    def item_hash(self) -> str:
        """SHA-256 of the item's content (id, inputs, metadata, labels)."""
        return sha256_json(self.model_dump(mode="json"))

    @property
    def slice(self) -> str | None:
        value = self.metadata.get("slice")
        return None if value is None else str(value)

    @property
    def adjudicated(self) -> Label | None:
        """``metadata.adjudicated_label``: what an adjudicator decided where annotators disagree
        (``judgecal label --adjudicator``). It settles a tie; it is never an annotator's label."""
        value = self.metadata.get("adjudicated_label")
        return value if isinstance(value, str | int) and not isinstance(value, bool) else None

    def majority(self) -> Label | None:
        """The label most annotators gave; when the top is tied, the adjudicated label if it is
        one of the tied labels; else None (no labels, or a tie nobody settled)."""
        if not self.labels:
            return None
        counts = Counter(self.labels.values()).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            tied = {c for c, n in counts if n == counts[0][1]}
            return self.adjudicated if self.adjudicated in tied else None
        return counts[0][0]


class GoldSet(BaseModel):
    """A loaded, validated gold set."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The file's stem."""
    path: str
    """Where it was read from."""
    file_hash: str
    """SHA-256 of the file's bytes."""
    items: list[GoldItem]
    """The items, in file order."""
    splits: dict[str, Split]
    """Item id -> dev or test (see :func:`assign_splits`)."""

    @property
    def split_hash(self) -> str:
        """SHA-256 of the sorted ``id:split`` lines: pins the split."""
        lines = "\n".join(f"{i}:{s}" for i, s in sorted(self.splits.items()))
        return hashlib.sha256(lines.encode()).hexdigest()

    @property
    def annotators(self) -> list[str]:
        return sorted({a for item in self.items for a in item.labels})

    def select(self, split: Literal["dev", "test", "all"]) -> list[GoldItem]:
        """The items of one split (``all``: every item)."""
        if split == "all":
            return list(self.items)
        return [item for item in self.items if self.splits[item.id] == split]


def assign_splits(items: list[GoldItem], *, dev_fraction: float = DEV_FRACTION) -> dict[str, Split]:
    """Deterministic stratified split.

    Strata are (majority label, slice). Within a stratum, items are ordered by SHA-256 of their
    id and the first ``round(dev_fraction * n)`` go to dev. ``metadata.split`` pins an item.
    The result depends only on the ids, labels and slices, not on file order.
    """
    out: dict[str, Split] = {}
    strata: dict[tuple[str, str], list[GoldItem]] = defaultdict(list)
    for item in items:
        pinned = item.metadata.get("split")
        if pinned in ("dev", "test"):
            out[item.id] = pinned
            continue
        strata[(repr(item.majority()), str(item.slice))].append(item)
    for members in strata.values():
        members.sort(key=lambda it: hashlib.sha256(it.id.encode()).hexdigest())
        n_dev = round(dev_fraction * len(members))
        for i, item in enumerate(members):
            out[item.id] = "dev" if i < n_dev else "test"
    return out


def load_gold(
    path: str | os.PathLike[str], rubric: Rubric | None = None, *, require_labels: bool = True
) -> GoldSet:
    """Load and validate a gold set (JSONL).

    With a rubric, checks that every item has the rubric's inputs and that every label is on its
    scale (normalised: ``"Pass"`` -> ``"pass"``). Raises :class:`GoldError` with file:line:field.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GoldError(f"cannot read file ({exc.strerror})", location=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldError(f"not UTF-8 text (byte {exc.start})", location=str(path)) from None
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"{path}:{lineno}"
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"not valid JSON: {exc.msg} (column {exc.colno})", location=where) from None
        if not isinstance(raw, dict):
            raise GoldError("each line must be a JSON object", location=where)
        try:
            item = GoldItem.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise GoldError(error_message(err), location=where, field=field_name(tuple(err["loc"]))) from None
        item._line = lineno
        if item.id in seen:
            raise GoldError(
                f"duplicate id {item.id!r} (first on line {seen[item.id]})", location=where, field="id"
            )
        seen[item.id] = lineno
        if require_labels and not item.labels:
            raise GoldError("an item needs at least one annotator label", location=where, field="labels")
        if rubric is not None:
            _check_against_rubric(item, rubric, where)
        items.append(item)
    if not items:
        raise GoldError("the file has no items", location=str(path))
    return GoldSet(
        name=path.stem, path=str(path), file_hash=sha256_bytes(data), items=items, splits=assign_splits(items)
    )


def _check_against_rubric(item: GoldItem, rubric: Rubric, where: str) -> None:
    for name in rubric.inputs:
        if name not in item.inputs:
            raise GoldError(
                f"missing input {name!r}, which rubric {rubric.name!r} needs",
                location=where,
                field=f"inputs.{name}",
            )
    for given in item.inputs:
        if given not in rubric.inputs:
            raise GoldError(
                f"input {given!r} is not one rubric {rubric.name!r} uses ({', '.join(rubric.inputs)})",
                location=where,
                field=f"inputs.{given}",
            )
    for annotator, label in list(item.labels.items()):
        norm = rubric.scale.normalise(label)
        if norm is None:
            raise GoldError(
                f"label {label!r} is not on the {rubric.scale.kind} scale {rubric.scale.labels}",
                location=where,
                field=f"labels.{annotator}",
            )
        item.labels[annotator] = norm
    if "adjudicated_label" in item.metadata:
        norm_adj = rubric.scale.normalise(item.metadata["adjudicated_label"])
        if norm_adj is None:
            raise GoldError(
                f"adjudicated label {item.metadata['adjudicated_label']!r} is not on the "
                f"{rubric.scale.kind} scale {rubric.scale.labels}",
                location=where,
                field="metadata.adjudicated_label",
            )
        item.metadata["adjudicated_label"] = norm_adj
    split = item.metadata.get("split")
    if split is not None and split not in ("dev", "test"):
        raise GoldError(f"split {split!r} must be 'dev' or 'test'", location=where, field="metadata.split")


def gold_search_path() -> list[Path]:
    out: list[Path] = []
    env = os.environ.get("JUDGECAL_GOLD")
    if env:
        out += [Path(p) for p in env.split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    out += [Path.cwd() / "gold", here / "_bundled" / "gold", here.parent / "gold"]
    return [p for p in out if p.is_dir()]


def list_gold() -> dict[str, Path]:
    """Every gold set name on the search path (first one wins) and its file."""
    found: dict[str, Path] = {}
    for root in gold_search_path():
        for child in sorted(root.glob("*.jsonl")):
            found.setdefault(child.stem, child)
    return found


def find_gold(name_or_path: str, rubric: Rubric | None = None, *, require_labels: bool = True) -> GoldSet:
    """Load a gold set by file path or by name from the search path."""
    p = Path(name_or_path)
    if p.is_file():
        return load_gold(p, rubric, require_labels=require_labels)
    return load_gold(gold_path(name_or_path), rubric, require_labels=require_labels)


def gold_path(name: str) -> Path:
    """The file of the gold set named ``name`` on the search path (a name only, never a path)."""
    known = list_gold()
    if name not in known:
        names = ", ".join(sorted(known)) or "(none)"
        if any(sep in name for sep in ("/", "\\")) or Path(name).suffix:
            raise NotFoundError(f"no such file: {name} (and no gold set of that name; known: {names})")
        raise NotFoundError(f"no gold set named {name!r}; known gold sets: {names}")
    return known[name]
