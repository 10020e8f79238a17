"""Plain tables: CSV and JSONL, one row per item, with a column mapping (``id=qid,human.ana=...``)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from judgecal.errors import ConfigError, GoldError
from judgecal.gold import GoldItem
from judgecal.importers._model import JudgmentSet, RecordedVerdict
from judgecal.importers._records import (
    Label,
    ScaleKind,
    StrPath,
    _as_int,
    _inputs,
    _read_text,
    _records,
    _text,
    _Where,
)

if TYPE_CHECKING:
    from judgecal.rubric import Rubric, Scale

_INPUT_NAMES = ("input", "output", "reference", "output_a", "output_b")
_PREFIXES = ("human", "judge", "meta")


def parse_mapping(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse a column mapping ``target=column,target=column`` (or pass a dict through).

    Targets: ``id``, ``input``, ``output``, ``reference``, ``output_a``, ``output_b``, ``labels``
    (a column holding a JSON object annotator -> label), ``human.<annotator>``,
    ``judge.<name>`` (optionally ``judge.<name>@ab`` / ``@ba`` for a presentation order) and
    ``meta.<key>``; ``:`` may stand for ``.``.

    >>> parse_mapping("id=qid,output=answer,human.ana=label_ana,judge:gpt4=gpt4_label")
    {'id': 'qid', 'output': 'answer', 'human.ana': 'label_ana', 'judge.gpt4': 'gpt4_label'}
    """
    if spec is None:
        return {}
    pairs: list[tuple[str, str]]
    if isinstance(spec, str):
        pairs = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            target, sep, column = part.partition("=")
            if not sep or not target.strip() or not column.strip():
                raise ConfigError(f"{part!r} must read target=column", field="mapping")
            pairs.append((target.strip(), column.strip()))
    else:
        pairs = [(str(k), str(v)) for k, v in spec.items()]
    out: dict[str, str] = {}
    for target, column in pairs:
        key = _target(target)
        if key is None:
            raise ConfigError(
                f"unknown target {target!r}: use id, {', '.join(_INPUT_NAMES)}, labels, "
                "human.<annotator>, judge.<name> (or judge.<name>@ab / @ba) or meta.<key>",
                field="mapping",
            )
        if key in out:
            raise ConfigError(f"target {target!r} is mapped twice", field="mapping")
        out[key] = column
    return out


def _target(name: str) -> str | None:
    """A mapping target in canonical form (``human:ana`` -> ``human.ana``), or None if unknown."""
    if name in ("id", "labels", *_INPUT_NAMES):
        return name
    for prefix in _PREFIXES:
        for sep in (".", ":"):
            rest = name[len(prefix) + 1 :] if name.startswith(prefix + sep) else ""
            if not rest:
                continue
            if prefix == "judge" and "@" in rest and rest.rpartition("@")[2] not in ("ab", "ba"):
                return None
            return f"{prefix}.{rest}"
    return None


def _table_rows(
    path: Path, kind: Literal["csv", "jsonl"]
) -> tuple[list[str], list[tuple[_Where, dict[str, Any]]]]:
    """Column names and rows (each with where it starts) of a CSV/TSV or JSONL table."""
    if kind == "jsonl":
        rows = list(_records(path))
        columns: list[str] = []
        for _, row in rows:
            columns += [c for c in row if c not in columns]
        return columns, rows
    text = _read_text(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise GoldError("the file is empty", location=str(path)) from None
    except csv.Error as exc:
        raise GoldError(f"not valid CSV: {exc}", location=f"{path}:1") from None
    header = [h.strip() for h in header]
    dupes = [h for h, n in Counter(header).items() if n > 1]
    if dupes:
        raise GoldError(f"duplicate column {dupes[0]!r}", location=f"{path}:1", field=dupes[0])
    out: list[tuple[_Where, dict[str, Any]]] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise GoldError(f"not valid CSV: {exc}", location=f"{path}:{start}") from None
        where = _Where(path, start)
        start = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise where.error(f"{len(cells)} cells but the header has {len(header)} columns")
        out.append((where, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}))
    return header, out


def _resolve_mapping(columns: Sequence[str], mapping: Mapping[str, str], path: Path) -> dict[str, str]:
    """Explicit mapping plus columns named like a target (``id``, ``human.ana``, ``judge:gpt4``...)."""
    resolved: dict[str, str] = {}
    for column in columns:
        key = _target(column)
        if key is not None:
            resolved[key] = column
    mapped_columns = set(mapping.values())
    resolved = {k: c for k, c in resolved.items() if c not in mapped_columns}
    resolved.update(mapping)
    missing = sorted({c for c in mapping.values() if c not in columns})
    if missing:
        raise GoldError(
            f"no column {missing[0]!r} (columns: {', '.join(columns)})",
            location=f"{path}:1",
            field=missing[0],
        )
    if "id" not in resolved:
        raise GoldError(
            "no id column: name one `id` or map it (id=<column>)", location=f"{path}:1", field="id"
        )
    return resolved


