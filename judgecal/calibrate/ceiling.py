"""The human ceiling: how well humans agree with each other, and whether the judge does as well.

Three views, all over gold labels shaped ``{item_id: {annotator: label}}`` (annotators may have
labelled different subsets; a ``None`` label means "not labelled") and, for the judge,
``{item_id: label | None}`` where ``None`` is an invalid verdict:

- :func:`human_agreement`: pairwise Cohen κ (quadratic-weighted for ordinal/interval scales) and
  Krippendorff α over all annotators (Krippendorff 2004, 2011). This is gate G0's input.
- :func:`leave_one_out`: each annotator against the majority of the *other* annotators, and the
  judge against the same majority on the same items (Zheng et al. 2023, NeurIPS Datasets &
  Benchmarks, arXiv 2306.05685, §4 / App. D.3; Dubois et al.'s AlpacaEval annotator
  meta-evaluation, ``tatsu-lab/alpaca_eval``), with the paired difference judge − human.
- :func:`alt_test`: Calderon, Reichart & Dror's alternative annotator test (ACL 2025, arXiv
  2501.10970), the statistical replacement criterion of gate G2b.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from judgecal._model import NanFloat, Strict
from judgecal.calibrate import agreement as ag
from judgecal.calibrate.intervals import (
    Estimate,
    bootstrap_alpha,
    bootstrap_confusion_stat,
    bootstrap_confusions,
    bootstrap_indices,
    percentile_estimate,
    wilson,
)

__all__ = [
    "EPSILON_BY_ANNOTATOR_TYPE",
    "AltTestAnnotator",
    "AltTestResult",
    "HumanCeiling",
    "LeaveOneOut",
    "LooAnnotator",
    "PairAgreement",
    "alt_test",
    "benjamini_yekutieli",
    "human_agreement",
    "leave_one_out",
]

Label = str | int | float
Level = Literal["nominal", "ordinal", "interval"]
Scoring = Literal["accuracy", "neg_rmse"]
InvalidPolicy = Literal["disagree", "exclude"]
GoldLabels = Mapping[Any, Mapping[str, Label | None]]
"""``{item_id: {annotator: label}}``; a ``None`` label means the annotator did not label the item."""
JudgeLabels = Mapping[Any, Label | None]
"""``{item_id: label}``; ``None`` is an invalid verdict. Items absent from the mapping were not judged."""


class _Result(Strict):
    """Base of the result models here: unknown keys rejected, field docstrings become descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


EPSILON_BY_ANNOTATOR_TYPE: dict[str, float] = {"expert": 0.2, "skilled": 0.15, "crowd": 0.1}
"""The alt-test's cost–benefit margin ε by annotator type (Calderon et al. 2025, README FAQ)."""


# --------------------------------------------------------------------------------------------
# result models


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


class LooAnnotator(_Result):
    """One annotator (and the judge) against the majority of the other annotators."""

    annotator: str
    """The held-out annotator j."""
    n: int
    """Items j labelled that at least one other annotator labelled and the judge was run on."""
    human_agreement: NanFloat
    """Mean credit of j's labels against the others' majority (ties: see :func:`leave_one_out`)."""
    judge_agreement: NanFloat
    """Mean credit of the judge's labels against the same majority on the same items."""
    difference: NanFloat
    """judge_agreement − human_agreement."""
    n_unique_majority: int
    """Of those items, the ones where the others' majority is a single label (used for κ)."""
    human_kappa: NanFloat
    """κ of j's labels against the others' majority on the unique-majority items (nan if undefined)."""
    judge_kappa: NanFloat
    """κ of the judge's labels against the same majority on the same items (nan if undefined)."""


