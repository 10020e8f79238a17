"""Score calibration (docs/statistics.md §6): the isotonic map against scikit-learn, ECE/Brier/log-loss
against scikit-learn and a hand computation, and the degenerate cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss

from judgecal.calibrate.scores import (
    CalibrationReport,
    IsotonicMap,
    evaluate_calibration,
    fit_isotonic,
)


def _miscalibrated(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A verbalised confidence that is over-confident: P(pass | s) = s² (not s)."""
    s = rng.uniform(0, 1, n)
    y = (rng.uniform(0, 1, n) < s**2).astype(int)
    return s, y


def _ece_from_sklearn(p: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    """ECE from calibration_curve(strategy="quantile"), with the bin counts from the same edges."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(p) * np.abs(prob_pred - prob_true)))


# ---------------------------------------------------------------------------------------------
# the isotonic map


def test_isotonic_map_equals_sklearn():
    rng = np.random.default_rng(0)
    s, y = _miscalibrated(rng, 400)
    m = fit_isotonic(s, y)
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    np.testing.assert_allclose(m.x_thresholds, ref.X_thresholds_)
    np.testing.assert_allclose(m.y_thresholds, ref.y_thresholds_)
    grid = np.concatenate([np.linspace(0, 1, 501), s])
    np.testing.assert_allclose(m.predict(grid), ref.predict(grid), atol=1e-12)
    assert m.kind == "isotonic" and m.reason is None and m.n == 400 and m.n_pass == int(y.sum())
    assert m.warnings == []


def test_isotonic_map_on_an_ordinal_score():
    # 1–5 ratings; humans pass 10%, 30%, 50%, 70%, 90% of each level: isotonic recovers the rates
    scores = np.repeat([1, 2, 3, 4, 5], 40)
    y = np.concatenate([np.arange(40) < 4 * k for k in (1, 3, 5, 7, 9)]).astype(int)
    m = fit_isotonic(scores, y, score_range=(1, 5))
    assert m.x_thresholds == [1.0, 2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(m.y_thresholds, [0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(m.raw_probability([1, 2, 3, 4, 5]), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(m.predict([1, 1.5, 5]), [0.1, 0.2, 0.9])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=10, max_size=80),
    st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_isotonic_prediction_property(dev, test):
    x = np.array([d[0] for d in dev])
    y = np.array([d[1] for d in dev], dtype=int)
    m = fit_isotonic(x, y)
    p = m.predict(test)
    assert np.all((p >= 0) & (p <= 1))
    if m.kind == "isotonic":
        ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(x, y)
        np.testing.assert_allclose(p, ref.predict(np.asarray(test)), atol=1e-9)
        order = np.argsort(test)
        assert np.all(np.diff(p[order]) >= -1e-12)  # monotone


def test_map_is_serialisable():
    rng = np.random.default_rng(1)
    s, y = _miscalibrated(rng, 200)
    m = fit_isotonic(s, y)
    again = IsotonicMap.model_validate_json(m.model_dump_json())
    np.testing.assert_array_equal(again.predict(s), m.predict(s))


@pytest.mark.parametrize(
    ("scores", "passes", "fragment"),
    [
        ([0.1, 0.9, 0.5], [0, 1, 1], "only 3 dev points"),
        ([0.1 * i for i in range(10)], [1] * 10, "human pass"),
        ([0.1 * i for i in range(10)], [0] * 10, "human fail"),
    ],
)
def test_degenerate_dev_sets_give_the_identity(scores, passes, fragment):
    m = fit_isotonic(scores, passes)
    assert m.kind == "identity" and fragment in (m.reason or "")
    np.testing.assert_allclose(m.predict([0.0, 0.25, 1.0]), [0.0, 0.25, 1.0])
    r = evaluate_calibration(m, [0.2, 0.8], [0, 1], n_bins=2)
    assert r.map_kind == "identity" and fragment in (r.map_reason or "")
    assert r.raw.brier == r.calibrated.brier


def test_small_dev_set_warns():
    rng = np.random.default_rng(2)
    s, y = _miscalibrated(rng, 40)
    m = fit_isotonic(s, y)
    assert m.kind == "isotonic" and any("hundreds" in w for w in m.warnings)


@pytest.mark.parametrize(
    ("scores", "passes", "kwargs", "fragment"),
    [
        ([0.1, float("nan")], [0, 1], {}, "nan"),
        ([0.1, 1.2], [0, 1], {}, "outside the score range"),
        ([0, 6], [0, 1], {"score_range": (1, 5)}, "outside the score range"),
        ([0.1, 0.2], [0, 2], {}, "0/1"),
        ([0.1, 0.2], [0], {}, "values"),
        ([0.1], [1], {"score_range": (1, 1)}, "min < max"),
    ],
)
def test_malformed_input_raises(scores, passes, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        fit_isotonic(scores, passes, **kwargs)


# ---------------------------------------------------------------------------------------------
# the metrics


def test_hand_computed_example():
    # p = [0.1, 0.4, 0.6, 0.9], y = [0, 1, 0, 1], 2 equal-mass bins split at the median 0.5:
    #   bin 1: mean p 0.25, observed 0.5;  bin 2: mean p 0.75, observed 0.5
    #   ECE   = ½·|0.25 − 0.5| + ½·|0.75 − 0.5| = 0.25
    #   Brier = (0.01 + 0.36 + 0.36 + 0.01)/4 = 0.185
    #   log-loss = −(ln 0.9 + ln 0.4 + ln 0.4 + ln 0.9)/4 = 0.510826
    identity = fit_isotonic([0.5], [1])  # one point: the identity map on [0, 1]
    r = evaluate_calibration(identity, [0.1, 0.4, 0.6, 0.9], [0, 1, 0, 1], n_bins=2)
    for metrics in (r.raw, r.calibrated):
        assert metrics.ece == pytest.approx(0.25)
        assert metrics.brier == pytest.approx(0.185)
        assert metrics.log_loss == pytest.approx(0.510826, abs=1e-6)
        assert [(b.count, b.n_pass) for b in metrics.bins] == [(2, 1), (2, 1)]
        assert [b.mean_predicted for b in metrics.bins] == pytest.approx([0.25, 0.75])
        assert [b.observed.value for b in metrics.bins] == [0.5, 0.5]
        assert metrics.bins[0].observed.lo == pytest.approx(0.0945, abs=1e-4)  # Wilson, 1 of 2
    assert r.n == 4 and r.n_pass == 2 and r.base_rate == 0.5


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_metrics_equal_sklearn(n_bins):
    rng = np.random.default_rng(n_bins)
    s_dev, y_dev = _miscalibrated(rng, 500)
    s_test, y_test = _miscalibrated(rng, 300)
    m = fit_isotonic(s_dev, y_dev)
    r = evaluate_calibration(m, s_test, y_test, n_bins=n_bins)
    for p, metrics in ((s_test, r.raw), (m.predict(s_test), r.calibrated)):
        assert metrics.brier == pytest.approx(brier_score_loss(y_test, p), abs=1e-12)
        assert metrics.log_loss == pytest.approx(log_loss(y_test, p, labels=[0, 1]), rel=1e-9)
        prob_true, prob_pred = calibration_curve(y_test, p, n_bins=n_bins, strategy="quantile")
        np.testing.assert_allclose([b.observed.value for b in metrics.bins], prob_true)
        np.testing.assert_allclose([b.mean_predicted for b in metrics.bins], prob_pred)
        assert metrics.ece == pytest.approx(_ece_from_sklearn(p, y_test, n_bins), abs=1e-12)
        assert sum(b.count for b in metrics.bins) == 300


def test_calibration_improves_a_miscalibrated_score():
    rng = np.random.default_rng(3)
    s_dev, y_dev = _miscalibrated(rng, 1000)
    s_test, y_test = _miscalibrated(rng, 1000)
    r = evaluate_calibration(fit_isotonic(s_dev, y_dev), s_test, y_test)
    assert r.calibrated.ece < r.raw.ece / 2
    assert r.calibrated.brier < r.raw.brier
    assert len(r.raw.bins) == 10 and all(b.count == 100 for b in r.raw.bins)


def test_fraction_of_k_samples_and_ties():
    # 5 resamples: scores in {0, .2, .4, .6, .8, 1}: ties leave some of the 10 quantile bins empty
    rng = np.random.default_rng(4)
    truth = rng.uniform(size=600) < 0.6
    votes = rng.binomial(5, np.where(truth, 0.85, 0.25)) / 5
    m = fit_isotonic(votes[:300], truth[:300])
    r = evaluate_calibration(m, votes[300:], truth[300:])
    assert len(r.raw.bins) <= 6
    assert r.raw.ece == pytest.approx(_ece_from_sklearn(votes[300:], truth[300:].astype(int), 10), abs=1e-12)


def test_binary_verdict_as_score_and_log_loss_clipping():
    # a hard 0/1 verdict that is wrong once costs −ln(ε) ≈ 36 on that item
    identity = fit_isotonic([], [])
    r = evaluate_calibration(identity, [1, 1, 0, 0], [1, 0, 0, 0], n_bins=2)
    eps = np.finfo(float).eps
    assert r.raw.log_loss == pytest.approx(-np.log(eps) / 4, rel=1e-6)
    assert r.raw.log_loss == pytest.approx(log_loss([1, 0, 0, 0], [1.0, 1.0, 0.0, 0.0]), rel=1e-6)
    assert r.raw.brier == 0.25


def test_empty_and_single_class_test_sets():
    m = fit_isotonic(np.linspace(0, 1, 20), np.arange(20) % 2)
    empty = evaluate_calibration(m, [], [])
    assert empty.n == 0 and math.isnan(empty.raw.ece) and empty.raw.bins == [] and empty.notes
    assert math.isnan(empty.base_rate)
    data = json.loads(empty.model_dump_json())
    assert data["raw"]["ece"] is None
    assert CalibrationReport.model_validate_json(empty.model_dump_json()).n == 0
    one = evaluate_calibration(m, [0.2, 0.7], [1, 1])
    assert any("every test item" in note for note in one.notes)
    assert math.isfinite(one.raw.brier)
    with pytest.raises(ValueError, match="n_bins"):
        evaluate_calibration(m, [0.2], [1], n_bins=0)
