"""judgecal.calibrate.agreement, checked three ways (STYLE.md, point 10):

1. against independent implementations (scikit-learn, the ``krippendorff`` package, scipy, and
   plain-Python transcriptions of the textbook formulas) on random data;
2. against published or hand-derived worked examples, the derivation in a comment;
3. property tests (hypothesis) driven by a registry, like sklearn's ``test_common.py``: every
   public function of the module is either listed in ``CASES`` with each property claimed or
   explicitly exempted with a reason, or listed in ``NOT_STATISTICS``; ``test_registry_*`` fails
   when a new public function escapes.

Then every degenerate case of the module docstring gets its own test.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn import metrics as skm

from judgecal.calibrate import agreement as ag

PROPS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAN = float("nan")


def same(x: float, y: float, tol: float = 1e-9) -> bool:
    """Equal, or both nan."""
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


# --------------------------------------------------------------------------------------------
# Independent plain-Python transcriptions of the formulas (docs/statistics.md §2), item by item


def ref_chance_corrected(a: list[Any], b: list[Any], chance: str) -> float:
    n = len(a)
    cats = sorted(set(a) | set(b))
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa = {c: a.count(c) / n for c in cats}
    pb = {c: b.count(c) / n for c in cats}
    pooled = {c: (pa[c] + pb[c]) / 2 for c in cats}
    if chance == "kappa":
        p_e = sum(pa[c] * pb[c] for c in cats)
    elif chance == "pi":
        p_e = sum(pooled[c] ** 2 for c in cats)
    else:  # Gwet AC1
        p_e = sum(pooled[c] * (1 - pooled[c]) for c in cats) / (len(cats) - 1)
    return (p_o - p_e) / (1 - p_e)


# --------------------------------------------------------------------------------------------
# 2. Published and hand-derived worked examples


def labels_from_table(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Two label vectors whose confusion matrix is ``table`` (rows = first rater)."""
    a: list[int] = []
    b: list[int] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return a, b


def test_artstein_poesio_table_1_kappa_pi_ac1():
    # Artstein & Poesio (2008), Table 1: two coders, 100 utterances, Stat vs IReq.
    #        B: Stat IReq
    # A: Stat   20   20    row marginals A = (.40, .60)
    #    IReq   10   50    column marginals B = (.30, .70)
    # p_o = .70
    # κ: p_e = .4·.3 + .6·.7 = .54           κ = (.70 - .54)/.46 = .3478 (A&P: .348)
    # π: pooled (.35, .65), p_e = .35² + .65² = .545  π = .155/.455 = .3407 (unequal marginals: π < κ)
    # AC1: p_e = 2·.35·.65/(2-1) = .455      AC1 = (.70 - .455)/.545 = .4495
    a, b = labels_from_table([[20, 20], [10, 50]])
    assert ag.confusion_matrix(a, b).tolist() == [[20, 20], [10, 50]]
    assert ag.percent_agreement(a, b) == pytest.approx(0.70)
    assert ag.cohen_kappa(a, b) == pytest.approx(0.16 / 0.46)
    assert round(ag.cohen_kappa(a, b), 3) == 0.348
    assert ag.scott_pi(a, b) == pytest.approx(0.155 / 0.455)
    assert ag.gwet_ac1(a, b) == pytest.approx(0.245 / 0.545)
    assert ag.scott_pi(a, b) < ag.cohen_kappa(a, b)


def test_artstein_poesio_table_4_three_classes_and_weights():
    # Artstein & Poesio (2008), Table 4 (also sklearn's test): Stat / IReq / Chck, 100 items.
    #   [[46, 0, 0], [6, 32, 6], [0, 0, 10]]; marginals r = (.46, .44, .10), c = (.52, .32, .16)
    # p_o = .88, p_e = .46·.52 + .44·.32 + .10·.16 = .396, κ = .484/.604 = .8013
    # Linear w = |i-j|/2: Σw·p = (6·.5 + 6·.5)/100 = .06
    #   Σw·r·c = .5·(r0c1 + r1c0 + r1c2 + r2c1) + 1·(r0c2 + r2c0)
    #          = .5·(.1472 + .2288 + .0704 + .032) + (.0736 + .052) = .3648;  κ_lin = 1 - .06/.3648
    # Quadratic w = ((i-j)/2)²: Σw·p = .03; Σw·r·c = .25·.4784 + .1256 = .2452;  κ_quad = 1 - .03/.2452
    a, b = labels_from_table([[46, 0, 0], [6, 32, 6], [0, 0, 10]])
    assert ag.cohen_kappa(a, b) == pytest.approx(0.484 / 0.604)
    assert round(ag.cohen_kappa(a, b), 4) == 0.8013
    assert ag.cohen_kappa(a, b, weights="linear") == pytest.approx(1 - 0.06 / 0.3648)
    assert ag.cohen_kappa(a, b, weights="quadratic") == pytest.approx(1 - 0.03 / 0.2452)


