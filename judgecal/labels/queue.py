"""Building labelling queues: from a gold set, an items file, a stored grading run, or from the
approval record of an undecided validation (the queue that would decide it).

Who labels what: with ``overlap`` o and k ≥ 2 annotators, ``ceil(o·n)`` items (a seeded random
choice) go to every annotator — these give the human–human agreement and the human ceiling —
and the rest go to one annotator each, in turn.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgecal._model import sha256_json
from judgecal.errors import ConfigError, InputError
from judgecal.labels._model import QueueItem
from judgecal.labels.sampling import draw_queue, size_for_needs

if TYPE_CHECKING:
    from judgecal.gold import GoldItem, GoldSet
    from judgecal.rubric import Rubric
    from judgecal.store import Store

__all__ = [
    "QueuePlan",
    "assign",
    "item_hash",
    "items_from_gold",
    "items_from_run",
    "plan_for_record",
    "run_verdicts",
]

UNDECIDED = ("inconclusive", "provisional")
"""The tiers more labels can change."""


def item_hash(item_id: str, inputs: dict[str, str], metadata: dict[str, Any]) -> str:
    """SHA-256 of what the annotator is shown and what the export writes."""
    return sha256_json({"id": item_id, "inputs": inputs, "metadata": metadata})


def assign(
    item_ids: Sequence[str], annotators: Sequence[str], *, overlap: float, seed: int = 0, min_shared: int = 0
) -> dict[str, list[str]]:
    """Item id -> the annotators who label it (see the module docstring); at least
    ``min_shared`` items go to every annotator."""
    if not 0.0 <= overlap <= 1.0:
        raise ConfigError(
            f"overlap {overlap} must be between 0 and 1 (the share of items every annotator labels)"
        )
    if not annotators:
        raise ConfigError("a queue needs at least one annotator (--annotator NAME)")
    ids = list(item_ids)
    k = len(annotators)
    n_shared = min(len(ids), max(math.ceil(overlap * len(ids)), min_shared)) if k >= 2 else 0
    order = ids[:]
    random.Random(seed).shuffle(order)
    shared = set(order[:n_shared])
    out: dict[str, list[str]] = {}
    turn = 0
    for item_id in ids:
        if k == 1 or item_id in shared:
            out[item_id] = list(annotators)
        else:
            out[item_id] = [annotators[turn % k]]
            turn += 1
    return out


def _queue_item(gi: GoldItem, assigned: list[str], **extra: Any) -> QueueItem:
    return QueueItem(
        id=gi.id,
        inputs=dict(gi.inputs),
        metadata=dict(gi.metadata),
        item_hash=item_hash(gi.id, dict(gi.inputs), dict(gi.metadata)),
        assigned=assigned,
        known_labels={a: v for a, v in gi.labels.items()},
        **extra,
    )


def items_from_gold(
    gold: GoldSet | Sequence[GoldItem], annotators: Sequence[str], *, overlap: float, seed: int = 0
) -> list[QueueItem]:
    """Every item of a gold set or an items file, in file order (``selection`` ``given``)."""
    items = list(gold.items if hasattr(gold, "items") else gold)
    who = assign([it.id for it in items], annotators, overlap=overlap, seed=seed)
    return [_queue_item(it, who[it.id]) for it in items]


def run_verdicts(store: Store, run_id: str) -> tuple[Any, list[GoldItem], dict[str, str | int]]:
    """A stored run, the items it graded (re-read from its gold file) and each item's
    aggregated verdict (items without a valid verdict are absent)."""
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.judge import JudgeConfig, verdicts_from_rows  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    run = store.get_run(run_id)
    rubric = find_rubric(run.rubric_name)
    gold = load_gold(run.gold_path, rubric, require_labels=False)
    if gold.file_hash != run.gold_hash:
        raise InputError(f"the items changed since run {run.id[:12]} graded them", location=run.gold_path)
    judge = JudgeConfig.model_validate_json(run.settings_json)
    items = gold.select(run.split)  # type: ignore[arg-type]
    _verdicts, per_item = verdicts_from_rows(rubric, judge, items, store.run_calls(run.id))
    labels = {iv.item_id: iv.label for iv in per_item if iv.status == "ok" and iv.label is not None}
    return run, items, labels


def items_from_run(
    store: Store, run_id: str, rubric: Rubric, annotators: Sequence[str], *, overlap: float, seed: int = 0
) -> tuple[str, list[QueueItem]]:
    """The items a stored run graded, with the judge's verdict (hidden while labelling is blind).
    Returns the run's full id and the items."""
    run, items, verdicts = run_verdicts(store, run_id)
    if run.rubric_name != rubric.name:
        raise InputError(f"run {run.id[:12]} graded rubric {run.rubric_name!r}, not {rubric.name!r}")
    who = assign([it.id for it in items], annotators, overlap=overlap, seed=seed)
    out = []
    for it in items:
        label = verdicts.get(it.id)
        out.append(
            _queue_item(it, who[it.id], judge_verdicts={run.id: str(label)} if label is not None else {})
        )
    return run.id, out


