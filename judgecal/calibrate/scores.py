"""Calibrating a judge's continuous score into P(human pass).

A judge can give more than a verdict: an ordinal score (1–5), the fraction of k resamples that said
"pass", a verbalised confidence, or a probability from logprobs. :func:`fit_isotonic` learns a
monotone map from that score to the probability that a human passes the item, on the *dev* split;
:func:`evaluate_calibration` measures it on the *test* split, side by side with the raw score.

The raw score becomes a probability by min–max scaling over the score's scale
(``score_range``): an ordinal 1..5 score maps 1 → 0 and 5 → 1; a binary verdict, a fraction of
resamples and a confidence already live in [0, 1].

Invalid verdicts have no score. They are not a score of 0: drop them before calling these
functions and count them separately (G1); a nan score raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import ConfigDict, Field

from judgecal._model import NanFloat, Strict
from judgecal.calibrate.intervals import Estimate, wilson

__all__ = [
    "MIN_DEV_POINTS",
    "CalibrationMetrics",
    "CalibrationReport",
    "IsotonicMap",
    "ReliabilityBin",
    "evaluate_calibration",
    "fit_isotonic",
]

MIN_DEV_POINTS = 10
"""Below this many dev points the map is the identity: isotonic regression would only memorise."""

_FEW_DEV_POINTS = 100
"""Below this many dev points a fitted isotonic map gets a warning: PAV needs hundreds of points."""

_EPS = float(np.finfo(np.float64).eps)


class _Result(Strict):
    """Base of the result models here: unknown keys rejected, field docstrings become descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class IsotonicMap(_Result):
    """A monotone map from a judge score to P(human pass), serialisable as its knots."""

    kind: Literal["isotonic", "identity"]
    """``isotonic``: fitted by PAV; ``identity``: the min–max scaled raw score (see ``reason``)."""
    score_min: float
    """Bottom of the score's scale (maps to probability 0 under the identity)."""
    score_max: float
    """Top of the score's scale (maps to probability 1 under the identity)."""
    x_thresholds: list[float]
    """Knots on the score axis, increasing (empty for the identity)."""
    y_thresholds: list[float]
    """P(human pass) at each knot, non-decreasing in [0, 1] (empty for the identity)."""
    n: int
    """Dev points the map was fitted on."""
    n_pass: int
    """Dev points humans passed."""
    reason: str | None = None
    """Why the map is the identity; None for a fitted map."""
    warnings: list[str] = Field(default_factory=list)
    """Caveats about a fitted map (e.g. too few points for isotonic regression to be stable)."""

    def raw_probability(self, scores: ArrayLike) -> np.ndarray:
        """The raw score min–max scaled to [0, 1]: (s − score_min)/(score_max − score_min)."""
        s = _check_scores(scores, self.score_min, self.score_max, "scores")
        return (s - self.score_min) / (self.score_max - self.score_min)

    def predict(self, scores: ArrayLike) -> np.ndarray:
        """Calibrated P(human pass) for each score.

        Isotonic: scores are clipped to [x_thresholds[0], x_thresholds[-1]] and linearly
        interpolated between knots, exactly as scikit-learn's ``IsotonicRegression.predict`` with
        ``out_of_bounds="clip"``. Identity: :meth:`raw_probability`.
        """
        if self.kind == "identity":
            return self.raw_probability(scores)
        s = _check_scores(scores, self.score_min, self.score_max, "scores")
        x = np.asarray(self.x_thresholds, dtype=float)
        y = np.asarray(self.y_thresholds, dtype=float)
        return np.interp(np.clip(s, x[0], x[-1]), x, y)