def test_prevalence_paradox_kappa_low_ac1_high():
    # Feinstein & Cicchetti (1990) / Gwet (2008): 90% agreement, one class dominates.
    #   [[90, 5], [5, 0]]: p_o = .90, both marginals (.95, .05)
    # κ = π: p_e = .95² + .05² = .905;  (.90 - .905)/.095 = -.0526  (below chance!)
    # AC1:   p_e = 2·.95·.05/1 = .095;  (.90 - .095)/.905 = .8895
    a, b = labels_from_table([[90, 5], [5, 0]])
    assert ag.cohen_kappa(a, b) == pytest.approx(-0.005 / 0.095)
    assert ag.scott_pi(a, b) == pytest.approx(-0.005 / 0.095)
    assert ag.gwet_ac1(a, b) == pytest.approx(0.805 / 0.905)
    # The same paradox on an asymmetric table: [[118, 5], [2, 0]], n = 125.
    # p_o = 118/125 = .944; r = (123, 2)/125, c = (120, 5)/125
    # κ: p_e = (123·120 + 2·5)/125² = .94528; κ = (.944 - .94528)/.05472 = -.0234
    # AC1: pooled (243/250, 7/250) = (.972, .028); p_e = 2·.972·.028 = .054432;
    #      AC1 = (.944 - .054432)/.945568 = .9408
    a, b = labels_from_table([[118, 5], [2, 0]])
    assert ag.cohen_kappa(a, b) == pytest.approx((0.944 - 0.94528) / 0.05472)
    assert ag.gwet_ac1(a, b) == pytest.approx((0.944 - 0.054432) / 0.945568)


def test_pi_equals_kappa_with_equal_marginals():
    # π and κ differ only in p_e; with identical marginals Σ p_a·p_b = Σ ((p_a + p_b)/2)².
    a, b = labels_from_table([[30, 10], [10, 50]])
    assert ag.scott_pi(a, b) == pytest.approx(ag.cohen_kappa(a, b))


KRIPPENDORFF_2011 = [
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 coders x 12 units
    # example with missing data (None).
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_2011_worked_example():
    # Unit 12 has one value and is dropped. Coincidence marginals n_c for values 1..5 are
    # (9, 13, 10, 5, 3), n = 40; the off-diagonal coincidences sum to 8 (units 2, 6, 8 disagree).
    # Nominal: α = 1 - (n-1)·Σ_{c≠k} o_ck / (n² - Σ n_c²) = 1 - 39·8/(1600 - 384) = 1 - 312/1216
    # = .743 (Krippendorff's figure). Ordinal .815 and interval .849 are his other published figures.
    assert ag.krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(1 - 312 / 1216)
    assert round(ag.krippendorff_alpha(KRIPPENDORFF_2011, level="nominal"), 3) == 0.743
    assert round(ag.krippendorff_alpha(KRIPPENDORFF_2011, level="ordinal"), 3) == 0.815
    assert round(ag.krippendorff_alpha(KRIPPENDORFF_2011, level="interval"), 3) == 0.849
    as_array = np.array([[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011])
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff.alpha(reliability_data=as_array, level_of_measurement=level)
        assert ag.krippendorff_alpha(as_array, level=level) == pytest.approx(expected, abs=1e-12)


def test_krippendorff_strings_through_labels():
    # Nominal α only sees equal/unequal; ordinal α sees the order given by labels.
    names = {1: "very bad", 2: "bad", 3: "ok", 4: "good", 5: "very good"}
    order = [names[i] for i in range(1, 6)]
    as_text = [[None if v is None else names[v] for v in row] for row in KRIPPENDORFF_2011]
    assert ag.krippendorff_alpha(as_text) == pytest.approx(ag.krippendorff_alpha(KRIPPENDORFF_2011))
    assert ag.krippendorff_alpha(as_text, level="ordinal", labels=order) == pytest.approx(
        ag.krippendorff_alpha(KRIPPENDORFF_2011, level="ordinal")
    )


def test_pairwise_agreement_worked_example():
    # MT-Bench (Zheng et al. 2023) setups. 6 votes:
    #   judge  A  B  tie  A    B  tie
    #   human  A  A  tie  tie  B  B
    # S1 (with ties): agree on items 0, 2, 4 -> 3/6, n = 6.
    # S2 (without ties): items where neither says tie: 0, 1, 4 -> agree on 0 and 4 -> 2/3, n = 3.
    judge = ["A", "B", "tie", "A", "B", "tie"]
    human = ["A", "A", "tie", "tie", "B", "B"]
    assert ag.pairwise_agreement(judge, human, setup="with_ties") == (0.5, 6)
    value, n = ag.pairwise_agreement(judge, human, setup="without_ties")
    assert (value, n) == (pytest.approx(2 / 3), 3)
    # the tie label is configurable (PandaLM uses 0 for a tie)
    assert ag.pairwise_agreement([1, 2, 0], [1, 1, 2], tie=0, setup="without_ties") == (0.5, 2)


def test_precision_recall_f1_worked_example():
    # y_true A A B tie ; y_pred A B B B
    # A: tp 1, predicted 1, support 2 -> P 1, R .5, F1 2/3
    # B: tp 1, predicted 3, support 1 -> P 1/3, R 1, F1 .5
    # tie: never predicted -> P 0 (zero_division=0), support 1 -> R 0, F1 0
    prf = ag.precision_recall_f1(["A", "A", "B", "tie"], ["A", "B", "B", "B"])
    assert prf.precision == {"A": 1.0, "B": pytest.approx(1 / 3), "tie": 0.0}
    assert prf.recall == {"A": 0.5, "B": 1.0, "tie": 0.0}
    assert prf.f1 == {"A": pytest.approx(2 / 3), "B": 0.5, "tie": 0.0}
    assert prf.support == {"A": 2, "B": 1, "tie": 1}
    assert prf.macro_f1 == pytest.approx((2 / 3 + 0.5) / 3)
    assert (prf.accuracy, prf.n) == (0.5, 4)


def test_binary_rates_worked_example():
    # gold:  P P P P N N N ; judge: P P P N P N N
    # tp 3, fn 1, fp 1, tn 2 -> TPR 3/4, TNR 2/3, J = 3/4 + 2/3 - 1 = 5/12
    r = ag.binary_rates(list("PPPPNNN"), list("PPPNPNN"), positive="P")
    assert (r.tp, r.fn, r.tn, r.fp, r.n_pos, r.n_neg) == (3, 1, 2, 1, 4, 3)
    assert (r.tpr, r.tnr, r.youden_j) == (0.75, pytest.approx(2 / 3), pytest.approx(5 / 12))


# --------------------------------------------------------------------------------------------
# 1. Independent implementations on random data


def random_pair(rng: np.random.Generator, n: int, k: int, p_agree: float) -> tuple[np.ndarray, np.ndarray]:
    prevalence = rng.dirichlet(np.ones(k))
    a = rng.choice(k, size=n, p=prevalence)
    b = np.where(rng.random(n) < p_agree, a, rng.choice(k, size=n, p=prevalence))
    return a, b


@pytest.mark.parametrize("seed", range(25))
def test_against_sklearn_on_random_data(seed: int):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 300)), int(rng.integers(2, 6))
    a, b = random_pair(rng, n, k, p_agree=float(rng.random()))
    if len(set(a) | set(b)) < 2:
        pytest.skip("one class: sklearn warns (covered by the degenerate tests)")
    names = np.array(["low", "mid-", "mid", "mid+", "high", "top"])[:k]
    labels = list(range(k))
    assert np.array_equal(ag.confusion_matrix(a, b, labels=labels), skm.confusion_matrix(a, b, labels=labels))
    assert ag.percent_agreement(a, b) == pytest.approx(skm.accuracy_score(a, b))
    for weights in (None, "linear", "quadratic"):
        expected = skm.cohen_kappa_score(a, b, labels=labels, weights=weights)
        assert ag.cohen_kappa(a, b, labels=labels, weights=weights) == pytest.approx(expected, abs=1e-12)
        # the same through string labels mapped in scale order
        assert ag.cohen_kappa(names[a], names[b], labels=list(names), weights=weights) == pytest.approx(
            expected, abs=1e-12
        )
    assert ag.mean_absolute_error(a, b) == pytest.approx(skm.mean_absolute_error(a, b))
    if set(a) == set(labels):  # every class in y_true: no undefined recall
        p, r, f, s = skm.precision_recall_fscore_support(a, b, labels=labels, zero_division=0)
        prf = ag.precision_recall_f1(a, b, labels=labels)
        assert [prf.precision[c] for c in labels] == pytest.approx(p.tolist())
        assert [prf.recall[c] for c in labels] == pytest.approx(r.tolist())
        assert [prf.f1[c] for c in labels] == pytest.approx(f.tolist())
        assert [prf.support[c] for c in labels] == s.tolist()
        macro = skm.precision_recall_fscore_support(a, b, labels=labels, average="macro", zero_division=0)
        assert (prf.macro_precision, prf.macro_recall, prf.macro_f1) == pytest.approx(macro[:3])
    rates = ag.binary_rates(a, b, positive=0)
    assert same(rates.tpr, skm.recall_score(a == 0, b == 0, zero_division=np.nan))
    if (a != 0).any():
        assert rates.tnr == pytest.approx(skm.recall_score(a != 0, b != 0))


