"""Dry runs (judgecal.plan): the calls and cost of a run, stage by stage, with no call made."""

from __future__ import annotations

from typing import Any

import pytest


def _counts(store: Any) -> tuple[int, int]:
    from sqlmodel import Session, func, select

    from judgecal.store.tables import CallRow, RunRow

    with Session(store.engine) as session:
        calls = session.exec(select(func.count()).select_from(CallRow)).one()
        runs = session.exec(select(func.count()).select_from(RunRow)).one()
    return int(calls), int(runs)


def _no_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach a judge (or start one) fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the plan tried to reach a judge")

    monkeypatch.setattr("judgecal.llm.open_completer", refuse)
    monkeypatch.setattr("judgecal.llm.LiteLLMCompleter.complete", refuse)
    monkeypatch.setattr("judgecal.simulate.SimulatedJudge.start", refuse)
    monkeypatch.setattr("judgecal.judge.agrade", refuse)
    monkeypatch.setattr("judgecal.probes.base.agrade", refuse)


def test_a_validation_plan_makes_no_call_writes_nothing_and_matches_the_run(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan of a validation on a cold store, then the validation itself (sim/accurate over
    litellm): each stage's planned calls equal the calls that stage made; a second plan (warm
    store) plans none, and the repeated validation makes none."""
    from judgecal.approval import validate
    from judgecal.plan import plan_validation, render_plan

    with monkeypatch.context() as m:
        _no_calls(m)
        plan = plan_validation("support-billing", "sim/accurate", store=store)
    assert _counts(store) == (0, 0)
    planned = {s.stage: s.calls for s in plan.stages}
    assert planned["preflight"] == 1 and planned["grading"] == 51
    assert plan.cost == 0.0 and plan.prices[0].source == "free (simulated)"
    text = render_plan(plan)
    assert "free (simulated)" in text and "probe:injection" in text and "no call made" in text

    result = validate("support-billing", "sim/accurate", store=store)
    made = {"grading": store.get_run(result.run_id).n_calls}
    made |= {f"probe:{r.probe}": r.calls for r in result.probes.results}
    assert made == {k: v for k, v in planned.items() if k != "preflight"}
    assert result.certificate.calls == plan.calls - 1  # the preflight is outside the run's count

    before = _counts(store)
    with monkeypatch.context() as m:
        _no_calls(m)
        warm = plan_validation("support-billing", "sim/accurate", store=store)
    assert _counts(store) == before
    assert warm.calls == 0 and all(s.calls == 0 for s in warm.stages)
    assert "cache" in warm.stages[0].note
    again = validate("support-billing", "sim/accurate", store=store)
    assert again.certificate.calls == 0


def test_a_grade_plan_counts_orders_samples_and_what_the_store_has(store: Any, pairwise: Any) -> None:
    """Pairwise, both orders, 2 samples: 4 units an item; after grading half of them, the plan
    counts only the other half, and grading then makes exactly that many calls."""
    from judgecal.gold import find_gold
    from judgecal.judge import JudgeConfig, grade
    from judgecal.plan import plan_grade

    gold = find_gold("pairwise-preference", pairwise)
    judge = JudgeConfig(model="sim/accurate", orders="both", samples=2)
    n_test = len(gold.select("test"))
    assert plan_grade(pairwise, gold, judge, store=store, split="test").stages[1].calls == 4 * n_test
    grade(pairwise, gold, judge, store=store, split="dev")
    plan = plan_grade(pairwise, gold, judge, store=store, split="all")
    assert plan.stages[1].units == 4 * len(gold.items) and plan.stages[1].cached == 4 * (
        len(gold.items) - n_test
    )
    done = grade(pairwise, gold, judge, store=store, split="all")
    assert done.n_calls == plan.stages[1].calls == 4 * n_test


def test_prices_come_from_litellms_map_and_an_unknown_one_is_said(store: Any, support: Any) -> None:
    from judgecal.judge import JudgeConfig
    from judgecal.plan import plan_grade, price_of, render_plan

    assert price_of("sim/accurate").source == "free (simulated)"
    assert price_of("local/smollm2").source == "free (local)"
    known = price_of("openai/gpt-4o-mini")
    assert known.known and known.input_per_token and known.output_per_token
    assert known.output_per_token > known.input_per_token > 0
    assert not price_of("openai/no-such-model-anywhere").known

    rubric, gold = support
    judge = JudgeConfig(model="openai/gpt-4o-mini")
    plan = plan_grade(rubric, gold, judge, store=store, split="test")
    g = plan.stages[1]
    assert g.calls == 51 and g.completion_tokens == 51 * judge.sampling.max_tokens
    assert g.cost_max == pytest.approx(
        g.prompt_tokens * known.input_per_token + g.completion_tokens * known.output_per_token
    )
    assert 0 < g.cost < g.cost_max  # type: ignore[operator]
    assert "$" in render_plan(plan)

    unknown = plan_grade(rubric, gold, JudgeConfig(model="openai/no-such-model-anywhere"), store=store)
    assert unknown.cost is None and unknown.cost_max is None
    assert "unknown price" in render_plan(unknown)


def test_a_probe_plan_follows_the_battery_and_notes_underpowered_probes(store: Any, support: Any) -> None:
    from judgecal.judge import JudgeConfig
    from judgecal.plan import plan_probe
    from judgecal.probes import run_probes

    rubric, gold = support
    judge = JudgeConfig(model="sim/accurate")
    names = ["injection", "position", "sensitivity"]
    plan = plan_probe(rubric, gold, judge, store=store, names=names)
    by = {s.stage: s for s in plan.stages}
    assert by["probe:position"].calls == 0 and "not applicable" in by["probe:position"].note
    report = run_probes(rubric, gold, judge, store=store, names=names)
    assert {f"probe:{r.probe}": r.calls for r in report.results} == {
        k: s.calls for k, s in by.items() if k != "preflight"
    }