@dataclass
class QueuePlan:
    """The queue that would decide an undecided record, and how it was sized and drawn."""

    record_id: str
    rubric: str
    gold_path: str
    tier: str
    needed_total: int | None
    needed_per_class: dict[str, int]
    class_shares: dict[str, float]
    pool_size: int
    n_random: int
    n_targeted: int
    n_multi: int = 0
    """Items every annotator labels because the human ceiling needs them (0: none needed)."""
    ceiling_annotators: int = 2
    items: list[QueueItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record_id,
            "rubric": self.rubric,
            "gold_path": self.gold_path,
            "tier": self.tier,
            "needed_total": self.needed_total,
            "needed_per_class": self.needed_per_class,
            "class_shares": self.class_shares,
            "pool_size": self.pool_size,
            "n_random": self.n_random,
            "n_targeted": self.n_targeted,
            "n_multi": self.n_multi,
            "ceiling_annotators": self.ceiling_annotators,
            "scheme": "simple random sample of the pool (the test split stays random); "
            "targeted items pinned to dev",
        }


def _class_shares(gold: GoldSet) -> dict[str, float]:
    majorities = [m for m in (it.majority() for it in gold.items) if m is not None]
    counts = Counter(str(m) for m in majorities)
    total = sum(counts.values())
    return {label: n / total for label, n in sorted(counts.items())} if total else {}


def _disagreeing(store: Store, runs: Sequence[str]) -> list[str]:
    """Item ids where the given runs' verdicts differ (in the first run's item order)."""
    if len(runs) < 2:
        raise ConfigError(
            "targeting needs two or more runs whose verdicts to compare (--disagree RUN --disagree RUN)"
        )
    per_run = [run_verdicts(store, r)[2] for r in runs]
    first = [i for i in per_run[0]]
    return [i for i in first if len({str(v.get(i)) for v in per_run if v.get(i) is not None}) > 1]


