"""P7, self-preference (human-anchored): does the judge favour outputs of its own model family
more than the humans do?

The judge's family is ``ctx.judge_family`` (``--family``, or inferred from the model string by
:func:`judgecal.probes.base.infer_family`); the data's families are the gold items' metadata
``generator_family`` (binary/ordinal) or ``generator_family_a`` / ``generator_family_b`` (pairwise),
compared case-insensitively. When the judge's family is unknown (a ``sim/...`` or local model
string names none) the probe is *not applicable* and says to pass ``--family``.

**Pairwise: Wataoka et al. (2024, Def. 4.1, equal opportunity), both orders, length-controlled.**
Over pairs where exactly one side is the judge's family (S) and the human majority prefers A or B
(Y; ties and unlabelled pairs left out), every pair is judged in both presentation orders (the
``ab`` verdicts are those of a plain grading run; ``ba`` are the position probe's swapped
prompts, so both come from the store when those ran). Each order's valid verdict is one trial,
a hit when it picks Y (a judge ``tie`` is a miss; an unparseable verdict is left out and
counted). The pairs are split by which side is longer (characters): *own longer* and *own
shorter* (equal lengths are left out and counted). Within a stratum ``s``:

    bias_s = recall(S | Y = S) − recall(other | Y ≠ S)

and the headline is their unweighted mean ``bias = ½·(bias_longer + bias_shorter)``.

Why both: a judge that picks the first slot with probability p (whatever the pair) picks each
side p/2 of the time over the two orders, the same whichever side is its own, so position bias
adds nothing to either recall gap. A judge that picks the longer output with probability v adds
+v to ``bias_longer`` (there the longer output *is* its own) and −v to ``bias_shorter``: the mean
cancels it exactly, whatever the share of own-longer pairs. With self-preference s (the judge
switches to its own side with probability s) each ``bias_s`` is s, and so is the headline
(times 1 − p when a first-slot habit overrides some verdicts afterwards). The old single-order,
unstratified form showed a large "self-preference" for a judge with only one of those habits.

**Binary and ordinal: average odds gap.** Per item the judge's verdict passes or not; humans'
majority passes or fails (ordinal: score ≥ the pass threshold). Over items whose family is known
and whose human majority exists, with TPR = P(judge pass | human pass) and FPR = P(judge pass |
human fail) within own-family and other-family items:

    bias = ½·[(TPR_own − TPR_other) + (FPR_own − FPR_other)]

the *average odds difference* of the fairness literature (Hardt, Price & Srebro 2016): how much
more often the judge passes an own-family output than an other-family output of the same human
label, averaged over the two labels. The equal-opportunity part alone (the TPR gap) is in
``details`` with the FPR gap: a judge that passes good answers anyway can only show
self-preference on failing ones, which the TPR gap cannot see. The verdicts are those of a plain
grading run (reused from the store). A judge that raises an own-family verdict to pass with
probability s has an average odds gap of s/2 (TPR gap (1 − a)·s, FPR gap a·s at accuracy a).

**Interval.** Each proportion gets a Wilson interval on its effective sample size (trials over
the cluster design effect, clusters = the pair or item, or metadata ``prompt_id`` when present,
floored at 1), combined by MOVER (Newcombe 1998, method 10; Zou & Donner 2008) —
:func:`combine_proportions`. A percentile bootstrap covered the Wataoka bias in only 91% of 200
simulated runs (a recall of exactly 1 has no bootstrap spread); MOVER with plain Wilson limits
covers at about the nominal level (see docs/probes.md for the measured figures).

**Test.** One :class:`~judgecal.probes.base.ProbeTest`, ``|bias| ≤ T`` with ``T =
max_abs_bias`` (0.15): *pass* when the 95% interval lies inside ±T, *fail* when the Holm-adjusted
p-value of "|bias| ≤ T" is below α (for the probe alone: the 95% interval lies wholly beyond
±T), else *inconclusive*. ``p_value`` is the α at which the (1 − α) MOVER interval has ±T as its
near end (1 when |bias| ≤ T). A reverse bias (the judge disfavours its own family) is unfair too.

Why T = 0.15 (the literature's point limit is 0.10 with an interval bound of 0.20, Wataoka et
al. report 0.520 for GPT-4): a pass needs the *interval* inside ±T. With 30 own-family items per
human class and 110 other-family ones, the average-odds interval of a judge right 92% of the time
is about ±0.09 wide, so at T = 0.10 it would pass only when its point estimate were within ±0.01
of zero; at T = 0.15 it passes most of the time, and the rule still fails a judge whose
self-preference (s = 0.6, gap 0.3) is large.

**Plan.** Before any call the probe counts its groups (own/other × human pass/fail; pairwise:
own-longer/own-shorter × humans prefer own/other) and computes the interval of an *ideal* judge
(every verdict right) on them; when that interval cannot lie inside ±T the probe is
*underpowered* ("needs ≥ N items") and makes no call. The runner's plan is asked without the
judge's family, so the probe checks again, with the family, when it runs. Calls: one per item
(binary/ordinal, from the grading run) or two per pair with an own-family side (both orders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.probes._stats import fmt
from judgecal.probes.base import ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.rubric import Rubric

__all__ = [
    "SelfPair",
    "SelfPreferenceProbe",
    "SelfPreferenceStatistics",
    "Term",
    "average_odds_gap",
    "combine_proportions",
    "wataoka_bias",
]

NAN = float("nan")
FloatArray = npt.NDArray[np.float64]
Label = str | int

DEFAULT_THRESHOLDS: dict[str, float] = {"max_abs_bias": 0.15}
TEST_NAME = "self-preference bias"
"""The name of the probe's one gated test (and of its headline estimate)."""


