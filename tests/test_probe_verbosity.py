"""The verbosity probe (judgecal.probes.verbosity): padding raise rate, concision penalty and the
pairwise length-bias gap as tests with stated error rates.

Runs go end to end (``arun_probes`` -> the cached grading pipeline -> the simulated judge in
process) with tiny rubrics, so a call costs well under a millisecond. Expected values come from
the simulator's decision rule (``judgecal.simulate._decide``): with ``verbosity_bias`` v a padded
output (≥ 1.2× a known output, containing it) is raised one step with probability v after the
accuracy draw, and the original is never raised, so the raise rate E[s_padded − s_original] /
P(original below the top) is v at any accuracy; on pairs the simulator picks the longer output
with probability v, so the length-bias gap is v. Seed counts are small; the error rates at 50
seeds per setting are measured by ``bench/bench_probes.py --probe verbosity``.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from _probe_helpers import (
    answer_text,
    covers,
    named_gold,
    run_sim_probes,
    tiny_binary_gold,
    tiny_ordinal_gold,
    write_rubrics,
)

from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import sim_items_from_gold
from judgecal.probes.base import ProbeReport, ProbeResult
from judgecal.rubric import Rubric
from judgecal.simulate import JudgeProfile, SimCompleter, SimItem


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rubric]:
    return write_rubrics(
        tmp_path_factory.mktemp("verbosity-rubrics"), "vb", ("binary", "ordinal", "pairwise")
    )


def binary_gold(n: int, *, fail_share: float = 0.5, seed: int = 0) -> GoldSet:
    return tiny_binary_gold(f"vb-binary-{n}-{fail_share}-{seed}", n, seed=seed, fail_share=fail_share)


def ordinal_gold(n: int) -> GoldSet:
    return tiny_ordinal_gold(f"vb-ordinal-{n}", n)


def pairwise_gold(n: int, *, seed: int = 0) -> GoldSet:
    """n pairs, the better side at random, the longer side (by 60+ characters) at random."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        short = answer_text(rng, f"p{i}s", 8)
        long_ = answer_text(rng, f"p{i}l", 30)
        a, b = (long_, short) if rng.random() < 0.5 else (short, long_)
        items.append(
            GoldItem(
                id=f"p{i:03d}",
                inputs={"input": f"Instruction {i}.", "output_a": a, "output_b": b},
                labels={"ana": rng.choice(["A", "B"])},
            )
        )
    return named_gold(f"vb-pairwise-{n}-{seed}", items)


def run(
    rubric: Rubric,
    gold: GoldSet,
    profile: JudgeProfile,
    *,
    store: Any,
    model: str = "vb",
    items: list[SimItem] | None = None,
    force: bool = False,
    seed: int = 0,
) -> tuple[ProbeResult, ProbeReport, SimCompleter]:
    report, sim = run_sim_probes(
        rubric,
        gold,
        profile,
        ["verbosity"],
        store=store,
        model=model,
        items=items,
        split="all",
        seed=seed,
        force=force,
    )
    return report.results[0], report, sim


# --------------------------------------------------------------------------------------------
# The statistics


def test_raise_rate_matches_a_hand_derivation_with_clusters():
    from judgecal.probes.verbosity import raise_rate

    # Two items, three paddings each; item x was failed (room) and two of its paddings raised,
    # item y passed and one padding lowered it. d = [1, 1, 0, 0, 0, −1], r = [1, 1, 1, 0, 0, 0]:
    # R̂ = 1/3, R̃ = 1/5; e = d − R̃·r = [.8, .8, −.2, 0, 0, −1]; cluster sums 1.4 and −1; with the
    # pseudo-pairs (.8 and −1.2), K = 4: se² = 4/3 · (1.96 + 1 + .64 + 1.44)/25 = 0.26880.
    rr = raise_rate([0, 0, 0, 1, 1, 1], [1, 1, 0, 1, 1, 0], top=1.0, clusters=["x"] * 3 + ["y"] * 3)
    assert rr.estimate.value == pytest.approx(1 / 3) and rr.centre == pytest.approx(0.2)
    assert rr.se == pytest.approx(math.sqrt(4 / 3 * 5.04 / 25))
    assert (rr.raised, rr.lowered, rr.n_room, rr.estimate.n, rr.estimate.n_clusters) == (2, 1, 3, 6, 2)
    # undefined without room
    assert math.isnan(raise_rate([1, 1], [1, 0], top=1.0).estimate.value)


