"""The probes' common decision rule: outcomes, Holm over the battery, plans, and the paired
interval every invariance probe builds on.

- ``settle``: fail needs the probe's p-value — Holm within its families, then Holm across the
  battery's probes — below α; pass needs every interval inside its tolerance; an undefined
  estimate is undefined, never a pass.
- ``paired_difference`` (Bonett–Price adjusted Wald): checked against the formula computed here
  by hand, and its coverage over simulated paired data with a known difference.
- ``rate_test``: the score test that the Wilson interval inverts (at the Wilson bound, the
  two-sided score test's p-value is exactly 1 − confidence).
- The runner: a probe whose plan says it cannot pass makes no call unless forced.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from typing import Any

import pytest
from _probe_helpers import gold_set

from judgecal.calibrate.intervals import Estimate, wilson_interval
from judgecal.gold import GoldItem
from judgecal.judge import JudgeConfig
from judgecal.probes._stats import boundary_p, paired_difference, rate_test
from judgecal.probes.base import (
    ProbeContext,
    ProbePlan,
    ProbeReport,
    ProbeResult,
    ProbeTest,
    arun_probes,
    settle,
)


def _test(name: str, lo: float, hi: float, p: float, *, value: float | None = None) -> ProbeTest:
    v = (lo + hi) / 2 if value is None else value
    return ProbeTest(
        name=name,
        estimate=Estimate(value=v, lo=lo, hi=hi, n=100, method="adjusted_wald"),
        tolerance=0.05,
        direction="max",
        p_value=p,
    )


def _result(name: str, *tests: ProbeTest, gated: bool = True) -> ProbeResult:
    return ProbeResult(probe=name, kind="invariance", gated=gated, statistic="shift", tests=list(tests))


def test_outcome_is_derived_both_ways() -> None:
    assert ProbeResult(probe="x", kind="invariance", gated=True, statistic="s", passed=True).outcome == "pass"
    assert (
        ProbeResult(probe="x", kind="invariance", gated=True, statistic="s", passed=None).outcome
        == "undefined"
    )
    r = ProbeResult(probe="x", kind="invariance", gated=True, statistic="s", outcome="underpowered")
    assert r.passed is None and r.inconclusive and r.word == "underpowered"
    assert ProbeResult(probe="x", kind="diagnostic", gated=True, statistic="-", applicable=False).outcome == (
        "not_applicable"
    )


def test_settle_fails_only_on_an_adjusted_p_below_alpha() -> None:
    # one test at p = 0.01 among 4 gated tests: Holm 0.04 < 0.05 → fail
    a = _result("a", _test("f1", 0.06, 0.2, 0.01), _test("f2", -0.02, 0.04, 0.9))
    b = _result("b", _test("f1", -0.03, 0.03, 0.9), _test("f2", -0.03, 0.03, 0.8))
    out = settle([a, b])
    assert [r.outcome for r in out] == ["fail", "pass"]
    assert out[0].tests[0].p_adjusted == pytest.approx(0.04)
    # p = 0.02 among 4 tests: Holm 0.08 — not significant after adjustment; the interval is not
    # inside either: inconclusive, not fail (a lone test at 0.02 would fail)
    a2 = _result("a", _test("f1", 0.06, 0.2, 0.02), _test("f2", -0.02, 0.04, 0.9))
    assert [r.outcome for r in settle([a2, b])] == ["inconclusive", "pass"]
    assert settle([_result("a", _test("f1", 0.06, 0.2, 0.02))])[0].outcome == "fail"


def test_settle_a_one_test_probe_is_not_diluted_by_another_probes_families() -> None:
    # a six-family probe with nothing significant, and a one-test probe at p = 0.004: Holm over
    # all seven tests would ask for p < 0.05/7 = 0.0071 — it passes that — but over a dozen tests
    # (0.05/13 = 0.0038) it would not; across two probes it needs p < 0.025 only
    many = _result("many", *(_test(f"f{k}", -0.02, 0.04, 0.5 + k / 100) for k in range(12)))
    one = _result("one", _test("bias", 0.21, 0.40, 0.004))
    out = settle([many, one])
    assert [r.outcome for r in out] == ["pass", "fail"]
    assert out[1].tests[0].p_adjusted == pytest.approx(0.008)
    # Holm's step-down across probes: 0.02 and 0.03 → 0.04 and 0.04, both fail; 0.03 and 0.03 →
    # 0.06 and 0.06, neither
    a, b = _result("a", _test("f", 0.06, 0.2, 0.02)), _result("b", _test("f", 0.06, 0.2, 0.03))
    assert [r.outcome for r in settle([a, b])] == ["fail", "fail"]
    c = _result("c", _test("f", 0.06, 0.2, 0.03))
    assert [r.outcome for r in settle([b, c])] == ["inconclusive", "inconclusive"]


def test_settle_undefined_is_never_a_pass() -> None:
    undefined = ProbeTest(
        name="f", estimate=Estimate(value=math.nan, n=0, method="none"), tolerance=0.05, direction="max"
    )
    out = settle([_result("a", undefined, _test("g", -0.01, 0.01, 0.99))])
    assert out[0].outcome == "undefined"
    report = ProbeReport(judge="j", rubric="r", split="test", results=out, calls=0)
    assert report.passed is False and report.failed is False


def test_settle_keeps_non_gated_tests_out_of_the_battery() -> None:
    gated = _result("a", _test("f1", 0.06, 0.2, 0.01))
    diag = [_result(f"d{i}", _test("f", -0.01, 0.01, 0.5), gated=False) for i in range(3)]
    out = settle([gated, *diag])
    assert out[0].tests[0].p_adjusted == pytest.approx(0.01)  # alone in the gated family
    assert all(r.outcome == "pass" for r in out[1:])


def test_directions_of_inside() -> None:
    e = Estimate(value=0.9, lo=0.86, hi=0.95, n=100, method="wilson")
    assert ProbeTest(name="d", estimate=e, tolerance=0.85, direction="min").inside is True
    assert ProbeTest(name="d", estimate=e, tolerance=0.90, direction="min").inside is False
    e2 = Estimate(value=0.0, lo=-0.04, hi=0.06, n=100, method="adjusted_wald")
    assert ProbeTest(name="s", estimate=e2, tolerance=0.05, direction="abs").inside is False
    assert ProbeTest(name="s", estimate=e2, tolerance=0.06, direction="abs").inside is True


def _bonett_price(b: int, c: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The interval of Bonett & Price (2012), eq. for the paired difference p_c − p_b, by hand."""
    p12, p21 = (b + 1) / (n + 2), (c + 1) / (n + 2)
    d = p21 - p12
    se = math.sqrt((p12 + p21 - d * d) / (n + 2))
    return max(-1.0, d - z * se), min(1.0, d + z * se)


