"""Corrected pass rate (docs/statistics.md §5): Rogan–Gladen, the Lee et al. interval, the delta method and
the parametric double bootstrap, checked against the authors' code, a hand derivation and
simulated coverage."""

from __future__ import annotations

import json
import math
from math import sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from judgecal.calibrate.correction import CorrectedRate, corrected_pass_rate, rogan_gladen

# ---------------------------------------------------------------------------------------------
# Test-only port of the authors' code: UW-Madison-Lee-Lab/LLM-judge-reporting,
# llm_judge_reporting/calibration.py, `point_estimator` and `confidence_interval` (Lee, Zeng,
# Jeong, Sohn & Lee 2025, arXiv 2511.21140, Appendix C). The repository file itself is not in the
# code index; this is the copy of it that cites the repository and the paper, kept line for line
# (asserts dropped; q0 = specificity, q1 = sensitivity, m0/m1 = human-fail/human-pass counts).


def _clip(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, x))


def lee_point_estimator(p: float, q0: float, q1: float) -> float:
    th = (p + q0 - 1) / (q0 + q1 - 1)
    return _clip(th)


def lee_confidence_interval(
    p: float, q0: float, q1: float, n: int, m0: int, m1: int, alpha: float = 0.05
) -> tuple[float, float]:
    z = norm.ppf(1 - alpha / 2)
    p, q0, q1 = (n * p + z**2 / 2) / (n + z**2), (m0 * q0 + 1) / (m0 + 2), (m1 * q1 + 1) / (m1 + 2)
    n, m0, m1 = n + z**2, m0 + 2, m1 + 2
    th = (p + q0 - 1) / (q0 + q1 - 1)
    dth = 2 * z**2 * (-(1 - th) * q0 * (1 - q0) / m0 + th * q1 * (1 - q1) / m1)
    se = sqrt(p * (1 - p) / n + (1 - th) ** 2 * q0 * (1 - q0) / m0 + th**2 * q1 * (1 - q1) / m1) / (
        q0 + q1 - 1
    )
    return _clip(th + dth - z * se), _clip(th + dth + z * se)


# ---------------------------------------------------------------------------------------------
# Rogan–Gladen


def test_rogan_gladen_hand_example():
    # θ̂ = (p + t − 1)/(s + t − 1) = (0.4 + 0.7 − 1)/(0.9 + 0.7 − 1) = 0.1/0.6 = 1/6
    assert rogan_gladen(0.4, 0.9, 0.7) == pytest.approx(1 / 6)
    assert rogan_gladen(0.4, 0.9, 0.7) == pytest.approx(lee_point_estimator(0.4, 0.7, 0.9))
    # a perfect judge needs no correction
    assert rogan_gladen(0.37, 1.0, 1.0) == pytest.approx(0.37)


def test_rogan_gladen_clips_and_degenerates():
    assert rogan_gladen(0.05, 0.9, 0.8) == 0.0  # (0.05 − 0.2)/0.7 < 0
    assert rogan_gladen(0.99, 0.9, 0.9) == 1.0  # (0.99 − 0.1)/0.8 > 1
    assert math.isnan(rogan_gladen(0.5, 0.6, 0.4))  # J = 0
    assert math.isnan(rogan_gladen(0.5, 0.3, 0.4))  # J < 0: worse than chance
    assert math.isnan(rogan_gladen(math.nan, 0.9, 0.9))
    with pytest.raises(ValueError, match="tpr"):
        rogan_gladen(0.5, 1.2, 0.9)


@given(
    p=st.floats(0, 1),
    s=st.floats(0, 1),
    t=st.floats(0, 1),
)
def test_rogan_gladen_matches_authors_point_estimator(p: float, s: float, t: float):
    ours = rogan_gladen(p, s, t)
    if s + t - 1 <= 1e-12:
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(lee_point_estimator(p, t, s), abs=1e-12)
        assert 0.0 <= ours <= 1.0


# ---------------------------------------------------------------------------------------------
# the Lee et al. interval against the authors' code


