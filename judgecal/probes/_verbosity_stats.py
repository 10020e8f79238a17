"""The verbosity probe's statistics (:mod:`judgecal.probes.verbosity` describes the estimands):
the padding raise rate with its interval and test, and the length preference and length bias of
pairwise verdicts. Pure functions over verdicts and texts; the probe assembles them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.probes._stats import boundary_p

NAN = float("nan")
Label = str | int


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


# --------------------------------------------------------------------------------------------
# Padding: the raise rate


class RaiseRate(BaseModel):
    """R = Σ(s_after − s_before) / #(s_before below the top), with its interval."""

    model_config = ConfigDict(extra="forbid")

    estimate: Estimate
    """R̂ (nan when no original is below the top) with the adjusted interval; ``n`` = pairs."""
    centre: float
    """R̃ = Σd / (#room + 2), the adjusted estimate the interval and the test are centred on."""
    se: float
    """Standard error of R̃ (linearised, clustered; nan when undefined)."""
    raised: int
    """Pairs whose padded verdict is higher than the original's."""
    lowered: int
    """Pairs whose padded verdict is lower."""
    n_room: int
    """Pairs whose original verdict is below the top of the scale (R's denominator)."""
    mean_change: float
    """Σd / n: the mean change over all pairs (binary: (c − b)/n)."""


