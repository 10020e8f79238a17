"""The position, resample-consistency and sensitivity probes.

1. Coverage and false alarms on the simulated judge (in-process ``SimCompleter``, the server's
   own decision logic), over 40 seeds that vary the judge's seed and the item set.
2. The position statistics on LLMBar's recorded both-order verdicts, checked against the files.
3. Once through real HTTP and litellm: probe runs reuse stored verdicts.
4. Presets: a constant-pass judge fails sensitivity, a position-biased judge fails position.

What the simulator's model implies (``judgecal.simulate._decide``), used as the "injected effect":

* **Position.** A unit's verdict is first drawn from the truth (right with probability a, else
  another label) and then, with probability b (``position_bias``), replaced by "A" — the slot
  shown first. Per unit, P(first) − P(second) = b + (1 − b)·[P(v₀ shown first) − P(v₀ shown
  second)]. Across the two orders of a pair the base draw v₀ is the same distribution in the
  item's terms (the sim swaps the truth with the outputs) while the first slot is A in one order
  and B in the other, so the bracket sums to P(v₀ = A) − P(v₀ = B) + P(v₀ = B) − P(v₀ = A) = 0:
  E[first − second] over valid verdicts = b exactly, for any accuracy and any truth (ties
  included: a tie is neither slot, and counts in the denominator). So the first-slot excess
  estimates b.
* **Sensitivity.** A gold-PASS item's original is judged pass with probability a (tpr = a), and
  its variant, which the simulator knows with truth "fail", is judged fail with probability a
  (tnr = a), independently (another prompt, another draw). Detection = P(variant fail |
  original pass) = a.
* **Resample consistency.** Each sample of a known binary item is right with probability a,
  independently (the request seed differs), so two samples disagree with probability
  2a(1 − a); the flip rate (mean share of disagreeing sample pairs) estimates it. With a = 1
  nothing flips.

Allowances (binomial, because 40 seeds are a sample too):

* Coverage: a correct 95% interval covers the true value in 95% of seeds on average, so the
  number of covering seeds out of 40 is Binomial(40, 0.95) — "at least 38 of 40" would fail a
  perfectly calibrated interval about a third of the time. The tests require at least
  ``binom.ppf(0.01, 40, 0.95) = 34`` (a calibrated interval fails this with probability
  0.003); the coverage over hundreds of further seeds is measured outside the test suite.
* False alarms: with every bias off, a probe that is a test at level α = 0.05 may flag in at
  most ``binom.ppf(0.99, 40, 0.05) = 6`` of 40 seeds. The CI-based probes (sensitivity,
  resample consistency) have no α: with a perfect judge they must never flag.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from _probe_helpers import arun_probe, gold_set, pair_items, sim_for, single_items

from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import JudgeConfig, Sampling, agrade, sim_items_from_gold
from judgecal.probes._stats import ratio_bootstrap
from judgecal.probes.base import ProbeReport, arun_probes
from judgecal.probes.position import (
    PairVerdicts,
    pairs_from_judgments,
    position_statistics,
    position_test,
)
from judgecal.probes.sensitivity import error_variants
from judgecal.rubric import Rubric, find_rubric
from judgecal.simulate import JudgeProfile, SimCompleter

ROOT = Path(__file__).resolve().parent.parent
SEEDS = range(40)
ALPHA = 0.05
MAX_FALSE_ALARMS = 6  # scipy.stats.binom.ppf(0.99, 40, 0.05)
MIN_COVERED = 34  # scipy.stats.binom.ppf(0.01, 40, 0.95): see the module docstring
RESAMPLES = 1000


# --------------------------------------------------------------------------------------------
# Helpers


def _pairs(n: int, seed: int, close_share: float = 0.2) -> list[GoldItem]:
    """Pairs with a unanimous A or B (clear gap), and some 2-1 splits whose majority is tie."""
    return pair_items(n, seed, key="pairs", close_share=close_share)


def _singles(n: int, seed: int) -> list[GoldItem]:
    return single_items(
        n,
        seed,
        key="singles",
        question="Customer question {i} of set {seed}?",
        answer="The assistant's answer {i} of set {seed}",
    )


async def _probe(
    name: str,
    rubric: Rubric,
    items: list[GoldItem],
    profile: JudgeProfile,
    store: Any,
    *,
    model: str,
    temperature: float = 0.0,
    extra: list[GoldItem] | None = None,
    thresholds: dict[str, float] | None = None,
) -> tuple[Any, SimCompleter]:
    """Run one probe through arun_probes with an in-process simulated judge that knows the
    items' truth (and that of ``extra`` derived items)."""
    sim = sim_for(rubric, [*items, *(extra or [])], profile, model)
    result, _ = await arun_probe(
        rubric,
        gold_set(items),
        sim,
        name,
        store=store,
        judge=JudgeConfig(model=sim.model, sampling=Sampling(temperature=temperature)),
        thresholds={name: thresholds or {}},
        n_resamples=RESAMPLES,
    )
    return result, sim