@pytest.mark.parametrize("seed", range(25))
def test_pi_and_ac1_against_formula_transcription(seed: int):
    rng = np.random.default_rng(100 + seed)
    a, b = random_pair(rng, int(rng.integers(2, 200)), int(rng.integers(2, 5)), float(rng.random()))
    a_l, b_l = a.tolist(), b.tolist()
    if len(set(a_l) | set(b_l)) < 2:  # one shared class: all three undefined
        assert all(math.isnan(fn(a_l, b_l)) for fn in (ag.cohen_kappa, ag.scott_pi, ag.gwet_ac1))
        return
    assert ag.cohen_kappa(a_l, b_l) == pytest.approx(ref_chance_corrected(a_l, b_l, "kappa"))
    assert ag.scott_pi(a_l, b_l) == pytest.approx(ref_chance_corrected(a_l, b_l, "pi"))
    assert ag.gwet_ac1(a_l, b_l) == pytest.approx(ref_chance_corrected(a_l, b_l, "ac1"))


@pytest.mark.parametrize("seed", range(30))
def test_krippendorff_against_package(seed: int):
    rng = np.random.default_rng(200 + seed)
    raters, units = int(rng.integers(2, 6)), int(rng.integers(3, 40))
    truth = rng.integers(1, 6, units)
    data = np.where(rng.random((raters, units)) < 0.7, truth, rng.integers(1, 6, (raters, units))).astype(
        float
    )
    data[rng.random((raters, units)) < 0.25] = np.nan
    as_lists = [[None if np.isnan(v) else int(v) for v in row] for row in data]
    for level in ("nominal", "ordinal", "interval"):
        ours = ag.krippendorff_alpha(data, level=level)
        assert same(ag.krippendorff_alpha(as_lists, level=level), ours, 1e-12)
        try:
            expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        except ValueError:  # the package raises where we return nan (one value, nothing pairable)
            assert math.isnan(ours)
            continue
        assert ours == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_correlations_against_scipy(seed: int):
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(3, 200))
    x = rng.integers(1, 6, n).astype(float)  # ties, as judge scores have
    y = np.clip(x + rng.integers(-2, 3, n), 1, 5) if seed % 2 else rng.normal(size=n)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        pytest.skip("constant input")
    assert ag.pearson(x, y) == pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-12)
    assert ag.spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert ag.kendall_tau_b(x, y) == pytest.approx(sps.kendalltau(x, y, variant="b").statistic, abs=1e-12)


