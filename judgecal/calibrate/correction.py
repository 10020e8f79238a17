"""The true pass rate behind an imperfect binary judge (Rogan & Gladen 1978; Lee et al. 2025).

A judge with sensitivity s = TPR and specificity t = TNR reports a pass rate whose expectation is
E[p̂] = s·θ + (1 − t)(1 − θ) = J·θ + (1 − t), where θ is the true pass rate and J = s + t − 1 is
Youden's J. The raw rate is biased unless s = t = 1: it over-estimates θ below
θ* = (1 − t)/(2 − s − t) and under-estimates it above (Lee et al. 2025).

:func:`rogan_gladen` inverts that relation. :func:`corrected_pass_rate` adds a confidence interval
that carries both sources of uncertainty: the test set (p̂, from ``n_test`` judged items) and the
calibration set (TPR and TNR, from human-labelled items). Three interval methods:

- ``"lee"``: Lee, Zeng, Jeong, Sohn & Lee 2025, the smoothed plug-in interval (the default);
- ``"delta"``: the first-order delta method;
- ``"bootstrap"``: a parametric double bootstrap over both sets.

``judgy``'s bootstrap (Husain & Shankar, ``ai-evals-course/judgy``) holds p̂ fixed and so
understates the uncertainty when the test set is small; none of the methods here does that.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field

from judgecal._model import NanFloat, Strict
from judgecal.calibrate.intervals import Estimate, wilson

__all__ = [
    "RAW_RATE_TOLERANCE",
    "UNSTABLE_J",
    "CorrectedEstimate",
    "CorrectedRate",
    "CorrectionMethod",
    "corrected_pass_rate",
    "rogan_gladen",
]

CorrectionMethod = Literal["lee", "delta", "bootstrap"]


class _Result(Strict):
    """Base of the result models here: unknown keys rejected, field docstrings become descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


RAW_RATE_TOLERANCE = 0.02
"""Reporting rule: the raw rate may be reported if it is within 2 percentage points of the corrected one."""

_J_TOLERANCE = 1e-12
"""J at or below this is treated as 0: float rounding must not turn J = 0 into a huge division."""

UNSTABLE_J = 0.2
"""At or below this Youden's J the correction is too unstable to trust (its variance grows as 1/J²)."""


class CorrectedEstimate(_Result):
    """The corrected pass rate with its interval; the fields mirror :class:`intervals.Estimate`.

    (``Estimate.method`` has no name for the Lee et al. and delta-method intervals.)
    """

    value: NanFloat
    """Rogan–Gladen θ̂ clipped to [0, 1]; nan (``null`` in JSON) when undefined."""
    lo: float | None = None
    """Lower end of the interval; None when undefined."""
    hi: float | None = None
    """Upper end of the interval; None when undefined."""
    n: int = Field(ge=0)
    """Test items judged (the calibration sizes are on :class:`CorrectedRate`)."""
    confidence: float = Field(gt=0.0, lt=1.0)
    """Nominal coverage of the interval."""
    method: Literal["lee", "delta", "parametric_bootstrap"]
    """How the interval was made."""
    n_resamples: int | None = None
    """Bootstrap draws (``parametric_bootstrap`` only)."""
    n_degenerate: int = Field(default=0, ge=0)
    """Bootstrap draws with J* ≤ 0, left out of the percentiles."""


