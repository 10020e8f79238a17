"""Two raters over label arrays: the confusion matrix, percent agreement, Cohen's κ, Scott's π,
Gwet's AC1, precision/recall/F1, binary rates and pairwise agreement."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from judgecal.calibrate.agreement._confusion import (
    ac1_from_confusion,
    agreement_from_confusion,
    kappa_from_confusion,
    pi_from_confusion,
    tnr_from_confusion,
    tpr_from_confusion,
)
from judgecal.calibrate.agreement._encoding import (
    _SETUPS,
    _WEIGHTS,
    NAN,
    FloatArray,
    IntArray,
    Setup,
    Weights,
    _as_list,
    _confusion,
    _confusion_from_codes,
    _encode,
)

# --------------------------------------------------------------------------------------------
# Two raters, label arrays


def confusion_matrix(a: Any, b: Any, *, labels: Sequence[Hashable] | None = None) -> IntArray:
    """Counts of items by (label in ``a``, label in ``b``): rows follow ``a``, columns ``b``.

    ``C[i, j]`` = #items with ``a == labels[i]`` and ``b == labels[j]``; shape (k, k), ``int64``.
    With ``labels`` the categories (and their order) are fixed, unused ones giving zero rows and
    columns; without, they are the sorted union of the observed values. No items: a (k, k) matrix
    of zeros (k = 0 without ``labels``). Same convention as ``sklearn.metrics.confusion_matrix``.

    >>> confusion_matrix(["pass", "pass", "fail"], ["pass", "fail", "fail"]).tolist()  # fail, pass
    [[1, 0], [1, 1]]
    >>> confusion_matrix([1, 1], [1, 3], labels=[1, 2, 3]).tolist()
    [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
    """
    return _confusion(a, b, labels)[0]


def percent_agreement(a: Any, b: Any, *, labels: Sequence[Hashable] | None = None) -> float:
    """Share of items on which the two raters give the same label: p_o = #{a_i = b_i} / n.

    Range [0, 1]; ``nan`` when there are no items. Not chance-corrected: with a dominant class it
    is high even for a judge that always says the majority label (report κ/π beside it).
    ``labels`` only validates the values. Reference: Artstein & Poesio (2008) §2.1.

    >>> percent_agreement(["A", "B", "tie", "A"], ["A", "B", "A", "B"])
    0.5
    """
    return float(agreement_from_confusion(_confusion(a, b, labels)[0]))


def cohen_kappa(
    a: Any,
    b: Any,
    *,
    labels: Sequence[Hashable] | None = None,
    weights: Weights | None = None,
) -> float:
    """Cohen's κ between two raters, optionally weighted for ordinal scales.

    κ = (p_o - p_e)/(1 - p_e) with p_e = Σ_q p_{a,q}·p_{b,q} (each rater's own marginals).
    Weighted (Cohen 1968): κ_w = 1 - Σ w_ij·O_ij / Σ w_ij·E_ij, E_ij = r_i·c_j·n, with
    w_ij = |i-j|/(k-1) (``weights="linear"``) or (i-j)²/(k-1)² (``"quadratic"``, QWK), where i, j
    are index positions in ``labels``: pass ``labels`` in scale order (e.g. ``[1, 2, 3, 4, 5]``)
    so that unused scale points still count in the distances.

    Range: κ ≤ 1; 1 is perfect agreement, 0 chance level. ``nan`` with no items, or when both
    raters used one and the same single category (p_e = 1). Matches
    ``sklearn.metrics.cohen_kappa_score``. Reference: Cohen (1960), Cohen (1968);
    Landis & Koch (1977) for the customary bands.

    >>> # p_o = 3/4; marginals fail/pass: a (.5, .5), b (.75, .25); p_e = .375 + .125 = .5
    >>> cohen_kappa(["pass", "pass", "fail", "fail"], ["pass", "fail", "fail", "fail"])
    0.5
    >>> # quadratic w = ((i-j)/2)²: Σw·p = .25/3; marginals r = (1/3,1/3,1/3), c = (1/3,2/3,0):
    >>> # Σw·r·c = (1/3)(1.25/3 + .5·2/3) = .25; κ_w = 1 - (1/12)/.25
    >>> round(cohen_kappa([1, 2, 3], [1, 2, 2], labels=[1, 2, 3], weights="quadratic"), 4)
    0.6667
    """
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    return float(kappa_from_confusion(_confusion(a, b, labels)[0], weights=weights))


def scott_pi(a: Any, b: Any, *, labels: Sequence[Hashable] | None = None) -> float:
    """Scott's π between two raters: chance agreement from the *pooled* marginals.

    π = (p_o - p_e)/(1 - p_e), p_e = Σ_q π_q², π_q = (p_{a,q} + p_{b,q})/2. Equal to κ when the
    two raters' marginals are equal, lower when they differ (a lenient judge). Recommended by
    Thakur et al. (2024) for judge-human alignment.

    Range: -1 ≤ π ≤ 1. ``nan`` with no items or when both raters used one and the same category.
    Reference: Scott (1955); Artstein & Poesio (2008) §2.4.

    >>> # p_o = 3/4; pooled fail/pass (.625, .375); p_e = .390625 + .140625 = .53125
    >>> round(scott_pi(["pass", "pass", "fail", "fail"], ["pass", "fail", "fail", "fail"]), 4)
    0.4667
    """
    return float(pi_from_confusion(_confusion(a, b, labels)[0]))


def gwet_ac1(a: Any, b: Any, *, labels: Sequence[Hashable] | None = None) -> float:
    """Gwet's AC1 between two raters.

    AC1 = (p_o - p_e)/(1 - p_e), p_e = Σ_q π_q(1 - π_q)/(Q - 1), π_q the pooled marginals, Q the
    number of categories (``len(labels)``, or the number observed). Robust to the prevalence
    paradox; lenient towards lenient judges (Thakur et al.), so never gate on it alone.

    Range: -1 ≤ AC1 ≤ 1. ``nan`` with no items or fewer than 2 categories.
    Reference: Gwet (2008), *BJMSP* 61:29-48.

    >>> # p_o = 3/4; pooled (.625, .375); p_e = 2(.625)(.375)/1 = .46875; (.75-.46875)/.53125
    >>> round(gwet_ac1(["pass", "pass", "fail", "fail"], ["pass", "fail", "fail", "fail"]), 4)
    0.5294
    """
    return float(ac1_from_confusion(_confusion(a, b, labels)[0]))


@dataclass(frozen=True)
class PRF:
    """Per-class precision, recall, F1 and support, with their macro averages."""

    labels: tuple[Hashable, ...]
    """The classes, in order."""
    precision: dict[Hashable, float]
    """TP / #predicted; 0 for a class never predicted (sklearn's ``zero_division=0``)."""
    recall: dict[Hashable, float]
    """TP / support; ``nan`` for a class absent from ``y_true``."""
    f1: dict[Hashable, float]
    """2PR/(P + R); 0 when P + R = 0; ``nan`` when the recall is ``nan``."""
    support: dict[Hashable, int]
    """Number of items of each class in ``y_true``."""
    macro_precision: float
    """Unweighted mean of ``precision`` over the averaged classes (``nan`` if any is ``nan``)."""
    macro_recall: float
    """Unweighted mean of ``recall`` over the averaged classes (``labels`` or ``macro_labels``)."""
    macro_f1: float
    """Unweighted mean of ``f1`` over the averaged classes (mean of per-class F1, as sklearn)."""
    accuracy: float
    """Share of items with ``y_pred == y_true``."""
    n: int
    """Number of items."""


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Hashable] | None = None,
    macro_labels: Sequence[Hashable] | None = None,
) -> PRF:
    """Per-class precision, recall and F1 of ``y_pred`` against ``y_true``, and macro averages.

    For class c: P_c = TP_c/#{pred = c}, R_c = TP_c/#{true = c}, F1_c = 2·P_c·R_c/(P_c + R_c);
    macro = unweighted mean over ``labels``, or over ``macro_labels`` (a subset of them) when
    given: e.g. the gold classes when ``labels`` also lists a judge-only category such as
    ``"invalid"``, whose recall is undefined. Range [0, 1] each.

    Degenerate cases: a class never predicted has P_c = 0 (as sklearn's ``zero_division=0``; this
    is what reproduces published tables such as PandaLM's); a class absent from ``y_true`` has
    R_c = ``nan`` and F1_c = ``nan``, so the macro recall and F1 are ``nan`` too; F1_c = 0 when
    P_c = R_c = 0. No items: every figure is ``nan``. Matches
    ``sklearn.metrics.precision_recall_fscore_support(average=None/"macro", zero_division=0)``
    whenever every class occurs in ``y_true``. Reference: van Rijsbergen (1979); sklearn.

    >>> prf = precision_recall_f1(["A", "A", "B", "tie"], ["A", "B", "B", "B"])
    >>> prf.precision, prf.recall  # 'tie' never predicted -> precision 0
    ({'A': 1.0, 'B': 0.3333333333333333, 'tie': 0.0}, {'A': 0.5, 'B': 1.0, 'tie': 0.0})
    >>> round(prf.macro_f1, 4), prf.accuracy  # F1: A 2/3, B 1/2, tie 0
    (0.3889, 0.5)
    """
    cm, cats = _confusion(y_true, y_pred, labels, names=("y_true", "y_pred"))
    counts = cm.astype(np.float64)
    n = int(cm.sum())
    tp = np.diag(counts)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(np.isnan(recall), np.nan, f1)
    if n == 0:
        precision = recall = f1 = np.full(len(cats), np.nan)

    if macro_labels is None:
        averaged = np.arange(len(cats))
    else:
        position = {lab: i for i, lab in enumerate(cats)}
        chosen = _as_list(macro_labels, "macro_labels")
        unknown = [lab for lab in chosen if lab not in position]
        if unknown:
            raise ValueError(f"macro_labels {unknown!r} are not among the labels {cats!r}")
        averaged = np.asarray([position[lab] for lab in chosen], dtype=np.int64)

    def macro(values: FloatArray) -> float:
        return float(values[averaged].mean()) if len(averaged) else NAN

    return PRF(
        labels=tuple(cats),
        precision=dict(zip(cats, precision.tolist(), strict=True)),
        recall=dict(zip(cats, recall.tolist(), strict=True)),
        f1=dict(zip(cats, f1.tolist(), strict=True)),
        support=dict(zip(cats, support.astype(int).tolist(), strict=True)),
        macro_precision=macro(precision),
        macro_recall=macro(recall),
        macro_f1=macro(f1),
        accuracy=float(agreement_from_confusion(cm)),
        n=n,
    )


