"""The one shape every importer returns, :class:`JudgmentSet` (gold items and the verdicts judges
already gave on them, :class:`RecordedVerdict`), and the verdicts JSONL format of another harness
that adds to one (:func:`load_verdicts`)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgecal._model import sha256_bytes
from judgecal.errors import GoldError, NotFoundError
from judgecal.gold import GoldItem, GoldSet, assign_splits
from judgecal.importers._records import Label, Order, ScaleKind, StrPath, _as_int, _records, _Where


class RecordedVerdict(BaseModel):
    """One verdict a judge gave on one item (in one presentation order), as another tool recorded it."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    """The item's id in the :class:`JudgmentSet`."""
    label: Label | None = None
    """The verdict on the set's scale, in the item's own terms (pairwise: A = ``output_a``);
    None when the judge's answer could not be parsed."""
    raw: str = ""
    """The verdict as the source recorded it (``"Tie"``, ``"garbage"``, ``"Output (b)"``, ...)."""
    order: Order | None = None
    """Pairwise: presentation order, ``ab`` = output_a shown first, ``ba`` = output_b shown first;
    None when the source does not say (or the verdict already combines both orders)."""
    status: Literal["ok", "invalid"] = "ok"
    """``ok``: a label on the scale; ``invalid``: unparseable (``label`` is None, ``raw`` kept)."""
    reasoning: str | None = None
    """The judge's stated reason, where the source kept it."""

    @model_validator(mode="after")
    def _status_matches_label(self) -> RecordedVerdict:
        if self.status == "ok" and self.label is None:
            raise ValueError("a verdict with status 'ok' needs a label")
        if self.status == "invalid" and self.label is not None:
            raise ValueError("an invalid verdict has no label")
        return self