# --------------------------------------------------------------------------------------------
# Linear combinations of proportions: MOVER with Wilson limits


def _wilson(p: float, n: float, z: float, continuity: bool = True) -> tuple[float, float]:
    """Wilson score interval for a rate p over n (possibly effective, non-integer) trials, with
    continuity correction (Newcombe 1998, method 4) or without (method 3)."""
    if n <= 0 or not math.isfinite(p):
        return NAN, NAN
    z2 = z * z
    if not continuity:
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)
    denom = 2 * (n + z2)
    lo = 0.0
    if p > 0:
        root = math.sqrt(max(0.0, z2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1)))
        lo = max(0.0, (2 * n * p + z2 - 1 - z * root) / denom)
    hi = 1.0
    if p < 1:
        root = math.sqrt(max(0.0, z2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1)))
        hi = min(1.0, (2 * n * p + z2 + 1 + z * root) / denom)
    return lo, hi


def _design_effect(hits: FloatArray, trials: FloatArray, codes: npt.NDArray[np.int64] | None) -> float:
    """Cluster-robust variance of the ratio Σhits/Σtrials over its binomial variance, floored
    at 1 (1 without clusters, with one cluster, or at p = 0 or 1)."""
    n = float(trials.sum())
    if codes is None or n == 0:
        return 1.0
    p = float(hits.sum()) / n
    if p <= 0.0 or p >= 1.0:
        return 1.0
    y_g = np.bincount(codes, weights=hits)
    m_g = np.bincount(codes, weights=trials)
    used = m_g > 0
    g = int(used.sum())
    if g < 2:
        return 1.0
    var = g / (g - 1) * float(((y_g[used] - p * m_g[used]) ** 2).sum()) / n**2
    return max(1.0, var / (p * (1 - p) / n))


class Term(BaseModel):
    """One proportion of a linear combination: Σhits / Σtrials with its Wilson interval."""

    model_config = ConfigDict(extra="forbid")

    coef: float
    value: float | None
    lo: float | None
    hi: float | None
    n: int
    """Trials (the proportion's denominator)."""
    n_eff: float | None
    """Effective trials after the cluster design effect."""


