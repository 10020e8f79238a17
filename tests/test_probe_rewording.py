"""The rubric-rewording probe: the rewrites keep the meaning, and the gated pooled shift passes an
exact judge, fails a rewording-sensitive one, does not fail unbiased noisy ones, is undefined
without verdicts and is underpowered (no call) on too few items.

The rewording-sensitive judge is ``bench/probe_scenarios/rewording.py``'s wrapper of the
in-process simulator (the simulator itself has no such bias)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from _probe_helpers import named_gold

from judgecal.gold import GoldSet, find_gold
from judgecal.judge import JudgeConfig, sim_items_from_gold
from judgecal.probes.base import ProbeResult, arun_probes
from judgecal.probes.rewording import (
    RewordingProbe,
    invariants,
    order_matters,
    paraphrase,
    paraphrase_criteria,
    reworded_rubrics,
)
from judgecal.rubric import Rubric, find_rubric, load_rubric
from judgecal.simulate import JudgeProfile

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT))
    import bench.probe_scenarios.rewording as module

    return module


def run(
    bench: Any, rubric: Rubric, gold: GoldSet, profile: JudgeProfile, store: Any, **kw: Any
) -> ProbeResult:
    name = (
        f"rw-{profile.seed}-{profile.accuracy}-{getattr(profile, 'rubric_sensitivity', 0)}-{len(gold.items)}"
    )
    sim = bench.sim_completer(profile, sim_items_from_gold(rubric, gold.items), name=name)
    report = asyncio.run(
        arun_probes(
            rubric,
            gold,
            JudgeConfig(model=sim.model),
            sim,
            store=store,
            names=["rewording"],
            seed=profile.seed,
            **kw,
        )
    )
    return report.results[0]


# --------------------------------------------------------------------------------------------
# The rewrites


@pytest.mark.parametrize("name", ["support-billing", "helpfulness-ordinal", "pairwise-preference"])
def test_paraphrases_keep_negations_numbers_names_and_quotes(name):
    rubric = find_rubric(name)
    changed = 0
    for before, after in zip(rubric.criteria, paraphrase_criteria(rubric), strict=True):
        assert after.id == before.id
        assert invariants(after.description) == invariants(before.description)
        changed += " ".join(before.description.split()) != after.description
    assert changed >= len(rubric.criteria) - 1  # every bundled criterion but at most one is reworded


def test_paraphrase_rules_and_what_they_never_touch():
    assert paraphrase("Ensure that the reply must cite the policy.") == "The reply has to cite the policy."
    assert paraphrase("Cite the source.") == "The answer cites the source."
    assert (
        paraphrase("Gives a clear next step.", pairwise=True)
        == "Check whether each response offers a clear next step."
    )
    # a name is not a synonym-table word even when it spells one; quotes are kept verbatim
    named = paraphrase('Mentions Fine Corp and "every fine print" in every answer.')
    assert named == 'Check that the answer mentions Fine Corp and "every fine print" in each answer.'
    assert paraphrase("Answers must not cite the policy.") == "Answers must not cite the policy."  # a noun
    # a sentence with a pronoun stays after the one it refers to
    text = "Never repeats the card number. If the user pasted it, it tells them to stop."
    assert paraphrase(text).startswith("Check that the answer never repeats")


def test_rewrites_of_the_bundled_rubrics():
    support = find_rubric("support-billing")
    item = find_gold("support-billing", support).items[0]
    rewrites = reworded_rubrics(support, item)
    assert list(rewrites) == ["reordered", "paraphrased", "reordered+paraphrased"]
    ids = [c.id for c in support.criteria]
    assert [c.id for c in rewrites["reordered"].criteria] == ids[4:] + ids[:4]
    assert rewrites["reordered"].template_source == support.template_source
    # "Criteria, in order of priority": reordering would change the rubric's meaning
    pairwise = find_rubric("pairwise-preference")
    assert order_matters(pairwise) and list(reworded_rubrics(pairwise)) == ["paraphrased"]


def _rubric(folder: Path, description: str, show_criteria: bool) -> Rubric:
    folder.mkdir(parents=True)
    (folder / "rubric.yaml").write_text(
        f"name: {folder.name}\nversion: '1'\ndescription: A tiny rubric.\nscale:\n  kind: binary\n"
        f"inputs: [input, output]\ncriteria:\n  - id: correct\n    description: {description}\n"
        "pass_rule: Pass when correct.\n",
        encoding="utf-8",
    )
    shown = "{% for c in rubric.criteria %}- {{ c.description }}\n{% endfor %}" if show_criteria else ""
    (folder / "prompt.j2").write_text(
        f"[system]\nGrade it.\n{shown}{{{{ answer_format }}}}\n[user]\n<input>{{{{ input }}}}</input>\n"
        "<output>{{ output }}</output>\n",
        encoding="utf-8",
    )
    return load_rubric(folder)


def test_not_applicable_when_no_rewording_changes_the_prompt(tmp_path):
    gold = find_gold("support-billing")
    probe = RewordingProbe()
    hidden = _rubric(tmp_path / "hidden", "Gives a correct answer.", show_criteria=False)
    assert "does not show" in (probe.applies(hidden, gold.items) or "")
    fixed = _rubric(tmp_path / "fixed", "The answer is polite.", show_criteria=True)  # one criterion, no rule
    assert probe.applies(fixed, gold.items)
    shown = _rubric(tmp_path / "shown", "Gives a correct answer.", show_criteria=True)
    assert probe.applies(shown, gold.items) is None and list(reworded_rubrics(shown)) == ["paraphrased"]


# --------------------------------------------------------------------------------------------
# Decisions


def test_exact_judge_passes_on_the_bundled_support_set(bench, support, store):
    rubric, gold = support
    for seed in range(2):
        r = run(bench, rubric, gold, JudgeProfile(accuracy=1.0, seed=seed), store)
        assert r.outcome == "pass", r.reason
        assert r.estimate is not None and r.estimate.value == 0.0 and r.n == 3 * 51
        assert [t.name for t in r.tests] == [
            "pooled shift",
            "reordered shift",
            "paraphrased shift",
            "reordered+paraphrased shift",
        ]
        assert [t.gated for t in r.tests] == [True, False, False, False]
        assert r.plan is not None and r.plan.calls == 5 * 51 and r.calls <= r.plan.calls


def test_rewording_sensitive_judge_fails_and_the_interval_covers_its_shift(bench, store):
    rubric, gold = find_rubric("support-billing"), bench.synthetic_singles(80)
    truth_of = bench.true_shift("support-billing", lambda: gold, "test")
    outcomes, covered = [], 0
    for seed in range(3):
        profile = bench.canonical_profile(rubric, accuracy=0.9, rubric_sensitivity=0.5, seed=seed)
        r = run(bench, rubric, gold, profile, store)
        outcomes.append(r.outcome)
        assert r.estimate is not None and r.estimate.lo is not None and r.estimate.hi is not None
        covered += r.estimate.lo <= truth_of(profile) <= r.estimate.hi
        # the resample of the original wording is not reworded: its flips are noise only
        floor = r.details["noise_floor"]["value"]
        assert all(e["flip_rate"]["value"] > floor for e in r.details["rewrites"].values())
    assert truth_of(profile) == pytest.approx(0.25)
    assert outcomes == ["fail"] * 3
    assert covered >= 2


def test_unbiased_noisy_judges_do_not_fail(bench, support, store):
    # The simulator redraws a noisy judge's errors on every new prompt, so about 2a(1 − a) of the
    # verdicts flip under any rewording; the pooled shift is directional and has mean 0.
    rubric, gold = support
    outcomes = []
    for accuracy in (0.75, 0.92):
        for seed in range(4):
            r = run(bench, rubric, gold, JudgeProfile(accuracy=accuracy, seed=seed), store)
            outcomes.append(r.outcome)
            flips = [e["flip_rate"]["value"] for e in r.details["rewrites"].values()]
            assert max(flips) > 0.05  # the raw flip rate would have failed them
    assert "fail" not in outcomes, outcomes


def test_no_usable_verdict_is_undefined_not_a_pass(bench, support, store):
    rubric, gold = support
    r = run(bench, rubric, gold, JudgeProfile(accuracy=1.0, refusal_rate=1.0), store)
    assert r.outcome == "undefined" and r.passed is None


def test_too_few_items_is_underpowered_without_a_call(bench, support, store):
    rubric, gold = support
    few = named_gold("few", gold.items[:8])
    plan = RewordingProbe().plan(rubric, few.items, {})
    assert not plan.passable and plan.min_items == 9 and plan.calls == 8 * 5
    r = run(bench, rubric, few, JudgeProfile(accuracy=1.0), store)
    assert r.outcome == "underpowered" and r.calls == 0 and "needs ≥ 9 items" in r.reason
    assert RewordingProbe().plan(rubric, gold.items[:9], {}).passable
    assert RewordingProbe().plan(rubric, gold.items[:9], {"resample_floor": 0}).calls == 9 * 4