@PROPS
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=2, max_size=40))
def test_kappa_matches_sklearn_hypothesis(pairs: list[tuple[str, str]]):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = ag.cohen_kappa(a, b, labels=["a", "b", "c"], weights="quadratic")
    if math.isnan(ours):  # both raters used one and the same category
        assert len(set(a) | set(b)) == 1
        return
    expected = skm.cohen_kappa_score(a, b, labels=["a", "b", "c"], weights="quadratic")
    assert ours == pytest.approx(expected, abs=1e-12)


@PROPS
@given(
    st.integers(1, 30).flatmap(lambda n: st.lists(st.sampled_from("xyz"), min_size=n, max_size=n).map(list))
)
def test_alpha_two_raters_complete_is_corrected_pi(a: list[str]):
    # Two raters, N units, no missing value: n = 2N pairable values, and
    # D_o = 1 - p_o, D_e = n/(n-1)·(1 - p_e^π)  =>  1 - α = (1 - π)(1 - 1/(2N)).
    b = sorted(a)  # same marginals, different pairing
    pi = ag.scott_pi(a, b)
    alpha = ag.krippendorff_alpha([a, b])
    if math.isnan(pi):
        assert math.isnan(alpha)
    else:
        assert 1 - alpha == pytest.approx((1 - pi) * (1 - 1 / (2 * len(a))))
        assert pi == pytest.approx(ag.cohen_kappa(a, b))  # equal marginals: π = κ


# --------------------------------------------------------------------------------------------
# 3. Property registry


@dataclass(frozen=True)
class Case:
    """How to call a statistic on two label/score lists, and which properties it claims.

    A property is claimed with ``True`` (or a value), or declined with a reason string.
    """

    fn: Callable[[list[Any], list[Any]], float]
    data: str  # "labels" (drawn from a, b, c) or "scores" (integers 1..5)
    symmetric: bool | str = True
    bounds: tuple[float, float] | str = (-1.0, 1.0)
    relabel_invariant: bool | str = True
    perfect: float | str = 1.0
    defined_when: Callable[[list[Any]], bool] = lambda a: len(set(a)) >= 2


def _cm_stat(fn: Callable[..., Any], **kw: Any) -> Callable[[list[Any], list[Any]], float]:
    return lambda a, b: float(fn(ag.confusion_matrix(a, b), **kw))


def _positive_a(fn: Callable[..., Any]) -> Callable[[list[Any], list[Any]], float]:
    return lambda a, b: float(fn(ag.confusion_matrix(a, b, labels=["a", "b", "c"]), positive=0))


ORDERED = "uses the order of the categories by design"
POSITIVE = "names one class as positive; relabelling is tested with it mapped (test_relabel_with_positive)"
RATES = "TPR/TNR condition on the gold rows: swapping the raters swaps TPR with precision"
SCORES = "needs numeric scores; invariance under increasing maps: test_rank_correlations_monotone"