def combine_proportions(
    terms: Sequence[tuple[float, Sequence[float], Sequence[float]]],
    *,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
    continuity: bool = True,
    boundary: float = 0.0,
) -> tuple[Estimate, float | None, list[Term]]:
    """θ = Σ cᵢ·pᵢ for proportions pᵢ = Σhitsᵢ/Σtrialsᵢ over the same units, with a MOVER interval
    (Newcombe 1998, methods 10 and 11; Zou & Donner 2008) and the p-value of |θ| ≤ ``boundary``.

    Each term is ``(coef, hits, trials)`` with one value per unit (``trials`` marks the units the
    proportion is over; a unit may bring several trials). Each pᵢ gets a Wilson interval (lᵢ, uᵢ)
    — continuity-corrected (``continuity``, the conservative choice, as Clopper–Pearson is for
    one rate) or plain — on its effective sample size n/deff, deff the cluster design effect
    when ``clusters`` are given (Korn–Graubard style; floored at 1), and
    ``[θ − √Σ(cᵢpᵢ − min(cᵢlᵢ, cᵢuᵢ))², θ + √Σ(max(cᵢlᵢ, cᵢuᵢ) − cᵢpᵢ)²]``. The terms are treated
    as independent (exact when they are over disjoint units, as recalls in two groups are).
    Unlike a percentile bootstrap it keeps its coverage with a few dozen units and at
    proportions of 0 or 1.

    The p-value is the α at which the (1 − α) interval has ±``boundary`` as its near end (by
    bisection): with ``boundary`` 0 the usual p-value of θ = 0; with a tolerance T > 0 the
    p-value of "|θ| ≤ T" (1 when |θ̂| ≤ T), small when the interval lies wholly beyond ±T.
    None when θ is undefined (an empty group).

    Newcombe's (1998) worked example, 56/70 − 48/80 (his method 11: 0.0428 to 0.3422; method 10:
    0.0524 to 0.3339):

    >>> hits_a, trials_a = [1] * 56 + [0] * 94, [1] * 70 + [0] * 80
    >>> hits_b, trials_b = [0] * 70 + [1] * 48 + [0] * 32, [0] * 70 + [1] * 80
    >>> est, p, _ = combine_proportions([(1, hits_a, trials_a), (-1, hits_b, trials_b)])
    >>> round(est.value, 4), round(est.lo, 4), round(est.hi, 4), round(p, 4)
    (0.2, 0.0428, 0.3422, 0.0117)
    >>> est, p, _ = combine_proportions([(1, hits_a, trials_a), (-1, hits_b, trials_b)], continuity=False)
    >>> round(est.lo, 4), round(est.hi, 4)
    (0.0524, 0.3339)
    >>> _, p_tol, _ = combine_proportions(
    ...     [(1, hits_a, trials_a), (-1, hits_b, trials_b)], continuity=False, boundary=0.05)
    >>> round(p_tol, 3)  # below 0.05: the 95% interval (lower end 0.0524) lies wholly above 0.05
    0.046
    """
    from statistics import NormalDist  # noqa: PLC0415

    codes: npt.NDArray[np.int64] | None = None
    size = len(terms[0][1]) if terms else 0
    if clusters is not None:
        if len(clusters) != size:
            raise ValueError(f"need one cluster per unit: {len(clusters)} clusters for {size} units")
        index: dict[Any, int] = {}
        codes = np.fromiter((index.setdefault(c, len(index)) for c in clusters), dtype=np.int64, count=size)
    parts: list[tuple[float, float, float]] = []  # (coef, p, n_eff)
    for coef, hits, trials in terms:
        y, m = np.asarray(hits, dtype=np.float64), np.asarray(trials, dtype=np.float64)
        if y.size != size or m.size != size:
            raise ValueError("every term needs one hit and one trial value per unit")
        n = float(m.sum())
        p = float(y.sum()) / n if n > 0 else NAN
        parts.append((float(coef), p, n / _design_effect(y, m, codes) if n > 0 else 0.0))

    def interval(z: float) -> tuple[float, float]:
        down = up = 0.0
        for coef, p, n_eff in parts:
            lo, hi = _wilson(p, n_eff, z, continuity)
            a, b = sorted((coef * lo, coef * hi))
            down += (coef * p - a) ** 2
            up += (b - coef * p) ** 2
        return theta - math.sqrt(down), theta + math.sqrt(up)

    theta = sum(c * p for c, p, _ in parts) if parts else NAN
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n_units = (
        int(np.count_nonzero(np.any([np.asarray(t[2], dtype=bool) for t in terms], axis=0))) if terms else 0
    )
    n_clusters = None if codes is None else len(set(clusters or ()))
    method: Literal["wilson", "mover"] = "wilson" if continuity else "mover"
    p_value: float | None = None
    if math.isfinite(theta):
        lo, hi = interval(z)
        est = Estimate(
            value=theta,
            lo=lo,
            hi=hi,
            n=n_units,
            confidence=confidence,
            method=method,
            n_clusters=n_clusters,
        )
        bound = abs(boundary)
        if abs(theta) <= bound:
            p_value = 1.0
        else:
            edge = bound if theta > 0 else -bound

            def reaches(alpha: float) -> bool:  # the (1 − α) interval still reaches the boundary
                lo_a, hi_a = interval(NormalDist().inv_cdf(1 - alpha / 2))
                return lo_a <= edge if theta > 0 else hi_a >= edge

            if not reaches(1e-15):
                p_value = 0.0
            else:
                a_lo, a_hi = 1e-15, 1.0
                for _ in range(60):
                    mid = math.sqrt(a_lo * a_hi)
                    if reaches(mid):
                        a_lo = mid
                    else:
                        a_hi = mid
                p_value = a_hi
    else:
        est = Estimate(value=NAN, lo=None, hi=None, n=n_units, confidence=confidence, method=method)
    out_terms = []
    for (coef, p, n_eff), (_, _, trials) in zip(parts, terms, strict=True):
        lo, hi = _wilson(p, n_eff, z, continuity)
        out_terms.append(
            Term(
                coef=coef,
                value=_finite(p),
                lo=_finite(lo),
                hi=_finite(hi),
                n=int(np.asarray(trials, dtype=np.float64).sum()),
                n_eff=n_eff if n_eff > 0 else None,
            )
        )
    return est, p_value, out_terms


# --------------------------------------------------------------------------------------------
# Statistics