# --------------------------------------------------------------------------------------------
# 1. Coverage and false alarms on the simulated judge


async def test_position_excess_covers_the_injected_bias(store, pairwise):
    b = 0.3
    covered = flagged = 0
    for seed in SEEDS:
        result, _ = await _probe(
            "position",
            pairwise,
            _pairs(60, seed),
            JudgeProfile(accuracy=1.0, position_bias=b, seed=seed),
            store,
            model=f"pos-biased-{seed}",
        )
        e = result.estimate
        assert e.n == 60 and result.n == 60
        covered += e.lo <= b <= e.hi
        flagged += result.outcome == "fail"
    assert covered >= MIN_COVERED, f"first-slot excess CI covered b={b} in {covered}/{len(SEEDS)} seeds"
    # b = 0.3 lies 0.25 beyond the tolerance ±0.05; on 60 pairs (e_i = 1 in 30% of clear pairs, se
    # ≈ 0.06) the test fails it in about 95% of runs, so at least 34 of 40 (binomial 1% quantile)
    assert flagged >= MIN_COVERED, f"first-slot bias 0.3 failed in {flagged}/{len(SEEDS)} seeds"


async def test_position_false_alarms_without_bias(store, pairwise):
    flags_noisy = fails_perfect = 0
    for seed in SEEDS:
        items = _pairs(60, seed)
        noisy, _ = await _probe(
            "position",
            pairwise,
            items,
            JudgeProfile(accuracy=0.8, seed=seed),
            store,
            model=f"pos-noisy-{seed}",
        )
        flags_noisy += noisy.outcome == "fail"
        assert noisy.alpha == ALPHA
        perfect, _ = await _probe(
            "position",
            pairwise,
            items,
            JudgeProfile(accuracy=1.0, seed=seed),
            store,
            model=f"pos-exact-{seed}",
        )
        fails_perfect += perfect.passed is not True
    # Noisy but unbiased (accuracy 0.8): the first-slot test fails at most at level α (order
    # inconsistency, large for this judge, is reported, not tested).
    assert flags_noisy <= MAX_FALSE_ALARMS, f"first-slot false alarms {flags_noisy}/{len(SEEDS)}"
    # No bias, no noise: the probe passes every time (60 pairs ≥ the 54 a pass needs at ±0.05).
    assert fails_perfect == 0


async def test_sensitivity_detection_covers_the_judges_accuracy(store, billing):
    a = 0.9
    covered = fails_perfect = 0
    for seed in SEEDS:
        items = _singles(100, seed)
        variants = [v for _, v in error_variants(billing, items, seed=0)]
        result, _ = await _probe(
            "sensitivity",
            billing,
            items,
            JudgeProfile(accuracy=a, seed=seed),
            store,
            model=f"sens-{seed}",
            extra=variants,
        )
        e = result.estimate
        assert result.kind == "sensitivity" and e.method == "wilson"
        covered += e.lo <= a <= e.hi
        perfect, _ = await _probe(
            "sensitivity",
            billing,
            items,
            JudgeProfile(accuracy=1.0, seed=seed),
            store,
            model=f"sens-exact-{seed}",
            extra=variants,
        )
        assert perfect.estimate.value == 1.0
        fails_perfect += perfect.passed is not True
    assert covered >= MIN_COVERED, f"detection CI covered a={a} in {covered}/{len(SEEDS)} seeds"
    assert fails_perfect == 0


