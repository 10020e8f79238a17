"""Confidence intervals: the ``Estimate`` value, Wilson and exact intervals, percentile bootstraps.

- ``Estimate`` is what every statistic of a calibration report is: a point value, an interval,
  ``n`` and how the interval was made. ``nan`` (undefined) serialises to JSON ``null``.
- Proportions (TPR, TNR, consistency rates): ``wilson`` (Wilson score interval) or
  ``clopper_pearson`` (exact; for zero-tolerance probes).
- Everything else: a percentile bootstrap over items, or over clusters (prompts) when one prompt
  produced several judged items. ``bootstrap`` is the general, slow path (a Python call of the
  statistic per resample); ``bootstrap_confusion_stat(s)`` is the fast path for any statistic of a
  confusion matrix (agreement, κ, π, AC1, TPR, TNR): the resampled confusion matrices are computed
  all at once with ``np.bincount`` and a matrix product, and the statistic is evaluated on the
  stack of shape (R, k, k).

Resampling scheme (shared by every bootstrap here, so the same ``seed`` gives the same resamples
whichever function draws them): each resample draws G clusters uniformly with replacement (G = the
number of distinct cluster ids, or G = n items when there are no clusters) and takes every item
of every drawn cluster as often as the cluster was drawn. ``bootstrap_indices`` returns this as an
(R, n) matrix of how many times each item is drawn. With clusters of unequal size, resamples have
varying numbers of items. Resamples on which the statistic is undefined (``nan``) are dropped from
the percentiles and counted in ``Estimate.n_degenerate``; when the point value itself is
undefined, the interval is ``None``. Reference: Efron & Tibshirani (1993), ch. 13 (percentile
interval); Field & Welsh (2007) for the cluster bootstrap; Hayes & Krippendorff (2007).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from statistics import NormalDist
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from judgecal.calibrate import agreement as ag

__all__ = [
    "Estimate",
    "bootstrap",
    "bootstrap_alpha",
    "bootstrap_confusion_stat",
    "bootstrap_confusion_stats",
    "bootstrap_confusions",
    "bootstrap_indices",
    "clopper_pearson",
    "clopper_pearson_interval",
    "percentile_estimate",
    "wilson",
    "wilson_interval",
]

Method: TypeAlias = Literal[
    "bootstrap", "cluster_bootstrap", "wilson", "exact", "adjusted_wald", "mover", "none"
]
ConfusionStat: TypeAlias = Callable[..., Any]
"""A statistic of confusion matrices, called with one array (..., k, k), returning an array (...)."""

NAN = float("nan")
_DRAWS_PER_CHUNK = 1 << 18
"""Cluster draws per block of resamples: bounds memory; results do not depend on it."""


class Estimate(BaseModel):
    """A point estimate with its confidence interval, its sample size and how it was obtained.

    >>> Estimate(value=0.8, lo=0.7, hi=0.9, n=100, method="wilson").model_dump_json()
    '{"value":0.8,"lo":0.7,"hi":0.9,"n":100,"confidence":0.95,"method":"wilson","n_clusters":null,"n_resamples":null,"n_degenerate":0}'
    >>> undefined = Estimate(value=float("nan"), lo=None, hi=None, n=0, method="none")
    >>> undefined.model_dump(mode="json")["value"] is None
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    value: float
    """The statistic on the full data; ``nan`` when undefined (no items, one class, ...), ``null`` in JSON."""
    lo: float | None = None
    """Lower end of the confidence interval; ``None`` when there is none (undefined, or ``method="none"``)."""
    hi: float | None = None
    """Upper end of the confidence interval; ``None`` when there is none."""
    n: int = Field(ge=0)
    """Number of items the statistic was computed on (report it beside every statistic)."""
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    """Nominal coverage of the interval, e.g. 0.95."""
    method: Method
    """How the interval was made: percentile ``bootstrap`` over items, ``cluster_bootstrap`` over
    clusters, ``wilson`` score interval, ``exact`` (Clopper-Pearson), ``adjusted_wald`` (Bonett–Price,
    a paired difference of proportions), ``mover`` (a difference of two rates from their own
    limits, Newcombe / Zou–Donner), or ``none`` (point only)."""
    n_clusters: int | None = None
    """Number of clusters resampled (cluster bootstrap only)."""
    n_resamples: int | None = None
    """Number of bootstrap resamples drawn (bootstrap methods only)."""
    n_degenerate: int = Field(default=0, ge=0)
    """Resamples on which the statistic was undefined (``nan``), left out of the percentiles."""

    @field_validator("value", mode="before")
    @classmethod
    def _null_is_nan(cls, value: Any) -> Any:
        return NAN if value is None else value

    @field_serializer("value", "lo", "hi", when_used="json")
    def _nan_is_null(self, value: float | None) -> float | None:
        return value if value is not None and math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# Proportions


