"""Agreement while labelling: how far each annotator got, κ for every pair of annotators and
Krippendorff's α over all of them, from the labels stored so far.

Only ``labelled`` answers of annotators count (``unsure`` and ``skipped`` do not; an adjudicator
is never an annotator). Binary and pairwise rubrics use unweighted Cohen's κ and nominal α;
ordinal rubrics quadratic-weighted κ and ordinal α (:mod:`judgecal.calibrate.agreement`).
A statistic with too little data (fewer than two shared items, one category only) is None.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import TYPE_CHECKING, Any

from judgecal.calibrate.agreement import cohen_kappa, krippendorff_alpha, percent_agreement
from judgecal.labels._model import Label, Queue

if TYPE_CHECKING:
    from judgecal.rubric import Rubric

__all__ = ["live_agreement"]


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def live_agreement(rubric: Rubric, queue: Queue, labels: list[Label]) -> dict[str, Any]:
    """Progress per annotator, κ per pair, α, and the counts of disagreements and adjudications."""
    scale = [str(x) for x in rubric.scale.labels]
    ordinal = rubric.scale.kind == "ordinal"
    people = [p for p, a in queue.annotators.items() if a.role == "annotator"]
    given: dict[str, dict[str, str]] = {p: {} for p in people}
    progress: dict[str, dict[str, int]] = {}
    for p in people:
        mine = [lab for lab in labels if lab.annotator == p]
        progress[p] = {
            "assigned": len(queue.items_for(p)),
            "answered": len(mine),
            "labelled": sum(lab.status == "labelled" for lab in mine),
            "unsure": sum(lab.status == "unsure" for lab in mine),
            "skipped": sum(lab.status == "skipped" for lab in mine),
        }
        for lab in mine:
            if lab.status == "labelled" and lab.label is not None:
                given[p][lab.item_id] = lab.label
    pairs = []
    for a, b in combinations(people, 2):
        shared = sorted(set(given[a]) & set(given[b]))
        x = [given[a][i] for i in shared]
        y = [given[b][i] for i in shared]
        kappa = po = None
        if len(shared) >= 2:
            kappa = _finite(cohen_kappa(x, y, labels=scale, weights="quadratic" if ordinal else None))
            po = _finite(percent_agreement(x, y, labels=scale))
        pairs.append({"a": a, "b": b, "n": len(shared), "agreement": po, "kappa": kappa})
    units = sorted({i for p in people for i in given[p]})
    multi = [i for i in units if sum(i in given[p] for p in people) >= 2]
    alpha = None
    if len(people) >= 2 and multi:
        data = [[given[p].get(i) for i in multi] for p in people]
        alpha = _finite(krippendorff_alpha(data, level="ordinal" if ordinal else "nominal", labels=scale))
    adjudicated = {lab.item_id for lab in labels if lab.role == "adjudicator" and lab.status == "labelled"}
    disagreements = [i for i in multi if len({given[p][i] for p in people if i in given[p]}) > 1]
    return {
        "progress": progress,
        "pairs": pairs,
        "alpha": alpha,
        "alpha_items": len(multi),
        "kappa_kind": "quadratic-weighted Cohen's κ" if ordinal else "Cohen's κ",
        "alpha_level": "ordinal" if ordinal else "nominal",
        "disagreements": len(disagreements),
        "adjudicated": len(adjudicated & set(disagreements)),
        "total_items": len(queue.items),
    }
