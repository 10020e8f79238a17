"""Statistics shared by the bias probes.

Paired binary outcomes (an item's verdict before and after a perturbation): with
``b = #(pass→fail)`` and ``c = #(fail→pass)`` over ``n`` pairs,

- the **directional shift** is ``Δ = (c − b)/n`` (:func:`paired_shift`, a percentile bootstrap
  over items, or over clusters of items when ``clusters`` is given);
- its significance is the **exact McNemar test**, a two-sided binomial test of ``c`` among
  ``b + c`` discordant pairs at p = 1/2 (:func:`mcnemar_exact`; p = 1 when there is none).

Counts of one direction against the other (first slot vs second slot) use the same exact
**sign test** (:func:`sign_test`). Rates use Wilson intervals, or the one-sided
**Clopper–Pearson upper bound** (:func:`clopper_pearson_upper`) for zero-tolerance probes.
A probe's pass/fail is a list of :class:`Check` s combined by :func:`decide`.

Every bootstrap here draws exactly the resamples of
:func:`judgecal.calibrate.intervals.bootstrap_indices` (same ``seed``, same resamples), and is
vectorised: the whole (R, n) count matrix is multiplied by per-item numerators and denominators.

Derived items: :func:`derive_item` gives the id ``f"{item.id}~{probe}-{variant}"`` and copies the
metadata plus ``probe_variant``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from judgecal.calibrate.intervals import Estimate, bootstrap_indices, percentile_estimate
from judgecal.gold import GoldItem

__all__ = [
    "Check",
    "Decision",
    "boundary_p",
    "clopper_pearson_upper",
    "decide",
    "derive_item",
    "derived_id",
    "fmt",
    "holm",
    "mcnemar_exact",
    "paired_difference",
    "paired_shift",
    "rate_test",
    "ratio_bootstrap",
    "sign_test",
    "signed_rank_test",
    "transitions",
]

NAN = float("nan")


# --------------------------------------------------------------------------------------------
# Derived items


def derived_id(item_id: str, probe: str, variant: str) -> str:
    """The id of a probe's variant of an item.

    >>> derived_id("q7", "position", "ab")
    'q7~position-ab'
    """
    return f"{item_id}~{probe}-{variant}"


def derive_item(
    item: GoldItem,
    probe: str,
    variant: str,
    *,
    inputs: dict[str, str] | None = None,
    labels: dict[str, Any] | None = None,
    **metadata: Any,
) -> GoldItem:
    """A probe's variant of ``item``: id ``f"{item.id}~{probe}-{variant}"``, ``inputs`` (the
    item's own when None), the item's metadata plus ``probe_variant = f"{probe}-{variant}"``,
    ``source_item`` (the original id) and any ``metadata`` given, and ``labels`` (the item's own
    when None; pass ``{}`` when the perturbation changes the right answer and no one labelled it).

    >>> item = GoldItem(id="q1", inputs={"output": "Hi"}, metadata={"slice": "x"}, labels={"ana": "pass"})
    >>> d = derive_item(item, "sensitivity", "policy", inputs={"output": "Hi!"})
    >>> d.id, d.metadata["probe_variant"], d.metadata["source_item"], d.labels
    ('q1~sensitivity-policy', 'sensitivity-policy', 'q1', {'ana': 'pass'})
    """
    md = {**item.metadata, "probe_variant": f"{probe}-{variant}", "source_item": item.id, **metadata}
    return GoldItem(
        id=derived_id(item.id, probe, variant),
        inputs=dict(item.inputs if inputs is None else inputs),
        metadata=md,
        labels=dict(item.labels if labels is None else labels),
    )


# --------------------------------------------------------------------------------------------
# Tests


def _binom_two_sided(k: int, n: int) -> float:
    from scipy.stats import binomtest  # noqa: PLC0415 - scipy.stats is slow to import

    if n == 0:
        return 1.0
    return float(binomtest(k, n, 0.5, alternative="two-sided").pvalue)


def sign_test(k: int, n: int) -> float:
    """Exact two-sided sign test: p-value of ``k`` successes in ``n`` trials against p = 1/2.

    Use it for "first slot vs second slot" among directional verdicts: k = picks of the first
    slot, n = picks of either slot. ``n = 0`` gives 1.0 (no evidence of any direction).

    >>> round(sign_test(120, 132), 10) < 1e-20, sign_test(0, 0), round(sign_test(6, 10), 4)
    (True, 1.0, 0.7539)
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    return _binom_two_sided(k, n)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact (binomial) McNemar test: two-sided p-value of ``c`` among the ``b + c`` discordant
    pairs against p = 1/2. ``b + c = 0`` gives 1.0.

    >>> mcnemar_exact(0, 0), round(mcnemar_exact(1, 9), 4), mcnemar_exact(5, 5)
    (1.0, 0.0215, 1.0)
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must be non-negative, got b={b}, c={c}")
    return _binom_two_sided(c, b + c)


