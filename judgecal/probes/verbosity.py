"""P4/P5/P6, verbosity: does the judge reward length that adds nothing, or punish brevity?

**Binary and ordinal rubrics: padding (P4).** Every item's output gets three padded variants, each
at least 1.3× as long as the output (characters), containing it verbatim and adding no information
(:mod:`judgecal.probes._padding`): ``restatement`` (the user's question restated), ``filler``
(generic sentences) and ``repetitive_list`` (Zheng et al. 2023's repetitive-list attack: the
answer's own sentences again as a numbered summary). Each variant is paired with the original's
verdict (score s: the ordinal score, binary 1 = pass, 0 = fail).

- **Estimand, per padding kind**: the *raise rate* R = E[s_padded − s_original] / P(s_original
  below the top of the scale) — the share of outputs with room that padding raises, net of those
  it lowers (ordinal: levels gained per output with room). Noise that is symmetric between the
  two verdicts cancels in the numerator, so no resample floor (and no extra call) is needed; for
  a judge that raises a padded output one step with probability v whatever its accuracy (the
  simulator's ``verbosity_bias``), R = v exactly.
- **Interval** (:func:`raise_rate`): the linearised (delta-method) variance of the ratio, with
  the pairs' clusters (an item's variants share its original verdict) and two pseudo-pairs, one
  raised and one lowered, as in Bonett & Price's (2012) adjusted Wald interval for paired
  proportions, so that a judge that never moves gets an interval of positive width.
- **Test**: H0 "R ≤ T" one-sided at the boundary, p = P(Z ≥ (R̃ − T)/se); one
  :class:`~judgecal.probes.base.ProbeTest` per padding kind (Holm across them and the rest of
  the battery, :func:`~judgecal.probes.base.settle`); pass when every kind's 95% interval lies
  below T. The headline is the **pooled** raise rate over all (item, padding) pairs (clustered
  by item; reported, not gated).
- **Tolerance** ``max_padding_raise`` T = 0.20: the padding rule of the judge-bias catalogue is
  "failure rate ≤ 10% with upper bound ≤ 20%"; pass here means the whole interval is below the
  tolerance, so the tolerance is that bound (Zheng et al. 2023: GPT-4 fails the repetitive-list
  attack 8.7% of the time, Claude-v1 and GPT-3.5 91.3%). At 0.10 a 92%-accurate judge without
  any length bias would pass on 280 items in only about a fifth of runs (its interval is about
  ±0.09 wide).

**Concision (P5).** For gold-PASS items with a concise variant (the gold set's
``metadata.concise_output``, or the output without its whole-sentence pleasantries): the
**concision penalty** = P(original passes) − P(concise passes) = (b − c)/n, b = original passed
and concise failed; Bonett–Price interval (:func:`~judgecal.probes._stats.paired_difference`);
H0 "penalty ≤ ``max_concision_penalty``" (0.10). It gates when the variants are enough for an
ideal judge to pass it (≥ 26 at T = 0.10), else it is reported beside the padding tests. The
earlier rule was "penalty ≤ 0.05 with upper bound ≤ 0.10"; pass now means the whole interval is
below the tolerance, so the tolerance is the old bound, 0.10 (at 0.05 an unbiased judge of
accuracy 0.92 would need about 230 concise variants to pass).

**Pairwise rubrics (P6), no new calls: the verdicts on the gold pairs.**

- **P(prefers longer)** (AlpacaEval's ``get_length_biases``; Dubois et al. 2024) = among pairs
  whose outputs differ in length by more than ``min_length_diff`` (30) characters and whose choice
  is A or B, the share that chose the longer output; for the judge and for the humans' majority
  (:func:`prefers_longer`); Wilson interval on the cluster-effective sample size (``prompt_id``).
- **Length-bias gap** (the gated test; the equal-opportunity form of Wataoka et al. 2024 applied
  to length, :func:`length_bias`) = P(judge picks the longer | humans prefer the longer) −
  P(judge picks the shorter | humans prefer the shorter), over pairs differing by more than 30
  characters with a human preference (a judge tie is a miss). 0 for a judge without length bias
  whatever its accuracy; v for the simulator's ``verbosity_bias`` v. Interval: Agresti & Caffo's
  (2000) adjusted Wald interval for two independent proportions, each group's variance
  multiplied by its cluster design effect; H0 "|gap| ≤ ``max_length_gap``" (0.10) at the
  boundary. Also reported: the **length-controlled P(prefers longer)** = ½·P(longer | humans
  longer) + ½·P(longer | humans shorter), and P6's flag (judge P(longer) − human P(longer) > 0.05).

**Cost.** Binary/ordinal: the originals (usually cached from the grading run) plus 3 padded
variants per item plus one concise variant per eligible gold-PASS item — 4 prompts per item at
most (the resample floor of earlier versions cost 3 more). Pairwise: the gold pairs only.
:meth:`VerbosityProbe.plan` states the calls and whether an ideal judge could pass before any
call: padding needs ≥ 26 items below the top of the scale at T = 0.10 (≥ 12 at the default 0.20).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.judge import ItemVerdict
from judgecal.probes._padding import (
    FILLER,
    MIN_PAD_RATIO,
    PADDINGS,
    Padding,
    concise_text,
    concise_variants,
    pad,
    padded_variants,
    sentences,
)
from judgecal.probes._stats import boundary_p, fmt, paired_difference
from judgecal.probes.base import ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.rubric import Rubric

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FILLER",
    "MIN_PAD_RATIO",
    "PADDINGS",
    "LengthBias",
    "LengthPreference",
    "Padding",
    "RaiseRate",
    "VerbosityProbe",
    "concise_text",
    "concise_variants",
    "length_bias",
    "length_statistics",
    "pad",
    "padded_variants",
    "pair_texts",
    "prefers_longer",
    "raise_rate",
    "sentences",
]

NAN = float("nan")
Label = str | int

DEFAULT_THRESHOLDS: dict[str, float] = {
    "max_padding_raise": 0.20,
    "max_concision_penalty": 0.10,
    "max_length_gap": 0.10,
    "min_length_diff": 30,
}
"""Tolerances: raise rate per padding kind ≤ 0.20, concision penalty ≤ 0.10, |length-bias gap| ≤
0.10; pairs count for the length statistics when their lengths differ by more than 30 characters."""

POOLED = "padding (pooled)"
"""The name of the pooled padding test (the headline, reported beside the gated per-kind tests)."""
CONCISION = "concision penalty"
LENGTH_GAP = "length-bias gap"


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


# --------------------------------------------------------------------------------------------
# The probe


def _score(rubric: Rubric, iv: ItemVerdict) -> float:
    if rubric.scale.kind == "ordinal":
        return float(iv.label)  # type: ignore[arg-type]
    return 1.0 if iv.passed else 0.0


def _top(rubric: Rubric) -> float:
    labels = rubric.scale.labels
    return float(max(int(x) for x in labels)) if rubric.scale.kind == "ordinal" else 1.0


def _ok(iv: ItemVerdict | None) -> bool:
    return iv is not None and iv.status == "ok" and iv.label is not None


def _below_top(rubric: Rubric, item: GoldItem) -> bool:
    human = item.majority()
    if human is None:
        return False
    if rubric.scale.kind == "ordinal":
        return float(human) < _top(rubric)
    return rubric.scale.passed(human) is False


def _concision_gated(n_concise: int, tolerance: float) -> bool:
    """Whether an ideal judge could pass the concision test with ``n_concise`` variants (the
    Bonett–Price interval with b = c = 0 is ±z·√2/(n + 2))."""
    return n_concise > 0 and _ideal_upper(n_concise) <= tolerance


def _negated(est: Estimate) -> Estimate:
    return est.model_copy(
        update={
            "value": -est.value,
            "lo": None if est.hi is None else -est.hi,
            "hi": None if est.lo is None else -est.lo,
        }
    )


def _pairwise_counts(items: Sequence[GoldItem], min_diff: int) -> tuple[int, int]:
    """Pairs (lengths differ by more than ``min_diff``) whose human majority prefers the longer /
    the shorter output."""
    n_l = n_s = 0
    for it in items:
        a, b = pair_texts(it)
        side, h = _longer_side(a, b, min_diff), it.majority()
        if side is None or h not in ("A", "B"):
            continue
        n_l += h == side
        n_s += h != side
    return n_l, n_s


def _ideal_gap(n_l: int, n_s: int) -> tuple[float, float]:
    """The interval of :func:`length_bias`'s gap for a judge that always agrees with humans."""
    if not (n_l and n_s):
        return NAN, NAN
    est, _, _ = _combine([(1.0, [1.0] * n_l, None), (-1.0, [1.0] * n_s, None)], 0.95)
    return est.lo or NAN, est.hi or NAN