def _check_confidence(confidence: float) -> None:
    if not isinstance(confidence, numbers.Real) or not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _check_counts(k: int, n: int) -> None:
    for name, value in (("k", k), ("n", n)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer count, got {value!r}")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def wilson_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n.

    With p̂ = k/n and z = Φ⁻¹(1 - (1 - confidence)/2):
    (p̂ + z²/2n ± z·√(p̂(1 - p̂)/n + z²/4n²)) / (1 + z²/n). Within [0, 1]; good coverage even for
    small n and p̂ near 0 or 1 (unlike the Wald interval). n = 0: ``(nan, nan)``. Matches
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``. Reference: Wilson (1927);
    Brown, Cai & DasGupta (2001).

    >>> lo, hi = wilson_interval(8, 10)  # p̂ = .8, z = 1.96: centre .7167, half-width .2279
    >>> round(lo, 4), round(hi, 4)
    (0.4902, 0.9433)
    """
    _check_counts(k, n)
    _check_confidence(confidence)
    if n == 0:
        return NAN, NAN
    z = NormalDist().inv_cdf(0.5 + float(confidence) / 2.0)
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def wilson(k: int, n: int, *, confidence: float = 0.95) -> Estimate:
    """The proportion k/n with its Wilson score interval, as an ``Estimate`` (method ``"wilson"``).

    n = 0: value ``nan`` and no interval (``lo = hi = None``).

    >>> e = wilson(45, 50)
    >>> e.value, round(e.lo, 3), round(e.hi, 3), e.n
    (0.9, 0.786, 0.957, 50)
    >>> wilson(0, 0).lo is None
    True
    """
    lo, hi = wilson_interval(k, n, confidence=confidence)
    if n == 0:
        return Estimate(value=NAN, lo=None, hi=None, n=0, confidence=confidence, method="wilson")
    return Estimate(value=k / n, lo=lo, hi=hi, n=n, confidence=confidence, method="wilson")


def clopper_pearson_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval for k/n from beta quantiles.

    lo = B⁻¹(α/2; k, n - k + 1) (0 if k = 0), hi = B⁻¹(1 - α/2; k + 1, n - k) (1 if k = n),
    α = 1 - confidence. Conservative (coverage ≥ nominal); use it for zero-tolerance probes.
    n = 0: ``(nan, nan)``. Matches ``scipy.stats.binomtest(...).proportion_ci(method="exact")``.
    Reference: Clopper & Pearson (1934).

    >>> lo, hi = clopper_pearson_interval(0, 20)  # no failure in 20: hi = 1 - 0.025**(1/20)
    >>> lo, round(hi, 4)
    (0.0, 0.1684)
    """
    from scipy.stats import beta

    _check_counts(k, n)
    _check_confidence(confidence)
    if n == 0:
        return NAN, NAN
    alpha = 1.0 - float(confidence)
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2.0, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1.0 - alpha / 2.0, k + 1, n - k))
    return lo, hi


def clopper_pearson(k: int, n: int, *, confidence: float = 0.95) -> Estimate:
    """The proportion k/n with its Clopper-Pearson interval, as an ``Estimate`` (method ``"exact"``).

    >>> e = clopper_pearson(20, 20)
    >>> e.value, round(e.lo, 4), e.hi
    (1.0, 0.8316, 1.0)
    """
    lo, hi = clopper_pearson_interval(k, n, confidence=confidence)
    if n == 0:
        return Estimate(value=NAN, lo=None, hi=None, n=0, confidence=confidence, method="exact")
    return Estimate(value=k / n, lo=lo, hi=hi, n=n, confidence=confidence, method="exact")


# --------------------------------------------------------------------------------------------
# Resampling


