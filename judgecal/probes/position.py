"""P1, position bias: does the verdict depend on where an output is shown?

**Pairwise rubrics.** Every gold pair is judged in both orders (``ab``: output_a shown first,
``ba``: output_b shown first; the ``ab`` verdicts are the ones a plain ``judgecal grade`` run
already stored, so they come from the cache). Verdicts are in the item's own terms (``A`` =
output_a, whatever the order). Three things are told apart:

1. **First-slot preference** — the headline and the one gated test. Over the *complete* pairs
   (a valid verdict in both orders; n of them), each pair i brings

       e_i = (first_i − second_i) / 2  ∈ {−1, −½, 0, ½, 1},

   first_i / second_i = its verdicts that picked the output shown first / second (``A`` in
   ``ab``, ``B`` in ``ba``; a tie is neither). The **first-slot excess** ē = mean e_i is 0 for an
   order-blind judge, whatever its accuracy — its errors fall on either slot alike — and +1 for
   one that always picks the first slot. (The simulated judge's ``position_bias`` b gives
   E[e_i] = b exactly.) Pairs are the units, so the two orders of a pair are never counted as
   independent. Interval: the adjusted Wald interval of a paired difference (Bonett & Price
   2012, J. Educ. Behav. Stat. 37:479), generalised to the half-steps a tie brings — one pseudo-
   pair at +1 and one at −1 are added, ẽ = Σe/(n + 2), var = ((Σe² + 2)/(n + 2) − ẽ²)/(n + 2) —
   which is exactly Bonett–Price when no verdict is a tie, and does not collapse to [0, 0] when
   no pair leans either way. When pairs share a ``prompt_id`` the variance takes the cluster
   design effect (as :func:`judgecal.probes._stats.paired_difference`). Test: ``|excess| ≤ T``
   (``max_first_slot_excess``, 0.10: the interval of a 92%-accurate judge on 200 pairs is about
   ±0.05 wide, so a tolerance of 0.05 could almost never be shown), one-sided normal p-value at
   the boundary ±T; the probe
   passes when the 95% interval lies inside ±T and fails when the battery's Holm-adjusted
   p-value is below α. Pairs with an unparseable verdict in one order are left out of the excess
   (their one verdict cannot show a preference between slots) and counted in ``details``.

2. **Order inconsistency** — reported, not a bias test: the share of complete pairs whose two
   orders gave different labels (Wilson interval). A judge whose errors are redrawn for every
   prompt is inconsistent in about 1 − a² − (1 − a)² of the pairs of a two-label scale (a =
   accuracy per order) with no position bias at all; it belongs to stability, not to bias.

3. **Noise** beside it: the inconsistency an *order-blind* judge with the measured per-order
   confusion would show, 1 − mean_i Σ_l P̂(l | h_i)², P̂(l | h) = the share of verdicts (both
   orders, complete pairs with a human majority h) that said l. The gap between observed and
   expected inconsistency is the part of the inconsistency that order explains.

Reported besides: LLMBar's positional agreement (``equal``: equal labels in both orders, two
unparseable verdicts counting as equal, over all pairs — for comparison with published figures),
first/second/tie shares over the valid verdicts, the exact sign test over pairs that lean to one
slot, all overall and for *clear-gap* pairs (humans unanimous, not ``tie``) and *close* pairs (a
split vote or a ``tie`` label).

**Binary and ordinal rubrics** do not apply: there is no pair whose order could matter. The order
of a rubric's criteria — the option order of a single-output prompt — is tested by the
``rewording`` probe, whose rewrites include the criteria reordered.

**Before any call** (:meth:`PositionProbe.plan`): an ideal judge leaves every e_i (every paired
change) at 0, so its interval is ±z·√2/(n + 2); it lies inside ±T only when
n ≥ ⌈z·√2/T⌉ − 2 = 26 pairs at T = 0.10 (z = 1.96). With fewer pairs the probe says
*underpowered* and makes no call. Calls: two per gold pair (one of them usually cached).

:func:`position_statistics` computes the pairwise figures from recorded verdicts
(:class:`PairVerdicts`; :func:`pairs_from_judgments` reads them from an imported
:class:`~judgecal.importers.JudgmentSet`, e.g. LLMBar's both-order results) and
:func:`position_test` the gated test; :meth:`PositionProbe.run` uses both.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate, wilson
from judgecal.gold import GoldItem
from judgecal.judge import JudgeConfig, RunResult, aggregate
from judgecal.probes._stats import (
    boundary_p,
    fmt,
    ratio_bootstrap,
    sign_test,
)
from judgecal.probes.base import ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.rubric import Rubric

__all__ = [
    "PairVerdicts",
    "PositionProbe",
    "PositionStatistics",
    "StratumStatistics",
    "adjusted_mean",
    "min_cases",
    "pairs_from_judgments",
    "pairs_from_run",
    "position_statistics",
    "position_test",
]

Label = str | int

DEFAULT_THRESHOLDS: dict[str, float] = {
    "max_first_slot_excess": 0.10,
    "alpha": 0.05,
}

HEADLINE = "first-slot excess"
"""The name of the pairwise gated test."""


@dataclass(frozen=True)
class PairVerdicts:
    """One pair's verdicts in both presentation orders, in the item's own terms."""

    item_id: str
    ab: Label | None
    """The verdict with output_a shown first (None: unparseable)."""
    ba: Label | None
    """The verdict with output_b shown first, mapped back (``A`` still means output_a)."""
    humans: tuple[Label, ...] = ()
    """The human labels of the pair (decide the stratum and the per-order accuracy)."""
    cluster: str | None = None
    """Cluster of dependent pairs (e.g. the prompt id); the pair itself when None."""

    @property
    def stratum(self) -> Literal["clear_gap", "close", "unlabelled"]:
        """``clear_gap``: humans unanimous on A or B (one annotator counts as unanimous);
        ``close``: a split vote or a ``tie`` label; ``unlabelled``: no human label."""
        if not self.humans:
            return "unlabelled"
        if len(set(self.humans)) == 1 and self.humans[0] != "tie":
            return "clear_gap"
        return "close"

    @property
    def complete(self) -> bool:
        """Both orders gave a valid verdict."""
        return self.ab is not None and self.ba is not None

    @property
    def lean(self) -> float | None:
        """e = (first-slot picks − second-slot picks)/2 over the two orders (None unless complete).

        >>> orders = [("A", "B"), ("B", "A"), ("A", "tie"), ("A", "A")]
        >>> [PairVerdicts(str(i), ab, ba).lean for i, (ab, ba) in enumerate(orders)]
        [1.0, -1.0, 0.5, 0.0]
        """
        if not self.complete:
            return None
        f1, s1 = _first_second(self.ab, "ab")
        f2, s2 = _first_second(self.ba, "ba")
        return (f1 + f2 - s1 - s2) / 2

    @property
    def majority(self) -> Label | None:
        """The humans' majority label (None: no label, or the top labels tie)."""
        ranked = Counter(self.humans).most_common()
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return None
        return ranked[0][0]