class ReliabilityBin(_Result):
    """One equal-mass bin of a reliability diagram."""

    edge_lo: float
    """Lower edge of the bin on the probability axis (a quantile of the predictions)."""
    edge_hi: float
    """Upper edge of the bin on the probability axis."""
    count: int
    """Items in the bin."""
    n_pass: int
    """Items in the bin that humans passed."""
    mean_predicted: float
    """Mean predicted probability in the bin."""
    observed: Estimate
    """Observed human pass rate in the bin, with a Wilson interval (``n`` = ``count``)."""


class CalibrationMetrics(_Result):
    """Calibration of one set of predicted probabilities against human pass labels."""

    n: int
    """Items scored."""
    ece: NanFloat
    """Expected calibration error over equal-mass bins: Σ_b (n_b/n)·|mean predicted_b − observed_b|."""
    brier: NanFloat
    """Brier score: mean (p − y)², in [0, 1]; 0 is perfect."""
    log_loss: NanFloat
    """Mean −[y·ln p + (1 − y)·ln(1 − p)], with p clipped to [ε, 1 − ε] (ε = float64 machine epsilon)."""
    bins: list[ReliabilityBin]
    """The non-empty bins, in increasing order of predicted probability."""


class CalibrationReport(_Result):
    """Raw versus calibrated probabilities on a held-out (test) split."""

    n: int
    """Test items."""
    n_pass: int
    """Test items humans passed."""
    base_rate: NanFloat
    """Share of test items humans passed (nan with no items)."""
    n_bins: int
    """Requested number of equal-mass bins (fewer are non-empty when predictions tie)."""
    map_kind: Literal["isotonic", "identity"]
    """Which map produced the calibrated probabilities."""
    map_reason: str | None
    """Why the map is the identity, if it is."""
    raw: CalibrationMetrics
    """The raw score, min–max scaled over its scale."""
    calibrated: CalibrationMetrics
    """The map's output."""
    notes: list[str] = Field(default_factory=list)
    """Degenerate cases met while evaluating."""


def _check_scores(scores: ArrayLike, lo: float, hi: float, name: str) -> np.ndarray:
    s = np.asarray(scores, dtype=float).reshape(-1)
    bad = ~np.isfinite(s)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: {int(bad.sum())} value(s) are nan or infinite (first at index {first}); "
            "drop invalid verdicts and count them separately before calibrating"
        )
    out = (s < lo) | (s > hi)
    if out.any():
        first = int(np.flatnonzero(out)[0])
        raise ValueError(
            f"{name}: value {s[first]!r} at index {first} is outside the score range [{lo}, {hi}]"
        )
    return s


def _check_pass(values: ArrayLike, name: str, n: int) -> np.ndarray:
    y = np.asarray(values).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} values but there are {n} scores")
    if y.dtype == bool:
        return y.astype(float)
    try:
        yf = y.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be booleans or 0/1, got dtype {y.dtype}") from None
    if not np.isin(yf, (0.0, 1.0)).all():
        raise ValueError(
            f"{name} must be booleans or 0/1; found {sorted(set(yf[~np.isin(yf, (0.0, 1.0))]))[:3]}"
        )
    return yf


def _check_range(score_range: Sequence[float]) -> tuple[float, float]:
    if len(score_range) != 2:
        raise ValueError(f"score_range must be (min, max), got {score_range!r}")
    lo, hi = float(score_range[0]), float(score_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"score_range must be finite with min < max, got {score_range!r}")
    return lo, hi