class VerbosityProbe:
    """P4/P5 (binary/ordinal: padding and concision) and P6 (pairwise: length preference)."""

    name = "verbosity"
    description = "Verbosity: padding without information, concision, and preference for the longer output"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not items:
            return "no gold items in the split"
        if rubric.scale.kind == "pairwise":
            if not any(it.majority() is not None for it in items):
                return "no human labels to compare the judge's length preference with"
            return None
        if not any(it.inputs.get("output") for it in items):
            return "no item has an output to pad"
        return None

    def plan(self, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        """The prompts the probe sends (per sample; originals usually come from the store) and
        whether a judge without bias and without noise could pass."""
        t = {**DEFAULT_THRESHOLDS, **thresholds}
        if rubric.scale.kind == "pairwise":
            return self._plan_pairwise(items, t)
        tol = t["max_padding_raise"]
        with_output = [it for it in items if it.inputs.get("output")]
        n_items = len(with_output)
        room = sum(_below_top(rubric, it) for it in with_output)
        n_concise = len(concise_variants(rubric, with_output))
        calls = n_items * (1 + len(PADDINGS)) + n_concise
        need = _min_room(tol)
        passable = room >= need
        gated = len(PADDINGS) + int(_concision_gated(n_concise, t["max_concision_penalty"]))

        def se_at(v: float) -> float:  # a noise-free judge raising a padded output with P(v)
            return math.sqrt(v * (1 - v) * room + 2.0) / (room + 2.0)

        mde = _mde(tol, se_at, gated, 0.05) if room else None
        share = room / n_items if n_items else 0.0
        min_items = None if passable or share == 0 else math.ceil(need / share)
        concision = (
            f"; {n_concise} concise variants ({'gated' if gated > len(PADDINGS) else 'reported only'})"
            if n_concise
            else ""
        )
        reason = (
            f"{n_items} originals + {len(PADDINGS) * n_items} padded variants{concision}; {room} items below "
            f"the top of the scale, {need} needed for an interval below the {fmt(tol)} tolerance"
            + ("" if mde is None else f"; a raise rate of {fmt(mde, 2)} fails with 80% power")
        )
        return ProbePlan(
            calls=calls,
            cases=len(PADDINGS) * n_items,
            passable=passable,
            min_cases=None if passable else need,
            min_items=min_items,
            mde=mde,
            reason=reason,
        )

    def _plan_pairwise(self, items: Sequence[GoldItem], t: dict[str, float]) -> ProbePlan:
        tol = t["max_length_gap"]
        n_l, n_s = _pairwise_counts(items, int(t["min_length_diff"]))
        lo, hi = _ideal_gap(n_l, n_s)
        passable = bool(n_l and n_s) and -tol <= lo and hi <= tol
        need = next(m for m in range(1, 10_000) if _ideal_gap(m, m)[1] <= tol)
        smaller = min(n_l, n_s)
        share = smaller / len(items) if items else 0.0
        min_items = None if passable or share == 0 else math.ceil(need / share)

        def se_at(v: float) -> float:  # noise-free: recall 1 when humans prefer the longer, 1 − v not
            return math.sqrt(
                (n_l + 1) / (n_l + 2) ** 3 + ((1 - v) * n_s + 1) * (v * n_s + 1) / (n_s + 2) ** 3
            )

        mde = _mde(tol, se_at, 1, 0.05 / 2) if n_l and n_s else None
        reason = (
            f"{len(items)} gold pairs graded once; {n_l} with the longer output preferred by humans and "
            f"{n_s} with the shorter, {need} of each needed for an interval within ±{fmt(tol)}"
            + ("" if mde is None else f"; a gap of {fmt(mde, 2)} fails with 80% power")
        )
        return ProbePlan(
            calls=len(items),
            cases=n_l + n_s,
            passable=passable,
            min_cases=None if passable else 2 * need,
            min_items=min_items,
            mde=mde,
            reason=reason,
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        if ctx.rubric.scale.kind == "pairwise":
            result = await self._run_pairwise(ctx)
        else:
            result = await self._run_pointwise(ctx)
        return settle([result], alpha=ctx.alpha)[0]

    async def _run_pointwise(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        ordinal = rubric.scale.kind == "ordinal"
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        tol, tol_c = t["max_padding_raise"], t["max_concision_penalty"]
        items = [it for it in ctx.items if it.inputs.get("output")]
        padded = padded_variants(items)
        concise = concise_variants(rubric, items)
        before = await ctx.grade(items, label="verbosity-original")
        after = await ctx.grade([v for _, v, _ in padded] + [v for _, v, _ in concise], label="verbosity")
        before_by = {iv.item_id: iv for iv in before.items}
        after_by = {iv.item_id: iv for iv in after.items}
        top = _top(rubric)

        scores: dict[str, tuple[list[float], list[float], list[str]]] = {k: ([], [], []) for k in PADDINGS}
        unusable = 0
        for original, variant, kind in padded:
            b, a = before_by.get(original.id), after_by.get(variant.id)
            if not (_ok(b) and _ok(a)):
                unusable += 1
                continue
            assert b is not None and a is not None
            s_b, s_a, ids = scores[kind]
            s_b.append(_score(rubric, b))
            s_a.append(_score(rubric, a))
            ids.append(original.id)

        tests: list[ProbeTest] = []
        kinds: dict[str, Any] = {}
        for kind in PADDINGS:
            rr = raise_rate(scores[kind][0], scores[kind][1], top=top)
            p = boundary_p(rr.centre, rr.se, tol, "max")
            tests.append(
                ProbeTest(name=kind, estimate=rr.estimate, tolerance=tol, direction="max", p_value=p)
            )
            kinds[kind] = rr.model_dump(mode="json")
        all_b = [x for k in PADDINGS for x in scores[k][0]]
        all_a = [x for k in PADDINGS for x in scores[k][1]]
        all_ids = [x for k in PADDINGS for x in scores[k][2]]
        pooled = raise_rate(all_b, all_a, top=top, clusters=all_ids)
        tests.append(
            ProbeTest(
                name=POOLED,
                estimate=pooled.estimate,
                tolerance=tol,
                direction="max",
                p_value=boundary_p(pooled.centre, pooled.se, tol, "max"),
                gated=False,
            )
        )

        # concision: gold-PASS items with an equivalent shorter answer
        conc_before: list[bool] = []
        conc_after: list[bool] = []
        conc_diffs: list[float] = []
        for original, variant, _ in concise:
            b, a = before_by.get(original.id), after_by.get(variant.id)
            if not (_ok(b) and _ok(a)):
                continue
            assert b is not None and a is not None
            conc_before.append(bool(b.passed))
            conc_after.append(bool(a.passed))
            conc_diffs.append(_score(rubric, a) - _score(rubric, b))
        concision: dict[str, Any] | None = None
        if concise:
            est, se, counts = paired_difference(conc_before, conc_after)
            penalty = _negated(est)
            gated = _concision_gated(len(concise), tol_c)
            p_c = boundary_p(-counts["centre"], se, tol_c, "max")
            tests.append(
                ProbeTest(
                    name=CONCISION,
                    estimate=penalty,
                    tolerance=tol_c,
                    direction="max",
                    p_value=p_c,
                    gated=gated,
                )
            )
            concision = {
                "penalty": penalty.model_dump(mode="json"),
                "gated": gated,
                "pass_to_fail": counts["b"],
                "fail_to_pass": counts["c"],
                "n": counts["n"],
                "sources": sorted({s for _, _, s in concise}),
                "mean_score_change": (sum(conc_diffs) / len(conc_diffs)) if ordinal and conc_diffs else None,
            }

        unit = "level" if ordinal else "verdict"
        per_kind = "; ".join(
            f"{kind} {fmt(test.estimate.value)} [{fmt(test.estimate.lo)}, {fmt(test.estimate.hi)}]"
            for kind, test in zip(PADDINGS, tests, strict=False)
        )
        gating = "gated" if concision and concision["gated"] else "too few to gate, reported"
        conc_text = (
            f"; concision penalty {fmt(penalty.value)} [{fmt(penalty.lo)}, {fmt(penalty.hi)}] on "
            f"{concision['n']} gold-PASS items ({gating})"
            if concision
            else "; no concise variant (no metadata.concise_output, no droppable pleasantry)"
        )
        reason = (
            f"padding raised the {unit} on {pooled.raised} and lowered it on {pooled.lowered} of "
            f"{pooled.estimate.n} (item, padding) pairs, {pooled.n_room} of them below the top: pooled "
            f"raise rate {fmt(pooled.estimate.value)} (95% CI {fmt(pooled.estimate.lo)} to "
            f"{fmt(pooled.estimate.hi)}); per padding, against ≤ {fmt(tol)}: {per_kind}{conc_text}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=(
                "padding raise rate: (Σ score change padded − original) / #(originals below the top),"
                " pooled over the three paddings"
            ),
            estimate=pooled.estimate,
            headline_limit="max_padding_raise",
            threshold={"max_padding_raise": tol, **({"max_concision_penalty": tol_c} if concision else {})},
            alpha=ctx.alpha,
            p_value=boundary_p(pooled.centre, pooled.se, tol, "max"),
            tests=tests,
            reason=reason,
            n=pooled.estimate.n,
            details={
                "mode": "padding",
                "pooled": pooled.model_dump(mode="json"),
                "paddings": kinds,
                "concision": concision,
                "unparseable_pairs": unusable,
                "min_pad_ratio": MIN_PAD_RATIO,
                "run_ids": [before.run_id, after.run_id],
            },
        )

    async def _run_pairwise(self, ctx: ProbeContext) -> ProbeResult:
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        tol = t["max_length_gap"]
        min_diff = int(t["min_length_diff"])
        items = list(ctx.items)
        run = await ctx.grade(items, label="verbosity")
        by_id = {iv.item_id: iv for iv in run.items}
        texts = [pair_texts(it) for it in items]
        a, b = [x[0] for x in texts], [x[1] for x in texts]
        judge = [by_id[it.id].label if _ok(by_id.get(it.id)) else None for it in items]
        human = [it.majority() for it in items]
        clusters = _clusters(items)
        judge_rate = prefers_longer(a, b, judge, min_diff=min_diff, clusters=clusters)
        human_rate = prefers_longer(a, b, human, min_diff=min_diff, clusters=clusters)
        bias = length_bias(a, b, judge, human, min_diff=min_diff, clusters=clusters)
        gap = bias.gap
        test = ProbeTest(
            name=LENGTH_GAP,
            estimate=gap,
            tolerance=tol,
            direction="abs",
            p_value=boundary_p(bias.centre, bias.se, tol, "abs"),
        )
        excess = judge_rate.rate.value - human_rate.rate.value
        reason = (
            f"the judge picked the longer output in {judge_rate.longer} of {judge_rate.n} pairs differing by "
            f">{min_diff} characters (P {fmt(judge_rate.rate.value)}) vs humans {human_rate.longer} of "
            f"{human_rate.n} (P {fmt(human_rate.rate.value)}); agreement when humans prefer the longer "
            f"{fmt(bias.recall_longer)} (n={bias.n_humans_longer}) vs the shorter {fmt(bias.recall_shorter)} "
            f"(n={bias.n_humans_shorter}): gap {fmt(gap.value)} (95% CI {fmt(gap.lo)} to {fmt(gap.hi)}, "
            f"tolerance ±{fmt(tol)}), length-controlled P(longer) {fmt(bias.lc_rate.value)}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=(
                "length-bias gap: P(judge picks longer | humans prefer longer) − P(judge picks shorter |"
                " humans prefer shorter)"
            ),
            estimate=gap,
            headline_limit="max_length_gap",
            threshold={"max_length_gap": tol},
            alpha=ctx.alpha,
            p_value=test.p_value,
            tests=[test],
            reason=reason,
            n=gap.n,
            details={
                "mode": "pairwise_length",
                "judge_prefers_longer": judge_rate.model_dump(mode="json"),
                "human_prefers_longer": human_rate.model_dump(mode="json"),
                "excess_over_humans": None if math.isnan(excess) else excess,
                "p6_flag": bool(excess > 0.05) if not math.isnan(excess) else None,
                "length_bias": bias.model_dump(mode="json"),
                "run_id": run.run_id,
            },
        )
