"""The sensitivity probe: an ability decided against its detection tolerance, on every scale, and
the served simulator taught like the in-process one.

What the simulator implies (``judgecal.simulate._decide``): a gold-PASS original is passed with
probability tpr (accuracy), and its variant — which the simulator is told has truth "fail" — is
failed with probability tnr (accuracy), independently (another prompt, another draw), so the
detection rate estimates tnr. On a pairwise rubric the variant pairs a preferred output with its
corrupted copy, the clean copy the truth: detection = accuracy, and a judge that always answers
"A" detects exactly the half of the variants whose clean copy is shown first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _probe_helpers import arun_probe, gold_set, pair_items, sim_for, single_items

from judgecal.gold import GoldItem
from judgecal.judge import JudgeConfig
from judgecal.llm import Completion
from judgecal.probes.base import _teach_sim, run_probes
from judgecal.probes.sensitivity import (
    SensitivityProbe,
    detection_p,
    min_cases,
    pair_variants,
)
from judgecal.rubric import Rubric
from judgecal.simulate import PRESETS, JudgeProfile, SimCompleter, SimConfig, SimulatedJudge, find_simulator
from judgecal.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _singles(n: int, seed: int, pass_share: float = 0.5) -> list[GoldItem]:
    return single_items(
        n,
        seed,
        key="sens-singles",
        question="Billing question {i} of set {seed}?",
        answer="Billing decides refunds; answer {i} of set {seed}",
        pass_share=pass_share,
    )


def _pairs(n: int, seed: int) -> list[GoldItem]:
    return pair_items(n, seed, key="sens-pairs")


async def _run(
    rubric: Rubric, items: list[GoldItem], completer: Any, store: Any, **options: Any
) -> tuple[Any, Any]:
    gold = gold_set(items)
    on_derived = _teach_sim(rubric, gold, completer) if isinstance(completer, SimCompleter) else None
    return await arun_probe(
        rubric, gold, completer, "sensitivity", store=store, on_derived=on_derived, **options
    )


# --------------------------------------------------------------------------------------------
# The decision rule


def test_min_cases_and_exact_p():
    # Wilson lower bound of n/n is n/(n + 3.84): 11/11 → 0.741 < 0.75, 12/12 → 0.758
    assert min_cases(0.75) == 12 and min_cases(0.85) == 22
    # P(X ≤ 15 | Binomial(24, 0.75)) by hand: the exact test's p
    from math import comb

    by_hand = sum(comb(24, x) * 0.75**x * 0.25 ** (24 - x) for x in range(16))
    assert detection_p(15, 24, 0.75) == pytest.approx(by_hand, rel=1e-9)


async def test_perfect_judge_passes_and_constant_pass_fails_on_the_bundled_set(store, support):
    rubric, gold = support
    items = gold.select("test")
    perfect, _ = await _run(
        rubric, items, sim_for(rubric, gold.items, JudgeProfile(accuracy=1.0), "p"), store
    )
    assert perfect.outcome == "pass" and perfect.estimate.value == 1.0 and perfect.n == 24
    (test,) = perfect.tests
    assert (test.name, test.direction, test.tolerance, test.inside) == ("detection rate", "min", 0.75, True)
    constant, _ = await _run(rubric, items, sim_for(rubric, gold.items, PRESETS["constant-pass"], "c"), store)
    assert constant.outcome == "fail" and constant.estimate.value == 0.0
    assert constant.tests[0].p_value < 1e-9


async def test_a_judge_that_misses_errors_fails_and_noisy_good_judges_do_not(store, billing):
    items = _singles(200, 1)  # ~100 gold-PASS items
    weak, _ = await _run(
        billing, items, sim_for(billing, items, JudgeProfile(accuracy=0.92, tnr=0.5, seed=3), "weak"), store
    )
    assert weak.outcome == "fail" and weak.tests[0].estimate.hi < 0.75
    # true detection 0.85 and 0.92 (≥ T = 0.75): no failure at a handful of seeds (P ≤ 5% each)
    outcomes: dict[float, list[str]] = {0.85: [], 0.92: []}
    for a, found in outcomes.items():
        for seed in range(4):
            result, _ = await _run(
                billing,
                items,
                sim_for(billing, items, JudgeProfile(accuracy=a, seed=seed), f"n{a}-{seed}"),
                store,
            )
            found.append(result.outcome)
    assert all("fail" not in found for found in outcomes.values()), outcomes
    assert outcomes[0.92].count("pass") >= 3, outcomes  # ~85 cases: lower bound ≥ 0.75 at 0.92 mostly


async def test_no_usable_verdict_is_undefined_not_a_pass(store, support):
    rubric, gold = support
    refuser = sim_for(rubric, gold.items, JudgeProfile(accuracy=1.0, refusal_rate=1.0), "refuser")
    result, _ = await _run(rubric, gold.select("test"), refuser, store)
    assert result.outcome == "undefined" and result.passed is None and result.n == 0
    assert "undefined" in result.reason


async def test_too_few_items_is_underpowered_and_makes_no_call(store, billing):
    items = [it for it in _singles(40, 2) if it.majority() == "pass"][:8]
    plan = SensitivityProbe().plan(billing, items, {})
    assert (plan.passable, plan.cases, plan.calls, plan.min_cases) == (False, 8, 16, 12)
    sim = sim_for(billing, items, JudgeProfile(accuracy=1.0), "few")
    result, report = await _run(billing, items, sim, store)
    assert result.outcome == "underpowered" and "needs ≥ 12 items" in result.reason
    assert report.calls == 0 and sim.stats()["requests"] == 0
    forced, _ = await _run(billing, items, sim, store, force=True)
    assert forced.outcome == "inconclusive" and forced.estimate.value == 1.0  # 8/8: lower bound 0.68


# --------------------------------------------------------------------------------------------
# Pairwise: the counterweight a constant judge meets


class _Constant:
    """A completer that answers the same verdict to everything."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict
        self.model = f"const/{verdict}"

    async def complete(self, messages: Any, **_: Any) -> Completion:
        text = json.dumps({"reasoning": "Always the same.", "verdict": self.verdict})
        return Completion(
            text=text,
            finish_reason="stop",
            response_model=self.model,
            prompt_tokens=1,
            completion_tokens=1,
            cost=0.0,
            latency_ms=0.0,
        )