class StratumStatistics(BaseModel):
    """Position statistics of one stratum of pairs (see the module docstring for definitions)."""

    model_config = ConfigDict(extra="forbid")

    n_pairs: int
    """Pairs in the stratum."""
    n_complete: int
    """Pairs with a valid verdict in both orders (the units of the excess and the inconsistency)."""
    first_slot_excess: Estimate
    """Mean of e_i = (first − second)/2 over complete pairs; adjusted Wald interval."""
    excess_se: float
    """Standard error of the adjusted excess (the p-value's scale)."""
    excess_centre: float
    """The adjusted excess Σe/(n + 2) the interval is centred on."""
    order_inconsistency: Estimate
    """Complete pairs whose two orders gave different labels / complete pairs (Wilson)."""
    per_order_accuracy: float
    """Verdicts (both orders, complete pairs with a human majority) equal to that majority."""
    expected_inconsistency: float
    """The inconsistency of an order-blind judge with the measured per-order confusion."""
    positional_agreement: float
    """LLMBar's ``equal``: equal labels in both orders (two unparseable verdicts equal) / pairs."""
    n_equal: int
    """Pairs counted equal under that convention."""
    n_valid: int
    """Valid unit verdicts (both orders pooled, all pairs)."""
    first: int
    """Valid verdicts that picked the output shown first."""
    second: int
    """Valid verdicts that picked the output shown second."""
    tie: int
    """Valid tie verdicts."""
    first_share: Estimate
    """first/n_valid (bootstrap by pair, or cluster)."""
    second_share: float
    """second/n_valid."""
    directional_pairs: int
    """Complete pairs that lean to one slot (e ≠ 0; sign-test n)."""
    first_biased_pairs: int
    """Complete pairs that lean to the first slot (sign-test k)."""
    sign_p: float
    """Exact two-sided sign test of first_biased_pairs among directional_pairs."""