@dataclass(frozen=True)
class BinaryRates:
    """The 2x2 table of a binary (or one-vs-rest) judge against gold labels, and its rates."""

    tp: int
    """Gold positive, judged positive."""
    fn: int
    """Gold positive, judged negative."""
    tn: int
    """Gold negative, judged negative."""
    fp: int
    """Gold negative, judged positive."""
    n_pos: int
    """Gold positives: tp + fn."""
    n_neg: int
    """Gold negatives: tn + fp."""
    tpr: float
    """Sensitivity tp / n_pos; ``nan`` when n_pos = 0."""
    tnr: float
    """Specificity tn / n_neg; ``nan`` when n_neg = 0."""
    youden_j: float
    """Youden's J = tpr + tnr - 1, in [-1, 1]; ``nan`` if either rate is."""


def binary_rates(
    y_true: Any, y_pred: Any, *, positive: Hashable, labels: Sequence[Hashable] | None = None
) -> BinaryRates:
    """Counts, TPR, TNR and Youden's J of ``y_pred`` against ``y_true`` for class ``positive``.

    Every label other than ``positive`` is a negative (one-vs-rest). TPR = TP/(TP + FN),
    TNR = TN/(TN + FP), J = TPR + TNR - 1 (J ≤ 0.2 makes a Rogan-Gladen correction useless).

    Degenerate cases: TPR is ``nan`` with no gold positive, TNR with no gold negative (then J is
    ``nan``). ``positive`` need not occur in the data (a gold set of one class is a degenerate case,
    not an error); pass ``labels`` to have a misspelt ``positive`` rejected. Reference: Youden
    (1950); Rogan & Gladen (1978).

    >>> r = binary_rates(["pass", "pass", "fail", "fail"], ["pass", "fail", "pass", "pass"], positive="pass")
    >>> r.tp, r.fn, r.tn, r.fp, r.tpr, r.tnr, r.youden_j
    (1, 1, 0, 2, 0.5, 0.0, -0.5)
    """
    cm, cats = _confusion(y_true, y_pred, labels, names=("y_true", "y_pred"))
    try:
        pos = cats.index(positive)
    except ValueError:
        if labels is not None:
            raise ValueError(f"positive={positive!r} is not one of the labels {cats!r}") from None
        cats = [*cats, positive]
        pos = len(cats) - 1
        cm = np.pad(cm, ((0, 1), (0, 1)))
    tp = int(cm[pos, pos])
    n_pos = int(cm[pos, :].sum())
    n_neg = int(cm.sum()) - n_pos
    fp = int(cm[:, pos].sum()) - tp
    tpr = float(tpr_from_confusion(cm, positive=pos))
    tnr = float(tnr_from_confusion(cm, positive=pos))
    return BinaryRates(
        tp=tp,
        fn=n_pos - tp,
        tn=n_neg - fp,
        fp=fp,
        n_pos=n_pos,
        n_neg=n_neg,
        tpr=tpr,
        tnr=tnr,
        youden_j=tpr + tnr - 1.0,
    )


