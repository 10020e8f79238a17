"""PandaLM: ``testset-v1.json`` (three annotators per pair) and the judge files beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgecal.errors import GoldError
from judgecal.gold import GoldItem
from judgecal.importers._model import JudgmentSet, RecordedVerdict
from judgecal.importers._records import (
    _PAIRWISE,
    Label,
    StrPath,
    _inputs,
    _prompt_id,
    _records,
    _split_pair,
    _text,
    _Where,
)

_PANDALM_LABELS: dict[int, Label] = {1: "A", 2: "B", 0: "tie"}
_ANNOTATOR_KEY = re.compile(r"^annotator(\d+)$")


def parse_pandalm_verdict(value: object) -> Label | None:
    """A PandaLM verdict (``1``, ``"2"``, ``"Tie"``, ...) as A/B/tie; None when unparseable.

    Follows PandaLM's ``data/compute_metrics.py``: ``"Tie"``/``"tie"`` is a tie, anything else is
    read as the integer 0/1/2. That script also counts the judge output ``"garbage"`` as a tie; here
    it is an unparseable verdict (``None``), and ``verdict_labels(..., invalid_as="tie")`` restores
    the published convention.

    >>> [parse_pandalm_verdict(v) for v in (1, "2", "0", " Tie ", "garbage", True)]
    ['A', 'B', 'tie', 'tie', None, None]
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _PANDALM_LABELS.get(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "tie":
            return "tie"
        if text.isdigit():
            return _PANDALM_LABELS.get(int(text))
    return None


def _pandalm_label(value: object, where: _Where, field: str) -> Label:
    if isinstance(value, int) and not isinstance(value, bool) and value in _PANDALM_LABELS:
        return _PANDALM_LABELS[value]
    if isinstance(value, str) and value.strip() in ("0", "1", "2"):
        return _PANDALM_LABELS[int(value)]
    raise where.error(f"label {value!r} is not one of 1 (response1), 2 (response2), 0 (tie)", field)


def import_pandalm(
    path: StrPath, *, judges: Sequence[StrPath] | None = None, name: str | None = None
) -> JudgmentSet:
    """PandaLM's human-annotated test set, with the verdicts of judges that graded it.

    ``path`` is ``testset-v1.json`` (or its folder). Records ``{idx, motivation_app, cmp_key,
    instruction, input, response1, response2, annotator1..3}``; labels 1/2/0 become A/B/tie and
    ``idx`` is the item id. Judge files default to every ``<judge>-testset-v1.json`` beside it
    (records ``{idx, <x>_result, <x>_reason, ...}``); ``<x>_result`` is parsed with
    :func:`parse_pandalm_verdict`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "testset-v1.json"
    items: list[GoldItem] = []
    seen: dict[int, _Where] = {}
    for where, rec in _records(path):
        idx = rec.get("idx")
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise where.error(f"must be an integer, not {idx!r}", "idx")
        if idx in seen:
            raise where.error(f"duplicate idx {idx} (first at {seen[idx]})", "idx")
        seen[idx] = where
        instruction = _text(rec.get("instruction"), where, "instruction")
        extra = _text(rec.get("input", ""), where, "input")
        labels: dict[str, Label] = {}
        for key in sorted((k for k in rec if _ANNOTATOR_KEY.match(k)), key=lambda k: int(k[9:])):
            labels[key] = _pandalm_label(rec[key], where, key)
        if not labels:
            raise where.error("a record needs annotator labels (annotator1, annotator2, ...)", "annotator1")
        metadata: dict[str, Any] = {"idx": idx}
        for key in ("motivation_app", "cmp_key"):
            if key in rec:
                metadata[key] = _text(rec[key], where, key)
        if "motivation_app" in metadata:
            metadata["slice"] = metadata["motivation_app"]
        pair = _split_pair(metadata.get("cmp_key", ""))
        if pair:
            metadata["generator_model_a"], metadata["generator_model_b"] = pair
        text = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        metadata["prompt_id"] = _prompt_id(text)
        inputs = _inputs(
            {
                "input": text,
                "output_a": _text(rec.get("response1"), where, "response1", coerce=True),
                "output_b": _text(rec.get("response2"), where, "response2", coerce=True),
            },
            metadata,
        )
        items.append(GoldItem(id=str(idx), inputs=inputs, metadata=metadata, labels=labels))
    if not items:
        raise GoldError("the file has no records", location=str(path))

    if judges is None:
        suffix = f"-{path.name}"
        judge_files = sorted(p for p in path.parent.glob(f"*{suffix}") if p != path)
    else:
        judge_files = [Path(p) for p in judges]
    verdicts: dict[str, list[RecordedVerdict]] = {}
    for jf in judge_files:
        judge = jf.name.removesuffix(f"-{path.name}") if jf.name.endswith(f"-{path.name}") else jf.stem
        verdicts[judge] = _pandalm_verdicts(jf, seen)
    return JudgmentSet(
        name=name or f"pandalm-{path.stem}",
        source=str(path),
        format="pandalm",
        scale="pairwise",
        labels=list(_PAIRWISE),
        items=items,
        judges=verdicts,
    )


def _pandalm_verdicts(path: Path, known: Mapping[int, _Where]) -> list[RecordedVerdict]:
    out: list[RecordedVerdict] = []
    done: dict[int, _Where] = {}
    for where, rec in _records(path):
        idx = rec.get("idx")
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise where.error(f"must be an integer, not {idx!r}", "idx")
        if idx not in known:
            raise where.error(f"idx {idx} is not in the test set", "idx")
        if idx in done:
            raise where.error(f"duplicate idx {idx} (first at {done[idx]})", "idx")
        done[idx] = where
        keys = [k for k in rec if k.endswith("_result")]
        if len(keys) != 1:
            raise where.error(
                "a record needs exactly one '<judge>_result' field", keys[1] if keys else "_result"
            )
        value = rec[keys[0]]
        if value is None or isinstance(value, dict | list):
            raise where.error(f"must be a verdict string or number, not {value!r}", keys[0])
        reason = rec.get(keys[0].removesuffix("_result") + "_reason")
        label = parse_pandalm_verdict(value)
        out.append(
            RecordedVerdict(
                item_id=str(idx),
                label=label,
                raw=str(value),
                status="ok" if label is not None else "invalid",
                reasoning=reason if isinstance(reason, str) else None,
            )
        )
    return out