def raise_rate(
    before: Sequence[float],
    after: Sequence[float],
    *,
    top: float,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> RaiseRate:
    """The raise rate of paired verdict scores (original ``before``, perturbed ``after``): with
    d = after − before and r = [before < top],

        R̂ = Σd / Σr,   R̃ = Σd / (Σr + 2),   se² = K/(K − 1) · Σ_g (Σ_{i∈g} (d_i − R̃·r_i))² / (Σr + 2)²

    over the K clusters g (each pair its own cluster without ``clusters``) plus two pseudo-pairs
    (d = +1 and d = −1, each with room, each its own cluster) — the ratio form of Bonett & Price's
    (2012) adjustment, so that the interval R̃ ± z·se does not collapse when no verdict moves. The
    variance is the usual linearisation of a ratio estimator (Cochran 1977, §6.3) with clusters.

    No pair moves (100 pairs, 40 with room): R̂ = 0, se = √(2·102/101)/42:

    >>> rr = raise_rate([0.0] * 40 + [1.0] * 60, [0.0] * 40 + [1.0] * 60, top=1.0)
    >>> rr.estimate.value, round(rr.se, 4), round(rr.estimate.hi, 4), rr.n_room
    (0.0, 0.0338, 0.0663, 40)

    12 of 40 failing originals raised to a pass: R̂ = 0.3, R̃ = 12/42:

    >>> rr = raise_rate([0.0] * 40, [1.0] * 12 + [0.0] * 28, top=1.0)
    >>> round(rr.estimate.value, 3), round(rr.centre, 4), rr.raised, rr.lowered
    (0.3, 0.2857, 12, 0)
    """
    d_before = np.asarray(before, dtype=np.float64)
    d_after = np.asarray(after, dtype=np.float64)
    if d_before.shape != d_after.shape or d_before.ndim != 1:
        raise ValueError(f"need paired scores of one length, got {len(before)} and {len(after)}")
    n = int(d_before.size)
    d = d_after - d_before
    r = (d_before < top).astype(np.float64)
    room = float(r.sum())
    total = float(d.sum())
    raised, lowered = int((d > 0).sum()), int((d < 0).sum())
    if n == 0 or room == 0:
        undefined = Estimate(value=NAN, lo=None, hi=None, n=n, method="none", confidence=confidence)
        return RaiseRate(
            estimate=undefined,
            centre=NAN,
            se=NAN,
            raised=raised,
            lowered=lowered,
            n_room=int(room),
            mean_change=total / n if n else NAN,
        )
    centre = total / (room + 2.0)
    e = d - centre * r
    if clusters is None:
        sums = e
    else:
        if len(clusters) != n:
            raise ValueError(f"need one cluster per pair, got {len(clusters)} for {n}")
        keys: dict[Any, int] = {}
        idx = np.fromiter((keys.setdefault(g, len(keys)) for g in clusters), dtype=np.int64, count=n)
        sums = np.asarray(np.bincount(idx, weights=e, minlength=len(keys)), dtype=np.float64)
    k = int(sums.size) + 2
    ss = float((sums**2).sum()) + (1.0 - centre) ** 2 + (1.0 + centre) ** 2
    se = math.sqrt(k / (k - 1) * ss) / (room + 2.0)
    z = _z(confidence)
    est = Estimate(
        value=total / room,
        lo=centre - z * se,
        hi=centre + z * se,
        n=n,
        method="adjusted_wald",
        confidence=confidence,
        n_clusters=None if clusters is None else len(set(clusters)),
    )
    return RaiseRate(
        estimate=est,
        centre=centre,
        se=se,
        raised=raised,
        lowered=lowered,
        n_room=int(room),
        mean_change=total / n,
    )


def _ideal_upper(n_room: int, confidence: float = 0.95) -> float:
    """The upper end of :func:`raise_rate`'s interval for a judge that never moves (large K)."""
    return _z(confidence) * math.sqrt(2.0) / (n_room + 2.0)


def _min_room(tolerance: float, confidence: float = 0.95) -> int:
    """Pairs with room an ideal judge needs for its interval to lie below ``tolerance``."""
    return max(1, math.ceil(_z(confidence) * math.sqrt(2.0) / tolerance - 2.0))


def _mde(tolerance: float, se_at: Any, m: int, alpha: float, power: float = 0.8) -> float | None:
    """The smallest effect v > tolerance with (v − T)/se(v) ≥ z_{1−α/m} + z_power (one-sided, the
    first Holm step over m tests); None when even v = 1 is not enough."""
    need = NormalDist().inv_cdf(1 - alpha / m) + NormalDist().inv_cdf(power)

    def ok(v: float) -> bool:
        se = se_at(v)
        return se > 0 and (v - tolerance) / se >= need

    if not ok(1.0):
        return None
    lo, hi = tolerance, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


# --------------------------------------------------------------------------------------------
# Pairwise: length preference on recorded verdicts


class LengthPreference(BaseModel):
    """P(chooses the longer output | lengths differ by more than ``min_diff`` characters)."""

    model_config = ConfigDict(extra="forbid")

    rate: Estimate
    """longer / n (Wilson interval; with clusters, on the design-effect sample size)."""
    longer: int
    """Decisive choices of the longer output."""
    n: int
    """Decisive (A or B) choices on pairs whose lengths differ by more than ``min_diff``."""
    n_pairs: int
    """Pairs whose lengths differ by more than ``min_diff``."""
    n_tie: int
    """Of those, tie choices (left out, as AlpacaEval does)."""
    n_missing: int
    """Of those, unparseable or missing choices (left out)."""
    min_diff: int
    """The length-difference threshold (characters, strict)."""


def _longer_side(a: str, b: str, min_diff: int) -> str | None:
    if abs(len(a) - len(b)) <= min_diff:
        return None
    return "A" if len(a) > len(b) else "B"


def _design_effect(hits: Sequence[float], clusters: Sequence[Any] | None) -> float:
    """Cluster-robust variance of a proportion over its binomial variance, floored at 1 (1
    without clusters, with fewer than two clusters, or at p = 0 or 1)."""
    y = np.asarray(hits, dtype=np.float64)
    n = int(y.size)
    if clusters is None or n == 0:
        return 1.0
    p = float(y.mean())
    if p <= 0.0 or p >= 1.0:
        return 1.0
    keys: dict[Any, int] = {}
    idx = np.fromiter((keys.setdefault(g, len(keys)) for g in clusters), dtype=np.int64, count=n)
    g = len(keys)
    if g < 2:
        return 1.0
    y_g = np.bincount(idx, weights=y, minlength=g)
    m_g = np.bincount(idx, minlength=g).astype(np.float64)
    var = g / (g - 1) * float(((y_g - p * m_g) ** 2).sum()) / n**2
    return max(1.0, var / (p * (1.0 - p) / n))


def _wilson(k: float, n_eff: float, z: float) -> tuple[float, float]:
    p = k
    denom = 1.0 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def prefers_longer(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    choices: Sequence[Label | None],
    *,
    min_diff: int = 30,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> LengthPreference:
    """AlpacaEval's "Proba. prefer longer": among pairs whose outputs differ by more than
    ``min_diff`` characters, the share of A/B choices that picked the longer output (``tie`` and
    None choices left out). Lengths are ``len()`` of the texts (characters). Wilson interval on
    n/deff, deff the cluster design effect when ``clusters`` are given.

    >>> prefers_longer(["a" * 100, "a" * 10, "a" * 50, "b"], ["b" * 10, "b" * 100, "b" * 60, "c"],
    ...                ["A", "A", "B", "A"]).model_dump(include={"longer", "n", "n_pairs"})
    {'longer': 1, 'n': 2, 'n_pairs': 2}
    """
    if not (len(texts_a) == len(texts_b) == len(choices)):
        raise ValueError("texts_a, texts_b and choices need one value per pair")
    hits: list[int] = []
    kept: list[Any] = []
    n_pairs = n_tie = n_missing = 0
    for i, (a, b, choice) in enumerate(zip(texts_a, texts_b, choices, strict=True)):
        side = _longer_side(a, b, min_diff)
        if side is None:
            continue
        n_pairs += 1
        if choice is None:
            n_missing += 1
            continue
        if choice not in ("A", "B"):
            n_tie += 1
            continue
        hits.append(int(choice == side))
        kept.append(i if clusters is None else clusters[i])
    k, n = sum(hits), len(hits)
    if n == 0:
        rate = Estimate(value=NAN, lo=None, hi=None, n=0, method="none", confidence=confidence)
    else:
        used = None if clusters is None else kept
        lo, hi = _wilson(k / n, n / _design_effect(hits, used), _z(confidence))
        rate = Estimate(
            value=k / n,
            lo=lo,
            hi=hi,
            n=n,
            method="wilson",
            confidence=confidence,
            n_clusters=None if used is None else len(set(used)),
        )
    return LengthPreference(
        rate=rate, longer=k, n=n, n_pairs=n_pairs, n_tie=n_tie, n_missing=n_missing, min_diff=min_diff
    )


class LengthBias(BaseModel):
    """The judge's agreement with humans split by whether the human-preferred output is longer."""

    model_config = ConfigDict(extra="forbid")

    gap: Estimate
    """recall_longer − recall_shorter (Agresti–Caffo interval, cluster design effects)."""
    centre: float
    """The adjusted gap the interval and the tests are centred on (nan when undefined)."""
    se: float
    """Standard error of ``centre``."""
    p_value: float | None
    """Two-sided p-value of gap = 0 (None when undefined)."""
    lc_rate: Estimate
    """Length-controlled P(judge prefers longer) = ½·P(longer | humans longer) + ½·P(longer |
    humans shorter) (same interval method)."""
    recall_longer: float | None
    """P(judge picks the longer | humans prefer the longer)."""
    recall_shorter: float | None
    """P(judge picks the shorter | humans prefer the shorter)."""
    n_humans_longer: int
    """Pairs (lengths differ by more than ``min_diff``) where humans prefer the longer output."""
    n_humans_shorter: int
    """... where they prefer the shorter one."""
    n_judge_missing: int
    """Pairs left out because the judge's verdict is unparseable or missing."""
    min_diff: int


def _combine(
    groups: Sequence[tuple[float, Sequence[float], Sequence[Any] | None]], confidence: float
) -> tuple[Estimate, float, float]:
    """θ = Σ c·p over independent groups (coef, 0/1 hits, clusters): Agresti & Caffo's (2000)
    adjusted Wald interval (each p̃ = (x + 1)/(n + 2), variance p̃(1 − p̃)/(n + 2)) with each
    group's variance multiplied by its cluster design effect. Returns (estimate, centre, se)."""
    if not groups or any(len(h) == 0 for _, h, _ in groups):
        undefined = Estimate(value=NAN, lo=None, hi=None, n=0, method="none", confidence=confidence)
        return undefined, NAN, NAN
    value = centre = var = 0.0
    n = 0
    clustered = False
    for coef, hits, clusters in groups:
        x, m = float(sum(hits)), len(hits)
        n += m
        clustered = clustered or clusters is not None
        p = (x + 1) / (m + 2)
        value += coef * x / m
        centre += coef * p
        var += coef * coef * _design_effect(hits, clusters) * p * (1 - p) / (m + 2)
    se = math.sqrt(var)
    z = _z(confidence)
    est = Estimate(
        value=value,
        lo=max(-1.0, centre - z * se),
        hi=min(1.0, centre + z * se),
        n=n,
        method="adjusted_wald",
        confidence=confidence,
        n_clusters=len({c for _, _, cl in groups for c in (cl or ())}) if clustered else None,
    )
    return est, centre, se


def length_bias(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    choices: Sequence[Label | None],
    human: Sequence[Label | None],
    *,
    min_diff: int = 30,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> LengthBias:
    """The length-bias gap and the length-controlled rate (see the module docstring) over pairs
    whose lengths differ by more than ``min_diff`` and whose human choice is A or B.

    >>> a, b = ["x" * 100] * 4, ["y"] * 4  # A is always the longer output
    >>> lb = length_bias(a, b, ["A", "A", "A", "B"], ["A", "A", "B", "B"])
    >>> lb.recall_longer, lb.recall_shorter, lb.gap.value, lb.lc_rate.value
    (1.0, 0.5, 0.5, 0.75)
    """
    if not (len(texts_a) == len(texts_b) == len(choices) == len(human)):
        raise ValueError("texts_a, texts_b, choices and human need one value per pair")
    jl_hl: list[float] = []  # humans prefer the longer: did the judge pick it?
    js_hs: list[float] = []  # humans prefer the shorter: did the judge pick the shorter?
    jl_hs: list[float] = []  # humans prefer the shorter: did the judge pick the longer?
    cl_l: list[Any] = []
    cl_s: list[Any] = []
    missing = 0
    for i, (a, b, j, h) in enumerate(zip(texts_a, texts_b, choices, human, strict=True)):
        side = _longer_side(a, b, min_diff)
        if side is None or h not in ("A", "B"):
            continue
        if j is None:
            missing += 1
            continue
        unit = i if clusters is None else clusters[i]
        if h == side:
            jl_hl.append(float(j == side))
            cl_l.append(unit)
        else:
            js_hs.append(float(j == h))
            jl_hs.append(float(j == side))
            cl_s.append(unit)
    use_l = None if clusters is None else cl_l
    use_s = None if clusters is None else cl_s
    gap, centre, se = _combine([(1.0, jl_hl, use_l), (-1.0, js_hs, use_s)], confidence)
    lc, _, _ = _combine([(0.5, jl_hl, use_l), (0.5, jl_hs, use_s)], confidence)
    p = None if math.isnan(centre) else boundary_p(centre, se, 0.0, "abs")
    return LengthBias(
        gap=gap,
        centre=centre,
        se=se,
        p_value=p,
        lc_rate=lc,
        recall_longer=sum(jl_hl) / len(jl_hl) if jl_hl else None,
        recall_shorter=sum(js_hs) / len(js_hs) if js_hs else None,
        n_humans_longer=len(jl_hl),
        n_humans_shorter=len(js_hs),
        n_judge_missing=missing,
        min_diff=min_diff,
    )


def pair_texts(item: GoldItem) -> tuple[str, str]:
    """The item's ``output_a`` and ``output_b`` as the source had them: an input the importer
    replaced with its empty-text placeholder (listed in ``metadata.empty_inputs``) is ``""``."""
    empty = set(item.metadata.get("empty_inputs") or ())
    a = "" if "output_a" in empty else item.inputs["output_a"]
    b = "" if "output_b" in empty else item.inputs["output_b"]
    return a, b


def _clusters(items: Sequence[GoldItem]) -> list[str] | None:
    if any("prompt_id" in it.metadata for it in items):
        return [str(it.metadata.get("prompt_id", it.id)) for it in items]
    return None


def length_statistics(
    js: Any,
    judge: str | None = None,
    *,
    order: Literal["ab", "ba"] | None = None,
    min_diff: int = 30,
) -> tuple[LengthPreference, LengthBias | None]:
    """P(prefers longer) of an imported pairwise :class:`~judgecal.importers.JudgmentSet`: for the
    humans' majority (``judge`` None; no length bias then) or for one of its judges (with its
    length-bias gap against the human majority). Clusters: ``prompt_id`` metadata."""
    items = list(js.items)
    texts = [pair_texts(it) for it in items]
    a, b = [t[0] for t in texts], [t[1] for t in texts]
    gold = js.gold_labels()
    human = [gold[it.id] for it in items]
    clusters = _clusters(items)
    if judge is None:
        return prefers_longer(a, b, human, min_diff=min_diff, clusters=clusters), None
    verdicts = js.verdict_labels(judge, order=order)
    choices = [verdicts.get(it.id) for it in items]
    return (
        prefers_longer(a, b, choices, min_diff=min_diff, clusters=clusters),
        length_bias(a, b, choices, human, min_diff=min_diff, clusters=clusters),
    )