def test_pair_variants_balance_the_clean_slot(pairwise):
    items = _pairs(40, 3)
    variants = [v for _, v in pair_variants(pairwise, items, seed=0)]
    assert len(variants) == 40 and sum(v.metadata["clean_slot"] == "A" for v in variants) == 20
    for item, v in pair_variants(pairwise, items, seed=0):
        better = item.inputs["output_a" if item.majority() == "A" else "output_b"]
        clean = v.inputs["output_a" if v.labels["inserted_error"] == "A" else "output_b"]
        other = v.inputs["output_b" if v.labels["inserted_error"] == "A" else "output_a"]
        assert clean == better and other.startswith(better) and len(other) > len(better)


@pytest.mark.parametrize("verdict", ["A", "B", "tie"])
async def test_a_constant_pairwise_judge_fails(store, pairwise, verdict):
    items = _pairs(60, 4)
    result, _ = await _run(pairwise, items, _Constant(verdict), store)
    expected = 0.0 if verdict == "tie" else 0.5
    assert result.outcome == "fail" and result.estimate.value == expected and result.n == 60


async def test_pairwise_perfect_judge_passes_and_noise_does_not_fail(store, pairwise):
    items = _pairs(60, 5)
    perfect, _ = await _run(
        pairwise, items, sim_for(pairwise, items, JudgeProfile(accuracy=1.0), "pp"), store
    )
    assert perfect.outcome == "pass" and perfect.estimate.value == 1.0 and perfect.calls == 60
    for seed in range(3):
        noisy, _ = await _run(
            pairwise,
            items,
            sim_for(pairwise, items, JudgeProfile(accuracy=0.9, seed=seed), f"pn{seed}"),
            store,
        )
        assert noisy.outcome != "fail"


# --------------------------------------------------------------------------------------------
# A served simulator behaves like the in-process one


def test_find_simulator_only_answers_for_judgecals_simulator_on_loopback():
    assert find_simulator(None) is None
    assert find_simulator("https://api.example.com/v1") is None  # never asked: not loopback
    assert find_simulator("http://127.0.0.1:9/v1", timeout=0.5) is None  # nothing listening
    with SimulatedJudge(SimConfig(profiles={"accurate": PRESETS["accurate"]})) as sim:
        remote = find_simulator(sim.base_url)
        assert remote is not None and remote.health()["models"] == ["accurate"]
        item = {"id": "x", "output": "Some answer.", "truth": "fail"}
        assert remote.add_items([item]) == 1 and remote.add_items([item]) == 0  # equal items skipped
        assert sim.stats()["items"] == 1


def test_a_served_simulator_is_taught_like_the_in_process_one(tmp_path, support):
    """``judgecal simulate serve`` in its own process, knowing nothing, reached as
    ``openai/accurate`` at its loopback address, against ``sim/accurate`` started in-process: the
    same prompts, the same verdicts — the served one is taught the gold set and the variants
    over ``POST /v1/judgecal/items`` exactly as the in-process one is."""
    rubric, gold = support
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    serve = [sys.executable, "-m", "judgecal", "simulate", "serve", "-p", "accurate"]
    counts = []
    with subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path
    ) as server:
        try:
            base = server.stdout.readline().strip()  # type: ignore[union-attr]
            for model, api_base in (("openai/accurate", base), ("sim/accurate", None)):
                store = Store(f"sqlite:///{tmp_path / (model.replace('/', '-') + '.db')}")
                try:
                    report = run_probes(
                        rubric,
                        gold,
                        JudgeConfig(model=model),
                        store=store,
                        api_base=api_base,
                        names=["sensitivity"],
                    )
                finally:
                    store.close()
                (r,) = report.results
                counts.append(
                    (r.outcome, r.n, r.estimate.value, r.details["original_not_passed"], report.calls)
                )
            remote = find_simulator(base)
            assert remote is not None and remote.health()["items"] >= len(gold.items)
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert counts[0] == counts[1]
    assert counts[0][2] >= 0.75  # it detects: untaught, it would grade the variants as padded passes