def _make_scale(kind: ScaleKind, human_values: Sequence[object]) -> Scale:
    from judgecal.rubric import Scale

    if kind == "ordinal":
        ints = [n for n in map(_as_int, human_values) if n is not None]
        k = max([2, *ints])
        return Scale(kind="ordinal", levels={i: f"level {i}" for i in range(1, k + 1)}, pass_threshold=k)
    return Scale(kind=kind, allow_tie=kind == "pairwise")


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _import_table(
    path: StrPath,
    kind: Literal["csv", "jsonl"],
    mapping: str | Mapping[str, str] | None,
    scale: ScaleKind | None,
    rubric: Rubric | str | None,
    name: str | None,
) -> JudgmentSet:
    path = Path(path)
    mapping_ = parse_mapping(mapping)
    columns, rows = _table_rows(path, kind)
    if not rows:
        raise GoldError("the file has no rows", location=str(path))
    m = _resolve_mapping(columns, mapping_, path)
    input_cols = {k: c for k, c in m.items() if k in _INPUT_NAMES}
    if not input_cols:
        raise GoldError(
            f"no input columns: name them {', '.join(_INPUT_NAMES)} or map them", location=f"{path}:1"
        )
    human_cols = {k.removeprefix("human."): c for k, c in m.items() if k.startswith("human.")}
    judge_cols = {k.removeprefix("judge."): c for k, c in m.items() if k.startswith("judge.")}
    meta_cols = {k.removeprefix("meta."): c for k, c in m.items() if k.startswith("meta.")}

    # First pass: the human labels as written, to settle the scale.
    raw_labels: list[tuple[_Where, dict[str, object]]] = []
    for where, row in rows:
        labels: dict[str, object] = {}
        if "labels" in m and not _empty(row.get(m["labels"])):
            value = row[m["labels"]]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise where.error("must be a JSON object annotator -> label", m["labels"]) from None
            if not isinstance(value, dict):
                raise where.error("must be a JSON object annotator -> label", m["labels"])
            labels.update({str(k): v for k, v in value.items() if not _empty(v)})
        for annotator, column in human_cols.items():
            if not _empty(row.get(column)):
                labels[annotator] = row[column]
        raw_labels.append((where, labels))

    if rubric is not None:
        if isinstance(rubric, str):
            from judgecal.rubric import find_rubric

            rubric = find_rubric(rubric)
        the_scale = rubric.scale
    else:
        values = [v for _, labels in raw_labels for v in labels.values()]
        if scale is None:
            if "output_a" in input_cols and "output_b" in input_cols:
                scale = "pairwise"
            elif values and all(str(v).strip().lower() in ("pass", "fail") for v in values):
                scale = "binary"
            elif values and all(_as_int(v) is not None for v in values):
                scale = "ordinal"
            else:
                raise GoldError(
                    "cannot tell the scale from the labels: "
                    "pass scale= (binary, ordinal, pairwise) or a rubric",
                    location=str(path),
                )
        the_scale = _make_scale(scale, values)

    items: list[GoldItem] = []
    verdicts: dict[str, list[RecordedVerdict]] = {j.rpartition("@")[0] or j: [] for j in judge_cols}
    seen: dict[str, _Where] = {}
    for (where, row), (_, raw) in zip(rows, raw_labels, strict=True):
        item_id = row.get(m["id"])
        if _empty(item_id) or isinstance(item_id, dict | list | bool):
            raise where.error("an item needs an id", m["id"])
        item_id = str(item_id).strip()
        if item_id in seen:
            raise where.error(f"duplicate id {item_id!r} (first at {seen[item_id]})", m["id"])
        seen[item_id] = where
        texts: dict[str, str] = {}
        for key, column in input_cols.items():
            value = row.get(column)
            if value is None:
                raise where.error("required field is missing", column)
            texts[key] = _text(value, where, column, coerce=True)
        metadata: dict[str, Any] = {k: row[c] for k, c in meta_cols.items() if not _empty(row.get(c))}
        labels_: dict[str, Label] = {}
        for annotator, value in raw.items():
            norm = the_scale.normalise(value)
            if norm is None:
                col = human_cols.get(annotator, m.get("labels", annotator))
                raise where.error(
                    f"label {value!r} is not on the {the_scale.kind} scale {the_scale.labels}", col
                )
            labels_[annotator] = norm
        items.append(GoldItem(id=item_id, inputs=_inputs(texts, metadata), metadata=metadata, labels=labels_))
        for target, column in judge_cols.items():
            value = row.get(column)
            if _empty(value):
                continue
            judge, _, order = target.rpartition("@") if "@" in target else (target, "", "")
            label = the_scale.normalise(value)
            verdicts[judge].append(
                RecordedVerdict(
                    item_id=item_id,
                    label=label,
                    raw=value if isinstance(value, str) else json.dumps(value),
                    order="ab" if order == "ab" else "ba" if order == "ba" else None,
                    status="ok" if label is not None else "invalid",
                )
            )
    return JudgmentSet(
        name=name or path.stem,
        source=str(path),
        format=kind,
        scale=the_scale.kind,
        labels=list(the_scale.labels),
        items=items,
        judges=verdicts,
    )


def import_csv(
    path: StrPath,
    *,
    mapping: str | Mapping[str, str] | None = None,
    scale: ScaleKind | None = None,
    rubric: Rubric | str | None = None,
    name: str | None = None,
) -> JudgmentSet:
    """A CSV (``.tsv``: tab-separated) table with one row per item; see :func:`parse_mapping`.

    Columns already named like a target (``id``, ``input``, ``human.ana``, ``judge:gpt4``, ...)
    need no mapping. Labels are read on the rubric's scale, or on ``scale``; without either the
    scale is pairwise when ``output_a``/``output_b`` are mapped, else binary when every human label
    is pass/fail, else ordinal (1..the largest label). Human labels off the scale are errors; a
    judge cell off the scale is an invalid verdict; an empty cell is no label / no verdict.
    """
    return _import_table(path, "csv", mapping, scale, rubric, name)


def import_jsonl(
    path: StrPath,
    *,
    mapping: str | Mapping[str, str] | None = None,
    scale: ScaleKind | None = None,
    rubric: Rubric | str | None = None,
    name: str | None = None,
) -> JudgmentSet:
    """Like :func:`import_csv`, with one JSON object per line; the mapping names top-level keys."""
    return _import_table(path, "jsonl", mapping, scale, rubric, name)
