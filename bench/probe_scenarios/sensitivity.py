"""Sensitivity (P21) scenarios: an ability, so "unbiased" judges are judges whose true detection
is at or above the tolerance T = 0.75 (accuracy 0.75 / 0.85 / 0.92 / 1.0: their fail rate is the
false-fail rate, ≤ 0.05 by construction of the exact test, about α at accuracy 0.75 = T itself),
and the "effects" are shortfalls below T (true detection 0.70 / 0.60 / 0.45: the fail rate is the
power, and the pass rate there is the false-pass rate, ≤ 0.025 by the Wilson bound).

What the simulator implies (``judgecal.simulate._decide``; the variants' truth is taught):

- binary: the original is passed with probability tpr, the variant (truth "fail") failed with
  probability tnr, independently: detection = tnr (``accuracy`` when tnr is unset);
- pairwise: the variant's truth is the clean copy's slot, drawn right with probability
  ``accuracy``, then replaced by "A" with probability ``position_bias``; the clean copy is first
  in exactly half of the variants, so detection = (1 − b)·accuracy + b/2;
- ordinal (:func:`ordinal_truth`, not a scenario): the original (truth g ≥ 4) and the variant
  (truth 3) are each right with probability a, else one step off (toward the middle at an edge);
  detection = P(variant score < original score | original ≥ 4), pooled over the gold-PASS items.
  It is 0.93 at a = 0.75 and 0.82 even at a = 0.4: a simulated scorer one step off cannot miss
  a two-level drop, so the simulator has no ordinal judge below T but a constant one (the tests
  use it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache

from bench._probe_bench import Scenario, bundled_gold
from bench.probe_scenarios._gold import generated_gold, unbiased_judge
from judgecal.gold import GoldItem, GoldSet
from judgecal.simulate import JudgeProfile

T = 0.75
EFFECTS = [0.05, 0.15, 0.30]


@cache
def pairwise_gold(n: int = 150, seed: int = 11) -> GoldSet:
    """``n`` pairs with a unanimous A or B preference (the pairwise-preference rubric's inputs)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        w = rng.choice("AB")
        items.append(
            GoldItem(
                id=f"pair-{i}",
                inputs={
                    "input": f"Write a short note about topic {i} ({rng.randrange(10**6)}).",
                    "output_a": f"Response one on topic {i}: a direct, complete answer ({rng.random():.6f}).",
                    "output_b": f"Response two on topic {i}: another answer ({rng.random():.6f}).",
                },
                labels={"ana": w, "ben": w, "chloe": w},
            )
        )
    return generated_gold("pairwise-generated", items)


@cache
def ordinal_gold(n: int = 120, seed: int = 13) -> GoldSet:
    """``n`` items scored 1–5 by three agreeing annotators, half of them 4 or 5 (gold-PASS)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        score = rng.choice([4, 5]) if i % 2 == 0 else rng.choice([1, 2, 3])
        items.append(
            GoldItem(
                id=f"ord-{i}",
                inputs={
                    "input": f"How do I do task {i}?",
                    "output": f"To do task {i}, follow these steps ({rng.random():.6f}).",
                    "reference": f"Task {i} is done in three steps.",
                },
                labels={"ana": score, "ben": score, "chloe": score},
            )
        )
    return generated_gold("ordinal-generated", items)


def _binary_truth(profile: JudgeProfile) -> float:
    return profile.tnr if profile.tnr is not None else profile.accuracy


def _pairwise_truth(profile: JudgeProfile) -> float:
    b = profile.position_bias
    return (1 - b) * profile.accuracy + b / 2


def _score_dist(truth: int, a: float, lo: int = 1, hi: int = 5) -> dict[int, float]:
    if truth == lo:
        return {lo: a, lo + 1: 1 - a}
    if truth == hi:
        return {hi: a, hi - 1: 1 - a}
    return {truth: a, truth - 1: (1 - a) / 2, truth + 1: (1 - a) / 2}


def ordinal_truth(gold: Callable[[], GoldSet]) -> Callable[[JudgeProfile], float]:
    def truth(profile: JudgeProfile) -> float:
        a = profile.accuracy
        num = den = 0.0
        variant = _score_dist(3, a)
        for item in gold().select("test"):
            g = item.majority()
            if not isinstance(g, int) or g < 4:
                continue
            for o, po in _score_dist(g, a).items():
                if o < 4:
                    continue
                den += po
                num += po * sum(pv for v, pv in variant.items() if v < o)
        return num / den

    return truth


def _scenario(
    rubric: str,
    gold: Callable[[], GoldSet],
    biased: Callable[[float, int], JudgeProfile],
    true_effect: Callable[[JudgeProfile], float],
    label: str,
) -> Scenario:
    return Scenario(
        probe="sensitivity",
        rubric=rubric,
        gold=gold,
        unbiased=unbiased_judge,
        biased=biased,
        effects=EFFECTS,
        true_effect=true_effect,
        headline="detection rate",
        label=label,
    )


SCENARIOS: list[Scenario] = [
    _scenario(
        "support-billing",
        bundled_gold("support-billing"),
        lambda e, seed: JudgeProfile(accuracy=0.92, tnr=T - e, seed=seed),
        _binary_truth,
        "sensitivity / support-billing (bundled test split, 24 gold-PASS items)",
    ),
    _scenario(
        "pairwise-preference",
        pairwise_gold,
        lambda e, seed: JudgeProfile(accuracy=T - e, seed=seed),
        _pairwise_truth,
        "sensitivity / pairwise-preference (150 generated clear-preference pairs)",
    ),
]