def fit_isotonic(
    dev_scores: ArrayLike,
    dev_human_pass: ArrayLike,
    *,
    score_range: Sequence[float] = (0.0, 1.0),
    min_points: int = MIN_DEV_POINTS,
) -> IsotonicMap:
    """Fit a monotone (isotonic, PAV) map from judge score to P(human pass) on the dev split.

    Uses scikit-learn's ``IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)`` (increasing)
    and stores its knots, so the map serialises as JSON and predicts without scikit-learn.

    ``score_range`` is the scale of the score: (1, 5) for an ordinal 1–5 rating, (0, 1) (default)
    for a fraction of k resamples saying "pass", a verbalised confidence or a probability. Every
    score must lie in it.

    Degenerate cases: fewer than ``min_points`` (default 10) dev points, or dev labels of a single
    class, give the identity map (the min–max scaled raw score) with ``reason`` saying why. Fewer
    than 100 points adds a warning: isotonic regression needs hundreds of points or it overfits.
    Raises ValueError for nan or out-of-range scores, labels that are not 0/1, or mismatched lengths.

    Reference: Zadrozny & Elkan 2002 (isotonic calibration); Niculescu-Mizil & Caruana 2005.

    >>> m = fit_isotonic([1, 2, 2, 3, 4, 4, 5, 5, 5, 1, 3, 2], [0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0],
    ...                  score_range=(1, 5))
    >>> m.kind, m.x_thresholds, [round(v, 3) for v in m.y_thresholds]
    ('isotonic', [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.333, 0.5, 1.0, 1.0])
    >>> [round(float(p), 3) for p in m.predict([1, 2.5, 5])]
    [0.0, 0.417, 1.0]
    >>> fit_isotonic([0.2, 0.9], [0, 1]).reason
    'only 2 dev points (< 10): isotonic regression would memorise them; using the identity map'
    """
    lo, hi = _check_range(score_range)
    x = _check_scores(dev_scores, lo, hi, "dev_scores")
    y = _check_pass(dev_human_pass, "dev_human_pass", x.shape[0])
    n, n_pass = int(x.shape[0]), int(y.sum())

    def identity(reason: str) -> IsotonicMap:
        return IsotonicMap(
            kind="identity",
            score_min=lo,
            score_max=hi,
            x_thresholds=[],
            y_thresholds=[],
            n=n,
            n_pass=n_pass,
            reason=reason,
        )

    if n < min_points:
        return identity(
            f"only {n} dev points (< {min_points}): isotonic regression would memorise them; "
            "using the identity map"
        )
    if n_pass in (0, n):
        cls = "pass" if n_pass else "fail"
        return identity(
            f"every dev item is a human {cls}: no signal to calibrate against; using the identity map"
        )

    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True).fit(x, y)
    warnings: list[str] = []
    if n < _FEW_DEV_POINTS:
        warnings.append(f"only {n} dev points: isotonic regression needs hundreds of points or it overfits")
    return IsotonicMap(
        kind="isotonic",
        score_min=lo,
        score_max=hi,
        x_thresholds=[float(v) for v in iso.X_thresholds_],
        y_thresholds=[float(v) for v in iso.y_thresholds_],
        n=n,
        n_pass=n_pass,
        warnings=warnings,
    )


def _metrics(prob: np.ndarray, y: np.ndarray, n_bins: int, confidence: float) -> CalibrationMetrics:
    n = int(prob.shape[0])
    if n == 0:
        return CalibrationMetrics(n=0, ece=math.nan, brier=math.nan, log_loss=math.nan, bins=[])
    brier = float(np.mean((prob - y) ** 2))
    pc = np.clip(prob, _EPS, 1.0 - _EPS)
    log_loss = float(np.mean(-(y * np.log(pc) + (1.0 - y) * np.log(1.0 - pc))))
    # Equal-mass bins exactly as sklearn.calibration.calibration_curve(strategy="quantile"):
    # edges at the quantiles of the predictions; tied predictions can leave bins empty.
    edges = np.percentile(prob, np.linspace(0.0, 100.0, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], prob)
    counts = np.bincount(ids, minlength=n_bins)
    sums = np.bincount(ids, weights=prob, minlength=n_bins)
    passes = np.bincount(ids, weights=y, minlength=n_bins)
    bins: list[ReliabilityBin] = []
    ece = 0.0
    for b in np.flatnonzero(counts):
        c, k = int(counts[b]), int(round(passes[b]))
        mean_pred = float(sums[b] / c)
        ece += c / n * abs(mean_pred - k / c)
        bins.append(
            ReliabilityBin(
                edge_lo=float(edges[b]),
                edge_hi=float(edges[b + 1]),
                count=c,
                n_pass=k,
                mean_predicted=mean_pred,
                observed=wilson(k, c, confidence=confidence),
            )
        )
    return CalibrationMetrics(n=n, ece=float(ece), brier=brier, log_loss=log_loss, bins=bins)