def test_raise_rate_standard_error_agrees_with_a_cluster_bootstrap():
    # An independent check of the linearised variance: the bootstrap SD of Σd/Σr over clusters.
    from judgecal.probes.verbosity import raise_rate

    rng = np.random.default_rng(3)
    n_items = 300
    before = rng.random(n_items) < 0.5  # passed originally
    after = np.array([[b or rng.random() < 0.3 for _ in range(3)] for b in before])  # raised w.p. .3
    b_scores = np.repeat(before.astype(float), 3)
    a_scores = after.astype(float).ravel()
    ids = np.repeat(np.arange(n_items), 3)
    rr = raise_rate(b_scores, a_scores, top=1.0, clusters=list(ids))
    d, r = (a_scores - b_scores).reshape(n_items, 3).sum(1), (b_scores < 1).reshape(n_items, 3).sum(1)
    boot = []
    for _ in range(2000):
        pick = rng.integers(0, n_items, n_items)
        boot.append(d[pick].sum() / r[pick].sum())
    assert rr.se == pytest.approx(float(np.std(boot)), rel=0.1)


def test_length_bias_gap_is_agresti_caffo():
    from judgecal.probes.verbosity import length_bias

    # A is always the longer output. Humans prefer the longer in 20 pairs (the judge agrees in
    # 10) and the shorter in 20 (the judge agrees in 5). p̃ = 11/22 and 6/22; se² = .25/22 +
    # (6/22)(16/22)/22 = 0.020380; centre 5/22; interval 0.2273 ± 1.96·0.14276 = [−0.0525, 0.5071].
    a, b = ["x" * 100] * 40, ["y"] * 40
    human = ["A"] * 20 + ["B"] * 20
    judge = ["A"] * 10 + ["B"] * 10 + ["B"] * 5 + ["A"] * 15
    lb = length_bias(a, b, judge, human)
    assert lb.gap.value == pytest.approx(0.25) and lb.centre == pytest.approx(5 / 22)
    assert lb.se == pytest.approx(math.sqrt(0.25 / 22 + 6 * 16 / 22**3))
    assert lb.gap.lo == pytest.approx(5 / 22 - 1.959964 * lb.se, abs=1e-6)
    assert lb.gap.hi == pytest.approx(0.5071, abs=1e-4)
    assert lb.lc_rate.value == pytest.approx(0.5 * 0.5 + 0.5 * 0.75)


# --------------------------------------------------------------------------------------------
# Plan and cost


def test_plan_states_calls_and_says_underpowered_without_a_call(mini, store):
    from judgecal.probes.verbosity import VerbosityProbe

    probe = VerbosityProbe()
    plan = probe.plan(mini["binary"], binary_gold(100).items, {})
    # 100 originals + 3 × 100 padded variants; 50 gold-FAIL items ≥ the 12 needed
    assert (plan.calls, plan.cases, plan.passable) == (400, 300, True)
    assert plan.mde is not None and 0.2 < plan.mde < 0.45  # beyond the 0.20 tolerance
    small = probe.plan(mini["binary"], binary_gold(20).items, {})
    assert not small.passable and small.min_cases == 12 and small.min_items == 24  # at T = 0.20
    assert not probe.plan(mini["binary"], binary_gold(60, fail_share=0.0).items, {}).passable

    r, report, sim = run(
        mini["binary"], binary_gold(20), JudgeProfile(accuracy=1.0), store=store, model="few"
    )
    assert r.outcome == "underpowered" and report.calls == 0 and sim.stats()["requests"] == 0
    assert "needs ≥ 24 items" in r.reason

    pairs = probe.plan(mini["pairwise"], pairwise_gold(30).items, {})
    assert pairs.calls == 30 and not pairs.passable and pairs.min_cases == 52