class PositionStatistics(BaseModel):
    """Position statistics overall and per stratum."""

    model_config = ConfigDict(extra="forbid")

    all: StratumStatistics
    clear_gap: StratumStatistics
    close: StratumStatistics


def _first_second(label: Label | None, order: Literal["ab", "ba"]) -> tuple[int, int]:
    if label is None or label == "tie":
        return 0, 0
    first_label = "A" if order == "ab" else "B"
    return (1, 0) if label == first_label else (0, 1)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def adjusted_mean(
    values: Sequence[float], *, clusters: Sequence[Any] | None = None, confidence: float = 0.95
) -> tuple[Estimate, float, float]:
    """The mean of paired differences ``values`` (each in [−1, 1]) with the adjusted Wald
    interval of Bonett & Price (2012) — a pseudo-difference of +1 and one of −1 are added:
    ``ẽ = Σv/(n + 2)``, ``var = ((Σv² + 2)/(n + 2) − ẽ²)/(n + 2)``, ``ẽ ± z·√(var·deff)``
    clipped to [−1, 1] — with the cluster design effect ``deff = max(1, V_cluster/V_srs)``
    when clusters are given. For values in {−1, 0, 1} it is exactly Bonett–Price's interval
    for (c − b)/n. Returns the estimate (value = the plain mean), the standard error and the
    centre ẽ. No values: an undefined estimate, se and centre nan.

    >>> est, se, centre = adjusted_mean([0.0] * 54)
    >>> est.value, round(est.lo, 4), round(est.hi, 4)
    (0.0, -0.0495, 0.0495)
    >>> from judgecal.probes._stats import paired_difference
    >>> b, a = [True] * 8 + [False] * 12, [True] * 6 + [False] * 2 + [True] * 6 + [False] * 6
    >>> ref, ref_se, _ = paired_difference(b, a)
    >>> est, se, _ = adjusted_mean([int(y) - int(x) for x, y in zip(b, a)])
    >>> [round(x, 9) for x in (est.lo, est.hi, se)] == [round(x, 9) for x in (ref.lo, ref.hi, ref_se)]
    True
    """
    n = len(values)
    if n == 0:
        return (
            Estimate(value=math.nan, lo=None, hi=None, n=0, method="none", confidence=confidence),
            math.nan,
            math.nan,
        )
    v = np.asarray(values, dtype=float)
    centre = float(v.sum()) / (n + 2)
    var = max((float((v * v).sum()) + 2.0) / (n + 2) - centre * centre, 0.0) / (n + 2)
    deff, n_clusters = 1.0, None
    if clusters is not None:
        if len(clusters) != n:
            raise ValueError(f"need one cluster per value, got {len(clusters)} for {n}")
        keys: dict[Any, int] = {}
        idx = np.asarray([keys.setdefault(g, len(keys)) for g in clusters])
        k = n_clusters = len(keys)
        if 1 < k < n:
            sums = np.bincount(idx, weights=v, minlength=k)
            sizes = np.bincount(idx, minlength=k).astype(float)
            mean = float(v.mean())
            v_cluster = k / (k - 1) * float(((sums - mean * sizes) ** 2).sum())
            v_srs = n * float(((v - mean) ** 2).mean())
            if v_srs > 0:
                deff = max(1.0, v_cluster / v_srs)
            elif v_cluster > 0:
                deff = float(sizes.max())
    se = math.sqrt(var * deff)
    z = _z(confidence)
    est = Estimate(
        value=float(v.mean()),
        lo=max(-1.0, centre - z * se),
        hi=min(1.0, centre + z * se),
        n=n,
        method="adjusted_wald",
        confidence=confidence,
        n_clusters=n_clusters,
    )
    return est, se, centre