def evaluate_calibration(
    map: IsotonicMap,
    test_scores: ArrayLike,
    test_human_pass: ArrayLike,
    *,
    n_bins: int = 10,
    confidence: float = 0.95,
) -> CalibrationReport:
    """Calibration of the raw score and of ``map``'s probabilities on held-out items.

    For each of the two probability vectors p (raw: min–max scaled score; calibrated:
    ``map.predict``) against human pass labels y:

    - ECE = Σ_b (n_b/n)·|mean(p)_b − mean(y)_b| over ``n_bins`` equal-mass bins, whose edges are
      the quantiles of p (the binning of scikit-learn's ``calibration_curve(strategy="quantile")``);
      tied predictions (e.g. a 5-level score) leave some bins empty, which are dropped. Range [0, 1].
    - Brier = mean (p − y)², range [0, 1].
    - log-loss = mean −[y ln p + (1 − y) ln(1 − p)] with p clipped to [ε, 1 − ε], ε the float64
      machine epsilon (as scikit-learn's ``log_loss``); range [0, ≈36]. A raw binary verdict that is
      wrong costs ≈36 per item: that is what an uncalibrated hard 0/1 claims.
    - the reliability diagram: per non-empty bin, mean predicted, observed rate with a Wilson
      interval at ``confidence``, and the count.

    Degenerate cases: no test items give nan metrics and no bins (with a note); a single human class
    is allowed (ECE, Brier and log-loss are all defined) and noted. Raises ValueError for nan or
    out-of-range scores, labels that are not 0/1, mismatched lengths, or ``n_bins < 1``.

    References: Naeini, Cooper & Hauskrecht 2015 (ECE); Brier 1950; Niculescu-Mizil & Caruana 2005
    (reliability diagrams).

    >>> m = fit_isotonic([1, 2, 2, 3, 4, 4, 5, 5, 5, 1, 3, 2], [0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0],
    ...                  score_range=(1, 5))
    >>> r = evaluate_calibration(m, [1, 2, 3, 4, 5, 5], [0, 0, 1, 1, 1, 0], n_bins=2)
    >>> # raw p = (s − 1)/4 = [0, .25, .5, .75, 1, 1]: Brier = (0 + .0625 + .25 + .0625 + 0 + 1)/6
    >>> round(r.raw.brier, 4), round(r.calibrated.brier, 4)
    (0.2292, 0.2269)
    >>> [(b.count, round(b.mean_predicted, 3), b.observed.value) for b in r.raw.bins]
    [(3, 0.25, 0.3333333333333333), (3, 0.917, 0.6666666666666666)]
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    s = _check_scores(test_scores, map.score_min, map.score_max, "test_scores")
    y = _check_pass(test_human_pass, "test_human_pass", s.shape[0])
    n, n_pass = int(s.shape[0]), int(y.sum())
    notes: list[str] = []
    if n == 0:
        notes.append("no test items: every metric is nan")
    elif n_pass in (0, n):
        notes.append(
            f"every test item is a human {'pass' if n_pass else 'fail'}: the metrics reward a constant"
        )
    return CalibrationReport(
        n=n,
        n_pass=n_pass,
        base_rate=n_pass / n if n else math.nan,
        n_bins=n_bins,
        map_kind=map.kind,
        map_reason=map.reason,
        raw=_metrics(map.raw_probability(s), y, n_bins, confidence),
        calibrated=_metrics(map.predict(s), y, n_bins, confidence),
        notes=notes,
    )
