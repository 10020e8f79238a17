"""The self-preference probe (judgecal.probes.self_preference) as a test with stated error rates:
a perfect judge passes, a self-preferring one fails, unbiased noisy judges and judges with only a
position or only a length habit do not fail, undefined is not a pass, and a gold set that cannot
reach a pass is reported underpowered without a call.

Runs use the in-process simulator on the generated gold sets of
``bench/probe_scenarios/self_preference.py`` (280 support items, 210 pairs in the test split) and
a handful of seeds; the expected values come from ``judgecal.simulate._decide`` (derived in that
module's docstring).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest
from _probe_helpers import run_sim_probes

from judgecal.gold import GoldSet, find_gold
from judgecal.probes.base import ProbeReport, ProbeResult, settle
from judgecal.probes.self_preference import (
    SelfPair,
    SelfPreferenceProbe,
    combine_proportions,
    wataoka_bias,
)
from judgecal.rubric import find_rubric
from judgecal.simulate import JudgeProfile, SimCompleter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.probe_scenarios.self_preference import synthetic_pairs, synthetic_support  # noqa: E402

SEEDS = range(3)


@pytest.fixture(scope="module")
def support() -> tuple[Any, GoldSet]:
    return find_rubric("support-billing"), synthetic_support()


@pytest.fixture(scope="module")
def pairs() -> tuple[Any, GoldSet]:
    return find_rubric("pairwise-preference"), synthetic_pairs()


def run(
    rubric: Any,
    gold: GoldSet,
    profile: JudgeProfile,
    *,
    store: Any,
    names: tuple[str, ...] = ("self_preference",),
    model: str = "judge",
    family: str | None = "openai",
    seed: int = 0,
) -> tuple[ProbeReport, SimCompleter]:
    return run_sim_probes(
        rubric, gold, profile, names, store=store, model=model, split="test", judge_family=family, seed=seed
    )


def sp(report: ProbeReport) -> ProbeResult:
    return next(r for r in report.results if r.probe == "self_preference")


def test_a_perfect_judge_passes_on_both_scales(support, pairs, store):
    for rubric, gold in (support, pairs):
        report, _ = run(rubric, gold, JudgeProfile(accuracy=1.0), store=store, model=f"exact-{gold.name}")
        r = sp(report)
        assert r.outcome == "pass", r.reason
        assert r.estimate is not None and r.estimate.value == 0.0
        (test,) = r.tests
        assert test.name == "self-preference bias" and test.direction == "abs" and test.inside
        assert test.tolerance == 0.15 and test.p_value == 1.0


def test_a_self_preferring_judge_fails(support, pairs, store):
    # pairwise: the Wataoka bias is s = 0.6 (the sim/self-preferring preset); binary: the average
    # odds gap is s/2, so s = 1 gives 0.5 — both far beyond ±0.15
    for (rubric, gold), s, truth in ((pairs, 0.6, 0.6), (support, 1.0, 0.5)):
        for seed in SEEDS:
            profile = JudgeProfile(accuracy=0.9, self_families=["openai"], self_preference=s, seed=seed)
            report, _ = run(rubric, gold, profile, store=store, model=f"self-{gold.name}-{seed}", seed=seed)
            r = sp(report)
            assert r.outcome == "fail" and r.passed is False, r.reason
            assert r.estimate is not None and r.estimate.lo is not None and r.estimate.hi is not None
            assert r.estimate.lo > 0.15 and r.tests[0].p_adjusted is not None and r.tests[0].p_adjusted < 0.05
            assert r.estimate.lo <= truth <= r.estimate.hi


def test_unbiased_noisy_judges_do_not_fail(support, pairs, store):
    for rubric, gold in (support, pairs):
        for accuracy in (0.75, 0.85):
            for seed in SEEDS:
                report, _ = run(
                    rubric,
                    gold,
                    JudgeProfile(accuracy=accuracy, seed=seed),
                    store=store,
                    model=f"noisy-{gold.name}-{accuracy}-{seed}",
                    seed=seed,
                )
                r = sp(report)
                assert r.outcome in ("pass", "inconclusive"), r.reason


@pytest.mark.parametrize("habit", ["position_bias", "verbosity_bias"])
def test_position_or_length_alone_is_not_self_preference(pairs, store, habit):
    # the openai output is the longer one in 65% of the pairs and humans prefer the longer one in
    # 65%: a single-order, unstratified Wataoka bias shows the length habit as self-preference;
    # both orders cancel the first-slot habit and the length strata the length habit
    rubric, gold = pairs
    raw = []
    for seed in SEEDS:
        profile = JudgeProfile(accuracy=0.9, seed=seed, **{habit: 0.6})
        report, _ = run(rubric, gold, profile, store=store, model=f"{habit}-{seed}", seed=seed)
        r = sp(report)
        assert r.outcome != "fail", r.reason
        assert r.estimate is not None and r.estimate.lo is not None and r.estimate.hi is not None
        assert r.estimate.lo <= 0.0 <= r.estimate.hi, r.reason
        raw.append(r.details["statistics"]["parts"]["wataoka_unstratified"])
    if habit == "verbosity_bias":
        # without length control the habit shows: P(own longer | humans prefer own) = 0.65²/(0.65² +
        # 0.35²) = 0.775, P(other longer | humans prefer other) = 0.5, so the raw bias is
        # v·(0.775 − 0.5) = 0.165 at v = 0.6
        assert sum(raw) / len(raw) > 0.1, raw


def test_undefined_is_not_a_pass(support, store):
    rubric, gold = support
    profile = JudgeProfile(accuracy=1.0, refusal_rate=1.0)  # every answer a refusal: unparseable
    report, _ = run(rubric, gold, profile, store=store, model="malformed")
    r = sp(report)
    assert r.outcome == "undefined" and r.passed is None and not report.passed
    assert r.details["statistics"]["counts"]["judge_unparseable"] == len(gold.select("test"))


def test_the_bundled_sets_are_underpowered_without_a_call(store):
    for name in ("support-billing", "pairwise-preference"):
        rubric = find_rubric(name)
        gold = find_gold(name, rubric)
        report, sim = run(rubric, gold, JudgeProfile(accuracy=1.0), store=store, model=f"bundled-{name}")
        r = sp(report)
        assert r.outcome == "underpowered" and r.passed is None and not report.passed, r.reason
        assert r.plan is not None and not r.plan.passable and r.plan.min_items is not None
        assert r.reason.startswith(f"underpowered: needs ≥ {r.plan.min_items} items")
        assert report.calls == 0 and sim.stats()["requests"] == 0


def test_plan_counts_groups_and_calls(support, pairs):
    probe = SelfPreferenceProbe()
    rubric, gold = support
    items = gold.select("test")
    plan = probe.plan(rubric, items, {}, judge_family="openai")
    assert plan.passable and plan.calls == plan.cases == len(items) and plan.mde is not None
    assert plan.mde > 0.15
    # with 35 own-family passes and 105 of each other group, an always-right judge's interval is
    # inside ±0.15 from 10 own-family failures on (MOVER: ½·(1 − 10/13.84) = 0.139 from that
    # group, combined with the other failures' small FPR bound)
    own_fail = [it for it in items if it.metadata["generator_family"] == "openai" and it.majority() == "fail"]
    rest = [it for it in items if it not in own_fail]
    assert probe.plan(rubric, rest + own_fail[:10], {}, judge_family="openai").passable
    short = probe.plan(rubric, rest + own_fail[:9], {}, judge_family="openai")
    assert not short.passable and short.min_items is not None and short.min_items > len(rest) + 9
    # a looser tolerance from the policy makes fewer items passable
    assert probe.plan(rubric, rest + own_fail[:8], {"max_abs_bias": 0.25}, judge_family="openai").passable
    # without the family (how the runner asks) the plan only counts
    assert probe.plan(rubric, items, {}).passable
    rubric, gold = pairs
    items = gold.select("test")
    plan = probe.plan(rubric, items, {}, judge_family="openai")
    own = [
        it
        for it in items
        if "openai" in (it.metadata["generator_family_a"], it.metadata["generator_family_b"])
    ]
    assert plan.passable and plan.cases == len(own) and plan.calls == 2 * len(own)


def test_unknown_family_is_not_applicable_and_says_how_to_fix(support, store):
    rubric, gold = support
    report, sim = run(rubric, gold, JudgeProfile(accuracy=1.0), store=store, model="mystery", family=None)
    r = sp(report)
    assert r.outcome == "not_applicable" and "family is unknown" in r.reason and "--family" in r.reason
    assert sim.stats()["requests"] == 0


def test_both_orders_come_from_the_position_probe_when_it_ran(pairs, store):
    rubric, gold = pairs
    report, _ = run(
        rubric,
        gold,
        JudgeProfile(accuracy=0.9),
        store=store,
        names=("position", "self_preference"),
        model="shared-orders",
    )
    assert sp(report).calls == 0 and sp(report).outcome in ("pass", "inconclusive")


def test_wataoka_bias_cancels_the_habits_exactly():
    # A judge that only picks the first slot: its verdicts in item terms are A (ab) and B (ba),
    # a hit in exactly one order of every pair, whichever side is its own.
    rng = random.Random(0)
    pairs = [SelfPair(rng.choice("AB"), rng.choice("AB"), ("A", "B"), rng.random() < 0.7) for _ in range(200)]
    s = wataoka_bias(pairs)
    assert s.bias.value == 0.0 and s.parts["recall_own_own_longer"] == 0.5
    # A judge that only picks the longer output
    longer = [
        SelfPair(p.own_side, p.human, (lo,) * 2, p.own_longer)
        for p in pairs
        for lo in [p.own_side if p.own_longer else ("B" if p.own_side == "A" else "A")]
    ]
    assert wataoka_bias(longer).bias.value == 0.0
    assert abs(wataoka_bias(longer, length_control=False).bias.value) > 0.1
    # an empty cell leaves the bias undefined, and undefined settles as undefined, not as a pass
    only_longer = [p for p in longer if p.own_longer]
    assert wataoka_bias(only_longer).bias.value != wataoka_bias(only_longer).bias.value  # nan


def test_the_p_value_agrees_with_the_interval():
    # p < 0.05 exactly when the 95% interval lies wholly beyond ±T (so a lone probe cannot be
    # both "fail" and "pass")
    rng = random.Random(1)
    for _ in range(200):
        n1, n2 = rng.randint(5, 60), rng.randint(5, 60)
        k1, k2 = rng.randint(0, n1), rng.randint(0, n2)
        hits = [1.0] * k1 + [0.0] * (n1 - k1) + [0.0] * n2
        trials1 = [1.0] * n1 + [0.0] * n2
        hits2 = [0.0] * n1 + [1.0] * k2 + [0.0] * (n2 - k2)
        trials2 = [0.0] * n1 + [1.0] * n2
        est, p, _ = combine_proportions(
            [(1.0, hits, trials1), (-1.0, hits2, trials2)], continuity=False, boundary=0.15
        )
        assert p is not None and est.lo is not None and est.hi is not None
        beyond = est.lo > 0.15 or est.hi < -0.15
        assert (p < 0.05) == beyond or abs(min(abs(est.lo - 0.15), abs(est.hi + 0.15))) < 1e-6


def test_settle_keeps_the_probe_outcome():
    # the probe decides its outcome as settle would for it alone; the battery's Holm can only
    # soften a fail into inconclusive
    from judgecal.calibrate.intervals import Estimate
    from judgecal.probes.base import ProbeTest

    est = Estimate(value=0.3, lo=0.16, hi=0.44, n=100, method="mover")
    test = ProbeTest(name="self-preference bias", estimate=est, tolerance=0.15, direction="abs", p_value=0.03)
    alone = ProbeResult(probe="self_preference", kind="invariance", gated=True, statistic="x", tests=[test])
    other = alone.model_copy(update={"probe": "other"})
    assert settle([alone])[0].outcome == "fail"
    assert settle([alone, other])[0].outcome == "inconclusive"
