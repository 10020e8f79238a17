"""The alternative annotator test (Calderon, Reichart & Dror, ACL 2025, arXiv 2501.10970), the
statistical replacement criterion of gate G2b, with the Benjamini–Yekutieli correction."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from judgecal._model import NanFloat
from judgecal.calibrate.ceiling._base import (
    GoldLabels,
    JudgeLabels,
    Label,
    Scoring,
    _annotated,
    _is_number,
    _Result,
)

EPSILON_BY_ANNOTATOR_TYPE: dict[str, float] = {"expert": 0.2, "skilled": 0.15, "crowd": 0.1}
"""The alt-test's cost–benefit margin ε by annotator type (Calderon et al. 2025, README FAQ)."""


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