class SelfPreferenceStatistics(BaseModel):
    """The self-preference bias and its parts (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    """``wataoka`` (pairwise) or ``average_odds`` (binary/ordinal)."""
    bias: Estimate
    """The headline bias with its MOVER interval (Wilson limits)."""
    tolerance: float = 0.0
    """The T of the test "|bias| ≤ T" that ``p_value`` is for (0: the test of no bias)."""
    p_value: float | None
    """p-value of "|bias| ≤ tolerance" (the α at which the interval's near end is ±T)."""
    parts: dict[str, float | None]
    """The recalls by stratum (pairwise) or TPR/FPR by group and their gaps (binary/ordinal)."""
    counts: dict[str, int]
    """Group sizes and exclusions."""


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else NAN


@dataclass(frozen=True)
class SelfPair:
    """One pair with exactly one own-family side, as the pairwise statistic needs it."""

    own_side: str
    """``"A"`` or ``"B"``: the judge-family side."""
    human: Label | None
    """The human majority (``A``, ``B``; a tie or None leaves the pair out)."""
    verdicts: tuple[Label | None, ...]
    """The judge's verdict in each order judged, in the item's own terms (``A`` = output_a
    whatever the order; None = unparseable)."""
    own_longer: bool | None = None
    """Whether the own-family output is the longer one (None: equal lengths, or not known)."""
    cluster: Any = None
    """Cluster for the design effect (the pair itself when None)."""


_STRATA = {True: "own_longer", False: "own_shorter"}


def wataoka_bias(
    pairs: Sequence[SelfPair],
    *,
    length_control: bool = True,
    confidence: float = 0.95,
    tolerance: float = 0.0,
    continuity: bool = False,
) -> SelfPreferenceStatistics:
    """Wataoka's self-preference bias, recall(own | humans prefer own) − recall(other | humans
    prefer other), with every order's valid verdict one trial of its pair; with
    ``length_control`` the unweighted mean of that gap within own-longer and own-shorter pairs
    (pairs of equal length left out), else over all pairs.

    A judge that always picks the longer output (no self-preference): +1 among own-longer pairs,
    −1 among own-shorter ones, 0 after length control; without it the one extra own-longer pair
    shows as self-preference:

    >>> pairs = [SelfPair("A", "A", ("A", "A"), True), SelfPair("A", "B", ("A", "A"), True),
    ...          SelfPair("A", "A", ("B", "B"), False), SelfPair("A", "B", ("B", "B"), False),
    ...          SelfPair("B", "B", ("B", "B"), True)]
    >>> s = wataoka_bias(pairs)
    >>> s.bias.value, s.parts["bias_own_longer"], s.parts["bias_own_shorter"]
    (0.0, 1.0, -1.0)
    >>> round(wataoka_bias(pairs, length_control=False).bias.value, 3)
    0.167
    """
    strata = ("own_longer", "own_shorter") if length_control else ("all",)
    keys = [(s, g) for s in strata for g in ("own", "other")]
    cols: dict[tuple[str, str], tuple[list[float], list[float]]] = {k: ([], []) for k in keys}
    clusters: list[Any] = []
    human_tie = equal_length = unparseable = 0
    for i, pair in enumerate(pairs):
        if pair.own_side not in ("A", "B"):
            raise ValueError(f"pairs[{i}].own_side must be 'A' or 'B', not {pair.own_side!r}")
        if pair.human not in ("A", "B"):
            human_tie += 1
            continue
        if length_control and pair.own_longer is None:
            equal_length += 1
            continue
        valid = [v for v in pair.verdicts if v is not None]
        unparseable += len(pair.verdicts) - len(valid)
        if not valid:
            continue
        stratum = _STRATA[bool(pair.own_longer)] if length_control else "all"
        group = "own" if pair.human == pair.own_side else "other"
        hits = float(sum(v == pair.human for v in valid))
        for key in keys:
            mine = key == (stratum, group)
            cols[key][0].append(hits if mine else 0.0)
            cols[key][1].append(float(len(valid)) if mine else 0.0)
        clusters.append(i if pair.cluster is None else pair.cluster)

    weight = 1.0 / len(strata)
    terms = [(weight if g == "own" else -weight, cols[(s, g)][0], cols[(s, g)][1]) for s, g in keys]
    est, p, _ = combine_proportions(
        terms, clusters=clusters, confidence=confidence, continuity=continuity, boundary=tolerance
    )
    parts: dict[str, float] = {}
    counts: dict[str, int] = {}
    for s in strata:
        tag = "" if s == "all" else f"_{s}"
        r_own = _ratio(sum(cols[(s, "own")][0]), sum(cols[(s, "own")][1]))
        r_other = _ratio(sum(cols[(s, "other")][0]), sum(cols[(s, "other")][1]))
        parts[f"recall_own{tag}"] = r_own
        parts[f"recall_other{tag}"] = r_other
        if tag:
            parts[f"bias{tag}"] = r_own - r_other
        counts[f"humans_prefer_own{tag}"] = sum(x > 0 for x in cols[(s, "own")][1])
        counts[f"humans_prefer_other{tag}"] = sum(x > 0 for x in cols[(s, "other")][1])
    counts.update(
        {
            "n": len(clusters),
            "verdicts": int(sum(sum(cols[k][1]) for k in keys)),
            "human_tie_or_unlabelled": human_tie,
            "equal_length": equal_length,
            "judge_unparseable": unparseable,
        }
    )
    return SelfPreferenceStatistics(
        metric="wataoka",
        bias=est,
        tolerance=tolerance,
        p_value=p,
        parts={k: _finite(v) for k, v in parts.items()},
        counts=counts,
    )


def average_odds_gap(
    judge_passed: Sequence[bool | None],
    human_passed: Sequence[bool | None],
    own: Sequence[bool],
    *,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
    tolerance: float = 0.0,
    continuity: bool = False,
) -> SelfPreferenceStatistics:
    """The average odds gap ½·[(TPR_own − TPR_other) + (FPR_own − FPR_other)] of a pass/fail judge
    (items with an unparseable verdict, None, or no human majority are left out).

    >>> judge = [True, True, True, False, True, False, False, False]
    >>> human = [True, True, False, False, True, True, False, False]
    >>> own = [True, True, True, True, False, False, False, False]
    >>> s = average_odds_gap(judge, human, own)
    >>> s.bias.value, s.parts["tpr_gap"], s.parts["fpr_gap"]
    (0.5, 0.5, 0.5)
    """
    if not (len(judge_passed) == len(human_passed) == len(own)):
        raise ValueError("judge_passed, human_passed and own need one value per item")
    names = ("pos_own", "pos_other", "neg_own", "neg_other", "tp_own", "tp_other", "fp_own", "fp_other")
    cols: dict[str, list[float]] = {k: [] for k in names}
    kept_clusters: list[Any] = []
    invalid = unlabelled = 0
    for i, (j, h, o) in enumerate(zip(judge_passed, human_passed, own, strict=True)):
        if h is None:
            unlabelled += 1
            continue
        if j is None:
            invalid += 1
            continue
        group = "own" if o else "other"
        for g in ("own", "other"):
            cols[f"pos_{g}"].append(float(h and g == group))
            cols[f"neg_{g}"].append(float((not h) and g == group))
            cols[f"tp_{g}"].append(float(h and j and g == group))
            cols[f"fp_{g}"].append(float((not h) and j and g == group))
        kept_clusters.append(i if clusters is None else clusters[i])

    est, p, _ = combine_proportions(
        [
            (0.5, cols["tp_own"], cols["pos_own"]),
            (-0.5, cols["tp_other"], cols["pos_other"]),
            (0.5, cols["fp_own"], cols["neg_own"]),
            (-0.5, cols["fp_other"], cols["neg_other"]),
        ],
        clusters=None if clusters is None else kept_clusters,
        confidence=confidence,
        continuity=continuity,
        boundary=tolerance,
    )
    total = {k: sum(v) for k, v in cols.items()}
    parts = {
        "tpr_own": _ratio(total["tp_own"], total["pos_own"]),
        "tpr_other": _ratio(total["tp_other"], total["pos_other"]),
        "fpr_own": _ratio(total["fp_own"], total["neg_own"]),
        "fpr_other": _ratio(total["fp_other"], total["neg_other"]),
    }
    parts["tpr_gap"] = parts["tpr_own"] - parts["tpr_other"]
    parts["fpr_gap"] = parts["fpr_own"] - parts["fpr_other"]
    return SelfPreferenceStatistics(
        metric="average_odds",
        bias=est,
        tolerance=tolerance,
        p_value=p,
        parts={k: _finite(v) for k, v in parts.items()},
        counts={
            "n": len(cols["pos_own"]),
            "own_pass": int(total["pos_own"]),
            "own_fail": int(total["neg_own"]),
            "other_pass": int(total["pos_other"]),
            "other_fail": int(total["neg_other"]),
            "no_human_majority": unlabelled,
            "judge_unparseable": invalid,
        },
    )


# --------------------------------------------------------------------------------------------
# The probe


def _family(value: Any) -> str | None:
    return None if value is None or not str(value).strip() else str(value).strip().lower()


def _has_families(rubric: Rubric, item: GoldItem) -> bool:
    md = item.metadata
    if rubric.scale.kind == "pairwise":
        return (
            _family(md.get("generator_family_a")) is not None
            and _family(md.get("generator_family_b")) is not None
        )
    return _family(md.get("generator_family")) is not None


def _own_side(item: GoldItem, family: str) -> str | None:
    """The pair's side of the judge's family when exactly one side is (else None)."""
    own_a = _family(item.metadata.get("generator_family_a")) == family
    own_b = _family(item.metadata.get("generator_family_b")) == family
    if own_a == own_b:
        return None
    return "A" if own_a else "B"


def _own_longer(item: GoldItem, side: str) -> bool | None:
    """Whether the own-family output (``side``) is longer in characters (None: equal)."""
    len_a = len(str(item.inputs.get("output_a", "")).strip())
    len_b = len(str(item.inputs.get("output_b", "")).strip())
    if len_a == len_b:
        return None
    return (len_a > len_b) == (side == "A")


def _cluster(item: GoldItem) -> str:
    return str(item.metadata.get("prompt_id", item.id))


def _cases(rubric: Rubric, items: Sequence[GoldItem], family: str) -> list[GoldItem]:
    """The items the statistic is over: binary/ordinal, those with a family and a human majority;
    pairwise, pairs with exactly one own-family side, a human preference for A or B and outputs
    of different lengths (only these are judged)."""
    out = []
    for it in items:
        if not _has_families(rubric, it) or it.majority() is None:
            continue
        if rubric.scale.kind == "pairwise":
            side = _own_side(it, family)
            if side is None or it.majority() not in ("A", "B") or _own_longer(it, side) is None:
                continue
        out.append(it)
    return out


def _groups(rubric: Rubric, cases: Sequence[GoldItem], family: str) -> dict[str, int]:
    """The cases in each group of the statistic (see :meth:`SelfPreferenceProbe.plan`)."""
    if rubric.scale.kind == "pairwise":
        keys = ("own_longer·own", "own_longer·other", "own_shorter·own", "own_shorter·other")
        groups = dict.fromkeys(keys, 0)
        for it in cases:
            side = _own_side(it, family) or "A"
            stratum = _STRATA[bool(_own_longer(it, side))]
            groups[f"{stratum}·{'own' if it.majority() == side else 'other'}"] += 1
        return groups
    groups = dict.fromkeys(("own·pass", "own·fail", "other·pass", "other·fail"), 0)
    for it in cases:
        group = "own" if _family(it.metadata.get("generator_family")) == family else "other"
        label = it.majority()
        groups[f"{group}·{'pass' if label is not None and rubric.scale.passed(label) else 'fail'}"] += 1
    return groups


def _ideal_interval(sizes: Sequence[tuple[float, int, bool]], confidence: float = 0.95) -> Estimate:
    """The MOVER interval of a judge that is always right: ``(coef, trials, rate_is_one)`` per
    proportion (a recall or TPR is 1, an FPR 0)."""
    size = sum(n for _, n, _ in sizes)
    terms = []
    start = 0
    for coef, n, one in sizes:
        trials = [0.0] * size
        hits = [0.0] * size
        for k in range(start, start + n):
            trials[k] = 1.0
            hits[k] = 1.0 if one else 0.0
        terms.append((coef, hits, trials))
        start += n
    est, _, _ = combine_proportions(terms, confidence=confidence, continuity=False)
    return est


def _sizes(pairwise: bool, groups: dict[str, int], per_case: int) -> list[tuple[float, int, bool]]:
    if pairwise:
        return [(0.5 if key.endswith("·own") else -0.5, per_case * n, True) for key, n in groups.items()]
    coef = {"own": 0.5, "other": -0.5}
    return [(coef[key.split("·")[0]], n, key.endswith("·pass")) for key, n in groups.items()]


def _passable(pairwise: bool, groups: dict[str, int], per_case: int, tolerance: float) -> bool:
    if min(groups.values()) == 0:
        return False
    est = _ideal_interval(_sizes(pairwise, groups, per_case))
    return est.lo is not None and est.hi is not None and -tolerance <= est.lo and est.hi <= tolerance


class SelfPreferenceProbe:
    """P7: does the judge favour its own model family more than humans do?"""

    name = "self_preference"
    description = "Self-preference: judge-family outputs favoured beyond the humans (Wataoka bias)"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not any(_has_families(rubric, it) for it in items):
            keys = "generator_family_a/_b" if rubric.scale.kind == "pairwise" else "generator_family"
            return f"no generator-family metadata ({keys}) on the items"
        if not any(it.majority() is not None for it in items):
            return "no human labels to anchor self-preference on"
        return None

    def plan(
        self,
        rubric: Rubric,
        items: Sequence[GoldItem],
        thresholds: dict[str, float],
        judge_family: str | None = None,
    ) -> ProbePlan:
        """Calls and passability before any call: the cases in each group (binary/ordinal: own or
        other family × human pass or fail; pairwise: own output longer or shorter × humans prefer
        own or other, two verdicts per pair) and whether a judge that is always right would get
        its interval inside ±``max_abs_bias`` on them. Without the judge's family (the runner
        asks before it is known to the probe) the plan counts every candidate and leaves
        passability to :meth:`run`, which asks again with the family.

        ``mde``: the smallest |bias| this n fails with 80% power for a judge right 90% of the time
        (normal approximation, independent orders)."""
        t = {**DEFAULT_THRESHOLDS, **thresholds}["max_abs_bias"]
        pairwise = rubric.scale.kind == "pairwise"
        per_case = 2 if pairwise else 1
        family = _family(judge_family)
        if family is None:
            candidates = [it for it in items if _has_families(rubric, it) and it.majority() is not None]
            return ProbePlan(
                calls=per_case * len(candidates),
                cases=len(candidates),
                passable=True,
                reason=(
                    f"at most {per_case * len(candidates)} calls; whether a pass is reachable depends on"
                    " the judge's family (checked when the probe runs)"
                ),
            )
        if pairwise:
            involved = any(_own_side(it, family) for it in items)
            missing = f"no pair has exactly one output of the judge's family {family!r}"
        else:
            involved = any(_family(it.metadata.get("generator_family")) == family for it in items)
            missing = f"no item was generated by the judge's family {family!r}"
        if not involved:
            return ProbePlan(
                calls=0, cases=0, passable=False, reason="nothing to compare", not_applicable=missing
            )
        chosen = _cases(rubric, items, family)
        groups = _groups(rubric, chosen, family)
        calls = per_case * len(chosen)
        cases = len(chosen)
        passable = _passable(pairwise, groups, per_case, t)
        listing = ", ".join(f"{k} {n}" for k, n in groups.items())
        unit = "pairs" if pairwise else "items"
        mde = None
        if min(groups.values()) > 0:
            se = math.sqrt(sum(0.25 * 0.09 / (per_case * n) for n in groups.values()))
            mde = t + (1.959964 + 0.841621) * se
        if passable:
            return ProbePlan(
                calls=calls,
                cases=cases,
                passable=True,
                mde=mde,
                reason=(
                    f"{calls} calls; {unit} per group: {listing} — an always-right judge's interval lies"
                    f" inside ±{fmt(t)}"
                ),
            )
        n_min = 1
        while not _passable(pairwise, dict.fromkeys(groups, n_min), per_case, t) and n_min < 100_000:
            n_min += 1
        k = 1.0
        if min(groups.values()) > 0:
            while not _passable(pairwise, {g: math.ceil(k * n) for g, n in groups.items()}, per_case, t):
                k *= 1.1
            min_items = math.ceil(k * len(items))
            min_cases = sum(math.ceil(k * n) for n in groups.values())
        else:
            min_cases = sum(max(n, n_min) for n in groups.values())
            min_items = len(items) + sum(max(0, n_min - n) for n in groups.values())
        return ProbePlan(
            calls=calls,
            cases=cases,
            passable=False,
            min_cases=min_cases,
            min_items=min_items,
            mde=mde,
            reason=(
                f"{unit} per group: {listing}; even an always-right judge's interval reaches beyond"
                f" ±{fmt(t)} (about {n_min} {unit} are needed in every group)"
            ),
        )

    def _not_applicable(self, reason: str) -> ProbeResult:
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            applicable=False,
            statistic="-",
            reason=reason,
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        family = _family(ctx.judge_family)
        if family is None:
            return self._not_applicable(
                f"the judge's model family is unknown ({ctx.judge.model!r}): give it with --family"
                " (judge_family) to run self-preference"
            )
        rubric = ctx.rubric
        pairwise = rubric.scale.kind == "pairwise"
        key = "generator_family_a/_b" if pairwise else "generator_family"
        families = sorted(
            {
                f
                for it in ctx.items
                for f in (
                    [
                        _family(it.metadata.get("generator_family_a")),
                        _family(it.metadata.get("generator_family_b")),
                    ]
                    if pairwise
                    else [_family(it.metadata.get("generator_family"))]
                )
                if f is not None
            }
        )
        if pairwise:
            items = [it for it in ctx.items if _has_families(rubric, it) and _own_side(it, family)]
            if not items:
                return self._not_applicable(
                    f"no pair has exactly one output of the judge's family {family!r}"
                    f" (families in {key}: {', '.join(families)})"
                )
        else:
            items = [it for it in ctx.items if _has_families(rubric, it)]
            if not any(_family(it.metadata.get("generator_family")) == family for it in items):
                return self._not_applicable(
                    f"no item was generated by the judge's family {family!r}"
                    f" (families in {key}: {', '.join(families)})"
                )
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}["max_abs_bias"]
        plan = self.plan(rubric, ctx.items, ctx.thresholds, judge_family=family)
        items = _cases(rubric, ctx.items, family)
        if not plan.passable and not getattr(ctx, "force", False):
            return ProbeResult(
                probe=self.name,
                kind="invariance",
                gated=self.gated,
                statistic="-",
                outcome="underpowered",
                plan=plan,
                threshold={"max_abs_bias": t},
                reason=(
                    f"underpowered: needs ≥ {plan.min_items} items — {plan.reason} (no call made;"
                    " force to run it anyway)"
                ),
                details={"judge_family": family, "families": families},
            )
        if pairwise:
            stats, run_id, missing = await self._pairwise(ctx, items, family, t)
            statistic = (
                f"Wataoka bias, both orders, length-controlled: recall when humans prefer the {family}"
                " output − recall when they prefer the other, averaged over own-longer and own-shorter"
                " pairs"
            )
            p = stats.parts
            parts = (
                f"own longer: recall {fmt(p['recall_own_own_longer'])} vs "
                f"{fmt(p['recall_other_own_longer'])}; own shorter: {fmt(p['recall_own_own_shorter'])} vs "
                f"{fmt(p['recall_other_own_shorter'])} ({stats.counts['n']} pairs,"
                f" {stats.counts['verdicts']} verdicts)"
            )
        else:
            stats, run_id, missing = await self._pointwise(ctx, items, family, t)
            statistic = (
                f"average odds gap: ½·(TPR gap + FPR gap), {family} outputs vs other families' outputs"
            )
            c = stats.counts
            n_own, n_other = c["own_pass"] + c["own_fail"], c["other_pass"] + c["other_fail"]
            parts = (
                f"TPR {fmt(stats.parts['tpr_own'])} vs {fmt(stats.parts['tpr_other'])}, FPR "
                f"{fmt(stats.parts['fpr_own'])} vs {fmt(stats.parts['fpr_other'])} on "
                f"{n_own} {family} and {n_other} other items"
            )
        est = stats.bias
        test = ProbeTest(
            name=TEST_NAME,
            estimate=est,
            tolerance=t,
            direction="abs",
            p_value=NAN if stats.p_value is None else stats.p_value,
        )
        reason = (
            f"bias {fmt(est.value)} (95% CI {fmt(est.lo)} to {fmt(est.hi)}, n={est.n}; tolerance"
            f" ±{fmt(t)}, p={fmt(stats.p_value)}): {parts}"
        )
        result = ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=statistic,
            estimate=est,
            headline_limit="max_abs_bias",
            threshold={"max_abs_bias": t},
            alpha=ctx.alpha,
            p_value=stats.p_value,
            tests=[test],
            plan=plan,
            reason=reason,
            n=est.n,
            details={
                "judge_family": family,
                "families": families,
                "statistics": stats.model_dump(mode="json"),
                "items_without_verdict": missing,
                "run_id": run_id,
            },
        )
        return settle([result], alpha=ctx.alpha)[0]

    async def _pairwise(
        self, ctx: ProbeContext, items: list[GoldItem], family: str, tolerance: float
    ) -> tuple[SelfPreferenceStatistics, str, int]:
        from judgecal.probes.position import pairs_from_run  # noqa: PLC0415 - position imports base too

        # the position probe's judge: the same prompts, so the swapped (``ba``) verdicts are shared
        judge = ctx.judge.model_copy(update={"orders": "both"})
        run = await ctx.grade(items, judge=judge, label="self_preference")
        both, missing = pairs_from_run(ctx.rubric, judge, items, run)
        by_id = {it.id: it for it in items}
        pairs = []
        for pv in both:
            item = by_id[pv.item_id]
            side = _own_side(item, family) or "A"
            pairs.append(
                SelfPair(
                    own_side=side,
                    human=item.majority(),
                    verdicts=(pv.ab, pv.ba),
                    own_longer=_own_longer(item, side),
                    cluster=_cluster(item),
                )
            )
        stats = wataoka_bias(pairs, confidence=0.95, tolerance=tolerance)
        raw = wataoka_bias(pairs, length_control=False, confidence=0.95)
        stats.parts["wataoka_unstratified"] = raw.bias.value if math.isfinite(raw.bias.value) else None
        return stats, run.run_id, len(missing)

    async def _pointwise(
        self, ctx: ProbeContext, items: list[GoldItem], family: str, tolerance: float
    ) -> tuple[SelfPreferenceStatistics, str, int]:
        run = await ctx.grade(items, label="self_preference")
        by_id = {iv.item_id: iv for iv in run.items}
        scale = ctx.rubric.scale
        judge_passed: list[bool | None] = []
        human_passed: list[bool | None] = []
        missing = 0
        for it in items:
            iv = by_id.get(it.id)
            missing += iv is None or iv.status in ("error", "skipped")
            judge_passed.append(bool(iv.passed) if iv is not None and iv.status == "ok" else None)
            h = it.majority()
            human_passed.append(None if h is None else scale.passed(h))
        own = [_family(it.metadata.get("generator_family")) == family for it in items]
        has_clusters = any("prompt_id" in it.metadata for it in items)
        stats = average_odds_gap(
            judge_passed,
            human_passed,
            own,
            clusters=[_cluster(it) for it in items] if has_clusters else None,
            tolerance=tolerance,
        )
        return stats, run.run_id, missing