def min_cases(tolerance: float, *, confidence: float = 0.95) -> int:
    """The fewest cases with which an ideal judge (every paired difference 0) gets its adjusted
    Wald interval, ±z·√2/(n + 2), inside ±``tolerance``.

    >>> min_cases(0.05), min_cases(0.10), min_cases(0.05, confidence=0.9)
    (54, 26, 45)
    """
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    return max(1, math.ceil(_z(confidence) * math.sqrt(2.0) / tolerance - 2.0 - 1e-12))


def _expected_inconsistency(pairs: Sequence[PairVerdicts]) -> tuple[float, float]:
    """(per-order accuracy, inconsistency of an order-blind judge with the measured confusion)."""
    by_truth: dict[Label, Counter[Label]] = {}
    truths: list[Label] = []
    right = total = 0
    for p in pairs:
        h = p.majority
        if h is None or not p.complete:
            continue
        truths.append(h)
        row = by_truth.setdefault(h, Counter())
        for label in (p.ab, p.ba):
            row[label] += 1  # type: ignore[index]
            right += label == h
            total += 1
    if not truths:
        return math.nan, math.nan
    agree = {h: sum((k / sum(row.values())) ** 2 for k in row.values()) for h, row in by_truth.items()}
    return right / total, 1.0 - sum(agree[h] for h in truths) / len(truths)


def _stratum_statistics(
    pairs: Sequence[PairVerdicts], *, n_resamples: int, seed: int, confidence: float
) -> StratumStatistics:
    complete = [p for p in pairs if p.complete]
    leans = [p.lean or 0.0 for p in complete]
    clusters = [p.cluster or p.item_id for p in complete]
    excess, se, centre = adjusted_mean(
        leans, clusters=clusters if any(p.cluster for p in complete) else None, confidence=confidence
    )
    inconsistent = sum(p.ab != p.ba for p in complete)
    accuracy, expected = _expected_inconsistency(complete)
    firsts: list[int] = []
    valid: list[int] = []
    tie = 0
    for p in pairs:
        f1, _ = _first_second(p.ab, "ab")
        f2, _ = _first_second(p.ba, "ba")
        firsts.append(f1 + f2)
        valid.append((p.ab is not None) + (p.ba is not None))
        tie += (p.ab == "tie") + (p.ba == "tie")
    first, n_valid = sum(firsts), sum(valid)
    boot = {
        "clusters": [p.cluster or p.item_id for p in pairs],
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": confidence,
    }
    directional = sum(x != 0 for x in leans)
    first_biased = sum(x > 0 for x in leans)
    n_equal = sum(p.ab == p.ba for p in pairs)
    return StratumStatistics(
        n_pairs=len(pairs),
        n_complete=len(complete),
        first_slot_excess=excess,
        excess_se=se,
        excess_centre=centre,
        order_inconsistency=wilson(inconsistent, len(complete), confidence=confidence),
        per_order_accuracy=accuracy,
        expected_inconsistency=expected,
        positional_agreement=n_equal / len(pairs) if pairs else math.nan,
        n_equal=n_equal,
        n_valid=n_valid,
        first=first,
        second=n_valid - first - tie,
        tie=tie,
        first_share=ratio_bootstrap(firsts, valid, **boot),  # type: ignore[arg-type]
        second_share=(n_valid - first - tie) / n_valid if n_valid else math.nan,
        directional_pairs=directional,
        first_biased_pairs=first_biased,
        sign_p=sign_test(first_biased, directional),
    )


