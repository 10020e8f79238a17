"""P1, position bias: does the verdict depend on where an output is shown?

**Pairwise rubrics.** Every gold pair is judged in both orders (``ab``: output_a shown first,
``ba``: output_b shown first; the ``ab`` verdicts are the ones a plain ``judgecal grade`` run
already stored, so they come from the cache). Verdicts are in the item's own terms (``A`` =
output_a, whatever the order). From them, per stratum (all pairs; *clear-gap* pairs, whose
human labels are unanimous and not ``tie``; *close* pairs, a split vote or a ``tie`` label):

- **consistency** = k/n, k = pairs whose two orders both gave a valid verdict and the same one,
  n = pairs with a verdict (valid or unparseable) in both orders. An unparseable verdict counts
  against consistency (METHODS Part 5.2). Wilson interval.
- **positional agreement** (LLMBar's ``equal``): pairs whose two labels are equal, two
  unparseable verdicts counting as equal, over all pairs — for comparison with published figures.
- over the *valid unit verdicts* (both orders pooled; n_valid of them): **first** = picks of the
  output shown first (``A`` in ``ab``, ``B`` in ``ba``), **second** = picks of the output shown
  second, **tie**; shares first/n_valid, second/n_valid, tie/n_valid.
- **first-slot excess** = (first − second)/n_valid, the headline: 0 for an order-blind judge,
  +1 for one that always picks the first slot. Percentile bootstrap by item (by ``prompt_id``
  when items carry one): each item brings its d_i = first_i − second_i and its valid count.
  When every pair has two directional verdicts it equals (pairs biased to the first slot − pairs
  biased to the second)/pairs, METHODS' |first − second|.
- **sign test** among *directional pairs*: pairs with d_i ≠ 0 (picked the first slot more often
  than the second, or the reverse; a consistent pair has d_i = 0); k = pairs with d_i > 0,
  exact two-sided binomial test against 1/2. Pairs are independent; units of one pair are not.

Decision (thresholds from the approval policy; METHODS P1): pass when

- clear-gap consistency ≥ ``min_consistency`` (0.90) and its Wilson lower bound ≥
  ``min_consistency_lower`` (0.85) — on all pairs when there is no clear-gap pair — and
- the first-slot preference is not *both* material and significant: |excess| ≤
  ``max_first_slot_excess`` (0.05) **or** sign-test p ≥ ``alpha`` (0.05). Failing needs p < α,
  so a judge without position bias fails this part in at most α of runs (the sign test is exact
  and conservative); requiring both conditions to hold for a pass would flag more than half of
  unbiased judges on 26 pairs from sampling noise alone.

:func:`position_statistics` computes all of this from recorded verdicts (:class:`PairVerdicts`;
:func:`pairs_from_judgments` reads them from an imported :class:`~judgecal.importers.JudgmentSet`,
e.g. LLMBar's both-order results) and is what :meth:`PositionProbe.run` uses.

**Binary and ordinal rubrics.** The option order is the order of the rubric's criteria: the
items are judged again with the criteria reversed and the paired change measured: directional
shift Δ = (c − b)/n (b = pass→fail, c = fail→pass; bootstrap CI, exact McNemar p), flip rate
(any label change; Wilson). Pass unless |Δ| > ``max_criteria_shift`` (0.05) and McNemar p < α.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate, wilson
from judgecal.gold import GoldItem
from judgecal.judge import JudgeConfig, RunResult, aggregate
from judgecal.probes._stats import (
    Check,
    Decision,
    decide,
    derive_item,
    fmt,
    paired_shift,
    ratio_bootstrap,
    sign_test,
    signed_rank_test,
)
from judgecal.probes.base import ProbeContext, ProbeResult
from judgecal.prompt import render_messages
from judgecal.rubric import Rubric

__all__ = [
    "PairVerdicts",
    "PositionProbe",
    "PositionStatistics",
    "StratumStatistics",
    "pairs_from_judgments",
    "pairs_from_run",
    "position_decision",
    "position_statistics",
]

Label = str | int
Stratum = Literal["all", "clear_gap", "close"]

DEFAULT_THRESHOLDS: dict[str, float] = {
    "min_consistency": 0.90,
    "min_consistency_lower": 0.85,
    "max_first_slot_excess": 0.05,
    "max_criteria_shift": 0.05,
    "alpha": 0.05,
}


@dataclass(frozen=True)
class PairVerdicts:
    """One pair's verdicts in both presentation orders, in the item's own terms."""

    item_id: str
    ab: Label | None
    """The verdict with output_a shown first (None: unparseable)."""
    ba: Label | None
    """The verdict with output_b shown first, mapped back (``A`` still means output_a)."""
    humans: tuple[Label, ...] = ()
    """The human labels of the pair (decide the stratum)."""
    cluster: str | None = None
    """Bootstrap cluster (e.g. the prompt id); the item itself when None."""

    @property
    def stratum(self) -> Literal["clear_gap", "close", "unlabelled"]:
        """``clear_gap``: humans unanimous on A or B (one annotator counts as unanimous);
        ``close``: a split vote or a ``tie`` label; ``unlabelled``: no human label."""
        if not self.humans:
            return "unlabelled"
        if len(set(self.humans)) == 1 and self.humans[0] != "tie":
            return "clear_gap"
        return "close"


class StratumStatistics(BaseModel):
    """Position statistics of one stratum of pairs (see the module docstring for definitions)."""

    model_config = ConfigDict(extra="forbid")

    n_pairs: int
    """Pairs in the stratum."""
    consistency: Estimate
    """Same valid verdict in both orders, over pairs with a verdict in both orders (Wilson)."""
    positional_agreement: float
    """LLMBar's ``equal``: equal labels in both orders (two unparseable verdicts equal) / pairs."""
    n_equal: int
    """Pairs counted equal under that convention."""
    n_valid: int
    """Valid unit verdicts (both orders pooled)."""
    first: int
    """Valid verdicts that picked the output shown first."""
    second: int
    """Valid verdicts that picked the output shown second."""
    tie: int
    """Valid tie verdicts."""
    first_share: Estimate
    """first/n_valid (bootstrap by item)."""
    second_share: float
    """second/n_valid."""
    first_slot_excess: Estimate
    """(first − second)/n_valid, bootstrap by item (or cluster)."""
    directional_pairs: int
    """Pairs with more first-slot than second-slot picks or the reverse (sign-test n)."""
    first_biased_pairs: int
    """Pairs with more first-slot than second-slot picks (sign-test k)."""
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