CASES: dict[str, Case] = {
    "percent_agreement": Case(
        ag.percent_agreement, "labels", bounds=(0.0, 1.0), defined_when=lambda a: len(a) > 0
    ),
    "agreement_from_confusion": Case(
        _cm_stat(ag.agreement_from_confusion), "labels", bounds=(0.0, 1.0), defined_when=lambda a: len(a) > 0
    ),
    "cohen_kappa": Case(ag.cohen_kappa, "labels"),
    "cohen_kappa[linear]": Case(
        partial(ag.cohen_kappa, weights="linear"),
        "labels",
        bounds=(-math.inf, 1.0),
        relabel_invariant=ORDERED,
    ),
    "cohen_kappa[quadratic]": Case(
        partial(ag.cohen_kappa, weights="quadratic"),
        "labels",
        bounds=(-math.inf, 1.0),
        relabel_invariant=ORDERED,
    ),
    "kappa_from_confusion": Case(_cm_stat(ag.kappa_from_confusion), "labels"),
    "kappa_from_confusion[quadratic]": Case(
        _cm_stat(ag.kappa_from_confusion, weights="quadratic"),
        "labels",
        bounds=(-math.inf, 1.0),
        relabel_invariant=ORDERED,
    ),
    "scott_pi": Case(ag.scott_pi, "labels"),
    "pi_from_confusion": Case(_cm_stat(ag.pi_from_confusion), "labels"),
    "gwet_ac1": Case(ag.gwet_ac1, "labels"),
    "ac1_from_confusion": Case(_cm_stat(ag.ac1_from_confusion), "labels"),
    "krippendorff_alpha": Case(lambda a, b: ag.krippendorff_alpha([a, b]), "labels"),
    "krippendorff_alpha[ordinal]": Case(
        lambda a, b: ag.krippendorff_alpha([a, b], level="ordinal"),
        "labels",
        bounds=(-math.inf, 1.0),
        relabel_invariant=ORDERED,
    ),
    "krippendorff_alpha[interval]": Case(
        lambda a, b: ag.krippendorff_alpha([a, b], level="interval"),
        "scores",
        bounds=(-math.inf, 1.0),
        relabel_invariant="distances are the numeric differences",
    ),
    "pairwise_agreement": Case(
        lambda a, b: ag.pairwise_agreement(a, b, tie="c", setup="without_ties")[0],
        "labels",
        bounds=(0.0, 1.0),
        relabel_invariant="names the tie label; tested with it mapped: test_relabel_with_positive",
        defined_when=lambda a: any(x != "c" for x in a),
    ),
    "pairwise_agreement[with_ties]": Case(
        lambda a, b: ag.pairwise_agreement(a, b, setup="with_ties")[0],
        "labels",
        bounds=(0.0, 1.0),
        defined_when=lambda a: len(a) > 0,
    ),
    "precision_recall_f1": Case(
        lambda a, b: ag.precision_recall_f1(a, b).macro_f1,
        "labels",
        symmetric="undefined recall (class absent from y_true) is nan but undefined precision is 0",
        bounds=(0.0, 1.0),
    ),
    "binary_rates": Case(
        lambda a, b: ag.binary_rates(a, b, positive="a").youden_j,
        "labels",
        symmetric=RATES,
        relabel_invariant=POSITIVE,
        defined_when=lambda a: "a" in a and len(set(a)) >= 2,
    ),
    "tpr_from_confusion": Case(
        _positive_a(ag.tpr_from_confusion),
        "labels",
        symmetric=RATES,
        bounds=(0.0, 1.0),
        relabel_invariant=POSITIVE,
        defined_when=lambda a: "a" in a,
    ),
    "tnr_from_confusion": Case(
        _positive_a(ag.tnr_from_confusion),
        "labels",
        symmetric=RATES,
        bounds=(0.0, 1.0),
        relabel_invariant=POSITIVE,
        defined_when=lambda a: any(x != "a" for x in a),
    ),
    "spearman": Case(ag.spearman, "scores", relabel_invariant=SCORES),
    "kendall_tau_b": Case(ag.kendall_tau_b, "scores", relabel_invariant=SCORES),
    "pearson": Case(ag.pearson, "scores", relabel_invariant="invariant under increasing *affine* maps only"),
    "mean_absolute_error": Case(
        ag.mean_absolute_error,
        "scores",
        bounds=(0.0, math.inf),
        relabel_invariant="a distance in the scores' unit",
        perfect=0.0,
        defined_when=lambda a: len(a) > 0,
    ),
}

NOT_STATISTICS = {
    "confusion_matrix": "returns counts; transposes, relabels, diagonal: test_confusion_matrix_properties",
    "encode_labels": "an encoding helper: test_encode_labels",
    "PRF": "result type of precision_recall_f1",
    "BinaryRates": "result type of binary_rates",
}
PROPERTIES = ("symmetric", "bounds", "relabel_invariant", "perfect")


def public_names() -> set[str]:
    return {
        name
        for name, obj in vars(ag).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and (obj.__module__ == ag.__name__ or obj.__module__.startswith(ag.__name__ + "."))  # its package
    }


def test_registry_all_is_the_public_api():
    assert sorted(ag.__all__) == sorted(public_names())


def test_registry_no_public_function_escapes_the_properties():
    covered = {name.split("[")[0] for name in CASES}
    missing = public_names() - covered - set(NOT_STATISTICS)
    assert not missing, (
        f"add these to CASES (with each property claimed or exempted) or NOT_STATISTICS: {missing}"
    )
    assert not covered & set(NOT_STATISTICS)
    assert not (covered | set(NOT_STATISTICS)) - public_names(), (
        "the registry names functions that do not exist"
    )
    for name, case in CASES.items():
        for prop in PROPERTIES:
            value = getattr(case, prop)
            if isinstance(value, str):
                assert len(value) > 10, f"{name}.{prop}: an exemption needs a reason"


def claimed(prop: str) -> list[str]:
    return [name for name, case in CASES.items() if not isinstance(getattr(case, prop), str)]


def draw_pair(data: st.DataObject, kind: str, min_size: int = 0) -> tuple[list[Any], list[Any]]:
    values: st.SearchStrategy[Any] = st.sampled_from("abc") if kind == "labels" else st.integers(1, 5)
    n = data.draw(st.integers(min_size, 25))
    return (
        data.draw(st.lists(values, min_size=n, max_size=n)),
        data.draw(st.lists(values, min_size=n, max_size=n)),
    )


@pytest.mark.parametrize("name", claimed("symmetric"))
@PROPS
@given(data=st.data())
def test_property_symmetric(name: str, data: st.DataObject):
    case = CASES[name]
    a, b = draw_pair(data, case.data)
    assert same(case.fn(a, b), case.fn(b, a))


@pytest.mark.parametrize("name", claimed("bounds"))
@PROPS
@given(data=st.data())
def test_property_bounded(name: str, data: st.DataObject):
    case = CASES[name]
    assert not isinstance(case.bounds, str)
    lo, hi = case.bounds
    a, b = draw_pair(data, case.data)
    value = case.fn(a, b)
    assert math.isnan(value) or lo - 1e-12 <= value <= hi + 1e-12


RELABEL = {"a": "zeta", "b": "eta", "c": "alpha"}  # a bijection that reverses the sorted order


@pytest.mark.parametrize("name", claimed("relabel_invariant"))
@PROPS
@given(data=st.data())
def test_property_relabel_invariant(name: str, data: st.DataObject):
    case = CASES[name]
    assert case.data == "labels"
    a, b = draw_pair(data, case.data)
    renamed = case.fn([RELABEL[x] for x in a], [RELABEL[x] for x in b])
    assert same(case.fn(a, b), renamed)


