"""judgecal.calibrate.intervals: Estimate, Wilson/exact intervals and the bootstraps.

Checked against scipy (Wilson, Clopper-Pearson), against hand-computed and published figures
(Wilson 1927; Brown, Cai & DasGupta 2001),
against slow reference loops (the fast confusion-matrix bootstrap must equal resampling the items
one resample at a time), for reproducibility, for the cluster bootstrap's two extremes, and for
coverage on simulated data with a known κ.
"""

from __future__ import annotations

import json
import math
from functools import partial

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import binomtest

from judgecal.calibrate import agreement as ag
from judgecal.calibrate import intervals as iv
from judgecal.calibrate.intervals import Estimate

# --------------------------------------------------------------------------------------------
# Estimate


def test_estimate_json_round_trip_nan_is_null():
    est = Estimate(
        value=float("nan"), lo=None, hi=None, n=0, method="bootstrap", n_resamples=10, n_degenerate=10
    )
    text = est.model_dump_json()
    assert json.loads(text)["value"] is None
    back = Estimate.model_validate_json(text)
    assert math.isnan(back.value) and back.lo is None and back.n_degenerate == 10
    # a nan bound (as a caller may pass) is null in JSON too; python mode keeps the float
    est = Estimate(value=0.5, lo=float("nan"), hi=float("nan"), n=3, method="wilson")
    assert json.loads(est.model_dump_json())["lo"] is None
    assert math.isnan(est.model_dump()["lo"])