async def test_resample_flip_rate_covers_2a_1_minus_a(store, billing):
    a = 0.9
    expected = 2 * a * (1 - a)  # 0.18
    covered = fails_perfect = 0
    for seed in SEEDS:
        items = _singles(60, seed)
        result, _ = await _probe(
            "resample_consistency",
            billing,
            items,
            JudgeProfile(accuracy=a, seed=seed),
            store,
            model=f"res-{seed}",
            temperature=0.7,
        )
        e = result.estimate
        assert result.n == 60 and result.details["k"] == 5 and not result.details["determinism_only"]
        covered += e.lo <= expected <= e.hi
        perfect, _ = await _probe(
            "resample_consistency",
            billing,
            items,
            JudgeProfile(accuracy=1.0, seed=seed),
            store,
            model=f"res-exact-{seed}",
            temperature=0.7,
        )
        assert perfect.estimate.value == 0.0
        assert perfect.details["modal_agreement"]["value"] == 1.0
        fails_perfect += perfect.passed is not True
    assert covered >= MIN_COVERED, f"flip-rate CI covered {expected} in {covered}/{len(SEEDS)} seeds"
    assert fails_perfect == 0


async def test_resample_majority_of_k_beats_single_samples(store, billing):
    # accuracy 0.7: a single sample agrees with humans 70% of the time, the majority of 5
    # P(Bin(5, .7) >= 3) = 0.837 of the time; α across samples is far below 0.8.
    result, _ = await _probe(
        "resample_consistency",
        billing,
        _singles(200, 99),
        JudgeProfile(accuracy=0.7, seed=99),
        store,
        model="res-weak",
        temperature=1.0,
    )
    d = result.details
    assert result.passed is False
    assert d["single_sample_agreement"]["value"] == pytest.approx(0.7, abs=0.05)
    assert d["majority_of_k_agreement"]["value"] == pytest.approx(0.837, abs=0.06)
    assert d["majority_of_k_helps"] is True
    assert d["majority_gain"]["lo"] > 0
    assert "majority-of-5" in result.reason


async def test_resample_at_temperature_zero_says_it_measures_determinism(store, billing):
    result, _ = await _probe(
        "resample_consistency", billing, _singles(20, 5), JudgeProfile(accuracy=1.0), store, model="res-t0"
    )
    assert result.details["determinism_only"] is True and result.details["temperature"] == 0
    assert "determinism" in result.reason


# --------------------------------------------------------------------------------------------
# 4. Presets, and the direct-scoring form of the position probe


async def test_constant_pass_judge_fails_sensitivity(store, support):
    rubric, gold = support
    items = gold.select("test")
    variants = [v for _, v in error_variants(rubric, items, seed=0)]
    result, _ = await _probe(
        "sensitivity",
        rubric,
        items,
        JudgeProfile(tpr=1.0, tnr=0.0),
        store,
        model="constant-pass",
        extra=variants,
    )
    assert result.passed is False and result.estimate.value == 0.0
    assert result.n == len(variants) > 10
    # every rubric-aware template was used, and the variants say what they contain
    assert set(result.details["per_template"]) == {
        "promised_refund",
        "pretended_account_access",
        "mishandled_card_data",
        "rude",
        "wrong_information",
    }
    assert all(v.id.startswith(f"{v.metadata['source_item']}~sensitivity-") for v in variants)
    assert all(v.metadata["probe_variant"] == f"sensitivity-{v.metadata['inserted_error']}" for v in variants)


def test_sensitivity_templates_fit_the_rubric(billing):
    from judgecal.probes.sensitivity import GENERIC_ERROR

    helpfulness = find_rubric("helpfulness-ordinal")  # failure mode factual_error, nothing on billing
    item = GoldItem(id="h", inputs={"input": "Q?", "output": "An answer."}, labels={"a": 5})
    ((_, variant),) = error_variants(helpfulness, [item])
    assert variant.id == "h~sensitivity-factual_error"
    assert variant.inputs["output"] == f"An answer. {GENERIC_ERROR.text}"
    assert variant.labels == {"inserted_error": helpfulness.scale.pass_threshold - 1}
    bare = billing.model_copy(update={"failure_modes": []})  # nothing to go by: the fallback
    ((_, variant),) = error_variants(bare, [item.model_copy(update={"labels": {"a": "pass"}})])
    assert variant.metadata["inserted_error"] == "factual_error"
    assert variant.labels == {"inserted_error": "fail"}
    fail_item = item.model_copy(update={"labels": {"a": "fail"}})
    assert error_variants(billing, [fail_item]) == []  # only gold-PASS items get an error


