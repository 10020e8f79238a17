"""P11, resample consistency: does the judge give the same verdict when asked the same thing again?

Every item is judged ``k`` times (threshold key ``k``, default 5) at the judge's deployment
settings: its own temperature — when that is 0 it is used as is, and the probe then measures
determinism only (reproducible is not reliable, METHODS 2.8). Sample ``i`` is sent seed
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

Pass (METHODS P11/G6): α ≥ ``min_alpha`` (0.80) **or** modal agreement ≥
``min_modal_agreement`` (0.90). When it fails, ``details["majority_of_k_helps"]`` says whether
majority-of-k agrees with humans more than single samples (G6: approval only with
majority-of-k aggregation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from judgecal.calibrate.intervals import bootstrap_alpha, wilson
from judgecal.gold import GoldItem
from judgecal.judge import aggregate
from judgecal.probes._stats import Check, decide, fmt, ratio_bootstrap
from judgecal.probes.base import ProbeContext, ProbeResult
from judgecal.rubric import Rubric

__all__ = ["ResampleConsistencyProbe", "expected_binary_flip_rate"]

INVALID = "invalid"


def expected_binary_flip_rate(accuracy: float) -> float:
    """P(two independent draws of a binary judge right with probability ``accuracy`` disagree):
    exactly one of the two is right, 2a(1 − a).

    >>> expected_binary_flip_rate(0.9), expected_binary_flip_rate(1.0)
    (0.18, 0.0)
    """
    return round(2 * accuracy * (1 - accuracy), 12)


class ResampleConsistencyProbe:
    """P11: k samples per item at the deployment temperature; flip rate, modal agreement, α."""

    name = "resample_consistency"
    description = "Resample consistency: k samples per item; flip rate, modal agreement, α"
    gated = True
    default_thresholds: dict[str, float] = {"k": 5, "min_alpha": 0.80, "min_modal_agreement": 0.90}

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        return None if items else "no gold items in the split"

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

        decision = decide(
            [
                Check("α across samples", alpha.value, ">=", t["min_alpha"]),
                Check("modal agreement", modal.value, ">=", t["min_modal_agreement"]),
            ],
            mode="any",
        )
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
        outcome = "pass" if decision.passed else ("undefined" if decision.passed is None else "FAIL")
        reason = (
            f"over {len(keys)} items × {k} samples ({note}): flip rate {fmt(flip.value)} "
            f"(95% CI {fmt(flip.lo)} to {fmt(flip.hi)}), modal agreement {fmt(modal.value)}, "
            f"α {fmt(alpha.value)}; human agreement single {fmt(single.value)} vs majority-of-{k} "
            f"{fmt(majority.value)} — {outcome}"
        )
        if decision.passed is False and helps:
            reason += f" (majority-of-{k} aggregation agrees with humans more: G6 allows it only so)"
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic="flip rate: share of disagreeing sample pairs per item (CALM CR), mean over items",
            estimate=flip,
            threshold={"min_alpha": t["min_alpha"], "min_modal_agreement": t["min_modal_agreement"]},
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=len(keys),
            details={
                "k": k,
                "temperature": temperature,
                "determinism_only": temperature == 0,
                "decision": decision.summary,
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