@pytest.mark.parametrize("name", claimed("perfect"))
@PROPS
@given(data=st.data())
def test_property_perfect_agreement(name: str, data: st.DataObject):
    case = CASES[name]
    a, _ = draw_pair(data, case.data)
    value = case.fn(a, list(a))
    if case.defined_when(a):
        assert value == pytest.approx(case.perfect)
    else:
        assert math.isnan(value) or value == pytest.approx(case.perfect)


@pytest.mark.parametrize("name", list(CASES))
@PROPS
@given(data=st.data())
def test_property_item_order_invariant(name: str, data: st.DataObject):
    case = CASES[name]
    a, b = draw_pair(data, case.data, min_size=1)
    order = data.draw(st.permutations(range(len(a))))
    assert same(case.fn(a, b), case.fn([a[i] for i in order], [b[i] for i in order]))


@PROPS
@given(data=st.data())
def test_relabel_with_positive(data: st.DataObject):
    a, b = draw_pair(data, "labels")
    ra, rb = [RELABEL[x] for x in a], [RELABEL[x] for x in b]
    r1, r2 = ag.binary_rates(a, b, positive="a"), ag.binary_rates(ra, rb, positive=RELABEL["a"])
    assert (r1.tp, r1.fn, r1.tn, r1.fp) == (r2.tp, r2.fn, r2.tn, r2.fp)
    assert same(r1.youden_j, r2.youden_j)
    s1 = ag.pairwise_agreement(a, b, tie="c", setup="without_ties")
    s2 = ag.pairwise_agreement(ra, rb, tie=RELABEL["c"], setup="without_ties")
    assert s1[1] == s2[1] and same(s1[0], s2[0])


@PROPS
@given(data=st.data())
def test_rank_correlations_monotone(data: st.DataObject):
    a, b = draw_pair(data, "scores")

    def stretch(x: list[int]) -> list[float]:
        return [math.exp(v) + 3 * v for v in x]  # strictly increasing, not affine

    for fn in (ag.spearman, ag.kendall_tau_b):
        assert same(fn(a, b), fn(stretch(a), b))
    assert same(ag.pearson(a, b), ag.pearson([2 * v + 7 for v in a], b))


@PROPS
@given(data=st.data())
def test_confusion_matrix_properties(data: st.DataObject):
    a, b = draw_pair(data, "labels")
    labels = ["a", "b", "c"]
    cm = ag.confusion_matrix(a, b, labels=labels)
    assert cm.sum() == len(a)
    assert np.array_equal(ag.confusion_matrix(b, a, labels=labels), cm.T)
    assert int(np.trace(cm)) == sum(x == y for x, y in zip(a, b, strict=True))
    renamed = ag.confusion_matrix(
        [RELABEL[x] for x in a], [RELABEL[x] for x in b], labels=[RELABEL[x] for x in labels]
    )
    assert np.array_equal(renamed, cm)


@pytest.mark.parametrize("name", [n for n in ag.__all__ if n.endswith("_from_confusion")])
def test_from_confusion_is_vectorised(name: str):
    # A stack (R, k, k) gives the same as one matrix at a time, for every *_from_confusion function.
    fn = getattr(ag, name)
    kw = {"positive": 1} if name in ("tpr_from_confusion", "tnr_from_confusion") else {}
    rng = np.random.default_rng(7)
    stack = rng.integers(0, 6, size=(2, 5, 3, 3))
    stack[0, 0] = 0  # no items
    stack[0, 1] = np.diag([4, 0, 0])  # one shared category
    result = fn(stack, **kw)
    assert result.shape == (2, 5)
    for idx in np.ndindex(2, 5):
        assert same(float(result[idx]), float(fn(stack[idx], **kw)))


def test_encode_labels():
    codes, cats = ag.encode_labels(["b", "a"], ["c", "a"])
    assert cats == ["a", "b", "c"] and [c.tolist() for c in codes] == [[1, 0], [2, 0]]
    codes, cats = ag.encode_labels(np.array([3, 1]), labels=[3, 2, 1])
    assert cats == [3, 2, 1] and codes[0].tolist() == [0, 2] and codes[0].dtype == np.int64


def test_numpy_and_list_inputs_agree():
    a, b = ["pass", "fail", "pass", "pass"], ["pass", "fail", "fail", "pass"]
    assert ag.cohen_kappa(np.array(a), np.array(b)) == ag.cohen_kappa(a, b) == ag.cohen_kappa(tuple(a), b)
    assert ag.cohen_kappa(np.array([1, 0, 1, 1]), [1, 0, 0, 1]) == ag.cohen_kappa(a, b)


# --------------------------------------------------------------------------------------------
# 4. Degenerate cases: undefined is nan


@pytest.mark.parametrize("name", list(CASES))
def test_degenerate_no_items_is_nan(name: str):
    assert math.isnan(CASES[name].fn([], []))


def test_degenerate_no_items_shapes():
    assert ag.confusion_matrix([], []).shape == (0, 0)
    assert ag.confusion_matrix([], [], labels=["fail", "pass"]).tolist() == [[0, 0], [0, 0]]
    assert ag.pairwise_agreement([], [], setup="with_ties")[1] == 0
    prf = ag.precision_recall_f1([], [], labels=["a", "b"])
    assert prf.n == 0 and math.isnan(prf.macro_f1) and math.isnan(prf.precision["a"])
    rates = ag.binary_rates([], [], positive="pass")
    assert (rates.n_pos, rates.n_neg) == (0, 0) and math.isnan(rates.tpr) and math.isnan(rates.tnr)
    assert math.isnan(ag.krippendorff_alpha([[], []]))