class LeaveOneOut(_Result):
    """Human-vs-others and judge-vs-others agreement, leaving one annotator out at a time."""

    level: Level
    """Level of measurement (κ weights)."""
    invalid: InvalidPolicy
    """``disagree``: an invalid verdict counts as a disagreement; ``exclude``: its items are dropped."""
    annotators: list[LooAnnotator]
    """Per held-out annotator."""
    n_items: int
    """Items contributing at least one comparison."""
    n_rows: int
    """(annotator, item) comparisons pooled in the overall figures."""
    n_items_not_judged: int
    """Items with ≥ 2 labels absent from the judge's mapping (left out)."""
    n_judge_invalid: int
    """Items with ≥ 2 labels whose judge verdict was invalid (counted or dropped per ``invalid``)."""
    human_agreement: Estimate
    """Pooled credit of held-out humans against the others' majority; cluster bootstrap over items."""
    judge_agreement: Estimate
    """Pooled credit of the judge against the same majorities, same rows."""
    agreement_difference: Estimate
    """judge − human agreement, paired bootstrap (the same resampled items on both sides)."""
    human_kappa: Estimate
    """κ of held-out humans against the others' unique majority, pooled over rows."""
    judge_kappa: Estimate
    """κ of the judge against the same majorities, same rows."""
    kappa_difference: Estimate
    """judge − human κ, paired bootstrap."""
    notes: list[str] = Field(default_factory=list)
    """Degenerate cases met."""


class AltTestAnnotator(_Result):
    """The alt-test's comparison of the judge with one held-out annotator j."""

    annotator: str
    """The held-out annotator j."""
    n: int
    """Items j labelled that had ≥ 2 human labels and a judge entry."""
    rho_f: NanFloat
    """ρ^f_j = mean_i W^f_ij: how often the judge aligns with the others at least as well as j."""
    rho_h: NanFloat
    """ρ^h_j = mean_i W^h_ij: how often j aligns with the others at least as well as the judge."""
    test: Literal["t-test", "wilcoxon"]
    """One-sided one-sample t-test (n ≥ ``min_items``) or Wilcoxon signed-rank (fewer items)."""
    statistic: NanFloat
    """The test statistic (t, or Wilcoxon's W); ±inf/nan when every d_ij is equal."""
    p_value: float
    """p-value of H0_j: ρ^f_j ≤ ρ^h_j − ε (one-sided, on d_ij = W^h_ij − W^f_ij against ε)."""
    p_adjusted: float
    """Benjamini–Yekutieli adjusted p-value across the m annotators."""
    rejected: bool
    """H0_j rejected at FDR level q: the judge "wins" against annotator j."""


class AltTestResult(_Result):
    """The alternative annotator test (Calderon, Reichart & Dror 2025)."""

    epsilon: float
    """Cost–benefit margin ε granted to the judge."""
    q: float
    """Benjamini–Yekutieli FDR level."""
    scoring: Scoring
    """Alignment score S: ``accuracy`` or ``neg_rmse``."""
    min_items: int
    """Annotators with fewer items are tested with Wilcoxon signed-rank instead of the t-test."""
    m: int
    """Annotators tested."""
    n_items: int
    """Items used: ≥ 2 human labels and present in the judge's mapping."""
    n_items_skipped: int
    """Items left out: fewer than 2 human labels, or absent from the judge's mapping."""
    n_judge_invalid: int
    """Used items whose judge verdict is invalid (they count against the judge)."""
    annotators: list[AltTestAnnotator]
    """Per tested annotator."""
    skipped_annotators: list[str]
    """Annotators with no usable item."""
    winning_rate: NanFloat
    """ω = (#rejected H0_j)/m; nan when m = 0."""
    passed: bool
    """ω ≥ 0.5: the judge may replace the annotators (False when m = 0)."""
    advantage_probability: NanFloat
    """ρ = mean_j ρ^f_j: use it to compare judges, not to pass or fail one; nan when m = 0."""
    warnings: list[str] = Field(default_factory=list)
    """E.g. fewer than 3 annotators, Wilcoxon used, items skipped."""


# --------------------------------------------------------------------------------------------
# input handling


