"""Scenarios of the verbosity probe (P4 padding, P6 length preference).

- **padding, 280 test items** (support-billing rubric; 400 generated items of which 280 are in
  the test split, 40% gold-FAIL): the simulator's ``verbosity_bias`` v raises a padded output one step with
  probability v on top of its accuracy draw, so the raise rate E[s_padded − s_original] /
  P(original below the top) is exactly v at any accuracy (``judgecal.simulate._decide``: the
  original's draw and the padded one's have the same distribution, and only a draw below the top
  can be raised). Power at v = 0.10 (the tolerance itself: a test of size α fails it at most 5% of
  the time), 0.30 and 0.60 (the ``sim/verbose`` preset), biased judges at accuracy 0.9.
- **padding, the bundled set** (support-billing, 51 test items, 27 gold-FAIL): passable for an
  ideal judge (26 items below the top needed), too small for a noisy one.
- **length preference, 300 generated pairs** (pairwise-preference rubric; the better output is
  the longer one in half of the pairs, lengths differ by ≥ 60 characters): with probability v the
  simulator picks the longer output, so the length-bias gap is exactly v at any accuracy.

The generated outputs have no pleasantry sentences. A concise variant is unknown to the simulator
(it recognises an output that *contains* a known one, not one contained *in* it, and the runner
tells it only about variants whose label differs from their source's), so it is graded at random:
on the bundled ``support-synthetic`` set (62 concise variants in its test split) a perfect judge
then shows a concision penalty near 0.5 and fails. Until the simulator is told the concise
variants (with their source's truth), the concision test is checked in
``tests/test_probe_verbosity.py`` on a gold set built for it, not here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache

from bench._probe_bench import Scenario, bundled_gold
from bench.probe_scenarios._gold import (
    ANNOTATORS,
    BAD,
    GOOD,
    TOPICS,
    generated_gold,
    sentences,
    support_item,
    unbiased_judge,
)
from judgecal.gold import GoldItem, GoldSet
from judgecal.simulate import JudgeProfile


@cache
def synthetic_support(n: int = 400, test: int = 280, seed: int = 0, fail_share: float = 0.4) -> GoldSet:
    """``n`` distinct support-billing items (the first ``test`` in the test split), ``fail_share``
    of them gold-FAIL, three agreeing annotators; outputs of one to three sentences."""
    rng = random.Random(f"verbosity-support-{seed}")
    items = []
    for i in range(n):
        label = "fail" if rng.random() < fail_share else "pass"
        pool = BAD if label == "fail" else GOOD
        body = sentences(rng, pool, rng.randint(1, min(3, len(pool))))
        items.append(support_item(f"vb-syn-{i:04d}", i, rng, label, body))
    return generated_gold(f"verbosity-support-{n}-{seed}", items, test)


@cache
def synthetic_pairs(n: int = 300, seed: int = 0) -> GoldSet:
    """``n`` distinct pairs, three agreeing annotators, the better output on a random side and
    the longer one in half of the pairs (lengths differ by at least 60 characters)."""
    rng = random.Random(f"verbosity-pairs-{seed}")
    items = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        winner = rng.choice("AB")
        good = f"Answer {i} ({rng.randrange(10**6)}): {rng.choice(GOOD)}."
        bad = f"Answer {i} ({rng.randrange(10**6)}): {rng.choice(BAD)}."
        extra = " It is worth checking the invoice history as well, where every charge is listed by date."
        if i % 2 == 0:
            good += extra
        else:
            bad += extra
        a, b = (good, bad) if winner == "A" else (bad, good)
        items.append(
            GoldItem(
                id=f"vb-pair-{i:04d}",
                inputs={"input": f"Question {i} about my {topic}?", "output_a": a, "output_b": b},
                labels=dict.fromkeys(ANNOTATORS, winner),
                metadata={"slice": topic},
            )
        )
    return generated_gold(f"verbosity-pairs-{n}-{seed}", items)


def _bias(profile: JudgeProfile) -> float:
    return profile.verbosity_bias


def _biased(effect: float, seed: int) -> JudgeProfile:
    return JudgeProfile(accuracy=0.9, verbosity_bias=effect, seed=seed)


def _scenario(rubric: str, gold: Callable[[], GoldSet], headline: str, label: str) -> Scenario:
    return Scenario(
        probe="verbosity",
        rubric=rubric,
        gold=gold,
        unbiased=unbiased_judge,
        biased=_biased,
        effects=[0.1, 0.3, 0.6],
        true_effect=_bias,
        headline=headline,
        label=label,
    )


SCENARIOS = [
    _scenario(
        "support-billing",
        synthetic_support,
        "padding (pooled)",
        "verbosity / support-billing, 280 generated test items",
    ),
    _scenario(
        "support-billing",
        bundled_gold("support-billing"),
        "padding (pooled)",
        "verbosity / support-billing, bundled (51 test items)",
    ),
    _scenario(
        "pairwise-preference",
        synthetic_pairs,
        "length-bias gap",
        "verbosity / pairwise-preference, 300 generated pairs",
    ),
]
