"""P7, self-preference (human-anchored): does the judge favour outputs of its own model family
more than the humans do?

The judge's family is ``ctx.judge_family`` (``--family``, or inferred from the model string by
:func:`judgecal.probes.base.infer_family`); the data's families are the gold items' metadata
``generator_family`` (binary/ordinal) or ``generator_family_a`` / ``generator_family_b`` (pairwise),
compared case-insensitively. The judge's verdicts are those of a plain grading run of the split
(reused from the store), so the probe makes no new call when ``judgecal grade`` already ran.

**Pairwise (Wataoka et al. 2024, Def. 4.1, equal opportunity).** Over pairs where exactly one side
is the judge's family and the human majority prefers A or B (ties and unlabelled pairs left out;
pairs whose judge verdict is unparseable left out and counted):

    bias = recall_own − recall_other
    recall_own   = P(judge picks the own-family output | humans prefer it)
    recall_other = P(judge picks the other output     | humans prefer the other output)

A judge ``tie`` is a miss. 0 = no self-preference; GPT-4's published value is 0.520.

**Binary and ordinal: average odds gap.** Per item the judge's verdict passes or not; humans'
majority passes or fails (ordinal: score ≥ the pass threshold). Over items whose family is known
and whose human majority exists, with TPR = P(judge pass | human pass) and FPR = P(judge pass |
human fail) within own-family and other-family items:

    bias = ½·[(TPR_own − TPR_other) + (FPR_own − FPR_other)]

the *average odds difference* of the fairness literature: how much more often the judge passes an
own-family output than an other-family output of the same human label, averaged over the two
labels. It is the pointwise form of Wataoka's metric (their TPR − TNR with "positive = own
better", per group, differenced, halved). The equal-opportunity part alone (the TPR gap) is in
``details``, with the FPR gap: a judge that passes good answers anyway can only show
self-preference on failing ones, which the TPR gap cannot see.

Interval: MOVER (Newcombe's method 11, generalised to linear combinations by Zou & Donner) from
continuity-corrected Wilson intervals of the recalls (rates), each on its effective sample size
when items share a cluster (metadata ``prompt_id``; cluster design effect, floored at 1) —
:func:`combine_proportions`. A percentile bootstrap was tried first: on 100 simulated pairs its
95% interval covered the true Wataoka bias in only 91% of 200 seeds (a recall of exactly 1 has no
bootstrap spread), and MOVER with plain Wilson limits in about 94%; the continuity-corrected form
is conservative, like the Clopper–Pearson bounds of the other probes. ``p_value``: the level at
which that interval reaches 0 (the test it inverts). Undefined (nan, ``passed`` None) when a
group is empty.

Decision (METHODS P7): pass when |bias| ≤ ``max_abs_bias`` (0.10) and both ends of the 95%
interval lie within ±``max_abs_bound`` (0.20) — a reverse bias (the judge disfavours its own
family) is unfair too. The bound needs data: a judge that is always right needs about 15 items
in each group (own/other × human pass/fail, or about 30 pairs each way), one right 90% of the time
about 100. The probe does not apply when the data has no family metadata, the judge's family is
unknown, or no item (pair) involves the judge's family; ``alpha`` 0.05 is the interval's error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.probes._stats import Check, decide, fmt
from judgecal.probes.base import ProbeContext, ProbeResult
from judgecal.rubric import Rubric

__all__ = [
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

DEFAULT_THRESHOLDS: dict[str, float] = {"max_abs_bias": 0.10, "max_abs_bound": 0.20}


# --------------------------------------------------------------------------------------------
# Linear combinations of proportions: MOVER with continuity-corrected Wilson limits


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval with continuity correction (Newcombe 1998, method 4) for a rate p
    over n (possibly effective, non-integer) trials."""
    if n <= 0 or not math.isfinite(p):
        return NAN, NAN
    z2 = z * z
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
    """One proportion of a linear combination: Σhits / Σtrials with its (continuity-corrected)
    Wilson interval."""

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
) -> tuple[Estimate, float | None, list[Term]]:
    """θ = Σ cᵢ·pᵢ for proportions pᵢ = Σhitsᵢ/Σtrialsᵢ over the same units, with a MOVER interval
    (Newcombe 1998, method 11; Zou & Donner 2008) and the p-value of θ = 0.

    Each term is ``(coef, hits, trials)`` with one 0/1 value per unit (``trials`` marks the units
    the proportion is over). Each pᵢ gets a continuity-corrected Wilson interval (lᵢ, uᵢ) — the
    conservative choice, as Clopper–Pearson is for one rate — on its effective sample size
    n/deff, deff the cluster design effect when ``clusters`` are given (Korn–Graubard style;
    floored at 1), and ``[θ − √Σ(cᵢpᵢ − min(cᵢlᵢ, cᵢuᵢ))², θ + √Σ(max(cᵢlᵢ, cᵢuᵢ) − cᵢpᵢ)²]``.
    The terms are treated as independent (exact when they are over disjoint units, as recalls
    in two groups are). Unlike a percentile bootstrap it keeps its coverage with a few dozen
    units and at proportions of 0 or 1. The p-value is the α at which the (1 − α) interval has
    0 as an end (by bisection); 1 when θ = 0, None when θ is undefined (an empty group).

    Newcombe's (1998) worked example, 56/70 − 48/80 (his method 11: 0.0428 to 0.3422):

    >>> hits_a, trials_a = [1] * 56 + [0] * 94, [1] * 70 + [0] * 80
    >>> hits_b, trials_b = [0] * 70 + [1] * 48 + [0] * 32, [0] * 70 + [1] * 80
    >>> est, p, _ = combine_proportions([(1, hits_a, trials_a), (-1, hits_b, trials_b)])
    >>> round(est.value, 4), round(est.lo, 4), round(est.hi, 4), round(p, 4)
    (0.2, 0.0428, 0.3422, 0.0117)
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
            lo, hi = _wilson(p, n_eff, z)
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
    p_value: float | None = None
    if math.isfinite(theta):
        lo, hi = interval(z)
        est = Estimate(
            value=theta,
            lo=lo,
            hi=hi,
            n=n_units,
            confidence=confidence,
            method="wilson",
            n_clusters=n_clusters,
        )
        if theta == 0:
            p_value = 1.0
        else:
            a_lo, a_hi = 0.0, 1.0  # the interval at level 1 − α contains 0 for α < α*, not above

            def contains_zero(alpha: float) -> bool:
                lo_a, hi_a = interval(NormalDist().inv_cdf(1 - alpha / 2))
                return lo_a <= 0 <= hi_a

            if not contains_zero(1e-15):
                p_value = 0.0
            else:
                a_lo = 1e-15
                for _ in range(60):
                    mid = math.sqrt(a_lo * a_hi) if a_lo > 0 else a_hi / 2
                    if contains_zero(mid):
                        a_lo = mid
                    else:
                        a_hi = mid
                p_value = a_hi
    else:
        est = Estimate(value=NAN, lo=None, hi=None, n=n_units, confidence=confidence, method="wilson")
    out_terms = []
    for (coef, p, n_eff), (_, _, trials) in zip(parts, terms, strict=True):
        lo, hi = _wilson(p, n_eff, z)
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
    """The headline bias with its MOVER interval (continuity-corrected Wilson limits)."""
    p_value: float | None
    """p-value of bias = 0 (the level at which the interval reaches 0)."""
    parts: dict[str, float | None]
    """The recalls (pairwise) or TPR/FPR by group and their gaps (binary/ordinal)."""
    counts: dict[str, int]
    """Group sizes and exclusions."""


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else NAN


def wataoka_bias(
    judge: Sequence[Label | None],
    human: Sequence[Label | None],
    own_side: Sequence[str],
    *,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> SelfPreferenceStatistics:
    """Wataoka's self-preference bias over pairs with exactly one own-family side.

    ``judge[i]``: the judge's verdict (A, B, tie; None if unparseable); ``human[i]``: the human
    majority (pairs with a tie or None are left out); ``own_side[i]``: ``"A"`` or ``"B"``, the
    judge-family side.

    >>> s = wataoka_bias(["A", "A", "A", "B"], ["A", "B", "B", "B"], ["A", "A", "A", "A"])
    >>> round(s.bias.value, 3), s.parts["recall_own"], round(s.parts["recall_other"], 3), s.counts["n"]
    (0.667, 1.0, 0.333, 4)
    """
    if not (len(judge) == len(human) == len(own_side)):
        raise ValueError("judge, human and own_side need one value per pair")
    cols: dict[str, list[float]] = {"g_own": [], "g_other": [], "hit_own": [], "hit_other": []}
    kept_clusters: list[Any] = []
    invalid = human_tie = 0
    for i, (j, h, side) in enumerate(zip(judge, human, own_side, strict=True)):
        if side not in ("A", "B"):
            raise ValueError(f"own_side[{i}] must be 'A' or 'B', not {side!r}")
        if h not in ("A", "B"):
            human_tie += 1
            continue
        if j is None:
            invalid += 1
            continue
        own_preferred = h == side
        cols["g_own"].append(float(own_preferred))
        cols["g_other"].append(float(not own_preferred))
        cols["hit_own"].append(float(own_preferred and j == side))
        cols["hit_other"].append(float(not own_preferred and j == h))
        kept_clusters.append(i if clusters is None else clusters[i])

    est, p, _ = combine_proportions(
        [(1.0, cols["hit_own"], cols["g_own"]), (-1.0, cols["hit_other"], cols["g_other"])],
        clusters=None if clusters is None else kept_clusters,
        confidence=confidence,
    )
    n_own, n_other = int(sum(cols["g_own"])), int(sum(cols["g_other"]))
    return SelfPreferenceStatistics(
        metric="wataoka",
        bias=est,
        p_value=p,
        parts={
            "recall_own": _finite(_ratio(sum(cols["hit_own"]), n_own)),
            "recall_other": _finite(_ratio(sum(cols["hit_other"]), n_other)),
        },
        counts={
            "n": len(cols["g_own"]),
            "humans_prefer_own": n_own,
            "humans_prefer_other": n_other,
            "judge_picked_own_when_humans_prefer_own": int(sum(cols["hit_own"])),
            "judge_picked_other_when_humans_prefer_other": int(sum(cols["hit_other"])),
            "human_tie_or_unlabelled": human_tie,
            "judge_unparseable": invalid,
        },
    )


def average_odds_gap(
    judge_passed: Sequence[bool | None],
    human_passed: Sequence[bool | None],
    own: Sequence[bool],
    *,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
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
                f"the judge's model family is unknown ({ctx.judge.model!r}): configure it (--family)"
            )
        rubric = ctx.rubric
        pairwise = rubric.scale.kind == "pairwise"
        if pairwise:
            items = [it for it in ctx.items if _has_families(rubric, it) and _own_side(it, family)]
        else:
            items = [it for it in ctx.items if _has_families(rubric, it)]
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
        if pairwise and not items:
            return self._not_applicable(
                f"no pair has exactly one output of the judge's family {family!r}"
                f" (families: {', '.join(families)})"
            )
        if not pairwise and not any(_family(it.metadata.get("generator_family")) == family for it in items):
            return self._not_applicable(
                f"no item was generated by the judge's family {family!r} (families: {', '.join(families)})"
            )
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        run = await ctx.grade(items, label="self_preference")
        by_id = {iv.item_id: iv for iv in run.items}
        has_clusters = any("prompt_id" in it.metadata for it in items)
        clusters = [str(it.metadata.get("prompt_id", it.id)) for it in items] if has_clusters else None
        boot = {"clusters": clusters}
        skipped = 0
        if pairwise:
            judge: list[Label | None] = []
            for it in items:
                iv = by_id.get(it.id)
                skipped += iv is None or iv.status in ("error", "skipped")
                judge.append(iv.label if iv is not None and iv.status == "ok" else None)
            sides = [_own_side(it, family) or "A" for it in items]
            stats = wataoka_bias(judge, [it.majority() for it in items], sides, **boot)  # type: ignore[arg-type]
            statistic = (
                f"Wataoka bias: recall when humans prefer the {family} output − recall when they prefer"
                " the other output"
            )
            parts = (
                f"recall {fmt(stats.parts['recall_own'])} on the {stats.counts['humans_prefer_own']} pairs "
                f"humans won for {family} vs {fmt(stats.parts['recall_other'])} on the "
                f"{stats.counts['humans_prefer_other']} they won for the other family"
            )
        else:
            scale = rubric.scale
            judge_passed: list[bool | None] = []
            human_passed: list[bool | None] = []
            for it in items:
                iv = by_id.get(it.id)
                skipped += iv is None or iv.status in ("error", "skipped")
                judge_passed.append(bool(iv.passed) if iv is not None and iv.status == "ok" else None)
                h = it.majority()
                human_passed.append(None if h is None else scale.passed(h))
            own = [_family(it.metadata.get("generator_family")) == family for it in items]
            stats = average_odds_gap(judge_passed, human_passed, own, **boot)  # type: ignore[arg-type]
            statistic = (
                f"average odds gap: ½·(TPR gap + FPR gap), {family} outputs vs other families' outputs"
            )
            parts = (
                f"TPR {fmt(stats.parts['tpr_own'])} vs {fmt(stats.parts['tpr_other'])}, FPR "
                f"{fmt(stats.parts['fpr_own'])} vs {fmt(stats.parts['fpr_other'])} on "
                f"{stats.counts['own_pass'] + stats.counts['own_fail']} {family} and "
                f"{stats.counts['other_pass'] + stats.counts['other_fail']} other items"
            )
        est = stats.bias
        bound = max(abs(est.lo), abs(est.hi)) if est.lo is not None and est.hi is not None else None
        decision = decide(
            [
                Check("self-preference bias", est.value, "abs<=", t["max_abs_bias"]),
                Check("interval bound", bound, "<=", t["max_abs_bound"]),
            ]
        )
        outcome = {True: "pass", False: "FAIL", None: "undefined (a group is empty)"}[decision.passed]
        reason = (
            f"bias {fmt(est.value)} (95% CI {fmt(est.lo)} to {fmt(est.hi)}, n={est.n}): {parts} — {outcome}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=statistic,
            estimate=est,
            headline_limit="max_abs_bias",
            threshold={"max_abs_bias": t["max_abs_bias"], "max_abs_bound": t["max_abs_bound"]},
            alpha=0.05,
            p_value=stats.p_value,
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=est.n,
            details={
                "decision": decision.summary,
                "judge_family": family,
                "families": families,
                "statistics": stats.model_dump(mode="json"),
                "items_without_verdict": skipped,
                "run_id": run.run_id,
            },
        )
