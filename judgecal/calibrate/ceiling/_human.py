"""Human–human agreement: pairwise Cohen κ and Krippendorff α over all annotators (gate G0's input)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import Field

from judgecal._model import NanFloat
from judgecal.calibrate import agreement as ag
from judgecal.calibrate.ceiling._base import (
    GoldLabels,
    Label,
    Level,
    _annotated,
    _check_common,
    _cluster_ids,
    _empty_estimate,
    _Result,
    _Scale,
)
from judgecal.calibrate.intervals import (
    Estimate,
    bootstrap_alpha,
    bootstrap_confusion_stat,
    wilson,
)


class PairAgreement(_Result):
    """Agreement between two annotators on the items both labelled."""

    annotator_a: str
    """First annotator (the pair is ordered by name)."""
    annotator_b: str
    """Second annotator."""
    n: int
    """Items both labelled."""
    percent_agreement: Estimate
    """Share of those items with identical labels, with a Wilson interval."""
    kappa: Estimate
    """Cohen's κ (quadratic-weighted for ordinal and interval scales), percentile bootstrap over items."""


class HumanCeiling(_Result):
    """Human–human agreement on a gold set (gate G0)."""

    level: Level
    """Level of measurement used for κ weights and α's distance."""
    scale_labels: list[Label]
    """The scale, in order."""
    annotators: list[str]
    """Every annotator who labelled at least one item, sorted."""
    n_items: int
    """Items with at least one label."""
    n_items_2plus: int
    """Items with at least two labels (the ones κ and α can use)."""
    n_items_3plus: int
    """Items with at least three labels (the ones the alt-test prefers)."""
    kappa_weights: Literal["none", "quadratic"]
    """``none``: Cohen's κ (nominal); ``quadratic``: quadratic-weighted κ over scale positions."""
    pairs: list[PairAgreement]
    """Every annotator pair that shares at least one item."""
    n_pairs_without_overlap: int
    """Annotator pairs that share no item (left out of ``pairs``)."""
    mean_pairwise_kappa: NanFloat
    """Unweighted mean of the pairs' κ (pairs with an undefined κ left out); nan with none."""
    n_pairs: int
    """Pairs contributing to ``mean_pairwise_kappa``."""
    alpha: Estimate
    """Krippendorff's α over all annotators, percentile bootstrap over the items with ≥ 2 labels (``n``)."""
    notes: list[str] = Field(default_factory=list)
    """Degenerate cases met (one annotator, no overlap, ...)."""


# --------------------------------------------------------------------------------------------
# human–human agreement