async def test_position_biased_preset_fails_position(store, pairwise):
    from judgecal.simulate import PRESETS

    items = _pairs(100, 7)  # the bundled set's 26 pairs are too few for any outcome but underpowered
    profile = PRESETS["position-biased"].model_copy(update={"seed": 1})
    result, _ = await _probe("position", pairwise, items, profile, store, model="position-biased")
    assert result.outcome == "fail" and result.passed is False
    assert result.tests[0].name == "first-slot excess" and result.tests[0].p_adjusted < ALPHA
    assert result.estimate.lo > 0.3  # the preset answers "A" (the first slot) 60% of the time
    assert result.p_value < ALPHA


async def test_unbiased_preset_passes_position_and_reuses_plain_verdicts(store, pairwise):
    items = _pairs(60, 123, close_share=0.0)
    sim = SimCompleter(JudgeProfile(accuracy=1.0), sim_items_from_gold(pairwise, items), name="exact")
    judge = JudgeConfig(model="sim/exact")
    plain = await agrade(pairwise, gold_set(items), judge, sim, store=store)
    assert plain.n_calls == 60
    report = await arun_probes(pairwise, gold_set(items), judge, sim, store=store, names=["position"])
    (result,) = report.results
    assert result.passed is True and result.calls == 60  # only the swapped order is new
    stats = result.details["statistics"]
    assert stats["clear_gap"]["order_inconsistency"]["value"] == 0.0 and stats["close"]["n_pairs"] == 0
    assert result.estimate.value == 0.0 and result.p_value == 1.0


def test_position_does_not_apply_to_direct_scoring(billing):
    from judgecal.probes.position import PositionProbe

    reason = PositionProbe().applies(billing, _singles(10, 0))
    assert reason is not None and "rewording" in reason


def test_pure_position_statistics_by_hand():
    pairs = [
        PairVerdicts("1", "A", "A", ("A", "A")),  # consistent: e = 0
        PairVerdicts("2", "A", "B", ("B", "B")),  # picked the first slot both times: e = 1
        PairVerdicts("3", "A", "B", ("A", "B")),  # close pair, first slot both times: e = 1
        PairVerdicts("4", "B", "A", ("A",)),  # second slot both times: e = −1
        PairVerdicts("5", None, "B", ("B",)),  # unparseable in one order: left out of e
        PairVerdicts("6", "tie", "tie", ("tie", "tie")),  # consistent tie, close: e = 0
    ]
    s = position_statistics(pairs, n_resamples=200)
    a = s.all
    assert (a.n_valid, a.first, a.second, a.tie) == (11, 6, 3, 2)
    assert a.n_complete == 5 and a.first_slot_excess.value == pytest.approx(1 / 5)
    assert (a.first_biased_pairs, a.directional_pairs) == (2, 3)
    assert a.order_inconsistency.value == 3 / 5 and a.order_inconsistency.n == 5
    assert s.clear_gap.n_pairs == 4 and s.close.n_pairs == 2
    assert s.clear_gap.order_inconsistency.value == 2 / 3
    # five pairs cannot show equivalence within ±0.05, nor a bias beyond it
    test = position_test(s)
    assert test.inside is False and test.p_value > ALPHA


def test_ratio_bootstrap_matches_the_general_bootstrap():
    from judgecal.calibrate.intervals import bootstrap

    num = [2, 0, 1, -2, 2, 0, 1, 1]
    den = [2, 2, 1, 2, 2, 1, 2, 2]
    fast = ratio_bootstrap(num, den, n_resamples=300, seed=3)
    slow = bootstrap(lambda x, y: x.sum() / y.sum(), num, den, n_resamples=300, seed=3)
    assert (fast.value, fast.lo, fast.hi) == pytest.approx((slow.value, slow.lo, slow.hi))