def test_estimate_is_strict_and_documented():
    with pytest.raises(ValidationError):
        Estimate(value=0.5, n=3, method="wilson", extra_field=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Estimate(value=0.5, n=3, method="percentile")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Estimate(value=0.5, n=3, method="wilson", confidence=1.0)
    with pytest.raises(ValidationError):
        Estimate(value=0.5, n=-1, method="wilson")
    for name, field in Estimate.model_fields.items():
        assert field.description, f"Estimate.{name} needs a docstring"


# --------------------------------------------------------------------------------------------
# Wilson and Clopper-Pearson


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_against_scipy(confidence: float):
    for n in (1, 2, 5, 13, 50, 200, 1000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            if not 0 <= k <= n:
                continue
            ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
            lo, hi = iv.wilson_interval(k, n, confidence=confidence)
            assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_clopper_pearson_against_scipy(confidence: float):
    for n in (1, 7, 40, 300):
        for k in sorted({0, 1, n // 2, n - 1, n}):
            ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
            lo, hi = iv.clopper_pearson_interval(k, n, confidence=confidence)
            assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-10)
    assert iv.clopper_pearson(3, 10).method == "exact"


def test_wilson_worked_example_and_methods_half_widths():
    # 8/10 at 95%: z = 1.959964, z² = 3.841459; denominator 1 + z²/n = 1.384146
    # centre = (.8 + z²/20)/1.384146 = .992073/1.384146 = .716740
    # half = z·√(.8·.2/10 + z²/400)/1.384146 = 1.959964·√(.016 + .009604)/1.384146 = .226574
    lo, hi = iv.wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((0.716740 - 0.226574, 0.716740 + 0.226574), abs=1e-5)
    # the Wilson half-width near p = .9 is ±.085 at n = 50, ±.06 at 100, ±.04 at 200
    for n, half in ((50, 0.085), (100, 0.06), (200, 0.04)):
        est = iv.wilson(int(0.9 * n), n)
        assert est.hi is not None and est.lo is not None
        assert (est.hi - est.lo) / 2 == pytest.approx(half, abs=0.005)
        assert est.value == pytest.approx(0.9) and est.n == n and est.method == "wilson"


def test_wilson_degenerate_and_malformed():
    assert all(math.isnan(x) for x in iv.wilson_interval(0, 0))
    est = iv.wilson(0, 0)
    assert math.isnan(est.value) and est.lo is None and est.hi is None and est.n == 0
    assert iv.wilson_interval(0, 10)[0] == 0.0 and iv.wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError, match=r"need 0 <= k <= n, got k=11, n=10"):
        iv.wilson(11, 10)
    with pytest.raises(ValueError, match="k must be an integer count"):
        iv.wilson(0.5, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        iv.wilson(1, 10, confidence=95)


# --------------------------------------------------------------------------------------------
# Resampling


def test_bootstrap_indices_items():
    counts = iv.bootstrap_indices(7, n_resamples=50, seed=3)
    assert counts.shape == (50, 7) and (counts.sum(axis=1) == 7).all()
    assert np.array_equal(counts, iv.bootstrap_indices(7, n_resamples=50, seed=3))
    assert not np.array_equal(counts, iv.bootstrap_indices(7, n_resamples=50, seed=4))


def test_bootstrap_indices_clusters_take_whole_clusters():
    clusters = ["q1", "q1", "q2", "q3", "q3", "q3"]
    counts = iv.bootstrap_indices(6, clusters=clusters, n_resamples=300, seed=0)
    # items of one cluster are always drawn together, as often as their cluster
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 3] == counts[:, 4]).all()
    assert (counts[:, 3] == counts[:, 5]).all()
    # 3 clusters drawn per resample; resample sizes vary with the clusters drawn
    assert (counts[:, [0, 2, 3]].sum(axis=1) == 3).all()
    assert len(set(counts.sum(axis=1).tolist())) > 1


def test_bootstrap_draws_do_not_depend_on_block_size(monkeypatch: pytest.MonkeyPatch):
    a = np.random.default_rng(0).integers(0, 3, 37)
    b = np.random.default_rng(1).integers(0, 3, 37)
    counts = iv.bootstrap_indices(37, n_resamples=101, seed=9)
    cms = iv.bootstrap_confusions(a, b, 3, n_resamples=101, seed=9)
    monkeypatch.setattr(iv, "_DRAWS_PER_CHUNK", 50)  # one resample per block
    assert np.array_equal(counts, iv.bootstrap_indices(37, n_resamples=101, seed=9))
    assert np.array_equal(cms, iv.bootstrap_confusions(a, b, 3, n_resamples=101, seed=9))


@pytest.mark.parametrize("clustered", [False, True])
def test_bootstrap_confusions_equal_a_slow_loop(clustered: bool):
    rng = np.random.default_rng(5)
    n, k, resamples = 23, 3, 60
    a, b = rng.integers(0, k, n), rng.integers(0, k, n)
    clusters = rng.integers(0, 6, n).tolist() if clustered else None
    fast = iv.bootstrap_confusions(a, b, k, clusters=clusters, n_resamples=resamples, seed=11)
    counts = iv.bootstrap_indices(n, clusters=clusters, n_resamples=resamples, seed=11)
    assert fast.shape == (resamples, k, k) and fast.dtype == np.int64
    for r in range(resamples):
        idx = np.repeat(np.arange(n), counts[r])
        slow = np.zeros((k, k), dtype=np.int64)
        for i in idx:  # item by item
            slow[a[i], b[i]] += 1
        assert np.array_equal(fast[r], slow)


def test_bootstrap_confusions_malformed():
    with pytest.raises(ValueError, match=r"a_codes must hold codes in 0..1, got values from 0 to 2"):
        iv.bootstrap_confusions([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="one code per item"):
        iv.bootstrap_confusions([0, 1], [0], 2)
    with pytest.raises(ValueError, match="integer category codes"):
        iv.bootstrap_confusions([0.5, 1.0], [0, 1], 2)
    with pytest.raises(ValueError, match="n_resamples must be a positive integer"):
        iv.bootstrap_confusions([0], [0], 1, n_resamples=0)
    with pytest.raises(ValueError, match=r"one cluster id per item: 1 ids for 2 items"):
        iv.bootstrap_confusions([0, 1], [0, 1], 2, clusters=["p1"])
    with pytest.raises(ValueError, match=r"clusters\[1\] is missing"):
        iv.bootstrap_indices(2, clusters=["p1", None])


# --------------------------------------------------------------------------------------------
# Percentile bootstraps


HUMAN = ["pass"] * 30 + ["fail"] * 20
JUDGE = ["pass"] * 27 + ["fail"] * 3 + ["fail"] * 15 + ["pass"] * 5


def test_bootstrap_confusion_stat_is_seeded_and_consistent():
    est = iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, n_resamples=500, seed=1)
    assert est == iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, n_resamples=500, seed=1)
    assert est != iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, n_resamples=500, seed=2)
    assert est.value == pytest.approx(ag.cohen_kappa(HUMAN, JUDGE))
    assert est.lo is not None and est.hi is not None and est.lo < est.value < est.hi
    assert (est.n, est.n_resamples, est.method, est.n_clusters, est.n_degenerate) == (
        50,
        500,
        "bootstrap",
        None,
        0,
    )
    # the percentiles are those of the resampled statistics (linear interpolation)
    cms = iv.bootstrap_confusions(*ag.encode_labels(HUMAN, JUDGE)[0], 2, n_resamples=500, seed=1)
    reps = ag.kappa_from_confusion(cms)
    assert (est.lo, est.hi) == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    narrow = iv.bootstrap_confusion_stat(
        HUMAN, JUDGE, ag.kappa_from_confusion, n_resamples=500, seed=1, confidence=0.5
    )
    assert narrow.lo is not None and narrow.hi is not None and est.lo < narrow.lo < narrow.hi < est.hi