class _Scale:
    """A validated scale: label → position code; interval scales also keep numeric values."""

    def __init__(self, scale_labels: Sequence[Label], level: str) -> None:
        if level not in ("nominal", "ordinal", "interval"):
            raise ValueError(f"unknown level {level!r}; use one of 'nominal', 'ordinal', 'interval'")
        labels = list(scale_labels)
        if not labels:
            raise ValueError("scale_labels is empty")
        codes: dict[Label, int] = {}
        for pos, label in enumerate(labels):
            if label is None or label in codes:
                raise ValueError(
                    f"scale_labels must be distinct and not None; problem at position {pos}: {label!r}"
                )
            codes[label] = pos
        if level == "interval" and not all(_is_number(v) for v in labels):
            raise ValueError(f"an interval scale needs numeric labels, got {labels!r}")
        self.labels = labels
        self.level = level
        self.codes = codes
        self.k = len(labels)

    def code(self, label: Label, where: str) -> int:
        try:
            return self.codes[label]
        except (KeyError, TypeError):
            raise ValueError(f"{where}: label {label!r} is not on the scale {self.labels!r}") from None

    @property
    def weights(self) -> Literal["quadratic"] | None:
        return None if self.level == "nominal" else "quadratic"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not (isinstance(value, float) and math.isnan(value))


def _annotated(labels: GoldLabels) -> dict[Any, dict[str, Label]]:
    """Validate the outer shape and drop ``None`` labels."""
    if not isinstance(labels, Mapping):
        raise ValueError(
            f"labels must be a mapping {{item_id: {{annotator: label}}}}, got {type(labels).__name__}"
        )
    out: dict[Any, dict[str, Label]] = {}
    for item, by_annotator in labels.items():
        if not isinstance(by_annotator, Mapping):
            raise ValueError(
                f"item {item!r}: expected a mapping {{annotator: label}}, got {type(by_annotator).__name__}"
            )
        row: dict[str, Label] = {}
        for annotator, label in by_annotator.items():
            if not isinstance(annotator, str):
                raise ValueError(f"item {item!r}: annotator names must be strings, got {annotator!r}")
            if label is not None:
                row[annotator] = label
        out[item] = row
    return out


def _cluster_ids(items: Sequence[Any], clusters: Mapping[Any, Hashable] | None) -> np.ndarray | None:
    """Integer cluster id per item from ``clusters`` (item → prompt id, say); None without clusters."""
    if clusters is None:
        return None
    missing = [item for item in items if item not in clusters]
    if missing:
        raise ValueError(f"clusters has no entry for {len(missing)} item(s), e.g. {missing[:3]!r}")
    index: dict[Hashable, int] = {}
    return np.array([index.setdefault(clusters[item], len(index)) for item in items], dtype=np.int64)


def _empty_estimate(confidence: float, clustered: bool) -> Estimate:
    """The estimate of a statistic with no data: nan, no interval, n = 0."""
    return Estimate(
        value=math.nan,
        lo=None,
        hi=None,
        n=0,
        confidence=confidence,
        method="cluster_bootstrap" if clustered else "bootstrap",
        n_clusters=0 if clustered else None,
    )


