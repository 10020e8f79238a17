"""Numeric scores: Pearson, Spearman, Kendall τ-b and the mean absolute error."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from judgecal.calibrate.agreement._encoding import (
    NAN,
    FloatArray,
    _as_list,
    _check_lengths,
)

# --------------------------------------------------------------------------------------------
# Numeric scores


def _numeric(values: Any, name: str) -> FloatArray:
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a sequence of numbers, not a single {type(values).__name__}")
    raw = values if isinstance(values, np.ndarray) else np.asarray(_as_list(values, name), dtype=object)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {raw.shape}")
    if raw.dtype.kind not in "biufO":
        raise ValueError(f"{name} must contain numbers, got dtype {raw.dtype}")
    if raw.dtype.kind == "O":
        for i, v in enumerate(raw.tolist()):
            if v is not None and (not isinstance(v, numbers.Real)):
                raise ValueError(f"{name}[{i}] = {v!r} is not a number")
        raw = np.asarray([NAN if v is None else v for v in raw.tolist()], dtype=np.float64)
    x = raw.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.argmax(bad))
        what = "missing (None/NaN)" if np.isnan(x[i]) else f"not finite ({x[i]})"
        raise ValueError(f"{name}[{i}] is {what}: every item needs a finite score here")
    return x


def _numeric_pair(a: Any, b: Any) -> tuple[FloatArray, FloatArray]:
    x, y = _numeric(a, "a"), _numeric(b, "b")
    _check_lengths({"a": x, "b": y})
    return x, y


def _pearson(x: FloatArray, y: FloatArray) -> float:
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return NAN
    xm, ym = x - x.mean(), y - y.mean()
    nx, ny = float(np.linalg.norm(xm)), float(np.linalg.norm(ym))
    if not (nx > 0 and ny > 0 and math.isfinite(nx) and math.isfinite(ny)):
        return NAN
    r = float(np.dot(xm / nx, ym / ny))
    return max(-1.0, min(1.0, r))


def pearson(a: Any, b: Any) -> float:
    """Pearson's product-moment correlation of two numeric arrays.

    r = Σ(x - x̄)(y - ȳ) / √(Σ(x - x̄)²·Σ(y - ȳ)²). Range [-1, 1]. ``nan`` with fewer than 2 items
    or a constant array (zero variance). Matches ``scipy.stats.pearsonr``. Reference: Pearson (1896).

    >>> round(pearson([1, 2, 3], [1, 3, 2]), 4)  # deviations (-1, 0, 1), (-1, 1, 0): 1/(√2·√2)
    0.5
    >>> pearson([1, 2, 3], [5, 5, 5])
    nan
    """
    return _pearson(*_numeric_pair(a, b))


def spearman(a: Any, b: Any) -> float:
    """Spearman's rank correlation ρ: Pearson's r of the average ranks (ties share their mean rank).

    Range [-1, 1]; invariant under strictly increasing transforms of either array. ``nan`` with
    fewer than 2 items or a constant array. Matches ``scipy.stats.spearmanr``.
    Reference: Spearman (1904).

    >>> spearman([1, 2, 3, 4], [1, 3, 2, 4])  # ranks differ by one swap: 1 - 6·2/(4·15)
    0.8
    """
    from scipy.stats import rankdata

    x, y = _numeric_pair(a, b)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return NAN
    return _pearson(np.asarray(rankdata(x), dtype=np.float64), np.asarray(rankdata(y), dtype=np.float64))


def kendall_tau_b(a: Any, b: Any) -> float:
    """Kendall's τ-b, the rank correlation for data with ties (ordinal judge scores).

    τ_b = (n_c - n_d)/√((n_0 - n_1)(n_0 - n_2)), n_c/n_d concordant/discordant pairs,
    n_0 = n(n-1)/2, n_1/n_2 pairs tied in a/b. Range [-1, 1]. ``nan`` with fewer than 2 items or a
    constant array. Matches ``scipy.stats.kendalltau`` (variant "b"). Reference: Kendall (1945).

    >>> # pairs: (1,2) concordant, (1,3) concordant, (2,3) tied in b: (2 - 0)/√(3·2)
    >>> round(kendall_tau_b([1, 2, 3], [1, 2, 2]), 4)
    0.8165
    """
    from scipy.stats import kendalltau

    x, y = _numeric_pair(a, b)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return NAN
    tau = float(kendalltau(x, y, variant="b").statistic)
    return max(-1.0, min(1.0, tau)) if math.isfinite(tau) else NAN


def mean_absolute_error(a: Any, b: Any) -> float:
    """Mean absolute difference between two numeric score arrays: Σ|a_i - b_i| / n.

    Range [0, ∞) in the scores' unit; 0 is perfect agreement. ``nan`` with no items. Matches
    ``sklearn.metrics.mean_absolute_error``.

    >>> mean_absolute_error([1, 3, 5], [2, 3, 3])  # (1 + 0 + 2) / 3
    1.0
    """
    x, y = _numeric_pair(a, b)
    if x.size == 0:
        return NAN
    return float(np.abs(x - y).mean())