# --------------------------------------------------------------------------------------------
# 3. Through real HTTP and litellm


async def test_probes_over_http_reuse_stored_verdicts(store, support, sim_server):
    from judgecal.llm import LiteLLMCompleter

    rubric, gold = support
    items = gold.select("test")
    variants = [v for _, v in error_variants(rubric, items, seed=0)]
    sim = sim_server(
        profiles={"judge": JudgeProfile(accuracy=0.9, seed=2)},
        items=sim_items_from_gold(rubric, [*gold.items, *variants]),
    )
    completer = LiteLLMCompleter("openai/judge", api_base=sim.base_url, api_key="sim")
    judge = JudgeConfig(model="openai/judge", sampling=Sampling(temperature=0.7))
    plain = await agrade(rubric, gold, judge, completer, store=store, split="test")
    assert plain.n_calls == len(items)
    sim.reset_stats()

    names = ["resample_consistency", "sensitivity"]
    k = 3
    thresholds = {"resample_consistency": {"k": k}}

    async def run() -> ProbeReport:
        return await arun_probes(
            rubric,
            gold,
            judge,
            completer,
            store=store,
            names=names,
            thresholds=thresholds,
            n_resamples=200,
        )

    first = await run()
    by_name = {r.probe: r for r in first.results}
    # only perturbed prompts are new: samples 1..k-1, error variants
    assert by_name["resample_consistency"].calls == (k - 1) * len(items)
    assert by_name["sensitivity"].calls == len(variants)
    assert first.calls == sim.stats()["requests"] == (k - 1) * len(items) + len(variants)
    original = store.get_run(by_name["sensitivity"].details["run_ids"][0])
    assert (original.n_cached, original.n_calls) == (len(variants), 0)
    resample = store.get_run(by_name["resample_consistency"].details["run_id"])
    assert resample.n_cached == len(items)  # sample 0 of every item is the plain run's verdict

    second = await run()
    assert second.calls == 0 and all(r.calls == 0 for r in second.results)
    assert sim.stats()["requests"] == first.calls  # nothing new reached the server
    for a, b in zip(first.results, second.results, strict=True):
        assert (a.estimate, a.passed, a.reason, a.n) == (b.estimate, b.passed, b.reason, b.n)


async def test_sim_completer_answers_exactly_like_the_server(store, pairwise, sim_server, tmp_path):
    from judgecal.llm import LiteLLMCompleter
    from judgecal.store import Store

    gold = _bundled_gold(pairwise)
    profile = JudgeProfile(accuracy=0.7, position_bias=0.2, verbosity_bias=0.3, seed=11)
    sim_items = sim_items_from_gold(pairwise, gold.items)
    server = sim_server(profiles={"twin": profile}, items=sim_items)
    judge = JudgeConfig(model="openai/twin", orders="both", samples=2, sampling=Sampling(temperature=0.5))
    http = LiteLLMCompleter("openai/twin", api_base=server.base_url, api_key="x")
    over_http = await agrade(pairwise, gold, judge, http, store=store)
    other = Store(f"sqlite:///{tmp_path / 'twin.db'}")
    try:
        in_process = await agrade(
            pairwise, gold, judge, SimCompleter(profile, sim_items, name="twin"), store=other
        )
    finally:
        other.close()

    def units(run: Any) -> list[tuple[Any, ...]]:
        return sorted((v.item_id, v.order, v.sample_index, v.label, v.status) for v in run.verdicts)

    assert over_http.n_calls == in_process.n_calls == 4 * len(gold.items)
    assert units(over_http) == units(in_process)
    assert len({u[3] for u in units(in_process)}) == 3  # A, B and tie all occur: not a trivial match


# --------------------------------------------------------------------------------------------
# 2. LLMBar's recorded verdicts (both orders for every item)


def _data_dir() -> Path | None:
    value = os.environ.get("JUDGECAL_REAL_DATA")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


DATA = _data_dir()
LLMBAR_SETS = ("LLMBar/Natural", "Processed/MT-Bench", "Processed/FairEval")
RESULT_DIRS = (
    sorted(p.parent for s in LLMBAR_SETS for p in (DATA / "llmbar" / s).glob("evaluators/*/*/result.json"))
    if DATA is not None
    else []
)