def test_degenerate_one_shared_class():
    one = ["pass"] * 5
    for fn in (ag.cohen_kappa, ag.scott_pi, ag.gwet_ac1):
        assert math.isnan(fn(one, one))  # κ, π: p_e = 1; AC1: Q = 1
    assert math.isnan(ag.cohen_kappa(one, one, weights="quadratic"))
    assert math.isnan(ag.krippendorff_alpha([one, one]))  # D_e = 0
    assert ag.percent_agreement(one, one) == 1.0
    # with the full category set AC1 is defined (Q = 2, p_e = 0) and perfect; κ and π stay undefined
    assert ag.gwet_ac1(one, one, labels=["fail", "pass"]) == 1.0
    assert math.isnan(ag.cohen_kappa(one, one, labels=["fail", "pass"]))
    assert math.isnan(ag.scott_pi(one, one, labels=["fail", "pass"]))


def test_degenerate_each_rater_one_different_class():
    # p_o = 0, p_e = 0: κ = 0 (defined), π = -1, α = -1 + 1/N
    a, b = ["pass"] * 4, ["fail"] * 4
    assert ag.cohen_kappa(a, b) == 0.0
    assert ag.scott_pi(a, b) == -1.0
    assert ag.krippendorff_alpha([a, b]) == pytest.approx(-1 + 1 / 4)


def test_degenerate_all_raters_identical_is_perfect():
    a = ["A", "B", "tie", "B", "A"]
    for fn in (ag.percent_agreement, ag.cohen_kappa, ag.scott_pi, ag.gwet_ac1):
        assert fn(a, a) == 1.0
    assert ag.krippendorff_alpha([a, a, a]) == 1.0
    assert ag.krippendorff_alpha([[1, 2, 3], [1, 2, 3], [1, 2, 3]], level="interval") == 1.0


def test_degenerate_single_annotator_alpha_is_nan():
    assert math.isnan(ag.krippendorff_alpha([["a", "b", "a"]]))
    # several raters, but no unit has two values: nothing is pairable
    assert math.isnan(ag.krippendorff_alpha([["a", None, None], [None, "b", None], [None, None, "a"]]))
    assert math.isnan(ag.krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]])))


def test_degenerate_constant_scores_correlations_are_nan():
    for fn in (ag.spearman, ag.kendall_tau_b, ag.pearson):
        assert math.isnan(fn([3, 3, 3], [1, 2, 3]))
        assert math.isnan(fn([1, 2, 3], [4, 4, 4]))
        assert math.isnan(fn([1], [2]))
        assert math.isnan(fn([], []))
    assert ag.mean_absolute_error([3, 3], [3, 3]) == 0.0


def test_degenerate_class_absent_from_y_true():
    prf = ag.precision_recall_f1(["a", "a"], ["a", "b"])
    assert math.isnan(prf.recall["b"]) and math.isnan(prf.f1["b"]) and prf.precision["b"] == 0.0
    assert math.isnan(prf.macro_recall) and math.isnan(prf.macro_f1)
    # a judge-only category (e.g. "invalid") left out of the macro averages
    prf = ag.precision_recall_f1(
        ["a", "b"], ["a", "invalid"], labels=["a", "b", "invalid"], macro_labels=["a", "b"]
    )
    assert (prf.macro_recall, prf.macro_precision) == (0.5, 0.5)
    # class never predicted: precision 0 (sklearn's zero_division=0), recall 0
    prf = ag.precision_recall_f1(["a", "b"], ["a", "a"])
    assert (prf.precision["b"], prf.recall["b"], prf.f1["b"]) == (0.0, 0.0, 0.0)


def test_degenerate_binary_rates_one_gold_class():
    rates = ag.binary_rates(["fail"] * 3, ["fail", "pass", "fail"], positive="pass")
    assert (rates.n_pos, rates.tn, rates.fp) == (0, 2, 1)
    assert math.isnan(rates.tpr) and rates.tnr == pytest.approx(2 / 3) and math.isnan(rates.youden_j)
    rates = ag.binary_rates(["fail"] * 3, ["fail"] * 3, positive="pass")  # positive nowhere: not an error
    assert rates.n_pos == 0 and rates.tnr == 1.0


def test_degenerate_pairwise_all_ties():
    assert ag.pairwise_agreement(["tie", "A"], ["A", "tie"], setup="without_ties")[1] == 0
    assert math.isnan(ag.pairwise_agreement(["tie", "A"], ["A", "tie"], setup="without_ties")[0])


# --------------------------------------------------------------------------------------------
# 4. Malformed input: ValueError with a specific message

PAIR_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "confusion_matrix": ag.confusion_matrix,
    "percent_agreement": ag.percent_agreement,
    "cohen_kappa": ag.cohen_kappa,
    "scott_pi": ag.scott_pi,
    "gwet_ac1": ag.gwet_ac1,
    "precision_recall_f1": ag.precision_recall_f1,
    "binary_rates": partial(ag.binary_rates, positive="a"),
    "pairwise_agreement": partial(ag.pairwise_agreement, setup="with_ties"),
    "encode_labels": ag.encode_labels,
    "spearman": ag.spearman,
    "kendall_tau_b": ag.kendall_tau_b,
    "pearson": ag.pearson,
    "mean_absolute_error": ag.mean_absolute_error,
}


