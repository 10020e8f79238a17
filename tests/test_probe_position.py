"""The position probe (P1) as a test with stated error rates, and order-inconsistent pairs as a
position outcome rather than invalid output.

The simulated judge (``judgecal.simulate._decide``) draws a unit's verdict from the truth (right
with probability a) and then, with probability b (``position_bias``), replaces it by "A" — the
slot shown first. Over the two orders of a pair the base draw's first-minus-second cancels, so the
first-slot excess of complete pairs has expectation b at any accuracy; an order-blind judge of
accuracy a (b = 0, errors redrawn per prompt) has excess 0 and still disagrees with itself across
orders in a good share of pairs. The seeds below are a fixed handful: the error rates over 50+
seeds are measured by ``python bench/bench_probes.py --probe position``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from _probe_helpers import ANNOTATORS, arun_probe, gold_set, sim_for

from judgecal.calibrate.inputs import _item_verdict, input_from_verdicts
from judgecal.gold import GoldItem, find_gold
from judgecal.importers import RecordedVerdict
from judgecal.judge import JudgeConfig, aggregate, sim_items_from_gold
from judgecal.probes.base import arun_probes
from judgecal.probes.position import (
    PairVerdicts,
    PositionProbe,
    adjusted_mean,
    min_cases,
    position_statistics,
    position_test,
)
from judgecal.rubric import Rubric
from judgecal.simulate import PRESETS, JudgeProfile, SimCompleter
from judgecal.verdict import Verdict


def _pairs(n: int, seed: int = 0, tie_share: float = 0.2) -> list[GoldItem]:
    rng = random.Random(f"pos-pairs-{seed}")
    items = []
    for i in range(n):
        label = "tie" if rng.random() < tie_share else rng.choice("AB")
        items.append(
            GoldItem(
                id=f"pp{seed}-{i}",
                inputs={
                    "input": f"Question {i} of set {seed}?",
                    "output_a": f"Answer A{i} ({rng.random():.8f}).",
                    "output_b": f"Answer B{i} ({rng.random():.8f}).",
                },
                labels=dict.fromkeys(ANNOTATORS, label),
            )
        )
    return items


def _singles(n: int, seed: int = 0) -> list[GoldItem]:
    rng = random.Random(f"pos-singles-{seed}")
    return [
        GoldItem(
            id=f"sb{seed}-{i}",
            inputs={"input": f"Billing question {i}?", "output": f"Billing answer {i} ({rng.random():.8f})."},
            labels=dict.fromkeys(("ana", "ben"), "pass" if i % 2 == 0 else "fail"),
        )
        for i in range(n)
    ]


async def _run(rubric: Rubric, items: list[GoldItem], profile: JudgeProfile, store: Any, **kw: Any) -> Any:
    sim = sim_for(rubric, items, profile, "pos")
    result, _ = await arun_probe(rubric, gold_set(items, "gen"), sim, "position", store=store, **kw)
    return result, sim


# --------------------------------------------------------------------------------------------
# Pairwise: the gated first-slot test


async def test_perfect_judge_passes_on_200_pairs(store, pairwise):
    result, _ = await _run(pairwise, _pairs(200), JudgeProfile(accuracy=1.0), store)
    assert result.outcome == "pass" and result.passed is True
    (test,) = result.tests
    assert test.name == "first-slot excess" and test.inside and test.direction == "abs"
    assert result.estimate.value == 0.0 and result.estimate.method == "adjusted_wald"
    assert -0.05 < result.estimate.lo < 0 < result.estimate.hi < 0.05  # not collapsed to [0, 0]
    assert result.details["order_inconsistency"]["value"] == 0.0
    assert result.plan is not None and result.plan.calls == 400 and result.plan.passable


async def test_position_biased_preset_fails_on_200_pairs(store, pairwise):
    profile = PRESETS["position-biased"].model_copy(update={"seed": 3})  # position_bias 0.6
    result, _ = await _run(pairwise, _pairs(200), profile, store)
    assert result.outcome == "fail"
    e = result.estimate
    assert e.lo <= 0.6 <= e.hi and e.lo > 0.05
    assert result.tests[0].p_adjusted is not None and result.tests[0].p_adjusted < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
async def test_noisy_unbiased_judge_is_not_failed(store, pairwise, seed):
    result, _ = await _run(pairwise, _pairs(200, seed), JudgeProfile(accuracy=0.8, seed=seed), store)
    assert result.outcome in ("pass", "inconclusive")
    s = result.details["statistics"]["all"]
    # order inconsistency is large (noise) and about what an order-blind judge of that accuracy shows
    assert s["order_inconsistency"]["value"] > 0.2
    assert s["order_inconsistency"]["value"] == pytest.approx(s["expected_inconsistency"], abs=0.12)


async def test_bundled_pairs_are_underpowered_and_cost_nothing(store, pairwise):
    gold = find_gold("pairwise-preference", pairwise)
    items = gold.select("test")
    sim = SimCompleter(JudgeProfile(accuracy=1.0), sim_items_from_gold(pairwise, gold.items), name="pos")
    report = await arun_probes(
        pairwise, gold, JudgeConfig(model="sim/pos"), sim, store=store, names=["position"]
    )
    (result,) = report.results
    assert len(items) < min_cases(0.10) == 26
    assert result.outcome == "underpowered" and result.passed is None
    assert report.calls == 0 and sim.stats()["requests"] == 0
    assert result.plan is not None and result.plan.min_items == 26
    forced = await arun_probes(
        pairwise, gold, JudgeConfig(model="sim/pos"), sim, store=store, names=["position"], force=True
    )
    assert forced.results[0].outcome == "inconclusive"  # a perfect judge: interval ±0.154 > ±0.10


async def test_no_usable_verdict_is_undefined_not_a_pass(store, pairwise):
    result, _ = await _run(pairwise, _pairs(60), JudgeProfile(accuracy=1.0, refusal_rate=1.0), store)
    assert result.outcome == "undefined" and result.passed is None
    assert result.n == 0


def test_statistics_by_hand():
    pairs = [
        PairVerdicts("1", "A", "A", ("A", "A")),  # consistent: e = 0
        PairVerdicts("2", "A", "B", ("B", "B")),  # first slot in both orders: e = 1
        PairVerdicts("3", "A", "B", ("A", "B")),  # close pair, first slot both times: e = 1
        PairVerdicts("4", "B", "A", ("A",)),  # second slot both times: e = −1
        PairVerdicts("5", None, "B", ("B",)),  # unparseable in one order: not in the excess
        PairVerdicts("6", "tie", "B", ("tie", "tie")),  # tie, then first slot: e = ½
    ]
    s = position_statistics(pairs, n_resamples=200)
    a = s.all
    assert (a.n_pairs, a.n_complete) == (6, 5)
    assert a.first_slot_excess.value == pytest.approx((0 + 1 + 1 - 1 + 0.5) / 5)
    # adjusted: Σe = 1.5, Σe² = 3.25 over n + 2 = 7 with one pseudo-pair at +1 and one at −1
    centre = 1.5 / 7
    se = (((3.25 + 2) / 7 - centre**2) / 7) ** 0.5
    assert a.excess_centre == pytest.approx(centre) and a.excess_se == pytest.approx(se)
    assert a.first_slot_excess.lo == pytest.approx(centre - 1.959964 * se, abs=1e-6)
    assert a.order_inconsistency.value == 4 / 5 and a.order_inconsistency.n == 5
    assert (a.directional_pairs, a.first_biased_pairs) == (4, 3)
    assert (a.first, a.second, a.tie, a.n_valid) == (7, 3, 1, 11)
    assert s.clear_gap.n_pairs == 4 and s.close.n_pairs == 2
    test = position_test(s)
    assert test.inside is False and 0 < test.p_value < 1


def test_expected_inconsistency_of_an_order_blind_judge():
    # 100 pairs with truth A: both orders right in 64, each order wrong (B) once in 32, both in 4:
    # P̂(A | A) = 0.8, P̂(B | A) = 0.2 → expected inconsistency 1 − 0.64 − 0.04 = 0.32 = observed
    pairs = (
        [PairVerdicts(f"r{i}", "A", "A", ("A",)) for i in range(64)]
        + [PairVerdicts(f"x{i}", "A", "B", ("A",)) for i in range(16)]
        + [PairVerdicts(f"y{i}", "B", "A", ("A",)) for i in range(16)]
        + [PairVerdicts(f"w{i}", "B", "B", ("A",)) for i in range(4)]
    )
    a = position_statistics(pairs, n_resamples=50).all
    assert a.per_order_accuracy == pytest.approx(0.8)
    assert a.expected_inconsistency == pytest.approx(0.32)
    assert a.order_inconsistency.value == pytest.approx(0.32)
    assert a.first_slot_excess.value == 0.0  # 16 lean first, 16 lean second


def test_adjusted_mean_never_collapses_and_widens_with_clusters():
    zero, _, _ = adjusted_mean([0.0] * 20)
    assert zero.lo < 0 < zero.hi
    values = [1.0, 1.0, -1.0, -1.0, 0.0, 0.0] * 10
    plain, se, _ = adjusted_mean(values)
    clustered, se_c, _ = adjusted_mean(values, clusters=[i // 2 for i in range(len(values))])
    assert se_c > se and clustered.n_clusters == 30
    assert adjusted_mean([])[0].n == 0


# --------------------------------------------------------------------------------------------
# Binary and ordinal rubrics: not applicable (the criteria order is the rewording probe's)


def test_single_output_rubrics_are_not_applicable_and_make_no_call(billing):
    reason = PositionProbe().applies(billing, _singles(10))
    assert reason is not None and "rewording probe" in reason


# --------------------------------------------------------------------------------------------
# Order-inconsistent pairs are a position outcome, not invalid output


def _units(item: str, ab: str | None, ba: str | None) -> list[Verdict]:
    def unit(label: str | None, order: str) -> Verdict:
        if label is None:
            return Verdict(item_id=item, status="invalid", order=order, invalid_reason="not_json")
        return Verdict(item_id=item, status="ok", label=label, order=order)

    return [unit(ab, "ab"), unit(ba, "ba")]


@pytest.mark.parametrize(
    ("ab", "ba", "conservative", "judgebench"),
    [
        ("A", "A", "A", "A"),
        ("A", "B", "tie", "tie"),
        ("A", "tie", "tie", "A"),
        ("tie", "B", "tie", "B"),
    ],
)
def test_aggregate_combines_orders(pairwise, ab, ba, conservative, judgebench):
    item = GoldItem(id="i", inputs={"input": "q", "output_a": "a", "output_b": "b"}, labels={"x": "A"})
    judge = JudgeConfig(model="sim/x", orders="both")
    for rule, expected in (("conservative", conservative), ("judgebench", judgebench)):
        iv = aggregate(pairwise, judge, item, _units("i", ab, ba), order_rule=rule)  # type: ignore[arg-type]
        assert (iv.status, iv.label) == ("ok", expected)
        assert iv.consistent is (ab == ba)


def test_order_inconsistent_pair_is_a_tie_even_without_ties_and_unparseable_stays_invalid(pairwise):
    no_tie = pairwise.model_copy(update={"scale": pairwise.scale.model_copy(update={"allow_tie": False})})
    item = GoldItem(id="i", inputs={"input": "q", "output_a": "a", "output_b": "b"}, labels={"x": "A"})
    judge = JudgeConfig(model="sim/x", orders="both")
    iv = aggregate(no_tie, judge, item, _units("i", "A", "B"))
    assert (iv.status, iv.label) == ("ok", "tie")  # was "invalid" (charged to G1) before
    for ab, ba in (("A", None), (None, "B"), (None, None)):
        assert aggregate(pairwise, judge, item, _units("i", ab, ba)).status == "invalid"
    skipped = [
        Verdict(item_id="i", status="ok", label="A", order="ab"),
        Verdict(item_id="i", status="skipped", order="ba"),
    ]
    assert aggregate(pairwise, judge, item, skipped).status == "skipped"


def test_imported_both_order_verdicts_count_inconsistency_not_invalid():
    def rec(item: str, label: str | None, order: str) -> RecordedVerdict:
        status = "ok" if label is not None else "invalid"
        return RecordedVerdict(item_id=item, label=label, order=order, status=status)  # type: ignore[arg-type]

    ab = [rec("i", "A", "ab"), rec("i", "B", "ba")]
    assert _item_verdict(ab, ["A", "B"], None, "pairwise") == ("tie", "ok")
    assert _item_verdict([rec("i", "A", "ab"), rec("i", None, "ba")], ["A", "B", "tie"], None) == (
        None,
        "invalid",
    )
    tie_win = [rec("i", "tie", "ab"), rec("i", "B", "ba")]
    assert _item_verdict(tie_win, ["A", "B", "tie"], None, order_rule="judgebench") == ("B", "ok")
    assert _item_verdict(tie_win, ["A", "B", "tie"], None) == ("tie", "ok")

    items = [
        GoldItem(
            id=f"p{i}", inputs={"input": "q", "output_a": f"a{i}", "output_b": f"b{i}"}, labels={"h": "A"}
        )
        for i in range(4)
    ]
    gold = gold_set(items, "gen")
    verdicts = [
        *[rec("p0", "A", "ab"), rec("p0", "A", "ba")],
        *[rec("p1", "A", "ab"), rec("p1", "B", "ba")],
        *[rec("p2", "tie", "ab"), rec("p2", "A", "ba")],
        *[rec("p3", None, "ab"), rec("p3", "A", "ba")],
    ]
    inp = input_from_verdicts(
        gold, verdicts, judge_name="j", scale="pairwise", labels=["A", "B"], source="test"
    )
    by_id = {r.id: (r.judge, r.judge_status) for r in inp.items}
    assert by_id == {"p0": ("A", "ok"), "p1": ("tie", "ok"), "p2": ("tie", "ok"), "p3": (None, "invalid")}
    assert (inp.meta["order_inconsistent"], inp.meta["both_orders"]) == (2, 3)
    assert inp.labels == ["A", "B", "tie"]  # a judge-only category on a scale without ties
    assert any("order-inconsistent" in n and "Zheng" in n for n in inp.meta["notes"])
