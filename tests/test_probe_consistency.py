"""Resample consistency decided on intervals: α across samples ≥ 0.80 or modal agreement ≥ 0.90.

A simulated judge that is not ``item_stable`` draws every sample afresh (the request seed
differs), right with probability a: modal agreement over k = 5 samples is E[max(X, 5 − X)]/5,
X ~ Binomial(5, a). An ``item_stable`` judge at temperature 0 repeats its verdict: modal 1.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from _probe_helpers import arun_probe, gold_set, sim_for, single_items

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.judge import JudgeConfig, Sampling
from judgecal.probes.consistency import (
    ResampleConsistencyProbe,
    expected_binary_modal_agreement,
    stability_tests,
)
from judgecal.rubric import Rubric
from judgecal.simulate import JudgeProfile


def _items(n: int, seed: int) -> list[GoldItem]:
    return single_items(
        n,
        seed,
        key="consistency",
        question="Question {i}?",
        answer="Answer {i} of set {seed}",
        id_prefix="c",
        pass_share=None,
    )


async def _run(
    rubric: Rubric, items: list[GoldItem], profile: JudgeProfile, store: Any, temperature: float
) -> Any:
    sim = sim_for(rubric, items, profile, f"c-{profile.seed}-{temperature}")
    result, _ = await arun_probe(
        rubric,
        gold_set(items, "c"),
        sim,
        "resample_consistency",
        store=store,
        judge=JudgeConfig(model=sim.model, sampling=Sampling(temperature=temperature)),
        n_resamples=500,
    )
    return result


def test_expected_modal_agreement_by_hand():
    # a = 0.9, k = 5: P(5) = .59049 → 5, P(4) = .32805 → 4, P(3) = .0729 → 3, P(2) = .0081 → 3, ...
    by_hand = (0.59049 * 5 + 0.32805 * 4 + (0.0729 + 0.0081) * 3 + (0.00045 + 0.00001) * 4 + 0.00001 * 5) / 5
    assert expected_binary_modal_agreement(0.9) == pytest.approx(by_hand, abs=1e-4)


def test_either_statistic_inside_passes_and_failing_needs_both():
    def est(v: float, lo: float, hi: float) -> Estimate:
        return Estimate(value=v, lo=lo, hi=hi, n=50, method="bootstrap")

    inside_alpha = stability_tests(est(0.9, 0.85, 0.95), est(0.8, 0.7, 0.85), 0.8, 0.9)
    assert [t.name for t in inside_alpha if t.gated] == ["α across samples"]
    # both below: the one with the larger p (the weaker evidence) decides, so failing needs both
    both = stability_tests(est(0.5, 0.4, 0.6), est(0.88, 0.85, 0.91), 0.8, 0.9)
    (gated,) = [t for t in both if t.gated]
    assert gated.name == "modal agreement" and gated.p_value == max(t.p_value for t in both)
    undefined_alpha = stability_tests(est(math.nan, math.nan, math.nan), est(1.0, 1.0, 1.0), 0.8, 0.9)
    assert [t.name for t in undefined_alpha if t.gated] == ["modal agreement"]


def test_plan_counts_k_samples_per_item(billing):
    plan = ResampleConsistencyProbe().plan(billing, _items(30, 0), {"k": 4})
    assert (plan.calls, plan.cases, plan.passable) == (120, 30, True)


async def test_a_judge_that_repeats_itself_passes_whatever_its_accuracy(store, billing):
    result = await _run(
        billing, _items(60, 1), JudgeProfile(accuracy=0.8, item_stable=True, seed=1), store, 0.0
    )
    assert result.outcome == "pass" and result.gated is False
    assert result.details["modal_agreement"]["value"] == 1.0 and result.estimate.value == 0.0


async def test_a_noisy_judge_fails_and_a_borderline_one_is_not_failed(store, billing):
    noisy = await _run(billing, _items(100, 2), JudgeProfile(accuracy=0.7, seed=2), store, 1.0)
    assert noisy.outcome == "fail" and all(t.p_value < 0.05 for t in noisy.tests)
    modal = noisy.details["modal_agreement"]
    assert modal["lo"] <= expected_binary_modal_agreement(0.7) <= modal["hi"]
    # a = 0.92: modal 0.921 ≥ 0.90 — not failed at a handful of seeds
    for seed in range(3):
        good = await _run(billing, _items(60, 3), JudgeProfile(accuracy=0.92, seed=seed), store, 0.7)
        assert good.outcome != "fail"


async def test_no_usable_sample_is_undefined(store, billing):
    result = await _run(billing, _items(20, 4), JudgeProfile(refusal_rate=1.0), store, 0.7)
    assert result.outcome == "undefined" and result.passed is None
