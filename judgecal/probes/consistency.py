"""P11, resample consistency: does the judge give the same verdict when asked the same thing again?

Every item is judged ``k`` times (threshold key ``k``, default 5) at the judge's deployment
settings: its own temperature — when that is 0 it is used as is, and the probe then measures
determinism only (reproducible is not reliable: Schroeder & Wood-Doughty 2024). Sample ``i`` is sent seed
``sampling.seed + i`` (``i`` without a base seed); sample 0 is the verdict a plain grading run
stored, so it comes from the cache.

A *group* is one item in one presentation order (pairwise judges graded in both orders have two
groups per item) with m ≥ 2 answered samples; an unparseable sample counts as its own verdict,
``invalid`` (an answer that flips to garbage is unstable too). With n_c samples of verdict c:

- **flip rate** (CALM's CR, pairwise form): per group the share of the m(m−1)/2 sample pairs
  that disagree, 1 − Σ n_c(n_c − 1)/(m(m − 1)); the mean over groups, bootstrap by item.
  A binary judge right with probability a on every draw has expected flip rate 2a(1 − a).
- **modal agreement** (Shi et al.'s repetition stability): Σ_g max_c n_c / Σ_g m, the share of
  samples equal to their group's modal verdict; bootstrap by item.
- **Krippendorff's α across samples**: samples as raters (sample i is rater i), groups as units;
  nominal (ordinal for ordinal scales, where unparseable samples are left out as missing);
  bootstrap over units, clustered by item.
- **single vs majority-of-k agreement with humans** (items with a human majority): single =
  the share of all samples that equal the human majority (an unparseable sample disagrees),
  bootstrap by item; majority = the share of items whose majority-of-k verdict
  (:func:`judgecal.judge.aggregate`, ties to the conservative side) equals it, Wilson; and their
  paired gain (majority − single per item, bootstrap).

**Decision** (the stability policy: α ≥ ``min_alpha`` = 0.80 **or** modal agreement ≥
``min_modal_agreement`` = 0.90), on intervals: two tests, ``α across samples`` and ``modal
agreement``, each with its bootstrap 95% interval and a one-sided p-value of "at least the
tolerance" (normal, with the standard error read off the interval). *Pass* when either interval
lies wholly at or above its tolerance; *fail* when both tests reject (the larger p-value below
α: rejecting "α ≥ 0.80 or modal ≥ 0.90" needs both rejected); else *inconclusive*. The test that
decides is the gated one (the other is reported beside it): the one inside its tolerance, else
the one with the larger p-value. An undefined α (every sample of every item the same label)
leaves the decision to modal agreement.

The probe is not part of the bias battery (``gated = False``): noise is not a bias, and an
accurate but noisy judge must fail stability without failing the battery's Holm family. It is
the input of the approval gate's stability check (G6), decided at α on its own; when it fails,
``details["majority_of_k_helps"]`` says whether majority-of-k agrees with humans more than
single samples (G6 then allows approval only with majority-of-k aggregation).

For a binary judge right with probability a on every draw (independent samples), modal
agreement is E[max(X, k − X)]/k with X ~ Binomial(k, a): 0.921 at a = 0.92, 0.856 at a = 0.85,
and 1 for a judge that repeats itself. Calls: (k − 1) per item and presentation order (sample 0
is the plain grading run's verdict, from the cache), k when nothing is cached.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from judgecal.calibrate.intervals import Estimate, bootstrap_alpha, wilson
from judgecal.gold import GoldItem
from judgecal.judge import aggregate
from judgecal.probes._stats import boundary_p, fmt, ratio_bootstrap
from judgecal.probes.base import ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.rubric import Rubric

__all__ = [
    "ResampleConsistencyProbe",
    "expected_binary_flip_rate",
    "expected_binary_modal_agreement",
    "stability_tests",
]

_Z95 = 1.959963984540054

INVALID = "invalid"


def expected_binary_flip_rate(accuracy: float) -> float:
    """P(two independent draws of a binary judge right with probability ``accuracy`` disagree):
    exactly one of the two is right, 2a(1 − a).

    >>> expected_binary_flip_rate(0.9), expected_binary_flip_rate(1.0)
    (0.18, 0.0)
    """
    return round(2 * accuracy * (1 - accuracy), 12)


def expected_binary_modal_agreement(accuracy: float, k: int = 5) -> float:
    """E[max(X, k − X)]/k for X ~ Binomial(k, ``accuracy``): the modal agreement of k independent
    draws of a binary judge right with probability ``accuracy``.

    >>> round(expected_binary_modal_agreement(0.92), 4), expected_binary_modal_agreement(1.0)
    (0.921, 1.0)
    """
    total = 0.0
    for x in range(k + 1):
        total += math.comb(k, x) * accuracy**x * (1 - accuracy) ** (k - x) * max(x, k - x)
    return round(total / k, 12)


def _interval_p(est: Estimate, tolerance: float) -> float:
    """One-sided p of "the statistic is ≥ tolerance", normal with the se read off the interval."""
    if math.isnan(est.value) or est.lo is None or est.hi is None:
        return math.nan
    se = (est.hi - est.lo) / (2 * _Z95)
    return boundary_p(est.value, se, tolerance, "min")


def stability_tests(alpha: Estimate, modal: Estimate, min_alpha: float, min_modal: float) -> list[ProbeTest]:
    """The two stability tests, the deciding one gated: the one whose interval lies inside its
    tolerance (modal agreement first), else the one with the larger p-value (rejecting "α ≥
    min_alpha or modal ≥ min_modal" needs both rejected). An undefined statistic never decides
    while the other is defined.

    >>> from judgecal.calibrate.intervals import Estimate
    >>> a = Estimate(value=0.6, lo=0.5, hi=0.7, n=50, method="bootstrap")
    >>> m = Estimate(value=0.97, lo=0.94, hi=0.99, n=50, method="bootstrap")
    >>> [(t.name, t.gated, t.inside) for t in stability_tests(a, m, 0.8, 0.9)]
    [('modal agreement', True, True), ('α across samples', False, False)]
    """
    tests = [
        ProbeTest(
            name="modal agreement",
            estimate=modal,
            tolerance=min_modal,
            direction="min",
            p_value=_interval_p(modal, min_modal),
        ),
        ProbeTest(
            name="α across samples",
            estimate=alpha,
            tolerance=min_alpha,
            direction="min",
            p_value=_interval_p(alpha, min_alpha),
        ),
    ]
    defined = [i for i, t in enumerate(tests) if not math.isnan(t.estimate.value)]
    if not defined:
        return tests
    inside = [i for i in defined if tests[i].inside]

    def p_of(i: int) -> float:
        p = tests[i].p_value
        return 1.0 if p is None or math.isnan(p) else p

    chosen = inside[0] if inside else max(defined, key=p_of)
    return [t.model_copy(update={"gated": i == chosen}) for i, t in enumerate(tests)]


class ResampleConsistencyProbe:
    """P11: k samples per item at the deployment temperature; flip rate, modal agreement, α."""

    name = "resample_consistency"
    description = "Resample consistency: k samples per item; flip rate, modal agreement, α"
    gated = False
    default_thresholds: dict[str, float] = {"k": 5, "min_alpha": 0.80, "min_modal_agreement": 0.90}

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        return None if items else "no gold items in the split"

    def plan(self, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        """k samples of every item (per presentation order); sample 0 usually cached. A judge that
        repeats itself passes from two items on (its modal agreement is 1 with no spread)."""
        k = int({**self.default_thresholds, **thresholds}["k"])
        n = len(items)
        passable = n >= 2
        return ProbePlan(
            calls=k * n,
            cases=n,
            passable=passable,
            min_cases=None if passable else 2,
            min_items=None if passable else 2,
            reason=(
                f"at most {k * n} calls ({k} samples × {n} items per presentation order; "
                f"sample 0 is usually the cached verdict of the grading run)"
            ),
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        t = {**self.default_thresholds, **ctx.thresholds}
        k = int(t["k"])
        if k < 2:
            raise ValueError(f"resample_consistency needs k >= 2 samples, got {k}")
        rubric = ctx.rubric
        judge = ctx.judge.model_copy(update={"samples": k})
        temperature = judge.sampling.temperature
        run = await ctx.grade(ctx.items, judge=judge, label="resample")

        groups: dict[tuple[str, str], dict[int, Any]] = {}
        units_by_item: dict[str, list[Any]] = {}
        for v in run.verdicts:
            units_by_item.setdefault(v.item_id, []).append(v)
            if v.status not in ("ok", "invalid"):
                continue
            label = v.label if v.status == "ok" and v.label is not None else INVALID
            groups.setdefault((v.item_id, v.order or ""), {})[v.sample_index] = label

        keys = [g for g, s in groups.items() if len(s) >= 2]
        flip_num, modal_num, modal_den, clusters = [], [], [], []
        for g in keys:
            counts = Counter(groups[g].values())
            m = sum(counts.values())
            flip_num.append(1.0 - sum(c * (c - 1) for c in counts.values()) / (m * (m - 1)))
            modal_num.append(max(counts.values()))
            modal_den.append(m)
            clusters.append(g[0])
        boot = {"clusters": clusters, "n_resamples": ctx.n_resamples, "seed": ctx.seed}
        flip = ratio_bootstrap(flip_num, **boot)  # type: ignore[arg-type]
        modal = ratio_bootstrap(modal_num, modal_den, **boot)  # type: ignore[arg-type]

        ordinal = rubric.scale.kind == "ordinal"
        data = [
            [None if ordinal and groups[g].get(i) == INVALID else groups[g].get(i) for g in keys]
            for i in range(k)
        ]
        labels = [*rubric.scale.labels] if ordinal else None
        alpha = bootstrap_alpha(
            data,
            level="ordinal" if ordinal else "nominal",
            labels=labels,
            clusters=clusters,
            n_resamples=ctx.n_resamples,
            seed=ctx.seed,
        )

        # agreement with humans: single samples vs majority-of-k
        single_num, single_den, maj_hits, gain, item_clusters = [], [], 0, [], []
        for item in ctx.items:
            human = item.majority()
            units = [v for v in units_by_item.get(item.id, []) if v.status in ("ok", "invalid")]
            if human is None or not units:
                continue
            hits = sum(v.status == "ok" and v.label == human for v in units)
            maj = aggregate(rubric, judge, item, units)
            maj_ok = maj.status == "ok" and maj.label == human
            single_num.append(hits)
            single_den.append(len(units))
            maj_hits += maj_ok
            gain.append(maj_ok - hits / len(units))
            item_clusters.append(item.id)
        hboot = {"clusters": item_clusters, "n_resamples": ctx.n_resamples, "seed": ctx.seed}
        single = ratio_bootstrap(single_num, single_den, **hboot)  # type: ignore[arg-type]
        majority = wilson(maj_hits, len(single_num))
        gain_est = ratio_bootstrap(gain, **hboot)  # type: ignore[arg-type]

        if not any(v.status == "ok" for v in run.verdicts):
            # every sample unparseable or refused: "always invalid" agrees with itself, but it is
            # not a stable verdict — undefined, never a pass
            nothing = Estimate(value=math.nan, lo=None, hi=None, n=0, method="none")
            modal = alpha = nothing
        tests = stability_tests(alpha, modal, t["min_alpha"], t["min_modal_agreement"])
        helps = (
            bool(majority.value > single.value)
            if single_num and majority.value == majority.value and single.value == single.value
            else None
        )
        note = (
            "temperature 0: the samples differ only by seed, so this measures determinism"
            if temperature == 0
            else f"temperature {temperature:g} (the deployment setting)"
        )
        reason = (
            f"over {len(keys)} items × {k} samples ({note}): modal agreement {fmt(modal.value)} "
            f"(95% CI {fmt(modal.lo)} to {fmt(modal.hi)}; tolerance ≥ {fmt(t['min_modal_agreement'])}), "
            f"α {fmt(alpha.value)} (95% CI {fmt(alpha.lo)} to {fmt(alpha.hi)}; tolerance ≥ "
            f"{fmt(t['min_alpha'])}), flip rate {fmt(flip.value)}; human agreement single "
            f"{fmt(single.value)} vs majority-of-{k} {fmt(majority.value)}"
        )
        result = ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic="flip rate: share of disagreeing sample pairs per item (CALM CR), mean over items",
            estimate=flip,
            threshold={"min_alpha": t["min_alpha"], "min_modal_agreement": t["min_modal_agreement"]},
            alpha=ctx.alpha,
            tests=tests,
            reason=reason,
            n=len(keys),
            details={
                "k": k,
                "temperature": temperature,
                "determinism_only": temperature == 0,
                "flip_rate": flip.model_dump(mode="json"),
                "modal_agreement": modal.model_dump(mode="json"),
                "alpha": alpha.model_dump(mode="json"),
                "invalid_samples": sum(v == INVALID for s in groups.values() for v in s.values()),
                "single_sample_agreement": single.model_dump(mode="json"),
                "majority_of_k_agreement": majority.model_dump(mode="json"),
                "majority_gain": gain_est.model_dump(mode="json"),
                "majority_of_k_helps": helps,
                "run_id": run.run_id,
            },
        )
        result = settle([result], alpha=ctx.alpha)[0]
        if result.outcome == "fail" and helps:
            result = result.model_copy(
                update={
                    "reason": result.reason
                    + f" (majority-of-{k} aggregation agrees with humans more: G6 allows it only so)"
                }
            )
        return result