def _llmbar_position(result_dir: Path) -> tuple[Any, Any]:
    from judgecal.importers import import_llmbar

    dataset = result_dir.parent.parent.parent
    judge = f"{result_dir.parent.name}/{result_dir.name}"
    js = import_llmbar(dataset, judges=[judge])
    stats = position_statistics(pairs_from_judgments(js, judge), n_resamples=200)
    return js, stats


@pytest.mark.parametrize("result_dir", RESULT_DIRS, ids=lambda p: "/".join(p.parts[-5:]))
@pytest.mark.realdata
@pytest.mark.skipif(
    DATA is None,
    reason="JUDGECAL_REAL_DATA is not set (a folder of the public human-judgment datasets; CI provides it)",
)
def test_llmbar_position_statistics_equal_the_files(result_dir: Path):
    from judgecal.importers import llmbar_statistics

    _, stats = _llmbar_position(result_dir)
    # recomputed straight from result.json: the final verdict of each order; winners are in the
    # original output ids, so the first slot is "1" without the swap and "2" with it
    records = json.loads((result_dir / "result.json").read_text(encoding="utf-8"))
    first = valid = equal = complete = lean = 0
    for rec in records:
        final = rec["results"][-1]
        w_ab, w_ba = final["swap = False"]["winner"], final["swap = True"]["winner"]
        first += (w_ab == "1") + (w_ba == "2")
        valid += (w_ab is not None) + (w_ba is not None)
        equal += w_ab == w_ba  # LLMBar's convention: two unparseable verdicts are equal
        if w_ab is not None and w_ba is not None:  # the excess is over pairs valid in both orders
            complete += 1
            lean += (w_ab == "1") + (w_ba == "2") - (w_ab == "2") - (w_ba == "1")
    a = stats.all
    assert (a.n_pairs, a.first, a.n_valid, a.n_equal) == (len(records), first, valid, equal)
    assert a.first_share.value == first / valid
    assert a.second == valid - first  # LLMBar has no ties
    assert a.n_complete == complete
    assert a.first_slot_excess.value == pytest.approx(lean / 2 / complete)
    published = llmbar_statistics(result_dir)
    assert a.n_equal == published["equal"] and a.n_pairs == published["n"]
    assert a.positional_agreement * 100 == published["equal_percent"]


@pytest.mark.realdata
@pytest.mark.skipif(
    DATA is None,
    reason="JUDGECAL_REAL_DATA is not set (a folder of the public human-judgment datasets; CI provides it)",
)
def test_llmbar_position_flags_chatgpt_on_faireval_not_gpt4_on_mtbench():
    assert DATA is not None
    chatgpt = DATA / "llmbar" / "Processed" / "FairEval" / "evaluators" / "ChatGPT" / "Vanilla_NoRules"
    _, s = _llmbar_position(chatgpt)
    assert (s.all.first, s.all.n_valid) == (120, 132)  # first-slot rate 0.909
    test = position_test(s)
    assert test.p_value is not None and test.p_value < ALPHA  # a fail, alone or in a battery of 10
    assert s.all.first_slot_excess.lo > 0.05 and s.all.sign_p < 1e-6

    gpt4 = DATA / "llmbar" / "Processed" / "MT-Bench" / "evaluators" / "GPT-4" / "Vanilla_NoRules"
    _, s = _llmbar_position(gpt4)
    assert (s.all.first, s.all.n_valid) == (204, 400)  # first-slot rate 0.51
    test = position_test(s)
    assert test.p_value is not None and test.p_value > ALPHA  # no evidence of a bias beyond ±0.05
    assert s.all.first_slot_excess.value == pytest.approx(0.02) and s.all.sign_p > 0.05


# --------------------------------------------------------------------------------------------


def _bundled_gold(rubric: Rubric) -> GoldSet:
    from judgecal.gold import find_gold

    return find_gold(rubric.name, rubric)


def _preset(name: str) -> dict[str, Any]:
    from judgecal.simulate import PRESETS

    return PRESETS[name].model_dump()