def human_agreement(
    labels: GoldLabels,
    *,
    scale_labels: Sequence[Label],
    level: Level = "nominal",
    clusters: Mapping[Any, Hashable] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> HumanCeiling:
    """Human–human agreement: pairwise κ and Krippendorff's α, each with a bootstrap interval.

    - Pairwise: for every annotator pair, on the items both labelled, percent agreement (Wilson)
      and κ = (p_o − p_e)/(1 − p_e) with each rater's own marginals (Cohen 1960); for ordinal and
      interval scales the quadratic-weighted κ_w = 1 − Σ w_ij O_ij / Σ w_ij E_ij with
      w_ij = (i − j)²/(k − 1)² over scale positions (Cohen 1968). Range [−1, 1].
    - Krippendorff's α = 1 − D_o/D_e over all annotators and the items with ≥ 2 labels, with the
      nominal, ordinal or interval distance (Krippendorff 2004/2011). Range (−1, 1]; G0 asks for
      α ≥ 0.667, Krippendorff relies on data with α ≥ 0.800.
    - Intervals: percentile bootstrap over items (over ``clusters`` when given: item → prompt id),
      ``n_resamples`` resamples at ``confidence``, seeded. α is resampled over the items with
      ≥ 2 labels (the bootstrap over units; Hayes & Krippendorff's own bootstrap resamples pairable
      values instead).

    Degenerate cases: a single annotator (or no item with two labels) gives no pairs, α = nan and
    mean κ = nan, with a note; pairs sharing no item are counted in ``n_pairs_without_overlap``; a κ
    that is undefined (e.g. both annotators always give the same single label, p_e = 1) is nan and
    left out of the mean. Raises ValueError for a label not on ``scale_labels``, an unknown level,
    non-string annotator names, or an interval scale with non-numeric labels.

    References: Cohen 1960, 1968; Krippendorff 2004 (*Content Analysis*, 2nd ed.), 2011
    ("Computing Krippendorff's Alpha-Reliability"); Hayes & Krippendorff 2007, *CMM* 1:77–89.

    >>> gold = {
    ...     "i1": {"ann": "pass", "bob": "pass", "cy": "pass"},
    ...     "i2": {"ann": "fail", "bob": "fail", "cy": "pass"},
    ...     "i3": {"ann": "pass", "bob": "fail"},
    ...     "i4": {"ann": "fail", "bob": "fail", "cy": "fail"},
    ...     "i5": {"ann": "pass", "cy": "pass"},
    ... }
    >>> h = human_agreement(gold, scale_labels=["fail", "pass"], n_resamples=200)
    >>> [(p.annotator_a, p.annotator_b, p.n, round(p.kappa.value, 3)) for p in h.pairs]
    [('ann', 'bob', 4, 0.5), ('ann', 'cy', 4, 0.5), ('bob', 'cy', 3, 0.4)]
    >>> h.n_items_2plus, h.n_items_3plus, round(h.alpha.value, 3)
    (5, 3, 0.429)
    """
    _check_common(confidence, n_resamples)
    scale = _Scale(scale_labels, level)
    gold = _annotated(labels)
    items = [item for item, row in gold.items() if row]
    annotators = sorted({a for row in gold.values() for a in row})
    a_index = {a: r for r, a in enumerate(annotators)}
    codes = np.full((len(annotators), len(items)), np.nan)
    values = np.full((len(annotators), len(items)), np.nan)
    for col, item in enumerate(items):
        for annotator, label in gold[item].items():
            code = scale.code(label, f"item {item!r}, annotator {annotator!r}")
            codes[a_index[annotator], col] = code
            if level == "interval":
                values[a_index[annotator], col] = float(label)
    cluster_ids = _cluster_ids(items, clusters)
    counts = (~np.isnan(codes)).sum(axis=0)
    notes: list[str] = []
    code_labels = list(range(scale.k))
    weights = scale.weights
    kappa_stat = partial(ag.kappa_from_confusion, weights=weights)

    pairs: list[PairAgreement] = []
    no_overlap = 0
    for a, b in combinations(range(len(annotators)), 2):
        both = ~np.isnan(codes[a]) & ~np.isnan(codes[b])
        n = int(both.sum())
        if n == 0:
            no_overlap += 1
            continue
        x, y = codes[a, both].astype(np.int64), codes[b, both].astype(np.int64)
        kappa = bootstrap_confusion_stat(
            x,
            y,
            kappa_stat,
            labels=code_labels,
            clusters=None if cluster_ids is None else cluster_ids[both],
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        pairs.append(
            PairAgreement(
                annotator_a=annotators[a],
                annotator_b=annotators[b],
                n=n,
                percent_agreement=wilson(int((x == y).sum()), n, confidence=confidence),
                kappa=kappa,
            )
        )
    finite = [p.kappa.value for p in pairs if not math.isnan(p.kappa.value)]
    mean_kappa = float(np.mean(finite)) if finite else math.nan

    pairable = counts >= 2
    n_pairable = int(pairable.sum())
    if len(annotators) < 2:
        notes.append(f"{len(annotators)} annotator(s): no pairs, and α needs at least two annotators")
    elif n_pairable == 0:
        notes.append("no item has two labels: no pairwise κ and no α")
    if no_overlap:
        notes.append(f"{no_overlap} annotator pair(s) share no item and are left out of the pairs")
    if pairs and not finite:
        notes.append("every pairwise κ is undefined (p_e = 1): the mean κ is nan")

    if len(annotators) >= 2 and n_pairable:
        data = (values if level == "interval" else codes)[:, pairable]
        alpha_labels: list[Any] = [float(v) for v in scale.labels] if level == "interval" else code_labels

        # the vectorised α bootstrap draws the same resamples as the generic one (one per unit)
        alpha_est = bootstrap_alpha(
            data,
            level=level,
            labels=alpha_labels,
            clusters=None if cluster_ids is None else cluster_ids[pairable],
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
    else:
        alpha_est = _empty_estimate(confidence, cluster_ids is not None)

    return HumanCeiling(
        level=level,
        scale_labels=list(scale.labels),
        annotators=annotators,
        n_items=len(items),
        n_items_2plus=n_pairable,
        n_items_3plus=int((counts >= 3).sum()),
        kappa_weights="none" if weights is None else "quadratic",
        pairs=pairs,
        n_pairs_without_overlap=no_overlap,
        mean_pairwise_kappa=mean_kappa,
        n_pairs=len(finite),
        alpha=alpha_est,
        notes=notes,
    )
