"""Leave one annotator out: each annotator, and the judge, against the majority of the others on the
same items, with the paired difference judge − human (Zheng et al. 2023)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from judgecal._model import NanFloat
from judgecal.calibrate import agreement as ag
from judgecal.calibrate.ceiling._base import (
    GoldLabels,
    InvalidPolicy,
    JudgeLabels,
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
    bootstrap_confusions,
    bootstrap_indices,
    percentile_estimate,
)


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
