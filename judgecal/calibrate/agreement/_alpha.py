"""Krippendorff's α over reliability data (raters × units, missing values allowed), at the
nominal, ordinal or interval level (Krippendorff 2011)."""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from judgecal.calibrate.agreement._encoding import (
    _LEVELS,
    NAN,
    FloatArray,
    Level,
    _as_list,
    _categories,
    _codes,
    _is_missing,
)

# --------------------------------------------------------------------------------------------
# Krippendorff's alpha


def _reliability_rows(data: Any) -> list[list[Any]]:
    if isinstance(data, str | bytes):
        raise ValueError("reliability_data must be raters x units (a list of lists or a 2-D array)")
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ValueError(f"reliability_data must be 2-D (raters x units), got shape {data.shape}")
        rows: list[list[Any]] = data.tolist()
        return rows
    rows = [_as_list(row, f"reliability_data[{i}]") for i, row in enumerate(data)]
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(
            "reliability_data must be raters x units with one entry (None/NaN if missing) per unit, "
            f"but the rows have lengths {sorted(lengths)}"
        )
    return rows


def _alpha_codes(
    data: Any, labels: Sequence[Hashable] | None
) -> tuple[npt.NDArray[np.int64], list[Hashable]]:
    """Codes (raters x units, -1 = missing) and the category list."""
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind in "fiub" and labels is None:
        values = data.astype(np.float64)
        present = ~np.isnan(values)
        cats_arr, inverse = np.unique(values[present], return_inverse=True)
        codes = np.full(values.shape, -1, dtype=np.int64)
        codes[present] = inverse
        return codes, cats_arr.tolist()
    rows = _reliability_rows(data)
    m = len(rows)
    n_units = len(rows[0]) if rows else 0
    flat = [v for row in rows for v in row]
    present_list = [not _is_missing(v) for v in flat]
    values_present = [v for v, ok in zip(flat, present_list, strict=True) if ok]
    cats = _categories(labels, values_present if labels is None else [])
    index = {lab: i for i, lab in enumerate(cats)}
    for r, row in enumerate(rows):
        for u, value in enumerate(row):
            if not _is_missing(value) and value not in index:
                raise ValueError(f"reliability_data[{r}][{u}] = {value!r} is not one of the labels {cats!r}")
    codes = np.full(m * n_units, -1, dtype=np.int64)
    codes[np.asarray(present_list, dtype=bool)] = _codes(values_present, index, "reliability_data")
    return codes.reshape(m, n_units), cats


def _coincidences(codes: npt.NDArray[np.int64], v: int) -> FloatArray:
    """Krippendorff's coincidence matrix o_ck (v x v) of codes (raters x units, -1 = missing)."""
    n_units = codes.shape[1]
    present = codes >= 0
    unit = np.broadcast_to(np.arange(n_units), codes.shape)[present]
    counts = np.bincount(unit * v + codes[present], minlength=n_units * v).reshape(n_units, v)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    counts_f = counts[pairable].astype(np.float64)
    weighted = counts_f / (m_u[pairable] - 1.0)[:, None]
    return np.asarray(weighted.T @ counts_f - np.diag(weighted.sum(axis=0)), dtype=np.float64)


def _delta2(level: Level, cats: list[Hashable], n_c: FloatArray) -> FloatArray:
    v = len(cats)
    if level == "nominal":
        return 1.0 - np.eye(v)
    if level == "ordinal":
        idx = np.arange(v)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        cum = np.cumsum(n_c)
        between = cum[hi] - cum[lo] + n_c[lo]  # Σ_{g=lo..hi} n_g
        return np.asarray((between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2, dtype=np.float64)
    for c in cats:
        if not isinstance(c, numbers.Real) or isinstance(c, bool):
            raise ValueError(
                f"level='interval' needs numeric values, got {c!r}; use level='ordinal' for ordered "
                "categories, or map them to numbers first"
            )
    x = np.asarray(cats, dtype=np.float64)
    return np.asarray((x[:, None] - x[None, :]) ** 2, dtype=np.float64)


def krippendorff_alpha(
    reliability_data: Any,
    *,
    level: Level = "nominal",
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's α for any number of raters, missing values and a level of measurement.

    ``reliability_data`` is raters x units (a list of lists or a 2-D array) with ``None`` or
    ``NaN`` where a rater did not rate a unit; values may be any labels for ``"nominal"`` and
    ``"ordinal"`` (ordered by ``labels``, else sorted), numbers for ``"interval"``.

    Coincidences: each unit u with m_u ≥ 2 values adds, for every ordered pair of values (c, k)
    from different raters, 1/(m_u - 1) to o_ck (units with fewer than 2 values are dropped).
    n_c = Σ_k o_ck, n = Σ_c n_c. α = 1 - D_o/D_e = 1 - (n - 1)·Σ o_ck·δ²_ck / Σ n_c·n_k·δ²_ck, with
    δ² nominal 1[c ≠ k]; interval (c - k)²; ordinal (Σ_{g=c..k} n_g - (n_c + n_k)/2)².

    Range: α ≤ 1 (1 perfect; 0 chance; rely on α ≥ 0.800, tentative conclusions from 0.667).
    ``nan`` when no unit has two values (e.g. a single rater) or only one distinct value is
    pairable (D_e = 0). Two raters, N units, no missing value: 1 - α = (1 - π)(1 - 1/(2N)) with
    Scott's π, so α → π as N grows. Reference: Krippendorff (2011), "Computing Krippendorff's
    Alpha-Reliability"; Hayes & Krippendorff (2007).

    >>> # 2 raters x 4 units; coincidences o_aa = 2, o_bb = 4, o_ab = o_ba = 1; n_a = 3, n_b = 5, n = 8
    >>> # α = 1 - (n-1)·(o_ab + o_ba) / (2·n_a·n_b) = 1 - 7·2/30
    >>> round(krippendorff_alpha([["a", "b", "b", "a"], ["a", "b", "b", "b"]]), 4)
    0.5333
    >>> krippendorff_alpha([[1, 2, 3]])  # one rater: nothing is pairable
    nan
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be 'nominal', 'ordinal' or 'interval', got {level!r}")
    codes, cats = _alpha_codes(reliability_data, labels)
    o = _coincidences(codes, len(cats))
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    delta2 = _delta2(level, cats, n_c)
    expected = float((np.outer(n_c, n_c) * delta2).sum())
    if n <= 1 or expected <= 0:
        return NAN
    return float(1.0 - (n - 1.0) * float((o * delta2).sum()) / expected)