def signed_rank_test(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (ordinal Δscore); zero
    differences are dropped (Wilcoxon's convention); 1.0 when every difference is zero.

    >>> signed_rank_test([0, 0, 0]), signed_rank_test([1] * 12) < 0.01
    (1.0, True)
    """
    d = np.asarray([x for x in differences if x != 0], dtype=np.float64)
    if d.size == 0:
        return 1.0
    from scipy.stats import wilcoxon  # noqa: PLC0415

    return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def clopper_pearson_upper(k: int, n: int, *, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper bound of a rate k/n: ``B⁻¹(confidence; k + 1, n − k)``
    (1 when k = n, nan when n = 0). This is the zero-tolerance bound: 0 of 60
    gives 0.049, 0 of 100 gives 0.030 (it equals the upper end of the two-sided interval at
    confidence ``2·confidence − 1``).

    >>> round(clopper_pearson_upper(0, 60), 3), round(clopper_pearson_upper(0, 100), 3)
    (0.049, 0.03)
    >>> clopper_pearson_upper(5, 5), math.isnan(clopper_pearson_upper(0, 0))
    (1.0, True)
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return NAN
    if k == n:
        return 1.0
    from scipy.stats import beta  # noqa: PLC0415

    return float(beta.ppf(confidence, k + 1, n - k))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given), for the gated probes' tests
    (Holm 1979): ``p_(i)·(m − i + 1)``, made monotone, capped at 1.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p_values[i] * (m - rank)))
        out[i] = round(running, 12)
    return out


# --------------------------------------------------------------------------------------------
# Bootstraps


def ratio_bootstrap(
    numerators: Sequence[float] | npt.NDArray[Any],
    denominators: Sequence[float] | npt.NDArray[Any] | None = None,
    *,
    clusters: Sequence[Any] | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> Estimate:
    """``Σ numerators / Σ denominators`` (a mean when ``denominators`` is None: all ones) with a
    percentile bootstrap over items (or over ``clusters``), vectorised.

    Each item contributes its numerator and denominator together, so a statistic over several
    units per item (e.g. 2 presentation orders) is resampled by item. ``n`` is the number of
    items with a positive denominator. A resample whose denominators sum to 0 is undefined
    (dropped, counted in ``n_degenerate``).

    >>> est = ratio_bootstrap([1, -1, 0, 2], [2, 2, 1, 2], n_resamples=200)
    >>> est.value, est.n, est.lo <= est.value <= est.hi
    (0.2857142857142857, 4, True)
    """
    num = np.asarray(numerators, dtype=np.float64)
    den = np.ones_like(num) if denominators is None else np.asarray(denominators, dtype=np.float64)
    if num.shape != den.shape or num.ndim != 1:
        raise ValueError(f"need 1-D numerators and denominators of one length, got {num.shape}, {den.shape}")
    total = float(den.sum())
    value = float(num.sum()) / total if total > 0 else NAN
    n = int((den > 0).sum())
    counts = bootstrap_indices(
        int(num.size),
        clusters=None if clusters is None else list(clusters),
        n_resamples=n_resamples,
        seed=seed,
    ).astype(np.float64)
    if num.size:
        top, bottom = counts @ num, counts @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            replicates = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    else:
        replicates = np.full(n_resamples, np.nan)
    n_clusters = None if clusters is None else len(set(clusters))
    return percentile_estimate(
        value, replicates, n=n, confidence=confidence, n_clusters=n_clusters, n_resamples=n_resamples
    )


def transitions(before: Sequence[bool], after: Sequence[bool]) -> tuple[int, int, int]:
    """``(b, c, n)``: b = #(True→False) (pass→fail), c = #(False→True), n = pairs.

    >>> transitions([True, True, False, False], [False, True, True, True])
    (1, 2, 4)
    """
    if len(before) != len(after):
        raise ValueError(f"need paired outcomes, got {len(before)} and {len(after)}")
    b = sum(bool(x) and not bool(y) for x, y in zip(before, after, strict=True))
    c = sum(not bool(x) and bool(y) for x, y in zip(before, after, strict=True))
    return b, c, len(before)


def paired_shift(
    before: Sequence[bool],
    after: Sequence[bool],
    *,
    clusters: Sequence[Any] | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[Estimate, float, dict[str, int]]:
    """Directional shift ``Δ = (c − b)/n`` of paired pass/fail outcomes, its bootstrap CI (by
    item, or by cluster), the exact McNemar p-value, and the counts ``{"b", "c", "n"}``.

    ``before[i]``/``after[i]``: whether item i passed without/with the perturbation. Δ > 0 means
    the perturbation raised verdicts. Symmetric noise cancels in Δ.

    >>> before = [True] * 8 + [False] * 12
    >>> after = [True] * 6 + [False] * 2 + [True] * 6 + [False] * 6
    >>> est, p, counts = paired_shift(before, after)
    >>> round(est.value, 2), counts, round(p, 4)
    (0.2, {'b': 2, 'c': 6, 'n': 20}, 0.2891)
    """
    b, c, n = transitions(before, after)
    d = [int(bool(y)) - int(bool(x)) for x, y in zip(before, after, strict=True)]
    est = ratio_bootstrap(d, clusters=clusters, n_resamples=n_resamples, confidence=confidence, seed=seed)
    return est, mcnemar_exact(b, c), {"b": b, "c": c, "n": n}


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def boundary_p(value: float, se: float, tolerance: float, direction: Literal["max", "min", "abs"]) -> float:
    """One-sided p-value of "the effect is acceptable" at the tolerance's boundary, from an
    (approximately) normal estimate ``value`` with standard error ``se``:

    - ``max`` (acceptable when effect ≤ T): ``P(Z ≥ (value − T)/se)``;
    - ``min`` (acceptable when effect ≥ T, e.g. a detection rate): ``P(Z ≤ (value − T)/se)``;
    - ``abs`` (acceptable when |effect| ≤ T): twice the smaller of the two one-sided p-values
      (capped at 1), so rejecting at α means the (1 − α) interval lies wholly outside ±T.

    A small p-value is evidence that the effect is *beyond* the tolerance: the probe fails when
    it is below α after the battery's Holm adjustment (:func:`judgecal.probes.base.settle`).
    ``se = 0`` gives 0 or 1 (the estimate is certain); nan stays nan.

    >>> round(boundary_p(0.10, 0.02, 0.05, "max"), 4), round(boundary_p(0.0, 0.02, 0.05, "max"), 4)
    (0.0062, 0.9938)
    >>> round(boundary_p(0.70, 0.05, 0.85, "min"), 4), boundary_p(-0.2, 0.02, 0.05, "abs") < 1e-9
    (0.0013, True)
    """
    if any(math.isnan(x) for x in (value, se, tolerance)):
        return NAN
    if direction == "abs":
        return min(
            1.0, 2.0 * min(boundary_p(value, se, tolerance, "max"), boundary_p(value, se, -tolerance, "min"))
        )
    if se <= 0:
        beyond = value > tolerance if direction == "max" else value < tolerance
        return 0.0 if beyond else 1.0
    z = (value - tolerance) / se
    return _normal_sf(z) if direction == "max" else _normal_sf(-z)


def rate_test(
    k: int,
    n: int,
    tolerance: float,
    direction: Literal["max", "min"],
    *,
    confidence: float = 0.95,
) -> tuple[Estimate, float]:
    """A rate k/n with its Wilson interval and the score test's one-sided p-value of "the rate is
    acceptable" at ``tolerance`` (``max``: rate ≤ T acceptable; ``min``: rate ≥ T). The score
    test is the one the Wilson interval inverts: at a single test, p < (1 − confidence)/2 exactly
    when the interval lies wholly beyond T. n = 0: an undefined estimate and p nan.

    >>> est, p = rate_test(12, 20, 0.85, "min")
    >>> round(est.value, 2), round(p, 4)
    (0.6, 0.0009)
    >>> rate_test(0, 60, 0.05, "max")[1] > 0.9
    True
    """
    from judgecal.calibrate.intervals import wilson  # noqa: PLC0415

    est = wilson(k, n, confidence=confidence)
    if n == 0 or not 0.0 < tolerance < 1.0:
        return est, NAN if n == 0 else (0.0 if (k / n > tolerance) == (direction == "max") else 1.0)
    se0 = math.sqrt(tolerance * (1.0 - tolerance) / n)
    return est, boundary_p(k / n, se0, tolerance, direction)


def paired_difference(
    before: Sequence[bool],
    after: Sequence[bool],
    *,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> tuple[Estimate, float, dict[str, Any]]:
    """The paired difference of two proportions, ``Δ = mean(after) − mean(before) = (c − b)/n``
    (b = #(True→False), c = #(False→True)), with the **Bonett–Price adjusted Wald interval** for
    paired binary data (Bonett & Price 2012, J. Educ. Behav. Stat. 37:479): with
    ``p̃_b = (b + 1)/(n + 2)``, ``p̃_c = (c + 1)/(n + 2)`` and ``Δ̃ = p̃_c − p̃_b``,

        Δ̃ ± z·√((p̃_b + p̃_c − Δ̃²)/(n + 2)),   clipped to [−1, 1].

    Unlike a percentile bootstrap it does not collapse to [0, 0] when no pair changes (0 of 50
    discordant pairs gives ±0.053), which is what kept the old probes' intervals from covering
    small true effects. When several pairs share a cluster (variants of one item), the variance
    is multiplied by the design effect ``deff = max(1, V_cluster/V_srs)`` — the between-cluster
    variance of the per-cluster sums of ``d_i = after_i − before_i`` over the variance those sums
    would have if the pairs were independent.

    Returns the estimate (value Δ, the adjusted interval, method ``adjusted_wald``), the
    standard error of Δ̃ (for :func:`boundary_p`, centred on Δ̃ like the interval) and the
    counts ``{"b", "c", "n", "deff", "centre"}``.

    >>> est, se, counts = paired_difference([False] * 50, [False] * 50)
    >>> est.value, round(est.lo, 3), round(est.hi, 3), counts["b"], counts["c"]
    (0.0, -0.053, 0.053, 0, 0)

    b = 2, c = 6, n = 20: p̃_b = 3/22, p̃_c = 7/22, Δ̃ = 0.1818, se = √((10/22 − 0.0331)/22) = 0.1384:

    >>> before = [True] * 8 + [False] * 12
    >>> after = [True] * 6 + [False] * 2 + [True] * 6 + [False] * 6
    >>> est, se, counts = paired_difference(before, after)
    >>> round(est.value, 2), round(est.lo, 3), round(est.hi, 3), round(se, 4)
    (0.2, -0.089, 0.453, 0.1384)
    """
    from statistics import NormalDist  # noqa: PLC0415

    if len(before) != len(after):
        raise ValueError(f"need paired outcomes, got {len(before)} and {len(after)}")
    b, c, n = transitions(before, after)
    if n == 0:
        undefined = Estimate(value=NAN, lo=None, hi=None, n=0, method="none", confidence=confidence)
        return undefined, NAN, {"b": 0, "c": 0, "n": 0, "deff": 1.0, "centre": NAN}
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    pb, pc = (b + 1) / (n + 2), (c + 1) / (n + 2)
    centre = pc - pb
    var = max(pb + pc - centre * centre, 0.0) / (n + 2)
    deff = 1.0
    n_clusters = None
    if clusters is not None:
        if len(clusters) != n:
            raise ValueError(f"need one cluster per pair, got {len(clusters)} for {n}")
        d = np.asarray([int(bool(y)) - int(bool(x)) for x, y in zip(before, after, strict=True)], float)
        keys: dict[Any, int] = {}
        idx = np.asarray([keys.setdefault(g, len(keys)) for g in clusters])
        k = len(keys)
        n_clusters = k
        if 1 < k < n:
            sums = np.bincount(idx, weights=d, minlength=k)
            sizes = np.bincount(idx, minlength=k).astype(float)
            delta = float(d.mean())
            v_cluster = k / (k - 1) * float(((sums - delta * sizes) ** 2).sum())
            v_srs = n * float(((d - delta) ** 2).mean())
            if v_srs > 0:
                deff = max(1.0, v_cluster / v_srs)
            elif v_cluster > 0:
                deff = float(sizes.max())
    se = math.sqrt(var * deff)
    lo, hi = max(-1.0, centre - z * se), min(1.0, centre + z * se)
    est = Estimate(
        value=(c - b) / n,
        lo=lo,
        hi=hi,
        n=n,
        method="adjusted_wald",
        confidence=confidence,
        n_clusters=n_clusters,
    )
    return est, se, {"b": b, "c": c, "n": n, "deff": deff, "centre": centre}


# --------------------------------------------------------------------------------------------
# Decisions


def fmt(x: float | None, digits: int = 3) -> str:
    """A figure for a reason sentence: ``nan``/None → ``"n/a"``.

    >>> fmt(0.91666), fmt(None), fmt(float("nan")), fmt(1e-20)
    ('0.917', 'n/a', 'n/a', '1e-20')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x != 0 and abs(x) < 10 ** (-digits):
        return f"{x:.2g}"
    return f"{round(x, digits):g}"


Op = Literal[">=", "<=", "abs<="]


@dataclass(frozen=True)
class Check:
    """One condition of a probe's pass rule: ``value op limit`` (``abs<=``: ``|value| <= limit``).

    ``value`` None or nan: the check is undefined (not enough data)."""

    name: str
    """What is checked, for the reason sentence (e.g. "clear-gap consistency")."""
    value: float | None
    """The figure."""
    op: Op
    """``>=``, ``<=`` or ``abs<=``."""
    limit: float
    """The threshold."""

    @property
    def ok(self) -> bool | None:
        """True/False, or None when the value is undefined."""
        v = self.value
        if v is None or math.isnan(v):
            return None
        if self.op == ">=":
            return v >= self.limit
        if self.op == "<=":
            return v <= self.limit
        return abs(v) <= self.limit

    def __str__(self) -> str:
        shown = f"|{fmt(self.value)}|" if self.op == "abs<=" and self.value is not None else fmt(self.value)
        sign = "≥" if self.op == ">=" else "≤"
        mark = {True: "ok", False: "FAIL", None: "undefined"}[self.ok]
        return f"{self.name} {shown} {sign} {fmt(self.limit)} ({mark})"


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`; itself usable as a check inside another :func:`decide`."""

    passed: bool | None
    """True/False; None when undefined (some check undefined and the rest cannot settle it)."""
    checks: list[Check | Decision] = field(default_factory=list)
    """The checks (or nested decisions), in the order given."""
    mode: Literal["all", "any"] = "all"
    """``all``: every check must hold; ``any``: one suffices."""
    name: str = ""
    """A name for a nested decision (shown in ``failed``)."""

    @property
    def ok(self) -> bool | None:
        """Same as ``passed`` (so a decision can be nested like a :class:`Check`)."""
        return self.passed

    @property
    def failed(self) -> list[str]:
        """Names of the checks (and named nested decisions) that failed."""
        out: list[str] = []
        for c in self.checks:
            if c.ok is False:
                out.append(c.name or str(c))
        return out

    @property
    def only_bounds_failed(self) -> bool:
        """True when the decision failed but would pass if every interval-bound check (a check
        whose name contains "bound") held: the point estimates meet their thresholds and only the
        uncertainty does not — more cases could decide it (thresholds apply to bounds).

        >>> bound = Check("upper bound", 0.09, "<=", 0.05)
        >>> decide([Check("rate", 0.01, "<=", 0.02), bound]).only_bounds_failed
        True
        >>> decide([Check("rate", 0.04, "<=", 0.02), bound]).only_bounds_failed
        False
        """
        return self.passed is False and _relaxed(self) is True

    @property
    def summary(self) -> str:
        """The checks as text, e.g. ``"consistency 0.93 ≥ 0.9 (ok); lower bound 0.8 ≥ 0.85 (FAIL)"``;
        nested decisions in parentheses."""
        parts = [f"({c.summary})" if isinstance(c, Decision) else str(c) for c in self.checks]
        return ("; " if self.mode == "all" else " or ").join(parts)

    def __str__(self) -> str:
        return self.summary

    def thresholds(self) -> dict[str, float]:
        """``{check name: limit}`` over all (nested) checks, for ``ProbeResult.threshold``."""
        out: dict[str, float] = {}
        for c in self.checks:
            if isinstance(c, Decision):
                out.update(c.thresholds())
            else:
                out[c.name] = c.limit
        return out


def _relaxed(item: Check | Decision) -> bool | None:
    """``ok`` of a check or decision with every interval-bound check taken as holding."""
    if isinstance(item, Check):
        return True if "bound" in item.name and item.ok is not None else item.ok
    oks = [_relaxed(c) for c in item.checks]
    if item.mode == "all":
        return False if False in oks else (None if None in oks else True)
    return True if True in oks else (None if None in oks else False)


def decide(
    checks: Sequence[Check | Decision], *, mode: Literal["all", "any"] = "all", name: str = ""
) -> Decision:
    """Combine checks (or nested decisions): ``all`` passes when every check holds (fails as soon
    as one fails, is undefined when none failed but one is undefined); ``any`` passes when one
    holds (fails when all are defined and none holds, else undefined).

    >>> d = decide([Check("consistency", 0.93, ">=", 0.90), Check("lower bound", 0.80, ">=", 0.85)])
    >>> d.passed, d.failed
    (False, ['lower bound'])
    >>> d.summary
    'consistency 0.93 ≥ 0.9 (ok); lower bound 0.8 ≥ 0.85 (FAIL)'
    >>> decide([Check("alpha", 0.5, ">=", 0.8), Check("modal", 0.95, ">=", 0.9)], mode="any").passed
    True
    >>> decide([Check("x", None, "<=", 0.1)]).passed is None
    True

    A material-and-significant rule ("fail only when |Δ| > 0.05 and p < 0.05") nests an ``any``:

    >>> shift = decide([Check("|Δ|", 0.08, "abs<=", 0.05), Check("McNemar p", 0.2, ">=", 0.05)],
    ...                mode="any", name="shift")
    >>> decide([Check("consistency", 0.95, ">=", 0.9), shift]).passed
    True
    """
    oks = [c.ok for c in checks]
    passed: bool | None
    if mode == "all":
        passed = False if False in oks else (None if None in oks else True)
    else:
        passed = True if True in oks else (None if None in oks else False)
    return Decision(passed=passed, checks=list(checks), mode=mode, name=name)
