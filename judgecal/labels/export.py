"""A queue's labels as a gold set: the JSONL ``calibrate`` and ``validate`` read, one annotator
column each (``docs/formats.md``).

- Only ``labelled`` answers of annotators become labels; ``unsure`` and ``skipped`` answers do not
  (they are counted). An item with no label at all is left out (counted).
- Labels the item already had (from a gold set) are kept; a person who labels it again replaces
  their own old label.
- An adjudicator's label is written as ``metadata.adjudicated_label`` (and ``metadata.adjudicator``),
  never as an annotator's: the human–human agreement and the ceiling see only the annotators.
- Failure modes and notes go to ``metadata.human_failure_modes`` / ``metadata.notes`` (per person);
  a randomly drawn item carries ``metadata.selection = "random"`` and its
  ``metadata.inclusion_probability``; a targeted one ``metadata.split = "dev"`` (so it never
  reaches the decision).
- ``base``: a gold set whose items come first (a queue built for a record: the record's gold set
  plus the new items), each pinned to the split it had (``metadata.split``): the 70/30 split
  rounds per stratum, so adding items would otherwise move a few old ones between dev and test —
  and an item a prompt was tuned on must never reach the decision.

The file is written through a temporary file beside the target, renamed into place: an
interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgecal._files import write_atomic
from judgecal.errors import ConfigError, InputError
from judgecal.labels._model import Label, Queue

if TYPE_CHECKING:
    from judgecal.gold import GoldItem, GoldSet

__all__ = ["export_lines", "pinned", "write_jsonl"]


def pinned(gold: GoldSet) -> list[GoldItem]:
    """The gold set's items, each with ``metadata.split`` set to the split it has now."""
    out = []
    for it in gold.items:
        meta = dict(it.metadata)
        meta.setdefault("split", gold.splits[it.id])
        out.append(it.model_copy(update={"metadata": meta}))
    return out


def export_lines(
    queue: Queue, labels: Sequence[Label], *, base: Sequence[GoldItem] = ()
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The gold lines and counts (``items``, ``labels``, ``unsure``, ``skipped``, ``unlabelled``,
    ``adjudicated``, ``base``)."""
    by_item: dict[str, list[Label]] = {}
    for lab in labels:
        by_item.setdefault(lab.item_id, []).append(lab)
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for gi in base:
        lines.append(gi.model_dump(mode="json"))
        seen.add(gi.id)
    counts = {
        "items": 0,
        "labels": 0,
        "unsure": 0,
        "skipped": 0,
        "unlabelled": 0,
        "adjudicated": 0,
        "base": len(base),
    }
    for item in queue.items:
        if item.id in seen:
            raise InputError(f"item {item.id!r} is both in the base gold set and in queue {queue.name!r}")
        mine = by_item.get(item.id, [])
        out_labels: dict[str, Any] = dict(item.known_labels)
        meta = dict(item.metadata)
        modes: dict[str, list[str]] = {}
        notes: dict[str, str] = {}
        for lab in mine:
            if lab.status == "unsure":
                counts["unsure"] += 1
            elif lab.status == "skipped":
                counts["skipped"] += 1
            if lab.note:
                notes[lab.annotator] = lab.note
            if lab.status != "labelled" or lab.label is None:
                continue
            value: Any = int(lab.label) if lab.label.lstrip("-").isdigit() else lab.label
            if lab.role == "adjudicator":
                meta["adjudicated_label"] = value
                meta["adjudicator"] = lab.annotator
                counts["adjudicated"] += 1
                continue
            out_labels[lab.annotator] = value
            counts["labels"] += 1
            if lab.failure_modes:
                modes[lab.annotator] = list(lab.failure_modes)
        if not out_labels:
            counts["unlabelled"] += 1
            continue
        if modes:
            meta["human_failure_modes"] = modes
        if notes:
            meta["notes"] = notes
        if item.selection == "random":
            meta["selection"] = "random"
            meta["inclusion_probability"] = item.inclusion_probability
        elif item.selection == "targeted":
            meta["selection"] = "targeted"
            meta["split"] = "dev"
        lines.append({"id": item.id, "inputs": dict(item.inputs), "metadata": meta, "labels": out_labels})
        counts["items"] += 1
    return lines, counts


def write_jsonl(
    lines: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write the lines to ``path`` whole or not at all (:func:`judgecal._files.write_atomic`);
    refuses to replace a file unless ``force``, and a folder that does not exist."""
    target = Path(path)
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; pass --force to replace it")
    if not target.parent.is_dir():
        raise ConfigError(f"cannot write {target}: folder {target.parent} does not exist")
    write_atomic(target, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return target