def test_lee_readme_example_hand_derived():
    # The authors' README example: p = 0.4, n = 1000, q0 = 0.7, q1 = 0.9, m0 = m1 = 200.
    # Hand derivation (z = 1.95996, z² = 3.84146):
    #   p̃ = (400 + 1.92073)/1003.84146 = 0.400384;  q̃0 = 141/202 = 0.698020;  q̃1 = 181/202 = 0.896040
    #   J̃ = 0.594059;  θ̃ = (0.400384 + 0.698020 − 1)/0.594059 = 0.165648
    #   dθ = 2z²·[−(1 − θ̃)·q̃0(1 − q̃0)/202 + θ̃·q̃1(1 − q̃1)/202] = 7.68293·(−0.000794) = −0.006102
    #   SE = √(0.240000/1003.84 + 0.696143·0.210788/202 + 0.027439·0.093153/202)/J̃ = 0.052647
    #   CI = 0.159546 ± 1.95996·0.052647 = (0.0564, 0.2627)
    r = corrected_pass_rate(400, 1000, calib_tp=180, calib_fn=20, calib_tn=140, calib_fp=60)
    assert r.corrected.value == pytest.approx(1 / 6)
    assert r.corrected.lo == pytest.approx(0.0564, abs=5e-5)
    assert r.corrected.hi == pytest.approx(0.2627, abs=5e-5)
    lo, hi = lee_confidence_interval(0.4, 0.7, 0.9, 1000, 200, 200)
    assert (r.corrected.lo, r.corrected.hi) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert r.youden_j == pytest.approx(0.6)
    assert r.variance_inflation == pytest.approx(1 / 0.36)
    assert r.corrected.method == "lee"


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 3000),
    frac_k=st.floats(0, 1),
    n1=st.integers(1, 400),
    frac_tp=st.floats(0, 1),
    n0=st.integers(1, 400),
    frac_tn=st.floats(0, 1),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_lee_interval_equals_authors_code(n, frac_k, n1, frac_tp, n0, frac_tn, confidence):
    k, tp, tn = round(frac_k * n), round(frac_tp * n1), round(frac_tn * n0)
    r = corrected_pass_rate(k, n, tp, n1 - tp, tn, n0 - tn, confidence=confidence)
    s, t = tp / n1, tn / n0
    if s + t - 1 <= 1e-12:
        assert math.isnan(r.corrected.value) and r.reason
        return
    assert r.corrected.value == pytest.approx(lee_point_estimator(k / n, t, s), abs=1e-12)
    q0s, q1s = (tn + 1) / (n0 + 2), (tp + 1) / (n1 + 2)
    if q0s + q1s - 1 <= 1e-12:  # the authors' code divides by a non-positive smoothed J here
        assert r.corrected.lo is None and "smoothed" in (r.reason or "")
        return
    lo, hi = lee_confidence_interval(k / n, t, s, n, n0, n1, alpha=1 - confidence)
    assert r.corrected.lo == pytest.approx(lo, abs=1e-9)
    assert r.corrected.hi == pytest.approx(hi, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# delta method and bootstrap


def test_delta_method_hand_derived():
    # θ̂ = 1/6, p̂ = 0.4 (N = 1000), s = 0.9 (n1 = 200), t = 0.7 (n0 = 200), J = 0.6:
    #   Var = [0.24/1000 + (1/36)·0.09/200 + (25/36)·0.21/200]/0.36
    #       = [0.00024 + 0.0000125 + 0.000729167]/0.36 = 0.00272685;  SE = 0.0522193
    #   CI = 1/6 ± 1.95996·0.0522193 = (0.064319, 0.269015)
    r = corrected_pass_rate(400, 1000, 180, 20, 140, 60, method="delta")
    assert r.corrected.lo == pytest.approx(0.064319, abs=1e-6)
    assert r.corrected.hi == pytest.approx(0.269015, abs=1e-6)
    assert r.corrected.method == "delta"


def test_delta_interval_is_centred_on_the_unclipped_value():
    # p̂ = 0.18 (N 200), s = 0.9 (n1 100), t = 0.8 (n0 100), J = 0.7: θ̂ᵤ = (0.18 + 0.8 − 1)/0.7 < 0
    #   Var = [p̂(1 − p̂)/200 + θ̂ᵤ²·0.09/100 + (1 − θ̂ᵤ)²·0.16/100]/0.49; CI = clip(θ̂ᵤ ± z·SE)
    r = corrected_pass_rate(36, 200, 90, 10, 80, 20, method="delta")
    u = (0.18 + 0.8 - 1) / 0.7
    se = sqrt((0.18 * 0.82 / 200 + u**2 * 0.09 / 100 + (1 - u) ** 2 * 0.16 / 100) / 0.49)
    z = norm.ppf(0.975)
    assert u < 0 and r.clipped and r.corrected.value == 0.0
    assert r.corrected.lo == 0.0
    assert r.corrected.hi == pytest.approx(u + z * se, abs=1e-12)
    # centred on the clipped 0 (the old interval) its upper end was higher
    se0 = sqrt((0.18 * 0.82 / 200 + 0.16 / 100 * 1.0) / 0.49)
    assert r.corrected.hi < z * se0


def test_an_interval_that_says_nothing_is_flagged():
    # one or two calibration items per class: TPR and TNR are known so poorly that the corrected
    # interval is all of [0, 1]; the result says so instead of returning it silently
    r = corrected_pass_rate(40, 100, 2, 0, 1, 1)
    assert (r.corrected.lo, r.corrected.hi) == (0.0, 1.0)
    assert any("all of [0, 1]" in w and "2 and TNR on 2" in w for w in r.warnings), r.warnings
    wide = corrected_pass_rate(400, 1000, 180, 20, 140, 60)
    assert not any("all of [0, 1]" in w for w in wide.warnings)


def test_bootstrap_is_seeded_and_close_to_delta():
    a = corrected_pass_rate(400, 1000, 180, 20, 140, 60, method="bootstrap", n_resamples=4000, seed=7)
    b = corrected_pass_rate(400, 1000, 180, 20, 140, 60, method="bootstrap", n_resamples=4000, seed=7)
    d = corrected_pass_rate(400, 1000, 180, 20, 140, 60, method="delta")
    assert (a.corrected.lo, a.corrected.hi) == (b.corrected.lo, b.corrected.hi)
    assert a.corrected.n_resamples == 4000 and a.corrected.n_degenerate == 0
    # the ratio θ̂ = (p̂ + t − 1)/J is skewed, so the percentile interval is not symmetric like the
    # delta method's; their ends agree to within 1.5 pp here
    assert a.corrected.lo == pytest.approx(d.corrected.lo, abs=0.015)
    assert a.corrected.hi == pytest.approx(d.corrected.hi, abs=0.015)


def test_bootstrap_counts_degenerate_resamples():
    # J = 0.15 on tiny calibration sets: many resamples have J* ≤ 0 and are dropped, and counted
    r = corrected_pass_rate(50, 100, 6, 4, 11, 9, method="bootstrap", n_resamples=1000)
    assert r.youden_j == pytest.approx(0.15)
    assert 0 < r.corrected.n_degenerate < 1000
    assert any("dropped" in w for w in r.warnings)
    assert any("unstable" in w for w in r.warnings)  # J ≤ 0.2 (Part 5 item 5)


# ---------------------------------------------------------------------------------------------
# coverage by simulation


def _simulate(theta: float, s: float, t: float, n: int, n1: int, n0: int, sims: int, seed: int):
    rng = np.random.default_rng(seed)
    q = s * theta + (1 - t) * (1 - theta)  # E[p̂] = J·θ + (1 − t)
    return rng.binomial(n, q, sims), rng.binomial(n1, s, sims), rng.binomial(n0, t, sims)


@pytest.mark.parametrize("method", ["lee", "delta"])
def test_coverage_closed_form(method):
    theta, s, t, n, n1, n0 = 0.7, 0.9, 0.85, 400, 120, 80
    ks, tps, tns = _simulate(theta, s, t, n, n1, n0, sims=1500, seed=11)
    covered = 0
    for k, tp, tn in zip(ks.tolist(), tps.tolist(), tns.tolist(), strict=True):
        r = corrected_pass_rate(k, n, tp, n1 - tp, tn, n0 - tn, method=method)
        covered += r.corrected.lo <= theta <= r.corrected.hi
    assert 0.92 <= covered / 1500 <= 0.98


def test_coverage_lee_low_prevalence_small_calibration():
    # Where the raw rate is most biased: θ = 0.15, lenient judge (TNR 0.8), 60 + 60 calibration items
    theta, s, t, n, n1, n0 = 0.15, 0.92, 0.8, 300, 60, 60
    ks, tps, tns = _simulate(theta, s, t, n, n1, n0, sims=1200, seed=3)
    covered = sum(
        r.corrected.lo <= theta <= r.corrected.hi
        for r in (
            corrected_pass_rate(k, n, tp, n1 - tp, tn, n0 - tn)
            for k, tp, tn in zip(ks.tolist(), tps.tolist(), tns.tolist(), strict=True)
        )
    )
    assert 0.92 <= covered / 1200 <= 0.98


def test_coverage_bootstrap():
    theta, s, t, n, n1, n0 = 0.7, 0.9, 0.85, 400, 120, 80
    ks, tps, tns = _simulate(theta, s, t, n, n1, n0, sims=1000, seed=5)
    covered = 0
    for i, (k, tp, tn) in enumerate(zip(ks.tolist(), tps.tolist(), tns.tolist(), strict=True)):
        r = corrected_pass_rate(k, n, tp, n1 - tp, tn, n0 - tn, method="bootstrap", n_resamples=1000, seed=i)
        covered += r.corrected.lo <= theta <= r.corrected.hi
    assert 0.92 <= covered / 1000 <= 0.98


def test_raw_rate_is_biased_and_corrected_is_not():
    # θ = 0.15 with TNR 0.8: E[p̂] = 0.92·0.15 + 0.2·0.85 = 0.308, double the truth
    theta, s, t, n, n1, n0 = 0.15, 0.92, 0.8, 300, 60, 60
    ks, tps, tns = _simulate(theta, s, t, n, n1, n0, sims=4000, seed=9)
    raw = ks / n
    corrected = np.clip((raw + tns / n0 - 1) / (tps / n1 + tns / n0 - 1), 0, 1)
    assert raw.mean() == pytest.approx(0.308, abs=0.005)
    assert corrected.mean() == pytest.approx(theta, abs=0.01)
    r = corrected_pass_rate(
        int(np.median(ks)), n, round(s * n1), n1 - round(s * n1), round(t * n0), n0 - round(t * n0)
    )
    assert r.raw_minus_corrected > 0.1
    assert r.raw_rate_reportable is False


# ---------------------------------------------------------------------------------------------
# the G4 reporting rule and degenerate cases


def test_raw_rate_reportable_for_an_accurate_judge():
    # TPR = TNR = 0.98 at θ = 0.5: E[p̂] − θ = (1 − t) − (1 − J)·θ = 0.02 − 0.04·0.5 = 0
    r = corrected_pass_rate(500, 1000, 196, 4, 196, 4)
    assert abs(r.raw_minus_corrected) <= 0.02
    assert r.corrected.lo <= r.observed.value <= r.corrected.hi
    assert r.raw_rate_reportable is True


def test_raw_rate_not_reportable_when_far():
    r = corrected_pass_rate(300, 1000, 95, 5, 70, 30)  # θ̂ = (0.3 − 0.3)/0.65 = 0
    assert r.corrected.value == 0.0
    assert r.clipped is False
    assert r.raw_rate_reportable is False


@pytest.mark.parametrize(
    ("counts", "fragment"),
    [
        ((10, 100, 30, 30, 30, 30), "no better than chance"),  # J = 0
        ((10, 100, 20, 40, 30, 30), "no better than chance"),  # J < 0
        ((10, 100, 0, 0, 30, 30), "TPR is undefined"),
        ((10, 100, 30, 3, 0, 0), "TNR is undefined"),
        ((0, 0, 30, 3, 30, 3), "no test items"),
    ],
)
def test_degenerate_cases_are_values(counts, fragment):
    for method in ("lee", "delta", "bootstrap"):
        r = corrected_pass_rate(*counts, method=method, n_resamples=50)
        assert math.isnan(r.corrected.value) and r.corrected.lo is None and r.corrected.hi is None
        assert fragment in (r.reason or "")
        assert r.raw_rate_reportable is False


def test_clipping_is_flagged():
    r = corrected_pass_rate(10, 200, 90, 10, 80, 20)  # (0.05 + 0.8 − 1)/0.7 < 0
    assert r.corrected.value == 0.0 and r.clipped
    assert any("clipped" in w for w in r.warnings)


def test_prevalence_shift_is_flagged():
    # calibration prevalence 0.5; θ̂ = (p̂ − 0.05)/0.9
    r = corrected_pass_rate(500, 1000, 95, 5, 95, 5)  # θ̂ = 0.5: no shift
    assert not any("prevalence" in w for w in r.warnings)
    r = corrected_pass_rate(150, 1000, 95, 5, 95, 5)  # θ̂ ≈ 0.11: pass share more than 2× below 0.5
    assert any("prevalence" in w for w in r.warnings)
    r = corrected_pass_rate(900, 1000, 95, 5, 95, 5)  # θ̂ ≈ 0.94: fail share 0.06, more than 2× below 0.5
    assert any("prevalence" in w for w in r.warnings)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"judge_pass_test": 11, "n_test": 10},
        {"judge_pass_test": -1},
        {"calib_tp": 2.5},
        {"confidence": 1.0},
        {"method": "wald"},
    ],
)
def test_malformed_input_raises(kwargs):
    args = {"judge_pass_test": 5, "n_test": 10, "calib_tp": 5, "calib_fn": 1, "calib_tn": 5, "calib_fp": 1}
    args.update(kwargs)
    with pytest.raises(ValueError):
        corrected_pass_rate(**args)  # type: ignore[arg-type]


def test_result_is_json_serialisable():
    r = corrected_pass_rate(400, 1000, 180, 20, 140, 60, method="bootstrap", n_resamples=200)
    again = CorrectedRate.model_validate_json(r.model_dump_json())
    assert again.corrected.lo == pytest.approx(r.corrected.lo)
    json.dumps(r.model_dump(mode="json"))
    nan = corrected_pass_rate(10, 100, 30, 30, 30, 30)
    json.loads(nan.model_dump_json())  # nan becomes null, not an invalid token
    assert r.observed.n == 1000 and r.tpr.n == 200 and r.tnr.n == 200 and r.corrected.n == 1000