def position_statistics(
    pairs: Iterable[PairVerdicts],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PositionStatistics:
    """First-slot excess (adjusted Wald), order inconsistency and its order-blind expectation,
    first/second-slot shares and the sign test, overall and for clear-gap and close pairs — a
    pure function of recorded verdicts.

    Pair 1 is consistent, pair 2 picks the first slot in both orders (e = 1), pair 3 is a tie
    in one order and the first slot in the other (e = ½), pair 4 is unparseable once:

    >>> pairs = [PairVerdicts("1", "A", "A", ("A",)), PairVerdicts("2", "A", "B", ("B",)),
    ...          PairVerdicts("3", "tie", "B", ("B", "A")), PairVerdicts("4", None, "A", ("A",))]
    >>> s = position_statistics(pairs, n_resamples=100)
    >>> s.all.n_complete, s.all.first_slot_excess.value, s.all.order_inconsistency.value
    (3, 0.5, 0.6666666666666666)
    >>> (s.all.first, s.all.second, s.all.tie, s.all.n_valid), s.all.positional_agreement
    ((4, 2, 1, 7), 0.25)
    >>> s.all.directional_pairs, s.clear_gap.n_pairs, s.close.n_pairs
    (2, 3, 1)
    """
    pairs = list(pairs)
    kw = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    return PositionStatistics(
        all=_stratum_statistics(pairs, **kw),  # type: ignore[arg-type]
        clear_gap=_stratum_statistics([p for p in pairs if p.stratum == "clear_gap"], **kw),  # type: ignore[arg-type]
        close=_stratum_statistics([p for p in pairs if p.stratum == "close"], **kw),  # type: ignore[arg-type]
    )


def position_test(stats: PositionStatistics, tolerance: float = 0.05) -> ProbeTest:
    """The gated test of the pairwise probe: the first-slot excess over all complete pairs
    against ``|excess| ≤ tolerance``, with the one-sided boundary p-value.

    >>> pairs = [PairVerdicts(str(i), "A", "A") for i in range(100)]
    >>> t = position_test(position_statistics(pairs, n_resamples=10))
    >>> t.inside, round(t.p_value, 3)
    (True, 1.0)
    """
    a = stats.all
    return ProbeTest(
        name=HEADLINE,
        estimate=a.first_slot_excess,
        tolerance=tolerance,
        direction="abs",
        p_value=boundary_p(a.excess_centre, a.excess_se, tolerance, "abs"),
    )


def pairs_from_judgments(js: Any, judge: str) -> list[PairVerdicts]:
    """A judge's both-order verdicts from an imported :class:`~judgecal.importers.JudgmentSet`
    (items without both orders are left out); humans = the item's labels, cluster = its
    ``prompt_id`` metadata when present."""
    ab = js.verdict_labels(judge, order="ab")
    ba = js.verdict_labels(judge, order="ba")
    out = []
    for item in js.items:
        if item.id in ab and item.id in ba:
            cluster = item.metadata.get("prompt_id")
            out.append(
                PairVerdicts(
                    item.id,
                    ab[item.id],
                    ba[item.id],
                    tuple(item.labels.values()),
                    None if cluster is None else str(cluster),
                )
            )
    return out


def pairs_from_run(
    rubric: Rubric, judge: JudgeConfig, items: Sequence[GoldItem], run: RunResult
) -> tuple[list[PairVerdicts], list[str]]:
    """Both-order verdicts of a grading run (``orders="both"``) as :class:`PairVerdicts`, and the
    ids of items left out because an order has no verdict (a transport error or a cap). With
    several samples per order, an order's verdict is their majority (:func:`judgecal.judge.aggregate`)."""
    by_item: dict[str, dict[str, list[Any]]] = {}
    for v in run.verdicts:
        if v.order in ("ab", "ba"):
            by_item.setdefault(v.item_id, {}).setdefault(v.order, []).append(v)
    pairs, missing = [], []
    for item in items:
        labels: dict[str, Label | None] = {}
        for order in ("ab", "ba"):
            units = by_item.get(item.id, {}).get(order, [])
            agg = aggregate(rubric, judge, item, units)
            if agg.status in ("error", "skipped"):
                break
            labels[order] = agg.label if agg.status == "ok" else None
        else:
            cluster = item.metadata.get("prompt_id")
            pairs.append(
                PairVerdicts(
                    item.id,
                    labels["ab"],
                    labels["ba"],
                    tuple(item.labels.values()),
                    None if cluster is None else str(cluster),
                )
            )
            continue
        missing.append(item.id)
    return pairs, missing


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _interval(e: Estimate) -> str:
    return f"95% CI {fmt(e.lo)} to {fmt(e.hi)}"


class PositionProbe:
    """P1: position bias (pairwise rubrics: every pair judged in both orders)."""

    name = "position"
    description = "Position bias: pairs judged in both orders; first-slot excess"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not items:
            return "no gold items in the split"
        if rubric.scale.kind != "pairwise":
            return (
                "position bias is about where an output is shown in a pair; a single-output rubric's "
                "criteria order is tested by the rewording probe (criteria reordered)"
            )
        return None

    def plan(self, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        """Two judge calls per gold item (the unpermuted one usually from the cache); passable
        when an ideal judge's interval, ±z·√2/(n + 2), fits inside ±T."""
        t = {**DEFAULT_THRESHOLDS, **thresholds}
        tolerance = t["max_first_slot_excess"]
        need = min_cases(tolerance, confidence=1.0 - t["alpha"])
        n = len(items)
        passable = n >= need
        reason = (
            f"{2 * n} calls (both orders of each pair); an ideal judge's interval on {n} pairs is "
            f"±{fmt(_z(1.0 - t['alpha']) * math.sqrt(2.0) / (n + 2))}, "
            + (
                f"inside ±{fmt(tolerance)}"
                if passable
                else f"wider than ±{fmt(tolerance)} ({need} pairs needed)"
            )
        )
        return ProbePlan(
            calls=2 * n,
            cases=n,
            passable=passable,
            min_cases=None if passable else need,
            min_items=None if passable else need,
            reason=reason,
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        return settle([await self._run_pairwise(ctx)], alpha=ctx.alpha)[0]

    async def _run_pairwise(self, ctx: ProbeContext) -> ProbeResult:
        judge = ctx.judge.model_copy(update={"orders": "both"})
        run = await ctx.grade(ctx.items, judge=judge, label="position")
        pairs, missing = pairs_from_run(ctx.rubric, judge, ctx.items, run)
        stats = position_statistics(pairs, n_resamples=ctx.n_resamples, seed=ctx.seed)
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        test = position_test(stats, t["max_first_slot_excess"])
        a = stats.all
        excess = a.first_slot_excess
        incomplete = [p.item_id for p in pairs if not p.complete]
        reason = (
            f"first-slot excess {fmt(excess.value)} ({_interval(excess)}, tolerance ±"
            f"{fmt(test.tolerance)}, p={fmt(test.p_value)}) over {a.n_complete} pairs judged in both "
            f"orders: first slot picked {a.first} times, second {a.second}, tie {a.tie}; order-"
            f"inconsistent pairs {_pct(a.order_inconsistency.value)} (an order-blind judge of the same "
            f"per-order accuracy {_pct(a.per_order_accuracy)} would give {_pct(a.expected_inconsistency)})"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic="first-slot excess: mean over pairs of (first-slot − second-slot picks)/2, both orders",
            estimate=excess,
            headline_limit="max_first_slot_excess",
            threshold={"max_first_slot_excess": t["max_first_slot_excess"]},
            alpha=ctx.alpha,
            p_value=test.p_value,
            tests=[test],
            reason=reason,
            n=a.n_complete,
            details={
                "mode": "swap",
                "order_inconsistency": a.order_inconsistency.model_dump(mode="json"),
                "expected_inconsistency": a.expected_inconsistency,
                "per_order_accuracy": a.per_order_accuracy,
                "statistics": stats.model_dump(mode="json"),
                "items_without_both_orders": missing,
                "items_unparseable_in_one_order": incomplete,
                "run_id": run.run_id,
            },
        )
