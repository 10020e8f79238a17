"""Scenarios of the position probe (P1).

- **pairwise, 200 generated pairs** (pairwise-preference rubric; a fifth of the pairs are ties,
  the better output on a random side): the simulated judge's ``position_bias`` b replaces the
  verdict by "A" — the slot shown first — with probability b, so the first-slot excess over
  complete pairs has expectation exactly b at any accuracy (``judgecal.simulate._decide``: the
  base draw's first-minus-second cancels between the two orders). Power at b = 0.15, 0.25, 0.40
  (the tolerance is 0.10).
- **pairwise, the bundled set** (26 pairs, 16 in the test split): too few pairs for any judge to
  pass at T = 0.10 (26 needed) — every run must be *underpowered* with no call.

Single-output rubrics do not apply (their criteria order is the rewording probe's).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from bench._probe_bench import Scenario, bundled_gold
from bench.probe_scenarios._gold import generated_gold, tie_pairs, unbiased_judge
from judgecal.gold import GoldSet
from judgecal.simulate import JudgeProfile


@cache
def synthetic_pairs(n: int = 200, seed: int = 0, tie_share: float = 0.2) -> GoldSet:
    """``n`` distinct pairs with three agreeing annotators: ``tie`` for ``tie_share`` of them,
    else a winner on a random side."""
    items = tie_pairs(n, seed, tie_share, key="position-pairs", id_prefix="pp-syn")
    return generated_gold(f"pairwise-synthetic-{n}-{seed}", items)


def _bias(profile: JudgeProfile) -> float:
    return profile.position_bias


def _biased(effect: float, seed: int) -> JudgeProfile:
    return JudgeProfile(accuracy=0.9, position_bias=effect, seed=seed)


def _scenario(
    gold: Callable[[], GoldSet],
    label: str,
    effects: list[float],
    true_effect: Callable[[JudgeProfile], float] | None,
) -> Scenario:
    return Scenario(
        probe="position",
        rubric="pairwise-preference",
        gold=gold,
        label=label,
        unbiased=unbiased_judge,
        biased=_biased,
        effects=effects,
        true_effect=true_effect,
        headline="first-slot excess",
    )


SCENARIOS = [
    _scenario(
        synthetic_pairs, "position / pairwise-preference, 200 generated pairs", [0.15, 0.25, 0.40], _bias
    ),
    _scenario(
        bundled_gold("pairwise-preference"), "position / pairwise-preference, bundled gold set", [0.60], None
    ),
]
