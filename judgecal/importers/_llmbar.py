"""LLMBar: ``dataset.json`` and the recorded ``evaluators/<judge>/<strategy>/result.json`` beside it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgecal.errors import GoldError, NotFoundError
from judgecal.gold import GoldItem
from judgecal.importers._model import JudgmentSet, RecordedVerdict
from judgecal.importers._records import (
    Label,
    Order,
    StrPath,
    _inputs,
    _prompt_id,
    _read_text,
    _records,
    _text,
)

_LLMBAR_LABELS: dict[str, Label] = {"1": "A", "2": "B"}
_SWAPS: tuple[tuple[str, Order], ...] = (("swap = False", "ab"), ("swap = True", "ba"))


def _llmbar_label(value: object) -> str | None:
    """``1``/``"1"``/``2``/``"2"`` as ``"1"``/``"2"``; anything else None."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    return text if text in _LLMBAR_LABELS else None


def _llmbar_dataset(path: StrPath) -> Path:
    p = Path(path)
    return p / "dataset.json" if p.is_dir() else p


def import_llmbar(
    path: StrPath, *, judges: Sequence[str] | None = None, name: str | None = None
) -> JudgmentSet:
    """One LLMBar set (``dataset.json`` or its folder) with the judges under ``evaluators/``.

    Records ``{input, output_1, output_2, label}``; label 1/2 (int or string) becomes A/B and the
    record's index is the item id. Each ``evaluators/<judge>/<strategy>/result.json`` is judge
    ``<judge>/<strategy>`` (``judges`` picks some) with two verdicts per item, from the last entry of
    ``results``: ``"swap = False"`` (order ``ab``) and ``"swap = True"`` (order ``ba``). Their
    ``winner`` is already in the original output ids; ``null`` is an invalid verdict.
    """
    dataset = _llmbar_dataset(path)
    items: list[GoldItem] = []
    golds: list[tuple[str, str, str, str]] = []
    for where, rec in _records(dataset):
        index = len(items)
        texts = {f: _text(rec.get(f), where, f) for f in ("input", "output_1", "output_2")}
        label = _llmbar_label(rec.get("label"))
        if label is None:
            raise where.error(f"label {rec.get('label')!r} must be 1 or 2", "label")
        golds.append((texts["input"], texts["output_1"], texts["output_2"], label))
        metadata: dict[str, Any] = {"index": index, "prompt_id": _prompt_id(texts["input"])}
        inputs = _inputs(
            {"input": texts["input"], "output_a": texts["output_1"], "output_b": texts["output_2"]}, metadata
        )
        items.append(
            GoldItem(id=str(index), inputs=inputs, metadata=metadata, labels={"gold": _LLMBAR_LABELS[label]})
        )
    if not items:
        raise GoldError("the file has no records", location=str(dataset))

    found = {
        f"{p.parent.parent.name}/{p.parent.name}": p
        for p in sorted((dataset.parent / "evaluators").glob("*/*/result.json"))
    }
    if judges is not None:
        missing = [j for j in judges if j not in found]
        if missing:
            raise NotFoundError(
                f"no LLMBar result for {', '.join(missing)}; found: {', '.join(found) or '(none)'}"
            )
        found = {j: found[j] for j in judges}
    verdicts = {judge: _llmbar_verdicts(p, golds) for judge, p in found.items()}
    return JudgmentSet(
        name=name or f"llmbar-{dataset.parent.name.lower()}",
        source=str(dataset),
        format="llmbar",
        scale="pairwise",
        labels=["A", "B"],
        items=items,
        judges=verdicts,
    )


def _llmbar_verdicts(path: Path, golds: Sequence[tuple[str, str, str, str]]) -> list[RecordedVerdict]:
    out: list[RecordedVerdict] = []
    count = 0
    for where, rec in _records(path):
        index = count
        count += 1
        if index >= len(golds):
            raise where.error(f"more records than dataset.json has ({len(golds)})")
        for field, expected in zip(("input", "output_1", "output_2", "label"), golds[index], strict=True):
            value = _llmbar_label(rec.get(field)) if field == "label" else rec.get(field)
            if value != expected:
                raise where.error(f"differs from record {index} of dataset.json", field)
        results = rec.get("results")
        if not isinstance(results, list) or not results or not isinstance(results[-1], dict):
            raise where.error("must be a list whose last entry holds the final verdicts", "results")
        final = results[-1]
        for key, order in _SWAPS:
            run = final.get(key)
            if not isinstance(run, dict) or "winner" not in run:
                raise where.error("missing, or without a 'winner'", f"results[-1].{key}")
            winner = run["winner"]
            label = None if winner is None else _llmbar_label(winner)
            if winner is not None and label is None:
                raise where.error(f"winner {winner!r} must be '1', '2' or null", f"results[-1].{key}.winner")
            completion = run.get("completion")
            raw = completion[0] if isinstance(completion, list) and completion else completion
            out.append(
                RecordedVerdict(
                    item_id=str(index),
                    label=None if label is None else _LLMBAR_LABELS[label],
                    raw=raw if isinstance(raw, str) else ("" if raw is None else str(raw)),
                    order=order,
                    status="invalid" if label is None else "ok",
                )
            )
    if count != len(golds):
        raise GoldError(f"has {count} records, dataset.json has {len(golds)}", location=str(path))
    return out


_STAT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*=\s*([-+0-9.eE]+)%\s*$")
_PCT = re.compile(r"^\s*([-+0-9.eE]+)%\s*$")


def llmbar_statistics(result_dir: StrPath) -> dict[str, float | int]:
    """The authors' figures in ``statistics.json`` of one LLMBar result folder.

    ``"correct_False": "95 / 100 = 95.0%"`` becomes ``correct_False`` = 95 (count),
    ``correct_False_percent`` = 95.0 and ``n`` = 100; ``"correct_average": "95.5%"`` becomes
    ``correct_average_percent``; numbers (the ``kappa_*`` fields) are kept as they are. The
    percentages are the floats the authors' script printed (``count / n * 100``).
    """
    folder = Path(result_dir)
    path = folder / "statistics.json" if folder.is_dir() else folder
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise GoldError(f"not valid JSON: {exc.msg}", location=f"{path}:{exc.lineno}") from None
    if not isinstance(data, dict):
        raise GoldError("expected a JSON object", location=str(path))
    out: dict[str, float | int] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            raise GoldError(f"unexpected value {value!r}", location=str(path), field=key)
        if isinstance(value, int | float):
            out[key] = value
            continue
        m = _STAT.match(str(value))
        if m:
            count, n = int(m[1]), int(m[2])
            if out.setdefault("n", n) != n:
                raise GoldError(f"denominator {n} differs from {out['n']}", location=str(path), field=key)
            out[key], out[f"{key}_percent"] = count, float(m[3])
            continue
        m = _PCT.match(str(value))
        if m is None:
            raise GoldError(f"unexpected value {value!r}", location=str(path), field=key)
        out[f"{key}_percent"] = float(m[1])
    return out