class CorrectedRate(_Result):
    """A judge's observed pass rate on a test set, corrected for its TPR and TNR."""

    method: CorrectionMethod
    """How the interval of ``corrected`` was computed."""
    confidence: float
    """Confidence level of every interval here."""
    judge_pass_test: int
    """Test items the judge passed."""
    n_test: int
    """Test items judged."""
    observed: Estimate
    """The raw pass rate p̂ = judge_pass_test / n_test, with a Wilson interval."""
    calib_tp: int
    """Calibration items humans passed and the judge passed."""
    calib_fn: int
    """Calibration items humans passed and the judge failed."""
    calib_tn: int
    """Calibration items humans failed and the judge failed."""
    calib_fp: int
    """Calibration items humans failed and the judge passed."""
    tpr: Estimate
    """Sensitivity TP/(TP+FN) with a Wilson interval; ``n`` = human-pass calibration items."""
    tnr: Estimate
    """Specificity TN/(TN+FP) with a Wilson interval; ``n`` = human-fail calibration items."""
    calibration_prevalence: NanFloat
    """Share of calibration items humans passed, (TP+FN)/(TP+FN+TN+FP); nan without items."""
    youden_j: NanFloat
    """J = TPR + TNR − 1. The correction needs J > 0; nan when TPR or TNR is undefined."""
    variance_inflation: NanFloat
    """1/J²: how much the judge's errors inflate the variance of the corrected rate; nan if J ≤ 0."""
    corrected: CorrectedEstimate
    """Rogan–Gladen point estimate, clipped to [0, 1], with the interval of ``method``.
    ``n`` is ``n_test``; ``value`` is nan and ``lo``/``hi`` None when undefined (see ``reason``)."""
    clipped: bool
    """True when the unclipped Rogan–Gladen value fell outside [0, 1]."""
    raw_minus_corrected: NanFloat
    """Bias of the raw rate, p̂ − θ̂ (nan when the correction is undefined)."""
    raw_rate_reportable: bool
    """Reporting rule: |p̂ − θ̂| ≤ 0.02 and the corrected interval contains p̂. False when undefined."""
    reason: str | None = None
    """Why ``corrected`` (its value or its interval) is nan; None when it is defined."""
    warnings: list[str] = Field(default_factory=list)
    """Conditions worth a reader's attention that do not make the result undefined."""