def test_undefined_is_not_a_pass(mini, store):
    # Forced on gold-PASS items only: an exact judge passes every original, so no output has room
    # to be raised and the raise rate is 0/0.
    r, _, _ = run(
        mini["binary"], binary_gold(30, fail_share=0.0), JudgeProfile(accuracy=1.0), store=store, force=True
    )
    assert r.outcome == "undefined" and r.passed is None and math.isnan(r.estimate.value)


def test_calls_per_gold_item_without_a_resample_floor(mini, store):
    gold = binary_gold(60)
    r, report, sim = run(mini["binary"], gold, JudgeProfile(accuracy=1.0), store=store, model="cost")
    assert r.calls == report.calls == 60 * 4 == sim.stats()["requests"]
    r, report, _ = run(mini["binary"], gold, JudgeProfile(accuracy=1.0), store=store, model="cost")
    assert report.calls == 0


# --------------------------------------------------------------------------------------------
# Decisions


def test_a_perfect_judge_passes_and_a_biased_one_fails(mini, store):
    gold = binary_gold(100)
    r, _, _ = run(mini["binary"], gold, JudgeProfile(accuracy=1.0), store=store, model="exact")
    assert r.outcome == "pass" and r.estimate.value == 0.0 and r.estimate.hi < 0.05
    assert [t.name for t in r.tests] == ["restatement", "filler", "repetitive_list", "padding (pooled)"]
    assert [t.gated for t in r.tests] == [True, True, True, False]
    r, _, _ = run(
        mini["binary"], gold, JudgeProfile(accuracy=1.0, verbosity_bias=0.6), store=store, model="v6"
    )
    assert r.outcome == "fail" and covers(r.estimate, 0.6)
    assert all(t.p_adjusted is not None and t.p_adjusted < 0.05 for t in r.tests if t.gated)


def test_noisy_unbiased_judges_do_not_fail(mini, store):
    # Accuracy 0.75: the simulator redraws its 25% error for every padded prompt, so about 37% of
    # the (original, padded) pairs disagree — symmetrically, which the raise rate cancels. The
    # false-fail rate at 50 seeds per accuracy is measured by the bench; here a handful of seeds.
    outcomes = []
    for seed in range(6):
        gold = binary_gold(100, seed=seed)
        profile = JudgeProfile(accuracy=0.75, seed=seed)
        r, _, _ = run(mini["binary"], gold, profile, store=store, model=f"noisy-{seed}", seed=seed)
        outcomes.append(r.outcome)
    assert "fail" not in outcomes and "undefined" not in outcomes, outcomes


def test_raise_rate_covers_the_simulated_bias(mini, store):
    # Accuracy 0.9, bias 0.3, 40 items (20 below the top: forced, as 26 are needed to pass): the
    # pooled raise rate's interval covers 0.3 in ≥ 17 of 20 seeds (a correct 95% interval misses
    # that criterion with probability 0.016).
    covered = 0
    for seed in range(20):
        profile = JudgeProfile(accuracy=0.9, verbosity_bias=0.3, seed=seed)
        gold = binary_gold(40, seed=seed)
        r, _, _ = run(mini["binary"], gold, profile, store=store, model=f"cov-{seed}", seed=seed, force=True)
        covered += covers(r.estimate, 0.3)
    assert covered >= 17, covered


def test_ordinal_raise_rate_is_exact_without_noise(mini, store):
    # Accuracy 1, bias 1: every padded variant of an item scored below 5 is raised by exactly one
    # level, items at 5 stay: raise rate 1 per padding and pooled; bias off: nothing moves.
    gold = ordinal_gold(50)
    r, _, _ = run(
        mini["ordinal"], gold, JudgeProfile(accuracy=1.0, verbosity_bias=1.0), store=store, model="o1"
    )
    assert (r.estimate.value, r.n, r.outcome) == (1.0, 150, "fail")
    assert r.details["pooled"]["mean_change"] == pytest.approx(0.8) and r.details["pooled"]["n_room"] == 120
    r, _, _ = run(mini["ordinal"], gold, JudgeProfile(accuracy=1.0), store=store, model="o0")
    assert (r.estimate.value, r.outcome) == (0.0, "pass")


