"""One budget across grading and probes: --max-calls / --max-cost bound a whole validation (and a
whole probe battery), and a validation a cap cut short is never approved."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from judgecal.errors import ConfigError


class Priced:
    """The in-process simulated judge, reporting ``price`` USD for every answer (None: unknown)."""

    def __init__(self, price: float | None, model: str = "sim/accurate"):
        from judgecal.simulate import SimCompleter

        self.inner = SimCompleter("accurate", model=model)
        self.model = model
        self.price = price
        self.calls = 0

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        self.calls += 1
        done = await self.inner.complete(messages, **kwargs)
        return dataclasses.replace(done, cost=self.price)


def _sim_items(rubric: Any, gold: Any) -> Priced:
    from judgecal.judge import sim_items_from_gold

    fake = Priced(0.01)
    fake.inner.set_items(sim_items_from_gold(rubric, gold.items))
    return fake


def test_budget_hands_each_stage_what_is_left() -> None:
    from judgecal.budget import Budget
    from judgecal.judge import Limits

    b = Budget.of(Limits(max_calls=100, max_cost=1.0, timeout=7))
    first = b.limits(Limits(timeout=7))
    assert first is not None and first.max_calls == 100 and first.max_cost == 1.0 and first.timeout == 7

    @dataclasses.dataclass
    class Run:
        n_calls: int
        cost: float | None
        status: str = "completed"
        n_skipped: int = 0
        n_units: int = 10

    b.charge("grading", Run(60, 0.25))  # type: ignore[arg-type]
    after = b.limits(None)
    assert after is not None and after.max_calls == 40 and after.max_cost == pytest.approx(0.75)
    assert not b.stopped
    b.charge("probe:x", Run(40, 0.1, status="stopped", n_skipped=3))  # type: ignore[arg-type]
    assert b.exhausted and b.limits(None).max_calls == 0  # type: ignore[union-attr]
    assert b.stopped == ["probe:x: 3 of 10 units skipped"] and "100 of --max-calls 100" in b.reason()
    unknown = Budget(max_cost=1.0)
    unknown.charge("grading", Run(5, None))  # type: ignore[arg-type]
    assert unknown.exhausted and "could not be enforced" in unknown.reason()
    assert Budget.of(None).limits(None) is None  # nothing capped: limits unchanged


def test_max_calls_holds_across_grading_and_every_probe(store: Any) -> None:
    """Before: each probe batch got the whole --max-calls again. Now grading (51 calls) and the
    probes together make at most 80, the cut probes say so, and the decision is not an approval."""
    from judgecal.approval import validate
    from judgecal.judge import Limits

    result = validate("support-billing", "sim/accurate", store=store, limits=Limits(max_calls=80))
    assert result.certificate.calls <= 80
    assert store.get_run(result.run_id).n_calls == 51  # grading came first and was not cut
    cut = [r for r in result.probes.results if r.stopped]
    assert cut and all(r.outcome == "undefined" and r.passed is None for r in cut)
    assert result.stopped and not result.decision.approved
    gate = result.decision.gates[-1]
    assert gate.gate == "budget" and gate.status == "inconclusive" and "--max-calls 80" in gate.reason
    assert result.decision.reasons[0].startswith("budget inconclusive")


def test_max_cost_holds_across_grading_and_probes(store: Any, support: Any) -> None:
    """A judge that costs $0.01 a call, --max-cost 1.00: grading spends 0.51, the probes get the
    remaining 0.49, so the whole validation spends at most 1.00 plus the call that crossed it."""
    from judgecal.approval import validate
    from judgecal.judge import Limits

    rubric, gold = support
    fake = _sim_items(rubric, gold)
    result = validate(
        rubric, "sim/accurate", store=store, completer=fake, limits=Limits(max_cost=1.0, concurrency=1)
    )
    cert = result.certificate
    assert cert.cost is not None and cert.cost <= 1.0 + 0.01 + 1e-9
    assert cert.calls <= 101 and fake.calls == cert.calls + 1  # + the preflight, outside the caps
    assert result.stopped and result.decision.tier in ("inconclusive", "rejected")
    assert not result.decision.approved


def test_an_unknown_price_with_max_cost_is_refused_before_the_run(store: Any, support: Any) -> None:
    """A cost cap cannot be held when calls report no cost: refused (exit 2) with nothing stored;
    without the preflight, by litellm's price map, before any call."""
    from judgecal.approval import validate
    from judgecal.judge import Limits

    rubric, gold = support
    fake = Priced(None, model="openai/no-such-model-anywhere")
    with pytest.raises(ConfigError, match="max-cost 1 cannot be enforced.*reported no cost") as caught:
        validate(rubric, fake.model, store=store, completer=fake, limits=Limits(max_cost=1.0))
    assert caught.value.exit_code == 2 and caught.value.field == "max_cost"
    assert fake.calls == 1 and store.list_runs() == [] and store.list_certificates() == []
    with pytest.raises(ConfigError, match="price map has no price"):
        validate(
            rubric, fake.model, store=store, completer=fake, limits=Limits(max_cost=1.0), preflight=False
        )
    assert fake.calls == 1 and store.list_runs() == []
    # --max-calls needs no price
    capped = validate(
        rubric,
        fake.model,
        store=store,
        completer=fake,
        limits=Limits(max_calls=3),
        probes=[],
        preflight=False,
    )
    assert capped.certificate.calls == 3 and capped.stopped and not capped.decision.approved


