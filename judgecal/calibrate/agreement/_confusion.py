"""The chance-corrected coefficients, written once over confusion matrices of shape ``(..., k, k)``
(the label-array functions and the bootstrap in :mod:`judgecal.calibrate.intervals` call them)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from judgecal.calibrate.agreement._encoding import (
    _WEIGHTS,
    FloatArray,
    Weights,
)

# --------------------------------------------------------------------------------------------
# Statistics over confusion matrices of shape (..., k, k): one formula each


def _proportions(cm: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Cell proportions O/n (nan where n = 0) and n, of matrices (..., k, k)."""
    counts = np.asarray(cm, dtype=np.float64)
    if counts.ndim < 2 or counts.shape[-1] != counts.shape[-2]:
        raise ValueError(f"a confusion matrix must have shape (..., k, k), got {counts.shape}")
    n = counts.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / n[..., None, None], np.asarray(n, dtype=np.float64)


def _defined(value: Any, condition: Any) -> FloatArray:
    return np.asarray(np.where(condition, value, np.nan), dtype=np.float64)


def _chance_corrected(p_o: FloatArray, p_e: FloatArray, n: FloatArray) -> FloatArray:
    """(p_o - p_e) / (1 - p_e); nan where n = 0 or 1 - p_e is not positive."""
    denom = 1.0 - p_e
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (p_o - p_e) / denom
    return _defined(value, (denom > 0) & (n > 0))


def _disagreement_weights(k: int, weights: Weights | None) -> FloatArray:
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    i = np.arange(k, dtype=np.float64)
    diff = np.abs(i[:, None] - i[None, :])
    if weights is None:
        return (diff > 0).astype(np.float64)
    scale = max(k - 1, 1)
    return diff / scale if weights == "linear" else (diff / scale) ** 2


def agreement_from_confusion(cm: npt.ArrayLike) -> FloatArray:
    """Observed agreement p_o = Σ_q O_qq / n of confusion matrices of shape ``(..., k, k)``.

    Returns an array of shape ``(...)`` (a 0-d array for one matrix), in [0, 1]; ``nan`` where
    n = 0. Reference: the raw "percent agreement" of every agreement study (Artstein & Poesio 2008).

    >>> float(agreement_from_confusion([[3, 1], [0, 4]]))  # (3 + 4) / 8
    0.875
    >>> agreement_from_confusion([[[1, 0], [0, 1]], [[0, 2], [0, 0]]]).tolist()
    [1.0, 0.0]
    """
    p, n = _proportions(cm)
    return _defined(np.trace(p, axis1=-2, axis2=-1), n > 0)


def kappa_from_confusion(cm: npt.ArrayLike, *, weights: Weights | None = None) -> FloatArray:
    """Cohen's κ (optionally weighted) of confusion matrices of shape ``(..., k, k)``.

    κ_w = 1 - Σ_ij w_ij·p_ij / Σ_ij w_ij·r_i·c_j, with p = O/n, r and c the row and column
    marginals, and disagreement weights w_ij = 1[i≠j] (unweighted; then κ = (p_o - p_e)/(1 - p_e)
    with p_e = Σ_q r_q·c_q), |i-j|/(k-1) (``"linear"``) or (i-j)²/(k-1)² (``"quadratic"``, QWK).
    i and j are category index positions, so the category order is the scale's order.

    Range: κ ≤ 1 (1 = perfect agreement; 0 = chance level; unweighted κ ≥ -1). ``nan`` where n = 0
    or where the chance term fills the denominator (both raters used one and the same category).
    References: Cohen (1960); Cohen (1968) for weights; Fleiss & Cohen (1973) for QWK.

    >>> round(float(kappa_from_confusion([[20, 20], [10, 50]])), 4)  # Artstein & Poesio (2008)
    0.3478
    >>> kappa_from_confusion([[5, 0], [0, 0]]).tolist()  # one shared category: p_e = 1
    nan
    """
    p, n = _proportions(cm)
    w = _disagreement_weights(p.shape[-1], weights)
    rows, cols = p.sum(axis=-1), p.sum(axis=-2)
    expected = rows[..., :, None] * cols[..., None, :]
    observed_dis = (w * p).sum(axis=(-2, -1))
    expected_dis = (w * expected).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - observed_dis / expected_dis
    return _defined(value, (expected_dis > 0) & (n > 0))


def _pooled_marginals(p: FloatArray) -> FloatArray:
    return np.asarray((p.sum(axis=-1) + p.sum(axis=-2)) / 2.0, dtype=np.float64)