def test_concision_penalty_is_a_gated_test(mini, store):
    # Gold-PASS answers ending in pleasantries; the concise variant drops them. The simulator is
    # told only the concise text, with truth "fail": the full answer contains it and is ≥ 1.2×
    # longer, so it is "padded" and raised to pass with probability v. With accuracy 1 the concise
    # answer fails and the full one passes with probability v: penalty (b − c)/n = v.
    from judgecal.probes.verbosity import concise_text

    rng = random.Random(7)
    tail = " Thanks for reaching out! I hope this helps. Let me know if you have any other questions."
    items = [
        GoldItem(
            id=f"c{i:03d}",
            inputs={"input": f"Question {i}?", "output": answer_text(rng, f"c{i}", 20) + tail},
            labels={"ana": "pass"},
        )
        for i in range(60)
    ]
    failing = binary_gold(30, fail_share=1.0).items
    gold = named_gold("vb-concise", items + failing)
    concise = [concise_text(it) for it in items]

    def known(truth: Any) -> list[SimItem]:
        return [
            SimItem(id=it.id, output=c[0], truth=truth) for it, c in zip(items, concise, strict=True) if c
        ] + sim_items_from_gold(mini["binary"], failing)

    profile = JudgeProfile(accuracy=1.0, verbosity_bias=0.5)
    r, _, _ = run(mini["binary"], gold, profile, store=store, model="conc-on", items=known("fail"))
    test = next(t for t in r.tests if t.name == "concision penalty")
    assert test.gated and test.estimate.n == 60 and covers(test.estimate, 0.5)
    assert r.details["concision"]["fail_to_pass"] == 0 and r.outcome == "fail"
    r, _, _ = run(
        mini["binary"], gold, JudgeProfile(accuracy=1.0), store=store, model="conc-off", items=known("pass")
    )
    test = next(t for t in r.tests if t.name == "concision penalty")
    assert test.estimate.value == 0.0 and test.inside and r.outcome == "pass"
    # too few concise variants to pass: reported beside the padding tests, not gated
    r, _, _ = run(
        mini["binary"], named_gold("vb-concise-few", items[:10] + failing), JudgeProfile(accuracy=1.0),
        store=store, model="conc-few", items=known("pass")[:10] + known("pass")[60:],
    )  # fmt: skip
    test = next(t for t in r.tests if t.name == "concision penalty")
    assert not test.gated and r.outcome == "pass"


# --------------------------------------------------------------------------------------------
# Pairwise


def test_length_gap_passes_an_exact_judge_and_covers_the_simulated_bias(mini, store):
    r, _, sim = run(
        mini["pairwise"], pairwise_gold(120), JudgeProfile(accuracy=1.0), store=store, model="lg0"
    )
    assert r.outcome == "pass" and r.estimate.value == 0.0 and r.calls == 120
    # accuracy 0.8, bias 0.3: coverage in ≥ 16 of 20 seeds (a correct 95% interval misses that with
    # probability 0.003; measured over 150 seeds: 145 covered); the fail rate is about 0.8 here
    covered = failed = 0
    for seed in range(20):
        profile = JudgeProfile(accuracy=0.8, verbosity_bias=0.3, seed=seed)
        gold = pairwise_gold(150, seed=seed)
        r, _, _ = run(mini["pairwise"], gold, profile, store=store, model=f"lg-{seed}", seed=seed)
        covered += covers(r.estimate, 0.3)
        failed += r.outcome == "fail"
    assert covered >= 16 and failed >= 10, (covered, failed)
    for seed in range(5):
        profile = JudgeProfile(accuracy=0.75, seed=seed)
        gold = pairwise_gold(150, seed=seed)
        r, _, _ = run(mini["pairwise"], gold, profile, store=store, model=f"lg-noisy-{seed}", seed=seed)
        assert r.outcome != "fail", seed