def plan_for_record(
    store: Store,
    record_id: str,
    pool: Sequence[GoldItem],
    annotators: Sequence[str],
    *,
    overlap: float,
    seed: int = 0,
    n: int | None = None,
    n_targeted: int = 0,
    disagree: Sequence[str] = (),
) -> QueuePlan:
    """The queue that would decide record ``record_id``: a simple random sample of ``pool`` (labels
    and a pinned split a pool item carries are ignored: the queue collects new labels, and the
    split of a random draw is the gold set's hash rule) sized
    from the record's labels-needed figures (or ``n``), plus up to ``n_targeted`` items where the
    ``disagree`` runs' verdicts differ, pinned to dev (:mod:`judgecal.labels.sampling`)."""
    from judgecal.gold import DEV_FRACTION, load_gold  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    cert = store.get_certificate(record_id)
    d = cert.decision
    if d.tier not in UNDECIDED and n is None:
        raise ConfigError(
            f"record {cert.id[:12]} is {d.tier.replace('_', ' ')}: more labels would not change it "
            "(pass --n to label a sample anyway)"
        )
    rubric = find_rubric(cert.rubric_path if Path(cert.rubric_path).is_dir() else cert.rubric)
    gold = load_gold(cert.gold_path, rubric)
    known = {it.id for it in gold.items}
    candidates = [it for it in pool if it.id not in known]
    if not candidates:
        raise InputError("the pool has no item that is not already in the record's gold set")
    shares = _class_shares(gold)
    per_class = {str(k): int(v) for k, v in d.labels_needed_per_class.items()}
    explicit_n = n
    if n is None:
        n = size_for_needs(d.labels_needed, per_class, shares)
        if n <= 0:
            raise ConfigError(
                f"record {cert.id[:12]} does not say how many labels would decide it (pass --n)"
            )
    # the human ceiling: the data gate counts test items labelled by >= ceiling_annotators people
    data_gate = next((g for g in d.gates if g.gate == "data"), None)
    fig = data_gate.figures if data_gate is not None else {}
    thresholds = fig.get("thresholds") or {}
    ceiling_k = int(thresholds.get("ceiling_annotators", 2))
    ceiling_short = max(0, int(thresholds.get("min_ceiling_items", 0)) - int(fig.get("ceiling_items", 0)))
    n_multi = math.ceil(ceiling_short / (1 - DEV_FRACTION)) if ceiling_short else 0
    if n_multi and len(annotators) < ceiling_k:
        raise ConfigError(
            f"record {cert.id[:12]} needs {ceiling_short} more test items labelled by >= {ceiling_k} people "
            f"(the human ceiling): name at least {ceiling_k} annotators (--annotator, once each)"
        )
    # the 70/30 split rounds per stratum (human class x slice): each stratum can put up to half an
    # item more into dev than 30%, so the draw adds that much to what the test split must receive
    strata = {(repr(it.majority()), str(it.slice)) for it in gold.items}
    margin = math.ceil(len(strata) / 2)
    if explicit_n is None:
        n += margin
    if n_multi:
        n_multi += margin
    n = max(n, n_multi)
    targeted = _disagreeing(store, disagree) if n_targeted else []
    draws = draw_queue([it.id for it in candidates], n, seed=seed, targeted=targeted, n_targeted=n_targeted)
    by_id = {it.id: it for it in candidates}
    random_ids = [dr.item_id for dr in draws if dr.selection == "random"]
    who = assign(random_ids, annotators, overlap=overlap, seed=seed, min_shared=n_multi)
    who.update(
        assign(
            [dr.item_id for dr in draws if dr.selection == "targeted"], annotators, overlap=overlap, seed=seed
        )
    )
    items: list[QueueItem] = []
    for dr in draws:
        gi = by_id[dr.item_id]
        meta = {k: v for k, v in gi.metadata.items() if k != "split"}  # the queue decides the split
        if dr.selection == "targeted":
            meta["split"] = "dev"  # chosen on purpose: never part of the decision's test split
        items.append(
            QueueItem(
                id=gi.id,
                inputs=dict(gi.inputs),
                metadata=meta,
                item_hash=item_hash(gi.id, dict(gi.inputs), meta),
                assigned=who[gi.id],
                selection=dr.selection,  # type: ignore[arg-type]
                inclusion_probability=dr.inclusion_probability,
            )
        )
    return QueuePlan(
        record_id=cert.id,
        rubric=rubric.name,
        gold_path=cert.gold_path,
        tier=d.tier,
        needed_total=d.labels_needed,
        needed_per_class=per_class,
        class_shares=shares,
        pool_size=len(candidates),
        n_random=sum(dr.selection == "random" for dr in draws),
        n_targeted=sum(dr.selection == "targeted" for dr in draws),
        n_multi=min(n_multi, len(random_ids)),
        ceiling_annotators=ceiling_k,
        items=items,
    )