def test_generic_bootstrap_draws_the_same_resamples_as_the_fast_path():
    labels = ["fail", "pass"]
    clusters = [i // 3 for i in range(len(HUMAN))]
    for cl in (None, clusters):
        fast = iv.bootstrap_confusion_stat(
            HUMAN, JUDGE, ag.pi_from_confusion, labels=labels, clusters=cl, n_resamples=200, seed=4
        )
        slow = iv.bootstrap(
            lambda h, j: ag.scott_pi(h, j, labels=labels), HUMAN, JUDGE, clusters=cl, n_resamples=200, seed=4
        )
        assert slow.value == pytest.approx(fast.value)
        assert (slow.lo, slow.hi) == pytest.approx((fast.lo, fast.hi))
        assert (slow.method, slow.n_clusters, slow.n_degenerate) == (
            fast.method,
            fast.n_clusters,
            fast.n_degenerate,
        )


def test_bootstrap_confusion_stats_share_resamples():
    stats = {
        "agreement": ag.agreement_from_confusion,
        "kappa": ag.kappa_from_confusion,
        "tpr": partial(ag.tpr_from_confusion, positive=1),
        "tnr": partial(ag.tnr_from_confusion, positive=1),
    }
    shared = iv.bootstrap_confusion_stats(HUMAN, JUDGE, stats, n_resamples=300, seed=8)
    for name, stat in stats.items():
        assert shared[name] == iv.bootstrap_confusion_stat(HUMAN, JUDGE, stat, n_resamples=300, seed=8)
    assert shared["tpr"].value == pytest.approx(27 / 30) and shared["tnr"].value == pytest.approx(15 / 20)


def test_cluster_bootstrap_extremes():
    n = len(HUMAN)
    # singleton clusters are the item bootstrap (same draws)
    items = iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, n_resamples=300, seed=0)
    singletons = iv.bootstrap_confusion_stat(
        HUMAN, JUDGE, ag.kappa_from_confusion, clusters=list(range(n)), n_resamples=300, seed=0
    )
    assert (singletons.lo, singletons.hi) == (items.lo, items.hi)
    assert (singletons.method, singletons.n_clusters) == ("cluster_bootstrap", n)
    # one big cluster: every resample is the whole data, the interval collapses on the point
    one = iv.bootstrap_confusion_stat(
        HUMAN, JUDGE, ag.kappa_from_confusion, clusters=["all"] * n, n_resamples=50
    )
    assert one.lo == pytest.approx(one.value) and one.hi == pytest.approx(one.value) and one.n_clusters == 1


def test_cluster_bootstrap_widens_for_duplicated_items():
    # Each item judged 4 times identically (e.g. 4 turns of one prompt): the item bootstrap thinks
    # there are 4n independent items; the cluster bootstrap knows there are n. Width ratio ≈ √4 = 2.
    h, j = HUMAN * 4, JUDGE * 4
    prompts = list(range(len(HUMAN))) * 4
    naive = iv.bootstrap_confusion_stat(h, j, ag.kappa_from_confusion, n_resamples=1000, seed=0)
    clustered = iv.bootstrap_confusion_stat(
        h, j, ag.kappa_from_confusion, clusters=prompts, n_resamples=1000, seed=0
    )
    assert naive.value == clustered.value
    assert (
        naive.hi is not None
        and naive.lo is not None
        and clustered.hi is not None
        and clustered.lo is not None
    )
    ratio = (clustered.hi - clustered.lo) / (naive.hi - naive.lo)
    assert 1.6 < ratio < 2.5


def test_generic_bootstrap_keeps_clusters_together():
    clusters = ["a"] * 3 + ["b"] * 2 + ["c"]
    sizes = {"a": 3, "b": 2, "c": 1}

    def check(ids: np.ndarray) -> float:
        values, counts = np.unique(ids, return_counts=True)
        assert all(count % sizes[v] == 0 for v, count in zip(values.tolist(), counts.tolist(), strict=True))
        return float(len(ids))

    est = iv.bootstrap(check, clusters, clusters=clusters, n_resamples=100, seed=0)
    assert est.value == 6.0 and est.method == "cluster_bootstrap" and est.n_clusters == 3
    assert est.lo is not None and est.hi is not None and est.lo < est.hi  # resample sizes vary (3 to 9)


def test_bootstrap_mean_matches_manual_percentiles():
    x = np.array([0.0, 1.0, 1.0, 2.0, 5.0, 8.0])
    est = iv.bootstrap(lambda v: float(v.mean()), x, n_resamples=400, seed=2, confidence=0.9)
    counts = iv.bootstrap_indices(len(x), n_resamples=400, seed=2)
    reps = counts @ x / counts.sum(axis=1)
    assert (est.lo, est.hi) == pytest.approx(tuple(np.quantile(reps, [0.05, 0.95])))
    assert est.value == pytest.approx(x.mean()) and est.confidence == 0.9