@pytest.mark.parametrize(("b", "c", "n"), [(0, 0, 30), (3, 9, 60), (12, 2, 40), (0, 25, 25), (5, 5, 200)])
def test_paired_difference_is_the_bonett_price_interval(b: int, c: int, n: int) -> None:
    before = [True] * b + [False] * c + [True] * ((n - b - c) // 2) + [False] * (n - b - c - (n - b - c) // 2)
    after = [False] * b + [True] * c + [True] * ((n - b - c) // 2) + [False] * (n - b - c - (n - b - c) // 2)
    est, se, counts = paired_difference(before, after)
    lo, hi = _bonett_price(b, c, n)
    assert (counts["b"], counts["c"], counts["n"]) == (b, c, n)
    assert est.value == pytest.approx((c - b) / n)
    assert (est.lo, est.hi) == (pytest.approx(lo), pytest.approx(hi))
    # the one-sided p-value at the interval's lower end is (1 − 0.95)/2
    assert boundary_p(counts["centre"], se, est.lo, "max") == pytest.approx(0.025, abs=1e-9) or est.lo == -1.0


def test_paired_difference_clusters_widen_the_interval_for_correlated_variants() -> None:
    # 20 items × 4 variants; each item's variants move together
    rng = random.Random(3)
    before, after, clusters = [], [], []
    for item in range(20):
        moved = rng.random() < 0.3
        for _ in range(4):
            before.append(False)
            after.append(moved)
            clusters.append(item)
    flat, _, _ = paired_difference(before, after)
    clustered, _, counts = paired_difference(before, after, clusters=clusters)
    assert counts["deff"] > 3.0  # perfectly correlated within clusters of 4: deff ≈ 4
    assert (clustered.hi - clustered.lo) > 1.8 * (flat.hi - flat.lo)
    assert clustered.n_clusters == 20


def test_paired_difference_covers_a_known_difference() -> None:
    """Coverage over simulated pairs: P(before) = 0.1, and after = before flipped up with
    probability 0.05 (and down never) — true Δ = 0.9·0.05 = 0.045 — at n = 80. 400 draws: a 95%
    interval covers in at least binom.ppf(0.01, 400, 0.95) = 370."""
    rng = random.Random(11)
    covered = 0
    truth = 0.9 * 0.05
    for _ in range(400):
        before = [rng.random() < 0.1 for _ in range(80)]
        after = [x or rng.random() < 0.05 for x in before]
        est, _, _ = paired_difference(before, after)
        covered += est.lo <= truth <= est.hi
    assert covered >= 370


def test_rate_test_inverts_the_wilson_interval() -> None:
    k, n = 17, 40
    lo, hi = wilson_interval(k, n)
    # at T = the Wilson lower bound, "rate ≤ T" is rejected at exactly (1 − 0.95)/2 one-sided
    assert rate_test(k, n, lo, "max")[1] == pytest.approx(0.025, rel=1e-6)
    assert rate_test(k, n, hi, "min")[1] == pytest.approx(0.025, rel=1e-6)
    est, p = rate_test(0, 0, 0.5, "min")
    assert math.isnan(est.value) and math.isnan(p)


class _Planned:
    """A probe whose plan says it cannot pass with fewer than 100 items."""

    name = "planned"
    description = "test probe"
    gated = True
    default_thresholds: dict[str, float] = {}

    def __init__(self) -> None:
        self.ran = 0

    def applies(self, rubric: Any, items: Sequence[GoldItem]) -> str | None:
        return None

    def plan(self, rubric: Any, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        ok = len(items) >= 100
        return ProbePlan(
            calls=len(items), cases=len(items), passable=ok, min_items=None if ok else 100, reason="test"
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        self.ran += 1
        await ctx.grade(ctx.items, label="planned")
        return _result("planned", _test("f", -0.01, 0.01, 0.9))


def test_an_underpowered_probe_makes_no_call_unless_forced(monkeypatch: pytest.MonkeyPatch, store) -> None:  # type: ignore[no-untyped-def]
    from judgecal.probes import base
    from judgecal.rubric import find_rubric
    from judgecal.simulate import JudgeProfile, SimCompleter

    probe = _Planned()
    monkeypatch.setattr(base, "available_probes", lambda names=None: {"planned": probe})
    rubric = find_rubric("support-billing")
    items = [
        GoldItem(id=f"i{i}", inputs={"input": f"question {i}", "output": f"answer {i}"}, labels={"a": "pass"})
        for i in range(10)
    ]
    gold = gold_set(items, "g", path="g.jsonl", file_hash="x")
    sim = SimCompleter(JudgeProfile(accuracy=1.0), name="j")
    report = asyncio.run(arun_probes(rubric, gold, JudgeConfig(model=sim.model), sim, store=store))
    assert report.results[0].outcome == "underpowered" and report.calls == 0 and probe.ran == 0
    assert "needs ≥ 100 items" in report.results[0].reason
    assert sim.stats()["requests"] == 0
    forced = asyncio.run(
        arun_probes(rubric, gold, JudgeConfig(model=sim.model), sim, store=store, force=True)
    )
    assert probe.ran == 1 and forced.calls == 10 and forced.results[0].outcome == "pass"