def _check_common(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")


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


# --------------------------------------------------------------------------------------------
# leave one annotator out


def _mean_estimates(
    h: np.ndarray, f: np.ndarray, row_cluster: np.ndarray, *, confidence: float, n_resamples: int, seed: int
) -> tuple[Estimate, Estimate, Estimate]:
    """Pooled means of h and f and mean(f) − mean(h), cluster-bootstrapped on shared resamples."""
    if h.size == 0:
        empty = _empty_estimate(confidence, True)
        return empty, empty, empty
    n_clusters = int(row_cluster.max()) + 1
    h_sum = np.bincount(row_cluster, weights=h, minlength=n_clusters)
    f_sum = np.bincount(row_cluster, weights=f, minlength=n_clusters)
    rows = np.bincount(row_cluster, minlength=n_clusters).astype(float)
    w = bootstrap_indices(n_clusters, n_resamples=n_resamples, seed=seed).astype(float)
    denom = w @ rows
    mh, mf = (w @ h_sum) / denom, (w @ f_sum) / denom
    kw: dict[str, Any] = {
        "n": int(h.size),
        "confidence": confidence,
        "n_clusters": n_clusters,
        "n_resamples": n_resamples,
    }
    vh, vf = float(h.mean()), float(f.mean())
    return (
        percentile_estimate(vh, mh, **kw),
        percentile_estimate(vf, mf, **kw),
        percentile_estimate(vf - vh, mf - mh, **kw),
    )


def _kappa_estimates(
    h: np.ndarray,
    f: np.ndarray,
    m: np.ndarray,
    row_cluster: np.ndarray,
    k: int,
    weights: Literal["quadratic"] | None,
    *,
    confidence: float,
    n_resamples: int,
    seed: int,
) -> tuple[Estimate, Estimate, Estimate]:
    """κ(h, m), κ(f, m) and their difference, cluster-bootstrapped on shared resamples."""
    if h.size == 0:
        empty = _empty_estimate(confidence, True)
        return empty, empty, empty
    boot_h = bootstrap_confusions(h, m, k, clusters=row_cluster, n_resamples=n_resamples, seed=seed)
    boot_f = bootstrap_confusions(f, m, k, clusters=row_cluster, n_resamples=n_resamples, seed=seed)
    rh = np.asarray(ag.kappa_from_confusion(boot_h, weights=weights), dtype=float)
    rf = np.asarray(ag.kappa_from_confusion(boot_f, weights=weights), dtype=float)
    labels = list(range(k))
    vh = float(ag.cohen_kappa(h, m, labels=labels, weights=weights))
    vf = float(ag.cohen_kappa(f, m, labels=labels, weights=weights))
    kw: dict[str, Any] = {
        "n": int(h.size),
        "confidence": confidence,
        "n_clusters": len(set(row_cluster.tolist())),
        "n_resamples": n_resamples,
    }
    return (
        percentile_estimate(vh, rh, **kw),
        percentile_estimate(vf, rf, **kw),
        percentile_estimate(vf - vh, rf - rh, **kw),
    )


def leave_one_out(
    labels: GoldLabels,
    judge: JudgeLabels,
    *,
    scale_labels: Sequence[Label],
    level: Level = "nominal",
    invalid: InvalidPolicy = "disagree",
    clusters: Mapping[Any, Hashable] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> LeaveOneOut:
    """Each annotator, and the judge, against the majority of the *other* annotators.

    For every annotator j and every item i that j labelled and at least one other annotator
    labelled: M_{i,−j} is the set of modal labels among the others. The **credit** of a label x is
    1/|M_{i,−j}| if x ∈ M_{i,−j}, else 0. With a unique majority that is plain agreement; when the
    others tie, a label matching one of the tied modes gets 1/|M| (½ for a two-way tie). This is
    Zheng et al.'s rule (a split human-majority vote counts ½) generalised to k-way ties, and equals
    the expected accuracy under AlpacaEval's random tie-breaking, without its randomness. Human
    credit uses j's label; judge credit uses the judge's label on the same item against the same
    M_{i,−j}, so the two are paired row by row.

    - Per annotator: mean credits (``human_agreement``, ``judge_agreement``) and κ of j and of the
      judge against the others' majority on the items where that majority is unique
      (quadratic-weighted for ordinal/interval scales).
    - Overall: the (annotator, item) rows pooled, i.e. averaged over items and over each item's
      held-out votes, as in Zheng's App. D.3. Intervals: percentile cluster bootstrap over items
      (or over ``clusters``), resampling whole items with all their rows; the difference
      judge − human is computed on the same resamples (paired).

    Invalid judge verdicts (``None``): with ``invalid="disagree"`` (default, gate G1) they earn
    credit 0 and, in κ, are a disagreement: an extra category for nominal scales, and the scale
    label farthest from the majority for ordinal/interval scales (maximal weighted disagreement).
    With ``invalid="exclude"`` their items are dropped for *both* the judge and the humans, so the
    comparison stays paired. Items absent from ``judge`` are left out and counted.

    Degenerate cases: a single annotator gives no rows: every estimate nan, with a note. An
    undefined κ (one class only) is nan. Raises ValueError for labels off the scale, an unknown
    ``invalid`` policy or level, or malformed mappings.

    References: Zheng et al. 2023, "Judging LLM-as-a-Judge" §4.1, App. D.3, Table 13 (human vs
    human-majority as the ceiling); Dubois et al., AlpacaEval annotator meta-evaluation
    (``tatsu-lab/alpaca_eval`` README).

    >>> gold = {
    ...     "i1": {"ann": "pass", "bob": "pass", "cy": "pass"},
    ...     "i2": {"ann": "fail", "bob": "fail", "cy": "pass"},
    ...     "i3": {"ann": "pass", "bob": "fail", "cy": "fail"},
    ...     "i4": {"ann": "fail", "bob": "fail", "cy": "fail"},
    ... }
    >>> judge = {"i1": "pass", "i2": "fail", "i3": None, "i4": "fail"}
    >>> r = leave_one_out(gold, judge, scale_labels=["fail", "pass"], n_resamples=200)
    >>> [(a.annotator, a.n, a.human_agreement, a.judge_agreement) for a in r.annotators]
    [('ann', 4, 0.625, 0.625), ('bob', 4, 0.75, 0.625), ('cy', 4, 0.625, 0.75)]
    >>> r.n_rows, round(r.human_agreement.value, 4), round(r.judge_agreement.value, 4), r.n_judge_invalid
    (12, 0.6667, 0.6667, 1)
    """
    _check_common(confidence, n_resamples)
    if invalid not in ("disagree", "exclude"):
        raise ValueError(f"unknown invalid policy {invalid!r}; use 'disagree' or 'exclude'")
    if not isinstance(judge, Mapping):
        raise ValueError(f"judge must be a mapping {{item_id: label | None}}, got {type(judge).__name__}")
    scale = _Scale(scale_labels, level)
    gold = _annotated(labels)
    annotators = sorted({a for row in gold.values() for a in row})
    a_index = {a: r for r, a in enumerate(annotators)}
    k = scale.k
    nominal = scale.weights is None

    multi = [item for item, row in gold.items() if len(row) >= 2]
    not_judged = [item for item in multi if item not in judge]
    judged = [item for item in multi if item in judge]
    n_invalid = sum(judge[item] is None for item in judged)
    used = [item for item in judged if not (invalid == "exclude" and judge[item] is None)]
    user_clusters = _cluster_ids(used, clusters)
    item_cluster = np.arange(len(used)) if user_clusters is None else user_clusters

    # one row per (held-out annotator, item)
    row_annotator: list[int] = []
    row_cluster: list[int] = []
    h_credit: list[float] = []
    f_credit: list[float] = []
    unique_rows: list[int] = []
    h_code: list[int] = []
    f_code: list[int] = []
    m_code: list[int] = []
    for col, item in enumerate(used):
        codes = {a: scale.code(label, f"item {item!r}, annotator {a!r}") for a, label in gold[item].items()}
        verdict = judge[item]
        f = None if verdict is None else scale.code(verdict, f"judge verdict for item {item!r}")
        for a in sorted(codes):
            others = Counter(c for b, c in codes.items() if b != a)
            top = max(others.values())
            modes = {c for c, count in others.items() if count == top}
            credit = 1.0 / len(modes)
            row_annotator.append(a_index[a])
            row_cluster.append(int(item_cluster[col]))
            h_credit.append(credit if codes[a] in modes else 0.0)
            f_credit.append(credit if f is not None and f in modes else 0.0)
            if len(modes) == 1:
                (maj,) = modes
                unique_rows.append(len(h_credit) - 1)
                h_code.append(codes[a])
                m_code.append(maj)
                if f is not None:
                    f_code.append(f)
                elif nominal:
                    f_code.append(k)  # the extra category "invalid"
                else:
                    f_code.append(0 if maj >= (k - 1) / 2 else k - 1)  # the farthest scale label

    h = np.asarray(h_credit, dtype=float)
    f_arr = np.asarray(f_credit, dtype=float)
    who = np.asarray(row_annotator, dtype=np.int64)
    cl = np.asarray(row_cluster, dtype=np.int64)
    u = np.asarray(unique_rows, dtype=np.int64)
    hc, fc, mc = (np.asarray(v, dtype=np.int64) for v in (h_code, f_code, m_code))
    n_categories = k + 1 if nominal else k
    kappa_labels = list(range(n_categories))
    weights = scale.weights

    def kappa(x: np.ndarray, y: np.ndarray) -> float:
        return float(ag.cohen_kappa(x, y, labels=kappa_labels, weights=weights))

    per: list[LooAnnotator] = []
    for r, name in enumerate(annotators):
        mine = who == r
        n = int(mine.sum())
        if n == 0:
            continue
        mine_u = who[u] == r
        ha, fa = float(h[mine].mean()), float(f_arr[mine].mean())
        per.append(
            LooAnnotator(
                annotator=name,
                n=n,
                human_agreement=ha,
                judge_agreement=fa,
                difference=fa - ha,
                n_unique_majority=int(mine_u.sum()),
                human_kappa=kappa(hc[mine_u], mc[mine_u]),
                judge_kappa=kappa(fc[mine_u], mc[mine_u]),
            )
        )

    boot: dict[str, Any] = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    human_est, judge_est, diff_est = _mean_estimates(h, f_arr, cl, **boot)
    hk_est, fk_est, dk_est = _kappa_estimates(hc, fc, mc, cl[u], n_categories, weights, **boot)

    notes: list[str] = []
    if len(annotators) < 2:
        notes.append(f"{len(annotators)} annotator(s): no annotator has others to be compared with")
    elif not multi:
        notes.append("no item has two labels: nothing to compare")
    if not_judged:
        notes.append(f"{len(not_judged)} item(s) with ≥ 2 labels were not judged and are left out")
    if n_invalid:
        how = "counted as disagreements" if invalid == "disagree" else "dropped for judge and humans alike"
        notes.append(f"{n_invalid} item(s) have an invalid judge verdict: {how}")
    if h.size and u.size < h.size:
        notes.append(
            f"{h.size - u.size} of {h.size} comparisons have tied others (fractional credit; left out of κ)"
        )

    return LeaveOneOut(
        level=level,
        invalid=invalid,
        annotators=per,
        n_items=len(used),
        n_rows=int(h.size),
        n_items_not_judged=len(not_judged),
        n_judge_invalid=n_invalid,
        human_agreement=human_est,
        judge_agreement=judge_est,
        agreement_difference=diff_est,
        human_kappa=hk_est,
        judge_kappa=fk_est,
        kappa_difference=dk_est,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# the alternative annotator test


def benjamini_yekutieli(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Yekutieli adjusted p-values (FDR control under arbitrary dependence).

    With the p-values sorted p_(1) ≤ … ≤ p_(m) and c(m) = Σ_{i=1..m} 1/i:
    p̃_(i) = min(1, min_{k ≥ i} m·c(m)·p_(k)/k). Rejecting every H0 with p̃ ≤ q is the BY step-up
    procedure: reject p_(1..k*) for the largest k* with p_(k*) ≤ k*·q/(m·c(m)). Range [0, 1]; an
    empty input gives an empty list. Raises ValueError for a p-value outside [0, 1] or nan.
    Matches ``scipy.stats.false_discovery_control(p, method="by")``.

    Reference: Benjamini & Yekutieli 2001, *Ann. Statist.* 29:1165–1188; the alternative annotator
    test (Calderon, Reichart & Dror 2025) applies it across annotators at q = 0.05.

    >>> [round(p, 4) for p in benjamini_yekutieli([0.01, 0.02, 0.03, 0.2])]
    [0.0833, 0.0833, 0.0833, 0.4167]
    """
    p = np.asarray(p_values, dtype=float).reshape(-1)
    if p.size == 0:
        return []
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()!r}")
    m = p.size
    c_m = float(np.sum(1.0 / np.arange(1, m + 1)))
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m * c_m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return [float(v) for v in out]


def _accuracy(pred: Label | None, others: list[Label]) -> float:
    # an invalid verdict (None) equals no label: it agrees with nobody
    return float(np.mean([pred == other for other in others]))


def _neg_rmse(pred: Label | None, others: list[Label]) -> float:
    # an invalid verdict has no distance to anything: it is worse than every label
    if pred is None:
        return -math.inf
    return -1.0 * float(np.sqrt(np.mean([(float(pred) - float(other)) ** 2 for other in others])))


def _one_sided_test(d: np.ndarray, epsilon: float, use_t: bool) -> tuple[float, float]:
    """(statistic, p-value) of H0: mean(d) ≥ ε against H1: mean(d) < ε."""
    from scipy import stats

    if use_t:
        if np.all(d == d[0]):
            # zero variance: t = ±inf (p = 0 or 1); at d = ε scipy returns nan, which we report as
            # p = 1 (nothing to reject) -- the authors' code never rejects a nan either
            if d[0] < epsilon:
                return -math.inf, 0.0
            return (math.inf, 1.0) if d[0] > epsilon else (math.nan, 1.0)
        res = stats.ttest_1samp(d, epsilon, alternative="less")
        return float(res.statistic), float(res.pvalue)
    x = d - epsilon
    if np.all(x == 0):
        return math.nan, 1.0
    res = stats.wilcoxon(x, alternative="less")
    return float(res.statistic), float(res.pvalue)


def alt_test(
    labels: GoldLabels,
    judge: JudgeLabels,
    *,
    epsilon: float,
    q: float = 0.05,
    scoring: Scoring = "accuracy",
    min_items: int = 30,
) -> AltTestResult:
    """The alternative annotator test: can the judge replace the human annotators?

    Exactly the procedure of Calderon, Reichart & Dror 2025 (their notebook
    ``nitaytech/AltTest: alt_test_example.ipynb``), on the items with ≥ 2 human labels that the
    judge was run on:

    1. For each annotator j and item i j labelled, with the other annotators' labels L_{i,−j}:
       S(f, i, −j) = score(judge's label, L_{i,−j}) and S(h_j, i, −j) = score(j's label, L_{i,−j}),
       where ``accuracy`` = mean 1[label = other] and ``neg_rmse`` = −√mean (label − other)².
    2. W^f_ij = 1[S_f ≥ S_h], W^h_ij = 1[S_h ≥ S_f] (a tie counts for both);
       ρ^f_j = mean_i W^f_ij, ρ^h_j = mean_i W^h_ij.
    3. H0_j: ρ^f_j ≤ ρ^h_j − ε, tested with ``ttest_1samp(d_j, ε, alternative="less")`` on
       d_ij = W^h_ij − W^f_ij. When j has fewer than ``min_items`` items, the Wilcoxon signed-rank
       test of d_ij − ε (``alternative="less"``) replaces it, as the paper's FAQ advises (the
       authors' code skips such annotators instead).
    4. Benjamini–Yekutieli at level q across the m tested annotators; ω = #rejected/m; the judge
       passes if ω ≥ 0.5. ρ = mean_j ρ^f_j compares judges.

    Invalid verdicts (``None``) count against the judge: under ``accuracy`` they agree with no
    label (S_f = 0); under ``neg_rmse`` S_f = −∞. Items absent from ``judge`` are skipped, as in the
    authors' code. ε: see :data:`EPSILON_BY_ANNOTATOR_TYPE` (0.2 expert, 0.15 skilled, 0.1 crowd;
    smaller when human agreement is low).

    Degenerate cases: zero variance in d_j gives t = ±∞ and p = 0 (mean d < ε) or 1; d ≡ ε gives
    p = 1 (scipy: nan; never rejected either way). Annotators with no usable item are listed in
    ``skipped_annotators``. m = 0 gives ω = ρ = nan and ``passed=False``. ``warnings`` flags m < 3
    (two annotators are allowed but discouraged), the use of Wilcoxon, and skipped items. Raises
    ValueError for ε outside [0, 1), q outside (0, 1), a negative ``min_items``, ``neg_rmse`` with
    non-numeric labels, or an unknown scoring.

    References: Calderon, Reichart & Dror 2025, "The Alternative Annotator Test for LLM-as-a-Judge"
    (ACL 2025, arXiv 2501.10970; code ``nitaytech/AltTest``); Benjamini & Yekutieli 2001.

    >>> import random
    >>> rng = random.Random(0)
    >>> truth = {i: rng.choice("ab") for i in range(40)}
    >>> noisy = lambda label, p: label if rng.random() > p else ("b" if label == "a" else "a")
    >>> gold = {i: {h: noisy(t, 0.2) for h in ("h1", "h2", "h3")} for i, t in truth.items()}
    >>> r = alt_test(gold, {i: noisy(t, 0.05) for i, t in truth.items()}, epsilon=0.2)
    >>> r.m, r.winning_rate, r.passed, round(r.advantage_probability, 3)
    (3, 1.0, True, 0.975)
    """
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    if scoring not in ("accuracy", "neg_rmse"):
        raise ValueError(f"unknown scoring {scoring!r}; use 'accuracy' or 'neg_rmse'")
    if isinstance(min_items, bool) or not isinstance(min_items, int) or min_items < 0:
        raise ValueError(f"min_items must be a non-negative integer, got {min_items!r}")
    if not isinstance(judge, Mapping):
        raise ValueError(f"judge must be a mapping {{item_id: label | None}}, got {type(judge).__name__}")
    gold = _annotated(labels)
    score = _accuracy if scoring == "accuracy" else _neg_rmse
    if scoring == "neg_rmse":
        for item, row in gold.items():
            for a, label in row.items():
                if not _is_number(label):
                    raise ValueError(
                        f"item {item!r}, annotator {a!r}: neg_rmse needs numeric labels, got {label!r}"
                    )
        for item, verdict in judge.items():
            if verdict is not None and not _is_number(verdict):
                raise ValueError(
                    f"judge verdict for item {item!r}: neg_rmse needs numeric labels, got {verdict!r}"
                )

    used = [item for item, row in gold.items() if len(row) >= 2 and item in judge]
    n_skipped = len(gold) - len(used)
    annotators = sorted({a for row in gold.values() for a in row})
    tested: list[tuple[str, int, float, float, bool, float, float]] = []
    skipped_annotators: list[str] = []
    for j in annotators:
        items = [item for item in used if j in gold[item]]
        if not items:
            skipped_annotators.append(j)
            continue
        w_f = np.empty(len(items))
        w_h = np.empty(len(items))
        for pos, item in enumerate(items):
            others = [label for a, label in gold[item].items() if a != j]
            s_h = score(gold[item][j], others)
            s_f = score(judge[item], others)
            w_f[pos] = 1.0 if s_f >= s_h else 0.0
            w_h[pos] = 1.0 if s_h >= s_f else 0.0
        use_t = len(items) >= max(min_items, 2)
        statistic, p_value = _one_sided_test(w_h - w_f, epsilon, use_t)
        tested.append((j, len(items), float(w_f.mean()), float(w_h.mean()), use_t, statistic, p_value))

    adjusted = benjamini_yekutieli([t[6] for t in tested])
    per = [
        AltTestAnnotator(
            annotator=j,
            n=n,
            rho_f=rho_f,
            rho_h=rho_h,
            test="t-test" if use_t else "wilcoxon",
            statistic=statistic,
            p_value=p_value,
            p_adjusted=p_adj,
            rejected=p_adj <= q,
        )
        for (j, n, rho_f, rho_h, use_t, statistic, p_value), p_adj in zip(tested, adjusted, strict=True)
    ]
    m = len(per)
    winning_rate = sum(a.rejected for a in per) / m if m else math.nan
    warnings: list[str] = []
    if m == 0:
        warnings.append("no annotator could be tested: no item has ≥ 2 human labels and a judge verdict")
    elif m < 3:
        warnings.append(
            f"only {m} annotator(s) tested: the alt-test needs ≥ 3 for a consensus signal "
            "(2 are allowed but discouraged; Calderon et al. FAQ)"
        )
    wilcoxon_users = [a.annotator for a in per if a.test == "wilcoxon"]
    if wilcoxon_users:
        warnings.append(
            f"{len(wilcoxon_users)} annotator(s) have fewer than {min_items} items and were tested with "
            f"Wilcoxon signed-rank instead of the t-test: {', '.join(wilcoxon_users)}"
        )
    if n_skipped:
        warnings.append(f"{n_skipped} item(s) skipped: fewer than 2 human labels or no judge entry")
    return AltTestResult(
        epsilon=epsilon,
        q=q,
        scoring=scoring,
        min_items=min_items,
        m=m,
        n_items=len(used),
        n_items_skipped=n_skipped,
        n_judge_invalid=sum(judge[item] is None for item in used),
        annotators=per,
        skipped_annotators=skipped_annotators,
        winning_rate=winning_rate,
        passed=bool(m and winning_rate >= 0.5),
        advantage_probability=float(np.mean([a.rho_f for a in per])) if m else math.nan,
        warnings=warnings,
    )