@pytest.mark.parametrize("name", list(PAIR_FUNCTIONS))
def test_malformed_length_mismatch(name: str):
    a, b = (
        ([1, 2, 3], [1, 2])
        if name in ("spearman", "kendall_tau_b", "pearson", "mean_absolute_error")
        else (
            ["a", "b", "a"],
            ["a", "b"],
        )
    )
    with pytest.raises(ValueError, match=r"one value per item, but \S+ has 3, \S+ has 2 items"):
        PAIR_FUNCTIONS[name](a, b)


@pytest.mark.parametrize(
    "name", ["confusion_matrix", "percent_agreement", "cohen_kappa", "scott_pi", "gwet_ac1"]
)
def test_malformed_unknown_label(name: str):
    with pytest.raises(ValueError, match=r"b\[1\] = 'maybe' is not one of the labels \['fail', 'pass'\]"):
        PAIR_FUNCTIONS[name](["pass", "fail"], ["pass", "maybe"], labels=["fail", "pass"])
    with pytest.raises(ValueError, match=r"y_pred\[0\] = 3 is not one of the labels"):
        ag.precision_recall_f1([1], [3], labels=[1, 2])
    with pytest.raises(ValueError, match=r"reliability_data\[0\]\[1\] = 'x' is not one of the labels"):
        ag.krippendorff_alpha([["a", "x"], ["a", "b"]], labels=["a", "b"])


def test_malformed_missing_values():
    with pytest.raises(ValueError, match=r"a\[1\] is missing \(None\).*'invalid'"):
        ag.cohen_kappa(["pass", None], ["pass", "fail"])
    with pytest.raises(ValueError, match=r"b\[0\] is missing \(nan\)"):
        ag.percent_agreement([1.0, 2.0], [float("nan"), 2.0])
    with pytest.raises(ValueError, match=r"a\[1\] is missing"):
        ag.pearson([1.0, np.nan, 3.0], [1, 2, 3])
    with pytest.raises(ValueError, match="not finite"):
        ag.spearman([1.0, np.inf, 3.0], [1, 2, 3])


def test_malformed_options():
    with pytest.raises(ValueError, match=r"weights must be None, 'linear' or 'quadratic', got 'cubic'"):
        ag.cohen_kappa(["a"], ["a"], weights="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weights must be"):
        ag.kappa_from_confusion([[1, 0], [0, 1]], weights="squared")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"level must be 'nominal', 'ordinal' or 'interval', got 'ratio'"):
        ag.krippendorff_alpha([[1, 2], [1, 2]], level="ratio")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"setup must be 'with_ties' \(S1\) or 'without_ties' \(S2\), got 'S1'"
    ):
        ag.pairwise_agreement(["A"], ["A"], setup="S1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"positive must be a category index in 0..1, got 2"):
        ag.tpr_from_confusion([[1, 0], [0, 1]], positive=2)
    with pytest.raises(ValueError, match=r"positive='yes' is not one of the labels"):
        ag.binary_rates(["pass"], ["pass"], positive="yes", labels=["fail", "pass"])
    with pytest.raises(ValueError, match=r"macro_labels \['c'\] are not among the labels"):
        ag.precision_recall_f1(["a"], ["a"], macro_labels=["c"])


def test_malformed_labels_and_shapes():
    with pytest.raises(ValueError, match=r"labels must be distinct, but 'a' occur"):
        ag.cohen_kappa(["a"], ["a"], labels=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"mix types that cannot be sorted \(int, str\); pass labels="):
        ag.cohen_kappa([1, "a"], [1, "a"])
    assert ag.cohen_kappa([1, "a"], [1, "a"], labels=[1, "a"]) == 1.0  # fine once the order is given
    with pytest.raises(ValueError, match="must be a sequence of labels, not a single str"):
        ag.percent_agreement("pass", "pass")
    with pytest.raises(ValueError, match=r"must be 1-dimensional, got an array of shape \(2, 2\)"):
        ag.cohen_kappa(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match=r"confusion matrix must have shape \(\.\.\., k, k\)"):
        ag.kappa_from_confusion([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"the rows have lengths \[2, 3\]"):
        ag.krippendorff_alpha([[1, 2], [1, 2, 3]])
    with pytest.raises(ValueError, match=r"must be 2-D \(raters x units\)"):
        ag.krippendorff_alpha(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"level='interval' needs numeric values, got 'bad'"):
        ag.krippendorff_alpha([["bad", "good"], ["bad", "good"]], level="interval")
    with pytest.raises(ValueError, match=r"a\[1\] = 'x' is not a number"):
        ag.pearson([1, "x"], [1, 2])
    with pytest.raises(ValueError, match="must contain numbers"):
        ag.mean_absolute_error(np.array(["1", "2"]), [1, 2])


def test_random_relabel_with_python_random_labels():
    # Integer labels, a random bijection to other integers: κ/π/AC1/α nominal unchanged.
    rnd = random.Random(5)
    a = [rnd.randrange(4) for _ in range(60)]
    b = [x if rnd.random() < 0.7 else rnd.randrange(4) for x in a]
    perm = rnd.sample(range(100, 104), 4)
    ra, rb = [perm[x] for x in a], [perm[x] for x in b]
    for fn in (ag.cohen_kappa, ag.scott_pi, ag.gwet_ac1):
        assert fn(ra, rb) == pytest.approx(fn(a, b))
    assert ag.krippendorff_alpha([ra, rb]) == pytest.approx(ag.krippendorff_alpha([a, b]))