def pairwise_agreement(judge: Any, human: Any, *, tie: Hashable = "tie", setup: Setup) -> tuple[float, int]:
    """Zheng et al.'s judge-human agreement on pairwise votes, as (agreement, number of votes).

    ``setup="with_ties"`` (S1): share of all votes on which judge and human agree, ties included,
    n = all votes (random-judge baseline 1/3 with three outcomes). ``setup="without_ties"`` (S2):
    the same over the votes where *neither* side is ``tie``, n = those votes (baseline 1/2).

    Pass one row per (question, human vote), repeating the judge's verdict, to get Zheng's average
    over each question's votes. Zheng count a verdict that changes when the two answers are swapped
    as a tie: map position-inconsistent verdicts to ``tie`` before calling, or the numbers are not
    comparable with their Tables 5-6. Range [0, 1]; agreement is ``nan`` when n = 0.
    Reference: Zheng et al. (2023), §4.1 and App. D.3.

    >>> judge, human = ["A", "B", "tie", "A"], ["A", "A", "tie", "tie"]
    >>> pairwise_agreement(judge, human, setup="with_ties")  # 2 of 4 votes agree
    (0.5, 4)
    >>> pairwise_agreement(judge, human, setup="without_ties")  # items 0 and 1 only
    (0.5, 2)
    """
    if setup not in _SETUPS:
        raise ValueError(f"setup must be 'with_ties' (S1) or 'without_ties' (S2), got {setup!r}")
    (cj, ch), cats = _encode({"judge": judge, "human": human}, None)
    if setup == "without_ties" and tie in cats:
        t = cats.index(tie)
        keep = (cj != t) & (ch != t)
        cj, ch = cj[keep], ch[keep]
    cm = _confusion_from_codes(cj, ch, len(cats))
    return float(agreement_from_confusion(cm)), int(cm.sum())