def pi_from_confusion(cm: npt.ArrayLike) -> FloatArray:
    """Scott's π of confusion matrices of shape ``(..., k, k)``.

    π = (p_o - p_e)/(1 - p_e) with p_e = Σ_q π_q², where π_q = (r_q + c_q)/2 pools both raters'
    marginals. Unlike κ it charges a difference in marginals (e.g. a lenient judge) as disagreement.

    Range: π ≤ 1, π ≥ -1. ``nan`` where n = 0 or p_e = 1 (one shared category).
    Reference: Scott (1955); Artstein & Poesio (2008) §2.4.

    >>> round(float(pi_from_confusion([[20, 20], [10, 50]])), 4)  # π_q = (.35, .65), p_e = .545
    0.3407
    """
    p, n = _proportions(cm)
    m = _pooled_marginals(p)
    return _chance_corrected(np.trace(p, axis1=-2, axis2=-1), (m * m).sum(axis=-1), n)


def ac1_from_confusion(cm: npt.ArrayLike) -> FloatArray:
    """Gwet's AC1 of confusion matrices of shape ``(..., k, k)``.

    AC1 = (p_o - p_e)/(1 - p_e) with p_e = Σ_q π_q(1 - π_q)/(Q - 1), π_q the pooled marginals and
    Q = k the number of categories (*including* categories nobody used, if ``labels`` lists them).
    Robust to the prevalence paradox (high agreement, low κ when one class dominates), and for the
    same reason lenient towards a lenient judge: never gate on AC1 alone.

    Range: -1 ≤ AC1 ≤ 1. ``nan`` where n = 0 or Q < 2. Reference: Gwet (2008), *BJMSP* 61:29-48.

    >>> round(float(ac1_from_confusion([[90, 5], [5, 0]])), 4)  # p_o = .9, p_e = 2(.95)(.05) = .095
    0.8895
    """
    p, n = _proportions(cm)
    k = p.shape[-1]
    m = _pooled_marginals(p)
    if k < 2:
        return np.full(p.shape[:-2], np.nan)
    p_e = (m * (1.0 - m)).sum(axis=-1) / (k - 1)
    return _chance_corrected(np.trace(p, axis1=-2, axis2=-1), p_e, n)


def _check_positive_index(k: int, positive: int) -> None:
    if not isinstance(positive, numbers.Integral) or not 0 <= int(positive) < k:
        raise ValueError(f"positive must be a category index in 0..{k - 1}, got {positive!r}")


def tpr_from_confusion(cm: npt.ArrayLike, *, positive: int) -> FloatArray:
    """True-positive rate (sensitivity, recall of the positive class) of matrices ``(..., k, k)``.

    Rows are the gold labels, columns the judge's; ``positive`` is the positive category's *index*.
    TPR = O_pp / Σ_j O_pj (one-vs-rest for k > 2). Range [0, 1]; ``nan`` with no gold positive.

    >>> float(tpr_from_confusion([[8, 2], [1, 9]], positive=1))  # 9 / (1 + 9)
    0.9
    """
    counts = np.asarray(cm, dtype=np.float64)
    _proportions(counts)  # shape check
    _check_positive_index(counts.shape[-1], positive)
    tp = counts[..., positive, positive]
    n_pos = counts[..., positive, :].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _defined(tp / n_pos, n_pos > 0)


def tnr_from_confusion(cm: npt.ArrayLike, *, positive: int) -> FloatArray:
    """True-negative rate (specificity) of confusion matrices ``(..., k, k)``, rows = gold labels.

    TNR = TN / (TN + FP), where a negative is any category other than index ``positive``
    (one-vs-rest for k > 2): TN = n - row_p - col_p + O_pp, TN + FP = n - row_p.
    Range [0, 1]; ``nan`` with no gold negative.

    >>> float(tnr_from_confusion([[8, 2], [1, 9]], positive=1))  # 8 / (8 + 2)
    0.8
    """
    counts = np.asarray(cm, dtype=np.float64)
    _proportions(counts)
    _check_positive_index(counts.shape[-1], positive)
    n = counts.sum(axis=(-2, -1))
    row = counts[..., positive, :].sum(axis=-1)
    col = counts[..., :, positive].sum(axis=-1)
    tn = n - row - col + counts[..., positive, positive]
    n_neg = n - row
    with np.errstate(invalid="ignore", divide="ignore"):
        return _defined(tn / n_neg, n_neg > 0)