def _check_resamples(n_resamples: int) -> None:
    if not isinstance(n_resamples, numbers.Integral) or isinstance(n_resamples, bool) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")


def _cluster_codes(clusters: Any, n_items: int) -> tuple[npt.NDArray[np.int64], int]:
    """Cluster index (0..G-1, in order of first appearance) of every item, and G."""
    if clusters is None:
        return np.arange(n_items, dtype=np.int64), n_items
    if isinstance(clusters, str | bytes) or (isinstance(clusters, np.ndarray) and clusters.ndim != 1):
        raise ValueError("clusters must be a 1-D sequence with one cluster id per item")
    ids = clusters.tolist() if isinstance(clusters, np.ndarray) else list(clusters)
    if len(ids) != n_items:
        raise ValueError(f"clusters must give one cluster id per item: {len(ids)} ids for {n_items} items")
    index: dict[Hashable, int] = {}
    try:
        codes = np.fromiter((index.setdefault(c, len(index)) for c in ids), dtype=np.int64, count=n_items)
    except TypeError as exc:
        raise ValueError(f"cluster ids must be hashable: {exc}") from None
    for i, c in enumerate(ids):
        if ag._is_missing(c):
            raise ValueError(f"clusters[{i}] is missing ({c!r}): every item needs a cluster id")
    return codes, len(index)