class JudgmentSet(BaseModel):
    """Items with human labels plus the verdicts judges gave on them, imported from another tool."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """A short name (used as the gold set's name), e.g. ``pandalm-testset-v1``."""
    source: str
    """Where it was read from (the main file or folder)."""
    format: str
    """The importer that read it (a key of :data:`IMPORTERS`)."""
    scale: ScaleKind
    """``binary`` (pass/fail), ``ordinal`` (1..k) or ``pairwise`` (A/B[/tie])."""
    labels: list[Label]
    """Every label a human or a judge may give, in order (e.g. ``["A", "B", "tie"]``)."""
    items: list[GoldItem]
    """The items with their annotators' labels, in source order."""
    judges: dict[str, list[RecordedVerdict]] = Field(default_factory=dict)
    """Judge name -> its recorded verdicts (several per item when it saw both orders)."""

    @model_validator(mode="after")
    def _consistent(self) -> JudgmentSet:
        ids: set[str] = set()
        for item in self.items:
            if item.id in ids:
                raise ValueError(f"duplicate item id {item.id!r}")
            ids.add(item.id)
            for annotator, label in item.labels.items():
                if label not in self.labels:
                    raise ValueError(
                        f"item {item.id!r}: {annotator}'s label {label!r} is not in {self.labels}"
                    )
        for judge, verdicts in self.judges.items():
            for v in verdicts:
                if v.item_id not in ids:
                    raise ValueError(f"judge {judge!r} has a verdict on unknown item {v.item_id!r}")
                if v.label is not None and v.label not in self.labels:
                    raise ValueError(f"judge {judge!r}: label {v.label!r} is not in {self.labels}")
        return self

    @property
    def annotators(self) -> list[str]:
        """Every annotator who labelled at least one item, sorted."""
        return sorted({a for item in self.items for a in item.labels})

    def gold_labels(self) -> dict[str, Label | None]:
        """Item id -> the majority of its annotators (None when they tie; see ``GoldItem.majority``)."""
        return {item.id: item.majority() for item in self.items}

    def annotator_labels(self, annotator: str) -> dict[str, Label]:
        """Item id -> the label one annotator gave (items they did not label are left out)."""
        if annotator not in self.annotators:
            raise NotFoundError(f"no annotator {annotator!r}; annotators: {', '.join(self.annotators)}")
        return {item.id: item.labels[annotator] for item in self.items if annotator in item.labels}

    def verdict_labels(
        self, judge: str, *, order: Order | None = None, invalid_as: Label | None = None
    ) -> dict[str, Label | None]:
        """Item id -> the judge's label; items the judge did not grade are left out.

        ``order`` picks one presentation order (needed when the judge saw both). An invalid verdict
        maps to None, or to ``invalid_as`` when given (e.g. ``"tie"``, PandaLM's own convention).
        """
        if judge not in self.judges:
            raise NotFoundError(f"no judge {judge!r}; judges: {', '.join(sorted(self.judges)) or '(none)'}")
        if invalid_as is not None and invalid_as not in self.labels:
            raise ValueError(f"invalid_as={invalid_as!r} is not a label of this set ({self.labels})")
        out: dict[str, Label | None] = {}
        for v in self.judges[judge]:
            if order is not None and v.order != order:
                continue
            if v.item_id in out:
                orders = sorted({str(x.order) for x in self.judges[judge] if x.item_id == v.item_id})
                raise ValueError(
                    f"judge {judge!r} has several verdicts on item {v.item_id!r} "
                    f"(orders {', '.join(orders)}): pass order='ab' or order='ba'"
                )
            out[v.item_id] = invalid_as if v.label is None else v.label
        return out

    def to_jsonl(self) -> str:
        """The items in judgecal's gold-set format (``docs/formats.md``), one JSON object a line."""
        return "".join(json.dumps(it.model_dump(mode="json"), ensure_ascii=False) + "\n" for it in self.items)

    def write_gold(self, path: StrPath) -> Path:
        """Write the items as a gold-set JSONL file (loadable with ``load_gold``); returns the path."""
        out = Path(path)
        out.write_text(self.to_jsonl(), encoding="utf-8")
        return out

    def to_gold_set(self) -> GoldSet:
        """The items as a :class:`GoldSet`; ``file_hash`` is that of :meth:`to_jsonl`'s text, so it
        equals the hash of the file :meth:`write_gold` writes."""
        return GoldSet(
            name=self.name,
            path=self.source,
            file_hash=sha256_bytes(self.to_jsonl().encode("utf-8")),
            items=list(self.items),
            splits=assign_splits(self.items),
        )

    def add_verdicts(self, path: StrPath) -> JudgmentSet:
        """A copy with the verdicts of a verdicts JSONL file (:func:`load_verdicts`) added."""
        new = load_verdicts(path, labels=self.labels, item_ids={it.id for it in self.items})
        clash = sorted(set(new) & set(self.judges))
        if clash:
            raise GoldError(
                f"judge(s) {', '.join(clash)} already have verdicts in this set", location=str(path)
            )
        return self.model_copy(update={"judges": {**self.judges, **new}})


# --------------------------------------------------------------------------------------------
# Recorded verdicts of another harness

_VERDICT_KEYS = {"item_id", "judge", "label", "raw", "order", "status", "reasoning"}


def _match_label(value: object, labels: Sequence[Label]) -> Label | None:
    if value in labels and not isinstance(value, bool):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        for label in labels:
            if isinstance(label, str) and label.lower() == value.strip().lower():
                return label
    number = _as_int(value)
    return number if number is not None and number in labels else None


def load_verdicts(
    path: StrPath, *, labels: Sequence[Label] | None = None, item_ids: Collection[str] | None = None
) -> dict[str, list[RecordedVerdict]]:
    """Read a verdicts JSONL file: judge name -> its verdicts.

    One object a line: ``{"item_id": "q1", "judge": "gpt-4o", "label": "A", "raw": "[[A]]",
    "order": "ab"}``. ``label`` null (or absent) is an invalid verdict; ``raw``, ``order``,
    ``status`` (``ok``/``invalid``) and ``reasoning`` are optional. With ``labels``/``item_ids``
    every line is checked against them. Two verdicts of one judge on one item in one order are
    an error.
    """
    path = Path(path)
    out: dict[str, list[RecordedVerdict]] = defaultdict(list)
    seen: dict[tuple[str, str, str | None], _Where] = {}
    for where, rec in _records(path):
        unknown = sorted(set(rec) - _VERDICT_KEYS)
        if unknown:
            raise where.error(f"unknown key (allowed: {', '.join(sorted(_VERDICT_KEYS))})", unknown[0])
        item_id, judge = rec.get("item_id"), rec.get("judge")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str) or not item_id:
            raise where.error("required: the item's id", "item_id")
        if item_ids is not None and item_id not in item_ids:
            raise where.error(f"no item {item_id!r} in the set", "item_id")
        if not isinstance(judge, str) or not judge.strip():
            raise where.error("required: the judge's name", "judge")
        order = rec.get("order")
        if order not in (None, "ab", "ba"):
            raise where.error(f"order {order!r} must be 'ab', 'ba' or null", "order")
        raw = rec.get("raw", "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise where.error("must be text", "raw")
        reasoning = rec.get("reasoning")
        if reasoning is not None and not isinstance(reasoning, str):
            raise where.error("must be text", "reasoning")
        value = rec.get("label")
        label: Label | None
        if value is None:
            label = None
        elif labels is not None:
            label = _match_label(value, labels)
            if label is None:
                raise where.error(
                    f"label {value!r} is not one of {labels} (null for an invalid verdict)", "label"
                )
        elif isinstance(value, str | int) and not isinstance(value, bool):
            label = value
        else:
            raise where.error(f"label {value!r} must be text, an integer or null", "label")
        status = rec.get("status", "ok" if label is not None else "invalid")
        if status not in ("ok", "invalid") or (status == "ok") != (label is not None):
            raise where.error(f"status {status!r}: 'ok' needs a label, 'invalid' needs label null", "status")
        key = (judge, item_id, order)
        if key in seen:
            raise where.error(
                f"a second verdict of {judge!r} on {item_id!r} (first at {seen[key]})", "item_id"
            )
        seen[key] = where
        out[judge].append(
            RecordedVerdict(
                item_id=item_id, label=label, raw=raw, order=order, status=status, reasoning=reasoning
            )
        )
    return dict(out)