def rogan_gladen(p_obs: float, tpr: float, tnr: float) -> float:
    """Rogan–Gladen (1978) corrected prevalence: θ̂ = (p_obs + tnr − 1)/(tpr + tnr − 1), clipped.

    Range: [0, 1]. The value is clipped because sampling noise can push the unclipped ratio
    outside the unit interval. Degenerate cases: returns nan when J = tpr + tnr − 1 ≤ 0 (a judge
    no better than chance carries no information about θ; ``judgy`` raises there) or when any input
    is nan. Raises ValueError when an input is outside [0, 1].

    Reference: Rogan & Gladen 1978, *Am. J. Epidemiol.* 107:71–76.

    >>> round(rogan_gladen(0.4, tpr=0.9, tnr=0.7), 4)  # (0.4 + 0.7 − 1)/(0.9 + 0.7 − 1) = 0.1/0.6
    0.1667
    >>> rogan_gladen(0.1, tpr=0.9, tnr=0.9)  # (0.1 + 0.9 − 1)/0.8 = 0
    0.0
    >>> rogan_gladen(0.5, tpr=0.5, tnr=0.5)  # J = 0
    nan
    """
    for name, value in (("p_obs", p_obs), ("tpr", tpr), ("tnr", tnr)):
        if not (math.isnan(value) or 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a proportion in [0, 1], got {value!r}")
    if math.isnan(p_obs) or math.isnan(tpr) or math.isnan(tnr):
        return math.nan
    j = tpr + tnr - 1.0
    if j <= _J_TOLERANCE:
        return math.nan
    return float(min(1.0, max(0.0, (p_obs + tnr - 1.0) / j)))


def _lee_bounds(
    p: np.ndarray, q0: np.ndarray, q1: np.ndarray, n: np.ndarray, m0: np.ndarray, m1: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lee et al. 2025 smoothed plug-in interval, vectorised; nan where the smoothed J̃ ≤ 0."""
    z2 = z * z
    p_s = (n * p + z2 / 2.0) / (n + z2)
    q0_s = (m0 * q0 + 1.0) / (m0 + 2.0)
    q1_s = (m1 * q1 + 1.0) / (m1 + 2.0)
    n_s, m0_s, m1_s = n + z2, m0 + 2.0, m1 + 2.0
    j_s = q0_s + q1_s - 1.0
    ok = j_s > _J_TOLERANCE
    j_safe = np.where(ok, j_s, 1.0)
    th = (p_s + q0_s - 1.0) / j_safe
    dth = 2.0 * z2 * (-(1.0 - th) * q0_s * (1.0 - q0_s) / m0_s + th * q1_s * (1.0 - q1_s) / m1_s)
    var = (
        p_s * (1.0 - p_s) / n_s
        + (1.0 - th) ** 2 * q0_s * (1.0 - q0_s) / m0_s
        + th**2 * q1_s * (1.0 - q1_s) / m1_s
    )
    se = np.sqrt(var) / j_safe
    lo = np.clip(th + dth - z * se, 0.0, 1.0)
    hi = np.clip(th + dth + z * se, 0.0, 1.0)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _delta_bounds(
    p: np.ndarray, s: np.ndarray, t: np.ndarray, n: np.ndarray, n1: np.ndarray, n0: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method Wald interval, vectorised; nan where J ≤ 0. It is centred on the *unclipped*
    Rogan–Gladen value and then clipped: centring on the clipped value would move the whole
    interval when sampling noise pushes θ̂ outside [0, 1]."""
    j = s + t - 1.0
    ok = j > _J_TOLERANCE
    j_safe = np.where(ok, j, 1.0)
    th = (p + t - 1.0) / j_safe
    var = (p * (1.0 - p) / n + th**2 * s * (1.0 - s) / n1 + (1.0 - th) ** 2 * t * (1.0 - t) / n0) / j_safe**2
    se = np.sqrt(var)
    lo = np.clip(th - z * se, 0.0, 1.0)
    hi = np.clip(th + z * se, 0.0, 1.0)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _bootstrap_draws(
    k: int, n: int, tp: int, n1: int, tn: int, n0: int, *, n_resamples: int, seed: int
) -> tuple[np.ndarray, int]:
    """Parametric double bootstrap: the clipped θ̂* of every usable resample, and the count dropped."""
    rng = np.random.default_rng(seed)
    k_star = rng.binomial(n, k / n, size=n_resamples)
    tp_star = rng.binomial(n1, tp / n1, size=n_resamples)
    tn_star = rng.binomial(n0, tn / n0, size=n_resamples)
    s_star = tp_star / n1
    t_star = tn_star / n0
    j_star = s_star + t_star - 1.0
    ok = j_star > _J_TOLERANCE
    theta = np.clip((k_star[ok] / n + t_star[ok] - 1.0) / j_star[ok], 0.0, 1.0)
    return theta, int((~ok).sum())


def _shifted(share: float, reference: float) -> bool:
    """``share`` (a class share of the test set) is more than 2× above or below ``reference``."""
    return share > 2.0 * reference or share < reference / 2.0


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")


def corrected_pass_rate(
    judge_pass_test: int,
    n_test: int,
    calib_tp: int,
    calib_fn: int,
    calib_tn: int,
    calib_fp: int,
    *,
    confidence: float = 0.95,
    method: CorrectionMethod = "lee",
    n_resamples: int = 2000,
    seed: int = 0,
) -> CorrectedRate:
    """Corrected pass rate θ̂ with a confidence interval that carries test and calibration noise.

    Inputs: the judge passed ``judge_pass_test`` of ``n_test`` unlabelled test items (p̂); on a
    human-labelled calibration set it produced the confusion counts TP, FN (humans passed) and
    TN, FP (humans failed), so s = TP/(TP+FN) and t = TN/(TN+FP).

    Point estimate (all methods): Rogan–Gladen θ̂ = clip((p̂ + t − 1)/(s + t − 1)).

    Interval, with z = Φ⁻¹(1 − α/2):

    - ``"lee"`` (Lee et al. 2025, exactly as their ``confidence_interval``): smooth
      p̃ = (n·p̂ + z²/2)/(n + z²), q̃₀ = (m₀·t + 1)/(m₀ + 2), q̃₁ = (m₁·s + 1)/(m₁ + 2), ñ = n + z²,
      m̃ = m + 2; θ̃ = (p̃ + q̃₀ − 1)/(q̃₀ + q̃₁ − 1);
      dθ = 2z²·[−(1 − θ̃)·q̃₀(1 − q̃₀)/m̃₀ + θ̃·q̃₁(1 − q̃₁)/m̃₁];
      SE = √(p̃(1 − p̃)/ñ + (1 − θ̃)²·q̃₀(1 − q̃₀)/m̃₀ + θ̃²·q̃₁(1 − q̃₁)/m̃₁)/(q̃₀ + q̃₁ − 1);
      CI = clip(θ̃ + dθ ± z·SE). The interval is centred on the smoothed, bias-shifted θ̃ + dθ,
      not on θ̂.
    - ``"delta"``: Var(θ̂) ≈ [p̂(1 − p̂)/n + θ̂²·s(1 − s)/m₁ + (1 − θ̂)²·t(1 − t)/m₀]/J², CI =
      clip(θ̂ᵤ ± z·SE), with θ̂ᵤ the unclipped ratio (also in the variance). It collapses to a point
      when s = t = 1 and p̂ ∈ {0, 1} (no smoothing).
    - ``"bootstrap"``: parametric double bootstrap. Each of ``n_resamples`` draws takes
      k* ~ Bin(n, p̂), TP* ~ Bin(m₁, s) and TN* ~ Bin(m₀, t) (the calibration set resampled within
      each human class, so neither class can go missing) and computes the clipped θ̂*; draws with
      J* ≤ 0 are dropped and counted in ``n_degenerate``; the interval is the percentile interval.

    J and the variance inflation 1/J² are reported: the same sampling noise in p̂ becomes 1/J²
    times more variance in θ̂ (1.23 at J = 0.9, 2.78 at J = 0.6, 6.25 at J = 0.4).
    ``raw_rate_reportable`` applies the reporting rule: |p̂ − θ̂| ≤ 2 pp and the corrected interval
    contains p̂.

    Degenerate cases (a value, never an exception; ``reason`` says which): no test items, no
    human-pass or no human-fail calibration items (TPR or TNR undefined), or J ≤ 0 make ``corrected``
    nan with no interval (``lo = hi = None``). For ``"lee"``, the smoothed J̃ ≤ 0 with J > 0 (tiny
    calibration sets) keeps the point estimate but leaves no interval. ``warnings`` flags J ≤ 0.2
    (variance inflated 25× or more), a clipped estimate, and a corrected pass (or fail) share more
    than 2× away from the calibration set's (re-estimate TPR/TNR on that slice). Raises ValueError
    for negative or non-integer counts, ``judge_pass_test > n_test``, a confidence outside (0, 1) or
    an unknown method.

    References: Rogan & Gladen 1978; Lee, Zeng, Jeong, Sohn & Lee 2025, "How to Correctly Report
    LLM-as-a-Judge Evaluations" (arXiv 2511.21140; code ``UW-Madison-Lee-Lab/LLM-judge-reporting``,
    ``llm_judge_reporting/calibration.py``).

    >>> r = corrected_pass_rate(400, 1000, calib_tp=180, calib_fn=20, calib_tn=140, calib_fp=60)
    >>> round(r.observed.value, 3), round(r.youden_j, 2), round(r.corrected.value, 4)
    (0.4, 0.6, 0.1667)
    >>> round(r.corrected.lo, 4), round(r.corrected.hi, 4), r.raw_rate_reportable
    (0.0564, 0.2627, False)
    """
    for name, value in (
        ("judge_pass_test", judge_pass_test),
        ("n_test", n_test),
        ("calib_tp", calib_tp),
        ("calib_fn", calib_fn),
        ("calib_tn", calib_tn),
        ("calib_fp", calib_fp),
    ):
        _check_count(name, value)
    if judge_pass_test > n_test:
        raise ValueError(f"judge_pass_test ({judge_pass_test}) cannot exceed n_test ({n_test})")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if method not in ("lee", "delta", "bootstrap"):
        raise ValueError(f"unknown method {method!r}; use one of 'lee', 'delta', 'bootstrap'")
    if method == "bootstrap" and n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples!r}")

    k, n = int(judge_pass_test), int(n_test)
    tp, fn, tn, fp = int(calib_tp), int(calib_fn), int(calib_tn), int(calib_fp)
    n1, n0 = tp + fn, tn + fp
    observed = wilson(k, n, confidence=confidence)
    tpr_est = wilson(tp, n1, confidence=confidence)
    tnr_est = wilson(tn, n0, confidence=confidence)
    p_hat = k / n if n else math.nan
    s = tp / n1 if n1 else math.nan
    t = tn / n0 if n0 else math.nan
    j = s + t - 1.0
    prevalence = n1 / (n1 + n0) if n1 + n0 else math.nan
    inflation = 1.0 / j**2 if j > _J_TOLERANCE else math.nan

    reason: str | None = None
    if n == 0:
        reason = "no test items: the observed pass rate is undefined"
    elif n1 == 0:
        reason = "no calibration items that humans passed: TPR is undefined"
    elif n0 == 0:
        reason = "no calibration items that humans failed: TNR is undefined"
    elif j <= _J_TOLERANCE:
        reason = (
            f"Youden's J = TPR + TNR − 1 = {j:.3f} ≤ 0: the judge is no better than chance, "
            "so its verdicts carry no information about the true pass rate"
        )

    warnings: list[str] = []
    point = lo = hi = math.nan
    unclipped = math.nan
    n_degenerate = 0
    resamples: int | None = None
    if reason is None:
        unclipped = (p_hat + t - 1.0) / j
        point = rogan_gladen(p_hat, s, t)
        z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
        arr = np.asarray
        if method == "lee":
            lo_a, hi_a = _lee_bounds(
                arr(p_hat), arr(t), arr(s), arr(float(n)), arr(float(n0)), arr(float(n1)), z
            )
            lo, hi = float(lo_a), float(hi_a)
            if math.isnan(lo):
                reason = (
                    "the Lee et al. interval is undefined: the smoothed J̃ = q̃₀ + q̃₁ − 1 ≤ 0 "
                    f"with only {n1} human-pass and {n0} human-fail calibration items"
                )
        elif method == "delta":
            lo_a, hi_a = _delta_bounds(
                arr(p_hat), arr(s), arr(t), arr(float(n)), arr(float(n1)), arr(float(n0)), z
            )
            lo, hi = float(lo_a), float(hi_a)
        else:
            theta, n_degenerate = _bootstrap_draws(k, n, tp, n1, tn, n0, n_resamples=n_resamples, seed=seed)
            resamples = n_resamples
            if theta.size:
                alpha = 1.0 - confidence
                lo, hi = (float(v) for v in np.quantile(theta, [alpha / 2.0, 1.0 - alpha / 2.0]))
            else:
                reason = "every bootstrap resample had J* ≤ 0: the interval is undefined"
            if n_degenerate:
                warnings.append(
                    f"{n_degenerate} of {n_resamples} bootstrap resamples had J* ≤ 0 and were dropped"
                )
        if j <= UNSTABLE_J:
            warnings.append(
                f"Youden's J = {j:.3f} ≤ {UNSTABLE_J}: the correction inflates variance by {inflation:.1f}× "
                "and is too unstable to rely on"
            )
        if unclipped < 0.0 or unclipped > 1.0:
            warnings.append(f"the Rogan–Gladen value {unclipped:.4f} was clipped to {point:g}")
        if not (math.isnan(lo) or math.isnan(hi)) and lo <= 1e-9 and hi >= 1.0 - 1e-9:
            warnings.append(
                f"the interval is all of [0, 1]: the correction says nothing about the pass rate "
                f"(TPR rests on {n1} and TNR on {n0} human-labelled calibration items)"
            )
        if _shifted(point, prevalence) or _shifted(1.0 - point, 1.0 - prevalence):
            warnings.append(
                f"the corrected pass rate {point:.3f} is more than 2× away from the calibration prevalence "
                f"{prevalence:.3f} (in the pass or the fail share): re-estimate TPR and TNR on this slice"
            )

    defined = not (math.isnan(lo) or math.isnan(hi))
    corrected = CorrectedEstimate(
        value=point,
        lo=lo if defined else None,
        hi=hi if defined else None,
        n=n,
        confidence=confidence,
        method="parametric_bootstrap" if method == "bootstrap" else method,
        n_resamples=resamples,
        n_degenerate=n_degenerate,
    )
    bias = p_hat - point if not math.isnan(point) else math.nan
    reportable = (
        not math.isnan(point)
        and not math.isnan(lo)
        and abs(bias) <= RAW_RATE_TOLERANCE + 1e-12
        and lo - 1e-12 <= p_hat <= hi + 1e-12
    )
    return CorrectedRate(
        method=method,
        confidence=confidence,
        judge_pass_test=k,
        n_test=n,
        observed=observed,
        calib_tp=tp,
        calib_fn=fn,
        calib_tn=tn,
        calib_fp=fp,
        tpr=tpr_est,
        tnr=tnr_est,
        calibration_prevalence=prevalence,
        youden_j=j,
        variance_inflation=inflation,
        corrected=corrected,
        clipped=bool(unclipped < 0.0 or unclipped > 1.0),
        raw_minus_corrected=bias,
        raw_rate_reportable=bool(reportable),
        reason=reason,
        warnings=warnings,
    )