def _stratum_statistics(
    pairs: Sequence[PairVerdicts], *, n_resamples: int, seed: int, confidence: float
) -> StratumStatistics:
    consistent = sum(p.ab is not None and p.ab == p.ba for p in pairs)
    n_equal = sum(p.ab == p.ba for p in pairs)
    d: list[int] = []
    firsts: list[int] = []
    valid: list[int] = []
    tie = 0
    for p in pairs:
        f1, s1 = _first_second(p.ab, "ab")
        f2, s2 = _first_second(p.ba, "ba")
        firsts.append(f1 + f2)
        d.append(f1 + f2 - s1 - s2)
        valid.append((p.ab is not None) + (p.ba is not None))
        tie += (p.ab == "tie") + (p.ba == "tie")
    first, n_valid = sum(firsts), sum(valid)
    second = n_valid - first - tie
    clusters = [p.cluster or p.item_id for p in pairs]
    boot = {"clusters": clusters, "n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    directional = sum(x != 0 for x in d)
    first_biased = sum(x > 0 for x in d)
    return StratumStatistics(
        n_pairs=len(pairs),
        consistency=wilson(consistent, len(pairs), confidence=confidence),
        positional_agreement=n_equal / len(pairs) if pairs else float("nan"),
        n_equal=n_equal,
        n_valid=n_valid,
        first=first,
        second=second,
        tie=tie,
        first_share=ratio_bootstrap(firsts, valid, **boot),  # type: ignore[arg-type]
        second_share=second / n_valid if n_valid else float("nan"),
        first_slot_excess=ratio_bootstrap(d, valid, **boot),  # type: ignore[arg-type]
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
    """Consistency, first/second-slot shares, first-slot excess (bootstrap) and the sign test,
    overall and for clear-gap and close pairs — a pure function of recorded verdicts.

    >>> pairs = [PairVerdicts("1", "A", "A", ("A",)), PairVerdicts("2", "A", "B", ("B",)),
    ...          PairVerdicts("3", "B", "B", ("B", "A")), PairVerdicts("4", None, None, ("A",))]
    >>> s = position_statistics(pairs, n_resamples=100)
    >>> s.all.consistency.value, s.all.positional_agreement, (s.all.first, s.all.second, s.all.n_valid)
    (0.5, 0.75, (4, 2, 6))
    >>> round(s.all.first_slot_excess.value, 4), s.all.directional_pairs, s.clear_gap.n_pairs, s.close.n_pairs
    (0.3333, 1, 3, 1)
    """
    pairs = list(pairs)
    kw = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    return PositionStatistics(
        all=_stratum_statistics(pairs, **kw),  # type: ignore[arg-type]
        clear_gap=_stratum_statistics([p for p in pairs if p.stratum == "clear_gap"], **kw),  # type: ignore[arg-type]
        close=_stratum_statistics([p for p in pairs if p.stratum == "close"], **kw),  # type: ignore[arg-type]
    )


def position_decision(stats: PositionStatistics, thresholds: dict[str, float] | None = None) -> Decision:
    """Pass/fail of P1 (see the module docstring): consistency checks on clear-gap pairs (all
    pairs when there is none) and the material-and-significant first-slot rule on all pairs.
    The nested decisions are named ``consistency`` and ``first_slot``."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    basis = stats.clear_gap if stats.clear_gap.n_pairs else stats.all
    label = "clear-gap consistency" if stats.clear_gap.n_pairs else "consistency (no clear-gap pairs)"
    cons = basis.consistency
    consistency = decide(
        [
            Check(label, cons.value, ">=", t["min_consistency"]),
            Check(f"{label} lower bound", cons.lo, ">=", t["min_consistency_lower"]),
        ],
        name="consistency",
    )
    a = stats.all
    first_slot = decide(
        [
            Check("first-slot excess", a.first_slot_excess.value, "abs<=", t["max_first_slot_excess"]),
            Check("sign-test p", a.sign_p, ">=", t["alpha"]),
        ],
        mode="any",
        name="first_slot",
    )
    return decide([consistency, first_slot])


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


def _outcome(passed: bool | None, failure: str) -> str:
    return "pass" if passed else ("undefined: too few verdicts" if passed is None else failure)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


class PositionProbe:
    """P1: position bias (pairwise: both orders; binary/ordinal: criteria order reversed)."""

    name = "position"
    description = "Position bias: pairs judged in both orders (pointwise: criteria reversed)"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not items:
            return "no gold items in the split"
        if rubric.scale.kind == "pairwise":
            return None
        if len(rubric.criteria) < 2:
            return "the rubric has one criterion: there is no option order to permute"
        probe_item = items[0]
        if render_messages(rubric, probe_item.inputs) == render_messages(
            _reversed(rubric), probe_item.inputs
        ):
            return "the prompt template does not show the criteria, so their order cannot matter"
        return None

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        if ctx.rubric.scale.kind == "pairwise":
            return await self._run_pairwise(ctx)
        return await self._run_pointwise(ctx)

    async def _run_pairwise(self, ctx: ProbeContext) -> ProbeResult:
        judge = ctx.judge.model_copy(update={"orders": "both"})
        run = await ctx.grade(ctx.items, judge=judge, label="position")
        pairs, missing = pairs_from_run(ctx.rubric, judge, ctx.items, run)
        stats = position_statistics(pairs, n_resamples=ctx.n_resamples, seed=ctx.seed)
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        decision = position_decision(stats, t)
        a = stats.all
        basis = stats.clear_gap if stats.clear_gap.n_pairs else a
        excess = a.first_slot_excess
        verdict = _outcome(decision.passed, "FAIL: " + ", ".join(decision.failed))
        reason = (
            f"first slot picked {a.first}/{a.n_valid} times vs second {a.second}/{a.n_valid} "
            f"(excess {fmt(excess.value)}, 95% CI {fmt(excess.lo)} to {fmt(excess.hi)}, sign test "
            f"p={fmt(a.sign_p)} over {a.directional_pairs} directional pairs); "
            f"{'clear-gap ' if stats.clear_gap.n_pairs else ''}consistency "
            f"{_pct(basis.consistency.value)} (lower bound {_pct(basis.consistency.lo or float('nan'))}, "
            f"n={basis.consistency.n}) — {verdict}"
        )
        by_name = {c.name: c for c in decision.checks if isinstance(c, Decision)}
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic="first-slot excess: (first-slot − second-slot picks) / valid verdicts, both orders",
            estimate=excess,
            headline_limit="max_first_slot_excess",
            threshold={
                k: t[k] for k in ("min_consistency", "min_consistency_lower", "max_first_slot_excess")
            },
            alpha=t["alpha"],
            p_value=a.sign_p,
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=a.n_pairs,
            details={
                "mode": "swap",
                "decision": decision.summary,
                "consistency_passed": by_name["consistency"].passed,
                "first_slot_passed": by_name["first_slot"].passed,
                "statistics": stats.model_dump(mode="json"),
                "items_without_both_orders": missing,
                "run_id": run.run_id,
            },
        )

    async def _run_pointwise(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        original = await ctx.grade(ctx.items, label="position-original")
        variants = [derive_item(it, self.name, "criteria_reversed") for it in ctx.items]
        permuted = await ctx.grade(variants, rubric=_reversed(rubric), label="position-criteria")
        before_by = {iv.item_id: iv for iv in original.items}
        after_by = {iv.item_id: iv for iv in permuted.items}
        before, after, flips, clusters, score_diffs = [], [], 0, [], []
        for item, variant in zip(ctx.items, variants, strict=True):
            b, a = before_by.get(item.id), after_by.get(variant.id)
            if b is None or a is None or b.status != "ok" or a.status != "ok":
                continue
            before.append(bool(b.passed))
            after.append(bool(a.passed))
            flips += b.label != a.label
            clusters.append(str(item.metadata.get("prompt_id", item.id)))
            if rubric.scale.kind == "ordinal":
                score_diffs.append(int(a.label) - int(b.label))  # type: ignore[arg-type]
        est, p, counts = paired_shift(
            before, after, clusters=clusters, n_resamples=ctx.n_resamples, seed=ctx.seed
        )
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        decision = decide(
            [
                Check("criteria-order shift", est.value, "abs<=", t["max_criteria_shift"]),
                Check("McNemar p", p, ">=", t["alpha"]),
            ],
            mode="any",
        )
        flip = wilson(flips, len(before))
        details: dict[str, Any] = {
            "mode": "criteria_reversed",
            "decision": decision.summary,
            "counts": counts,
            "flip_rate": flip.model_dump(mode="json"),
            "criteria_order": [c.id for c in reversed(rubric.criteria)],
            "run_ids": [original.run_id, permuted.run_id],
        }
        if score_diffs:
            details["mean_score_change"] = sum(score_diffs) / len(score_diffs)
            details["signed_rank_p"] = signed_rank_test(score_diffs)
        reason = (
            f"with the criteria reversed {counts['b']} of {counts['n']} verdicts went pass→fail and "
            f"{counts['c']} fail→pass (Δ {fmt(est.value)}, 95% CI {fmt(est.lo)} to {fmt(est.hi)}, "
            f"McNemar p={fmt(p)}; flip rate {_pct(flip.value)}) — "
            f"{_outcome(decision.passed, 'FAIL: the shift is material and significant')}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic="criteria-order shift Δ = (fail→pass − pass→fail)/n, criteria reversed vs original",
            estimate=est,
            headline_limit="max_criteria_shift",
            threshold={"max_criteria_shift": t["max_criteria_shift"]},
            alpha=t["alpha"],
            p_value=p,
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=counts["n"],
            details=details,
        )


def _reversed(rubric: Rubric) -> Rubric:
    """The rubric with its criteria in reverse order (private attributes — folder, hashes,
    template — are kept by ``model_copy``)."""
    return rubric.model_copy(update={"criteria": list(reversed(rubric.criteria))})