def test_bootstrap_degenerate_resamples_are_counted():
    # One gold negative in 20 items: a resample misses it with probability (19/20)^20 ≈ .358,
    # and TNR is undefined there. Those resamples are dropped and counted.
    human = ["pass"] * 19 + ["fail"]
    judge = ["pass"] * 18 + ["fail", "fail"]
    est = iv.bootstrap_confusion_stat(
        human, judge, partial(ag.tnr_from_confusion, positive=1), n_resamples=1000
    )
    assert est.value == 1.0 and est.lo is not None
    assert 280 < est.n_degenerate < 440
    # undefined everywhere: one shared class -> κ nan, no interval, every resample degenerate
    est = iv.bootstrap_confusion_stat(["pass"] * 5, ["pass"] * 5, ag.kappa_from_confusion, n_resamples=100)
    assert math.isnan(est.value) and est.lo is None and est.hi is None and est.n_degenerate == 100
    # no items at all
    est = iv.bootstrap_confusion_stat(
        [], [], ag.agreement_from_confusion, labels=["fail", "pass"], n_resamples=10
    )
    assert math.isnan(est.value) and est.lo is None and est.n == 0 and est.n_degenerate == 10
    est = iv.bootstrap(lambda v: float(np.mean(v)) if len(v) else float("nan"), [], n_resamples=10)
    assert math.isnan(est.value) and est.lo is None and est.n == 0


def test_bootstrap_malformed():
    with pytest.raises(ValueError, match=r"must map confusion matrices of shape \(R, k, k\) to shape \(R,\)"):
        iv.bootstrap_confusion_stat(HUMAN, JUDGE, lambda cm: np.asarray(cm).sum(), n_resamples=10)
    with pytest.raises(ValueError, match=r"a\[0\] = 'pass' is not one of the labels"):
        iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, labels=["yes", "no"])
    with pytest.raises(ValueError, match="one value per item"):
        iv.bootstrap(lambda a, b: 0.0, [1, 2], [1])
    with pytest.raises(ValueError, match="at least one data array"):
        iv.bootstrap(lambda: 0.0)
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        iv.bootstrap_confusion_stat(HUMAN, JUDGE, ag.kappa_from_confusion, confidence=0.0)


def test_bootstrap_kappa_coverage_on_simulated_data():
    # 200 datasets of 150 items from a population table with known κ:
    #   P = [[.50, .10], [.05, .35]]; r = (.60, .40), c = (.55, .45); p_o = .85,
    #   p_e = .60·.55 + .40·.45 = .51; κ = (.85 - .51)/(1 - .51) = .6939
    # The 95% percentile interval should contain it in about 95% of datasets.
    population = np.array([0.50, 0.10, 0.05, 0.35])
    kappa = (0.85 - 0.51) / 0.49
    rng = np.random.default_rng(2024)
    hits = 0
    for s in range(200):
        cells = rng.choice(4, size=150, p=population)
        est = iv.bootstrap_confusion_stat(
            cells // 2, cells % 2, ag.kappa_from_confusion, n_resamples=400, seed=s
        )
        assert est.lo is not None and est.hi is not None
        hits += est.lo <= kappa <= est.hi
    assert 0.89 <= hits / 200 <= 0.99


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("clustered", [False, True])
def test_vectorised_alpha_bootstrap_draws_the_generic_resamples(level, clustered):
    """bootstrap_alpha sums per-unit coincidence shares weighted by the resample counts; it must
    give exactly the generic bootstrap's replicates (same seed, same resamples), missing values,
    clusters and all three levels included."""
    from judgecal.calibrate.agreement import krippendorff_alpha
    from judgecal.calibrate.intervals import bootstrap, bootstrap_alpha

    rng = np.random.default_rng(7)
    data = rng.integers(1, 5, size=(3, 60)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    clusters = [f"c{u // 3}" for u in range(60)] if clustered else None
    fast = bootstrap_alpha(data, level=level, clusters=clusters, n_resamples=300, seed=11)
    slow = bootstrap(
        lambda cols: krippendorff_alpha(np.asarray(cols).T, level=level),
        data.T,
        clusters=clusters,
        n_resamples=300,
        seed=11,
    )
    assert fast.value == pytest.approx(slow.value, abs=1e-12)
    assert fast.lo == pytest.approx(slow.lo, abs=1e-12) and fast.hi == pytest.approx(slow.hi, abs=1e-12)