def test_a_probe_battery_shares_one_budget(store: Any, support: Any) -> None:
    """run_probes with max_calls 40: 40 calls in all (before: 40 per batch)."""
    from judgecal.judge import JudgeConfig, Limits
    from judgecal.probes import run_probes

    rubric, gold = support
    report = run_probes(
        rubric,
        gold,
        JudgeConfig(model="sim/accurate"),
        store=store,
        names=["injection", "verbosity"],
        limits=Limits(max_calls=40),
    )
    assert report.calls <= 40
    assert all(
        r.stopped and r.outcome == "undefined" for r in report.results if r.outcome != "not_applicable"
    )


def test_a_validation_that_would_be_approved_is_not_when_a_cap_cuts_it(
    _approved_template: tuple[Path, Path], tmp_path: Path
) -> None:
    """sim/consistent on the 200-item synthetic set is approved (the session fixture); the same
    validation on a cold store with --max-calls 100 is cut during the probes and is inconclusive.
    On the approved (warm) store the same cap cuts nothing: every unit is cached, so it stays
    approved and the preflight is skipped."""
    from judgecal.approval import validate
    from judgecal.judge import Limits
    from judgecal.store import Store

    db, gold = _approved_template
    cold = Store(f"sqlite:///{tmp_path / 'cold.db'}")
    try:
        cut = validate(
            "support-billing", "sim/consistent", gold=str(gold), store=cold, limits=Limits(max_calls=100)
        )
    finally:
        cold.close()
    assert cut.decision.tier == "inconclusive" and cut.certificate.calls <= 100
    assert any(g.gate == "budget" for g in cut.decision.gates)
    assert not any(r.startswith("PROVISIONAL") for r in cut.decision.reasons)

    shutil.copy(db, tmp_path / "warm.db")
    warm = Store(f"sqlite:///{tmp_path / 'warm.db'}")
    try:
        again = validate(
            "support-billing", "sim/consistent", gold=str(gold), store=warm, limits=Limits(max_calls=0)
        )
    finally:
        warm.close()
    assert again.decision.tier == "approved" and again.certificate.calls == 0 and not again.stopped
    assert again.preflight is not None and again.preflight.status == "skipped"


def test_cut_short_keeps_a_rejection_and_demotes_everything_else() -> None:
    from judgecal.approval.gate import Decision
    from judgecal.approval.validate import cut_short

    approved = Decision(tier="approved", reasons=["G2 pass"], gates=[], obligations=[])
    out = cut_short(approved, "the budget ran out")
    assert out.tier == "inconclusive" and not out.approved and out.gates[-1].gate == "budget"
    rejected = Decision(tier="rejected", reasons=["G1 fail"], gates=[])
    assert cut_short(rejected, "x").tier == "rejected"