def _draw_cluster_counts(
    n_clusters: int, n_resamples: int, rng: np.random.Generator
) -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
    """Yield ``(start, W)``: W[r, g] = times cluster g is drawn in resample ``start + r``.

    Each resample draws ``n_clusters`` cluster indices uniformly with replacement. Resamples are
    drawn in blocks to bound memory; the generator consumes its stream in order, so the result
    does not depend on the block size.
    """
    rows = max(1, _DRAWS_PER_CHUNK // max(n_clusters, 1))
    for start in range(0, n_resamples, rows):
        c = min(rows, n_resamples - start)
        if n_clusters == 0:
            yield start, np.zeros((c, 0), dtype=np.int64)
            continue
        draws = rng.integers(0, n_clusters, size=(c, n_clusters), dtype=np.int32)
        flat = (draws + (np.arange(c, dtype=np.int64) * n_clusters)[:, None]).ravel()
        yield start, np.bincount(flat, minlength=c * n_clusters).reshape(c, n_clusters)


def bootstrap_indices(
    n_items: int, *, clusters: Any = None, n_resamples: int = 2000, seed: int | None = 0
) -> npt.NDArray[np.int64]:
    """How many times each item is drawn in each bootstrap resample: an (R, n_items) count matrix.

    Without ``clusters`` each row is a multinomial draw of ``n_items`` items with replacement (row
    sums are all ``n_items``). With ``clusters`` (one hashable id per item) the *clusters* are drawn
    with replacement, G of them, and each drawn cluster contributes all of its items: an item's
    count is its cluster's count, and row sums vary when clusters differ in size. To get the items
    of resample r: ``np.repeat(np.arange(n_items), counts[r])``. Same ``seed``, same matrix; the
    fast bootstraps here draw exactly these resamples.

    >>> counts = bootstrap_indices(4, n_resamples=3, seed=1)
    >>> counts.shape, counts.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    >>> counts = bootstrap_indices(4, clusters=["p1", "p1", "p1", "p2"], n_resamples=200, seed=1)
    >>> sorted(set(counts.sum(axis=1).tolist()))  # 2 x p2, p1 + p2, or 2 x p1: 2, 4 or 6 items
    [2, 4, 6]
    """
    if not isinstance(n_items, numbers.Integral) or n_items < 0:
        raise ValueError(f"n_items must be a non-negative integer, got {n_items!r}")
    _check_resamples(n_resamples)
    codes, n_clusters = _cluster_codes(clusters, int(n_items))
    out = np.empty((n_resamples, int(n_items)), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for start, w in _draw_cluster_counts(n_clusters, n_resamples, rng):
        out[start : start + len(w)] = w[:, codes]
    return out


def _as_codes(codes: Any, k: int, name: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(codes)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of integer category codes, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"{name} must hold codes in 0..{k - 1}, got values from {arr.min()} to {arr.max()}")
    return arr


def bootstrap_confusions(
    a_codes: Any,
    b_codes: Any,
    k: int,
    *,
    clusters: Any = None,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> npt.NDArray[np.int64]:
    """Confusion matrices of R bootstrap resamples, shape (R, k, k), without a loop over resamples.

    ``a_codes``/``b_codes`` are category codes 0..k-1 (see ``agreement.encode_labels``); rows
    follow ``a``. Resample r is the one ``bootstrap_indices(..., seed=seed)[r]`` describes, so
    ``result[r]`` equals the confusion matrix of the items ``np.repeat(arange(n), counts[r])``.
    Computed as W @ C: W (R x G) the cluster draw counts (``np.bincount``), C (G x k²) each
    cluster's own confusion counts. No items: R matrices of zeros.

    >>> cms = bootstrap_confusions([0, 1, 1], [0, 1, 0], 2, n_resamples=5, seed=0)
    >>> cms.shape, cms.sum(axis=(1, 2)).tolist()
    ((5, 2, 2), [3, 3, 3, 3, 3])
    """
    if not isinstance(k, numbers.Integral) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    _check_resamples(n_resamples)
    a = _as_codes(a_codes, int(k), "a_codes")
    b = _as_codes(b_codes, int(k), "b_codes")
    if a.shape != b.shape:
        raise ValueError(f"a_codes and b_codes must have one code per item, got {a.size} and {b.size}")
    k2 = int(k) * int(k)
    codes, n_clusters = _cluster_codes(clusters, a.size)
    per_cluster = np.bincount(codes * k2 + a * k + b, minlength=n_clusters * k2)
    per_cluster_f = per_cluster.reshape(n_clusters, k2).astype(np.float64)
    out = np.empty((n_resamples, k2), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for start, w in _draw_cluster_counts(n_clusters, n_resamples, rng):
        out[start : start + len(w)] = np.rint(w.astype(np.float64) @ per_cluster_f)
    return out.reshape(n_resamples, int(k), int(k))


def percentile_estimate(
    value: float,
    replicates: npt.NDArray[np.float64],
    *,
    n: int,
    confidence: float,
    n_clusters: int | None,
    n_resamples: int,
) -> Estimate:
    """Percentile interval of bootstrap replicates (nan replicates dropped and counted); no
    interval when the point value itself is undefined."""
    ok = replicates[np.isfinite(replicates)]
    lo: float | None = None
    hi: float | None = None
    if ok.size and math.isfinite(value):
        tail = (1.0 - float(confidence)) / 2.0
        q = np.quantile(ok, [tail, 1.0 - tail])
        lo, hi = float(q[0]), float(q[1])
    return Estimate(
        value=value,
        lo=lo,
        hi=hi,
        n=n,
        confidence=confidence,
        method="bootstrap" if n_clusters is None else "cluster_bootstrap",
        n_clusters=n_clusters,
        n_resamples=n_resamples,
        n_degenerate=int(replicates.size - ok.size),
    )


def _as_array(values: Any, name: str) -> npt.NDArray[Any]:
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a sequence, not a single {type(values).__name__}")
    items = list(values)
    if all(isinstance(v, str) for v in items) or all(
        isinstance(v, numbers.Number) and not isinstance(v, bool) for v in items
    ):
        return np.asarray(items)
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def bootstrap(
    stat: Callable[..., Any],
    *arrays: Any,
    clusters: Any = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> Estimate:
    """Percentile bootstrap of any statistic of one or more paired arrays (the general, slow path).

    ``stat(*arrays)`` must return a number. Every resample takes the same items from all
    ``arrays`` (so pairs stay pairs), as described by ``bootstrap_indices`` (items in index order,
    a cluster's items together); ``value`` is ``stat`` on the full data and the interval the
    (1 - c)/2 and (1 + c)/2 quantiles of the resampled values that are not ``nan``. One Python
    call per resample: for statistics of a confusion matrix use ``bootstrap_confusion_stat``.
    Lists become numpy arrays (``object`` arrays for mixed values).

    >>> est = bootstrap(lambda x: float(np.mean(x)), [0, 0, 1, 1, 1, 1, 1, 1, 1, 1], n_resamples=500)
    >>> est.value, est.method, est.n, 0.4 < est.lo < est.value < est.hi <= 1.0
    (0.8, 'bootstrap', 10, True)
    """
    _check_resamples(n_resamples)
    _check_confidence(confidence)
    if not arrays:
        raise ValueError("bootstrap needs at least one data array after stat")
    data = [_as_array(x, f"arrays[{i}]") for i, x in enumerate(arrays)]
    ag._check_lengths({f"arrays[{i}]": x for i, x in enumerate(data)})
    n = len(data[0])
    value = float(stat(*data))
    codes, n_clusters = _cluster_codes(clusters, n)
    replicates = np.full(n_resamples, np.nan)
    if n:
        rng = np.random.default_rng(seed)
        positions = np.arange(n)
        for start, w in _draw_cluster_counts(n_clusters, n_resamples, rng):
            for r, counts in enumerate(w[:, codes]):
                idx = np.repeat(positions, counts)
                replicates[start + r] = float(stat(*(x[idx] for x in data)))
    return percentile_estimate(
        value,
        replicates,
        n=n,
        confidence=confidence,
        n_clusters=None if clusters is None else n_clusters,
        n_resamples=n_resamples,
    )


def bootstrap_confusion_stats(
    a: Any,
    b: Any,
    stats: Mapping[str, ConfusionStat],
    *,
    labels: Sequence[Hashable] | None = None,
    clusters: Any = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> dict[str, Estimate]:
    """Several statistics of the confusion matrix of ``a`` vs ``b``, bootstrapped on shared resamples.

    Like ``bootstrap_confusion_stat`` for each of ``stats`` (name -> statistic of confusion
    matrices (..., k, k) -> (...)), but the resampled confusion matrices are drawn once and shared,
    so all the intervals come from the same resamples. Returns name -> ``Estimate``.

    >>> from judgecal.calibrate.agreement import agreement_from_confusion, kappa_from_confusion
    >>> human = ["pass"] * 6 + ["fail"] * 4
    >>> judge = ["pass"] * 5 + ["fail"] * 5
    >>> est = bootstrap_confusion_stats(human, judge, {"agreement": agreement_from_confusion,
    ...                                                "kappa": kappa_from_confusion}, n_resamples=200)
    >>> est["agreement"].value, round(est["kappa"].value, 4)  # p_o = .9; p_e = .6·.5 + .4·.5 = .5
    (0.9, 0.8)
    """
    _check_resamples(n_resamples)
    _check_confidence(confidence)
    (ca, cb), cats = ag._encode({"a": a, "b": b}, labels)
    k = len(cats)
    cm = ag._confusion_from_codes(ca, cb, k)
    boot = bootstrap_confusions(ca, cb, k, clusters=clusters, n_resamples=n_resamples, seed=seed)
    n_clusters = None if clusters is None else _cluster_codes(clusters, ca.size)[1]
    out: dict[str, Estimate] = {}
    for name, stat in stats.items():
        value = float(np.asarray(stat(cm), dtype=np.float64))
        replicates = np.asarray(stat(boot), dtype=np.float64)
        if replicates.shape != (n_resamples,):
            raise ValueError(
                f"statistic {name!r} must map confusion matrices of shape (R, k, k) to shape (R,); "
                f"got {replicates.shape} for R = {n_resamples}"
            )
        if ca.size == 0:
            replicates = np.full(n_resamples, np.nan)
        out[name] = percentile_estimate(
            value,
            replicates,
            n=int(ca.size),
            confidence=confidence,
            n_clusters=n_clusters,
            n_resamples=n_resamples,
        )
    return out


def bootstrap_confusion_stat(
    a: Any,
    b: Any,
    stat_from_confusion: ConfusionStat,
    *,
    labels: Sequence[Hashable] | None = None,
    clusters: Any = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> Estimate:
    """Percentile bootstrap of a statistic of the confusion matrix of ``a`` (rows) vs ``b``.

    The fast path for percent agreement, κ, π, AC1, TPR and TNR: ``stat_from_confusion`` maps
    confusion matrices of shape (..., k, k) to (...) (e.g. ``agreement.kappa_from_confusion``;
    bind options with ``functools.partial``), and is called once on the full data (``value``)
    and once on the (R, k, k) stack of resampled matrices. ``labels`` fixes the categories as in
    ``agreement``; ``clusters`` (one id per item) makes it a cluster bootstrap. Resamples where the
    statistic is ``nan`` are dropped and counted in ``n_degenerate``. Same ``seed``, same result.

    >>> from functools import partial
    >>> from judgecal.calibrate.agreement import tpr_from_confusion
    >>> human = ["pass"] * 8 + ["fail"] * 2
    >>> judge = ["pass"] * 7 + ["fail"] * 3
    >>> est = bootstrap_confusion_stat(human, judge, partial(tpr_from_confusion, positive=1))
    >>> est.value, est.n, est.n_resamples  # TPR = 7/8 ("pass" is category 1 of [fail, pass])
    (0.875, 10, 2000)
    """
    return bootstrap_confusion_stats(
        a,
        b,
        {"stat": stat_from_confusion},
        labels=labels,
        clusters=clusters,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )["stat"]


def _alpha_from_coincidences(
    o: npt.NDArray[np.float64], level: str, cats: list[Hashable]
) -> npt.NDArray[np.float64]:
    """Krippendorff's α from coincidence matrices of shape (..., v, v) (one formula for point
    and replicates): α = 1 - (n - 1)·Σ o_ck δ²_ck / Σ n_c n_k δ²_ck; nan where undefined."""
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    if level == "ordinal":
        v = o.shape[-1]
        idx = np.arange(v)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        cum = np.cumsum(n_c, axis=-1)
        between = cum[..., hi] - cum[..., lo] + n_c[..., lo]
        delta2 = (between - (n_c[..., :, None] + n_c[..., None, :]) / 2.0) ** 2
    else:
        delta2 = ag._delta2(level, cats, n_c.reshape(-1, o.shape[-1])[0])  # type: ignore[arg-type]
    d_o = (o * delta2).sum(axis=(-1, -2))
    d_e = (n_c[..., :, None] * n_c[..., None, :] * delta2).sum(axis=(-1, -2))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * d_o / d_e
    return np.where((d_e > 0) & (n > 1), alpha, np.nan)


def bootstrap_alpha(
    reliability_data: Any,
    *,
    level: Literal["nominal", "ordinal", "interval"] = "nominal",
    labels: Sequence[Hashable] | None = None,
    clusters: Any = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> Estimate:
    """Krippendorff's α with a percentile bootstrap over units (Hayes & Krippendorff 2007 resample
    units too), vectorised: each unit's share of the coincidence matrix is computed once, and a
    resample's coincidences are the count-weighted sum of its units' shares. ``clusters`` (one id
    per unit) resamples clusters of units. The point value equals :func:`agreement.krippendorff_alpha`.

    >>> est = bootstrap_alpha([["a", "b", "b", "a"], ["a", "b", "b", "b"]], n_resamples=200)
    >>> round(est.value, 4), est.n
    (0.5333, 4)
    """
    _check_resamples(n_resamples)
    _check_confidence(confidence)
    codes, cats = ag._alpha_codes(reliability_data, labels)
    v = len(cats)
    n_units = codes.shape[1] if codes.ndim == 2 else 0
    present = codes >= 0
    unit = np.broadcast_to(np.arange(n_units), codes.shape)[present]
    counts = (
        np.bincount(unit * v + codes[present], minlength=n_units * v).reshape(n_units, v).astype(np.float64)
    )
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    share = np.zeros((n_units, v, v))
    if pairable.any():
        c = counts[pairable]
        outer = c[:, :, None] * c[:, None, :]
        outer[:, np.arange(v), np.arange(v)] -= c
        share[pairable] = outer / (m_u[pairable] - 1.0)[:, None, None]
    flat = share.reshape(n_units, v * v)
    value = float(_alpha_from_coincidences(flat.sum(axis=0).reshape(v, v), level, cats)) if v else math.nan
    cluster_codes, n_clusters = _cluster_codes(clusters, n_units)
    by_cluster = np.zeros((n_clusters, v * v))
    np.add.at(by_cluster, cluster_codes, flat)
    replicates = np.full(n_resamples, np.nan)
    if v and n_units:
        rng = np.random.default_rng(seed)
        for start, w in _draw_cluster_counts(n_clusters, n_resamples, rng):
            o = (w.astype(np.float64) @ by_cluster).reshape(len(w), v, v)
            replicates[start : start + len(w)] = _alpha_from_coincidences(o, level, cats)
    return percentile_estimate(
        value,
        replicates,
        n=int(pairable.sum()),
        confidence=confidence,
        n_clusters=None if clusters is None else n_clusters,
        n_resamples=n_resamples,
    )
