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

The statistics live in :mod:`judgecal.probes._verbosity_stats`, the padding in
:mod:`judgecal.probes._padding`; both are importable from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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
from judgecal.probes._verbosity_stats import (
    NAN,
    LengthBias,
    LengthPreference,
    RaiseRate,
    _clusters,
    _combine,
    _ideal_upper,
    _longer_side,
    _mde,
    _min_room,
    length_bias,
    length_statistics,
    pair_texts,
    prefers_longer,
    raise_rate,
)
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
