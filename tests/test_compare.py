"""``judgecal compare``: the paired non-inferiority test checked against independent computations
(Newcombe's paired-difference interval, the Wald/McNemar standard error, an explicit resampling
loop) and by simulation at the margin; then on simulated judges of clearly different and of equal
accuracy, through the Python API and the CLI."""

from __future__ import annotations

import json
import math
import random
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import write_synthetic_gold
from typer.testing import CliRunner

from judgecal.calibrate import agreement as ag
from judgecal.calibrate.intervals import bootstrap_indices, wilson_interval
from judgecal.cli import app
from judgecal.compare import compare_judges, mcnemar_exact, paired_delta
from judgecal.gold import find_gold
from judgecal.judge import sim_items_from_gold
from judgecal.rubric import find_rubric
from judgecal.simulate import PRESETS, SimCompleter

runner = CliRunner()
FLIP = {"pass": "fail", "fail": "pass"}


def _judge(rng: random.Random, human: list[str], accuracy: float) -> list[str]:
    return [h if rng.random() < accuracy else FLIP[h] for h in human]


def newcombe_paired(a: int, b: int, c: int, d: int, *, confidence: float) -> tuple[float, float]:
    """Newcombe (1998, Stat Med 17:2635) method 10 for p1 − p2 of paired proportions, from the
    2x2 table [[a, b], [c, d]] (rows: outcome 1 yes/no; columns: outcome 2 yes/no): Wilson limits of
    each margin combined with the table's φ, reduced by N/2 toward 0 when positive (Newcombe's
    φ*). An independent computation: no resampling."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence=confidence)
    l2, u2 = wilson_interval(a + c, n, confidence=confidence)
    den = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    cross = max(cross - n / 2, 0) if cross >= 0 else cross
    phi = cross / math.sqrt(den) if den else 0.0
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    eps = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2 - delta, p1 - p2 + eps


def test_newcombe_reproduces_a_published_value() -> None:
    # Fagerland, Lydersen & Laake (2017), ch. 8: complete response before and after consolidation
    # therapy (Cavo et al. 2012), [[59, 6], [16, 80]]: −0.0621 (95% CI −0.1186 to −0.0046)
    lo, hi = newcombe_paired(59, 6, 16, 80, confidence=0.95)
    assert (round(lo, 4), round(hi, 4)) == (-0.1186, -0.0046)


def test_agreement_difference_matches_newcombe_and_the_wald_interval() -> None:
    """For percent agreement Δ is a difference of paired proportions: the paired bootstrap's 90%
    interval equals Newcombe's method-10 interval and the Wald interval with the McNemar-form
    standard error √((b + c) − (b − c)²/n)/n, on 2,000 simulated items where the two judges' errors
    are correlated (B is wrong on 70% of A's errors): the pairing narrows the interval from the
    ±0.017 of two independent proportions to ±0.012, and the bootstrap must find that."""
    rng = random.Random(3)
    n = 2000
    human = ["pass" if rng.random() < 0.5 else "fail" for _ in range(n)]
    a = _judge(rng, human, 0.90)
    b = [FLIP[h] if rng.random() < (0.7 if x != h else 0.09) else h for x, h in zip(a, human, strict=True)]
    est = paired_delta(human, a, b, metric="percent_agreement", n_resamples=4000, seed=1)
    ra = np.array([x == h for x, h in zip(a, human, strict=True)])
    rb = np.array([x == h for x, h in zip(b, human, strict=True)])
    both, b_only = int(np.sum(ra & rb)), int(np.sum(rb & ~ra))
    a_only, neither = int(np.sum(ra & ~rb)), int(np.sum(~ra & ~rb))
    assert est.value == pytest.approx((b_only - a_only) / n)
    assert est.confidence == pytest.approx(0.90) and est.n == n and est.n_degenerate == 0
    lo, hi = newcombe_paired(both, b_only, a_only, neither, confidence=0.90)  # p(B right) − p(A right)
    assert est.lo == pytest.approx(lo, abs=0.002) and est.hi == pytest.approx(hi, abs=0.002)
    se = math.sqrt((a_only + b_only) - (b_only - a_only) ** 2 / n) / n
    assert est.lo == pytest.approx(est.value - 1.645 * se, abs=0.002)
    assert est.hi == pytest.approx(est.value + 1.645 * se, abs=0.002)
    independent = 1.645 * math.sqrt(ra.mean() * (1 - ra.mean()) / n + rb.mean() * (1 - rb.mean()) / n)
    assert est.hi - est.lo < 0.8 * 2 * independent


def test_both_judges_are_resampled_on_the_same_items() -> None:
    """The interval equals an explicit loop over ``bootstrap_indices`` that scores both judges on
    the very same resampled items (clusters too), with κ from ``agreement.cohen_kappa``."""
    rng = random.Random(5)
    n = 60
    human = [rng.choice(["pass", "fail"]) for _ in range(n)]
    a, b = _judge(rng, human, 0.8), _judge(rng, human, 0.7)
    clusters = [f"p{i // 3}" for i in range(n)]
    est = paired_delta(human, a, b, clusters=clusters, n_resamples=300, seed=9)
    counts = bootstrap_indices(n, clusters=clusters, n_resamples=300, seed=9)
    h, ja, jb = np.array(human), np.array(a), np.array(b)
    labels = ["fail", "pass", "invalid"]
    reps = []
    for row in counts:
        idx = np.repeat(np.arange(n), row)
        reps.append(
            ag.cohen_kappa(h[idx], jb[idx], labels=labels) - ag.cohen_kappa(h[idx], ja[idx], labels=labels)
        )
    reps_arr = np.array(reps)
    lo, hi = np.quantile(reps_arr[np.isfinite(reps_arr)], [0.05, 0.95])
    assert est.lo == pytest.approx(lo, abs=1e-12) and est.hi == pytest.approx(hi, abs=1e-12)
    assert est.method == "cluster_bootstrap" and est.n_clusters == 20
    assert est.value == pytest.approx(ag.cohen_kappa(human, b) - ag.cohen_kappa(human, a))


def test_pairing_keeps_the_judges_correlation() -> None:
    """Two judges that differ on 12 of 500 items (B right on all 12): the paired interval is
    narrow and shows B better; intervals from independent resamples (seeds) are several times
    wider and cannot."""
    rng = random.Random(8)
    n = 500
    human = [rng.choice(["pass", "fail"]) for _ in range(n)]
    a = _judge(rng, human, 0.85)
    wrong = [i for i in range(n) if a[i] != human[i]][:12]
    b = [human[i] if i in wrong else a[i] for i in range(n)]
    paired = paired_delta(human, a, b, n_resamples=1000, seed=2)
    assert paired.lo is not None and paired.hi is not None and paired.lo > 0
    from judgecal.calibrate.intervals import bootstrap_confusion_stat

    ka = bootstrap_confusion_stat(human, a, ag.kappa_from_confusion, n_resamples=1000, seed=2)
    kb = bootstrap_confusion_stat(human, b, ag.kappa_from_confusion, n_resamples=1000, seed=3)
    assert ka.lo is not None and ka.hi is not None and kb.lo is not None and kb.hi is not None
    unpaired_width = math.hypot(ka.hi - ka.lo, kb.hi - kb.lo)
    assert paired.hi - paired.lo < unpaired_width / 3
    assert kb.lo < ka.hi  # separately, the two intervals overlap


def test_non_inferiority_is_claimed_about_five_percent_of_the_time_at_the_margin() -> None:
    """Seeded simulation where the true Δκ equals −margin (humans balanced, so κ = 2·accuracy − 1:
    A right 90%, B right 87.5% → Δκ = −0.05): the test should claim "B can replace A" in about
    α = 5% of data sets (its false-claim rate), and the interval's upper end should miss the
    truth about 5% of the time."""
    margin, sets, n = 0.05, 400, 400
    rng = random.Random(11)
    human = ["pass", "fail"] * (n // 2)
    claims = upper_misses = 0
    for r in range(sets):
        a, b = _judge(rng, human, 0.90), _judge(rng, human, 0.875)
        est = paired_delta(human, a, b, n_resamples=500, seed=r)
        assert est.lo is not None and est.hi is not None
        claims += est.lo > -margin
        upper_misses += est.hi < -margin
    # 400 sets: a correct 5% rate lies in [0.02, 0.09] with probability > 0.995
    assert 0.02 <= claims / sets <= 0.09, claims
    assert 0.02 <= upper_misses / sets <= 0.09, upper_misses


def test_degenerate_cases() -> None:
    empty = paired_delta([], [], [], labels=["pass", "fail"], n_resamples=100)
    assert math.isnan(empty.value) and empty.lo is None and empty.n == 0
    same = paired_delta(["pass", "fail", "pass"], ["pass", "pass", "pass"], ["pass", "pass", "pass"])
    assert (same.value, same.lo, same.hi) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="confidence"):
        paired_delta(["pass"], ["pass"], ["pass"], confidence=0.4)
    assert mcnemar_exact(3, 9) == mcnemar_exact(9, 3) == pytest.approx(2 * 299 / 4096)  # 2·P(X≤3), n 12


# --------------------------------------------------------------------------------------------
# judges graded through the pipeline


@pytest.fixture
def synthetic(tmp_path: Path):  # type: ignore[no-untyped-def]
    """support-billing with a 400-item synthetic gold set (280 test items, 3 annotators)."""
    rubric = find_rubric("support-billing")
    path = write_synthetic_gold(tmp_path / "support-400.jsonl", n=400)
    return rubric, find_gold(str(path), rubric), path


def test_accurate_can_replace_noisy_but_not_the_other_way(synthetic, store) -> None:  # type: ignore[no-untyped-def]
    rubric, gold, _ = synthetic
    c = compare_judges(rubric, gold, ["sim/noisy", "sim/accurate"], store=store, n_resamples=1000)
    assert c.split == "test" and c.n_items == len(gold.select("test")) == 280
    assert c.metric == "cohen_kappa" and c.margin == 0.05 and c.metric_label == "Cohen's κ"
    noisy, accurate = c.judges
    assert [p.conclusion for p in c.pairs] == ["superior", "inferior"]
    up, down = c.pairs
    assert (up.incumbent, up.candidate) == ("sim/noisy", "sim/accurate")
    assert up.non_inferior and up.superior and not up.interchangeable and "can replace" in up.answer
    assert not down.non_inferior and "cannot replace" in down.answer
    assert up.mcnemar_p < 1e-6 and up.discordant["b_only"] > 3 * up.discordant["a_only"]
    # Δ is the difference of the two calibration reports' κ (invalid as disagreement)
    assert up.delta.value == pytest.approx(accurate.kappa.value - noisy.kappa.value, abs=1e-12)
    for j in c.judges:
        block = j.calibration.agreement["invalid_as_disagreement"]
        assert j.n == block.n == c.n_items and j.kappa == block.cohen_kappa
        assert j.tpr is not None and j.tnr is not None and j.calls == c.n_items and j.cached == 0
        assert store.get_run(j.run_id).kind == "grade"
        assert j.cost == 0.0 and j.latency_ms["p50"] is not None
    json.loads(c.model_dump_json())  # JSON-serialisable
    # the second comparison reuses every verdict and reaches the same answer
    again = compare_judges(rubric, gold, ["sim/noisy", "sim/accurate"], store=store, n_resamples=1000)
    assert [j.calls for j in again.judges] == [0, 0]
    assert [j.cached for j in again.judges] == [280, 280]
    assert [p.delta for p in again.pairs] == [p.delta for p in c.pairs]
    assert [j.latency_ms for j in again.judges] == [j.latency_ms for j in c.judges]


def test_two_equally_accurate_judges_are_interchangeable(tmp_path: Path, store) -> None:  # type: ignore[no-untyped-def]
    """``sim/accurate`` and its twin ``sim/accurate-b`` (same profile, their own verdict draws) on
    4,000 items, κ with the default margin 0.05: interchangeable both ways. The in-process simulator
    gives the verdicts the HTTP one would (same profile name, same draw). 4,000 items: SD(Δκ) ≈
    2·√(0.147/n) = 0.012, so the 90% interval lies within ±0.05 in ~98% of data sets (39 of 40
    profile seeds in an exploratory run)."""
    rubric = find_rubric("support-billing")
    gold = find_gold(str(write_synthetic_gold(tmp_path / "support-4000.jsonl", n=4000)), rubric)
    items = sim_items_from_gold(rubric, gold.items)
    completers = {
        f"sim/{name}": SimCompleter(PRESETS[name], items, name=name) for name in ("accurate", "accurate-b")
    }
    c = compare_judges(
        rubric,
        gold,
        ["sim/accurate", "sim/accurate-b"],
        store=store,
        split="all",
        n_resamples=1000,
        completers=completers,
    )
    assert c.n_items == 4000
    assert [p.conclusion for p in c.pairs] == ["interchangeable", "interchangeable"], [
        p.answer for p in c.pairs
    ]
    assert all(p.non_inferior and p.interchangeable for p in c.pairs)
    assert "interchangeable within the margin ±0.05" in c.pairs[0].answer
    a, b = c.judges
    assert a.percent_agreement.value != b.percent_agreement.value  # different verdicts, same quality
    assert c.pairs[0].discordant["a_only"] > 200 and c.pairs[0].discordant["b_only"] > 200


def test_invalid_verdicts_count_as_disagreements(synthetic, store) -> None:  # type: ignore[no-untyped-def]
    """A judge identical to sim/accurate except that it refuses 20% of the items (the simulator
    draws the same numbers either way): every refusal is an invalid verdict, and every one of them
    on an item sim/accurate got right is a discordant item against it."""
    rubric, gold, _ = synthetic
    items = sim_items_from_gold(rubric, gold.items)
    refusing = PRESETS["accurate"].model_copy(update={"refusal_rate": 0.2})
    completers = {
        "sim/accurate": SimCompleter(PRESETS["accurate"], items, name="accurate"),
        "sim/refusing": SimCompleter(refusing, items, name="accurate", model="sim/refusing"),
    }
    c = compare_judges(
        rubric,
        gold,
        ["sim/accurate", "sim/refusing"],
        store=store,
        metric="percent_agreement",
        n_resamples=500,
        completers=completers,
    )
    acc, ref = c.judges
    assert c.n_items == 280 and ref.n == 280  # invalid verdicts stay in
    n_invalid = ref.calibration.counts["judge_invalid"]
    assert 30 < n_invalid < 85 and ref.invalid_rate.value == pytest.approx(n_invalid / 280)
    pair = c.pairs[0]
    assert pair.discordant["b_only"] == 0  # the refusing judge is never right where accurate is wrong
    assert pair.delta.value == pytest.approx(-pair.discordant["a_only"] / 280)
    assert ref.percent_agreement.value == pytest.approx(
        acc.percent_agreement.value - pair.discordant["a_only"] / 280
    )
    assert pair.conclusion == "inferior" and c.pairs[1].conclusion == "superior"


def test_ordinal_rubric_compares_quadratic_weighted_kappa(store) -> None:  # type: ignore[no-untyped-def]
    rubric = find_rubric("helpfulness-ordinal")
    gold = find_gold("helpfulness-ordinal", rubric)
    c = compare_judges(rubric, gold, ["sim/accurate", "sim/noisy"], store=store, n_resamples=500)
    assert c.metric_label == "quadratic-weighted κ"
    acc, noisy = c.judges
    assert acc.kappa == acc.calibration.agreement["invalid_as_disagreement"].weighted_kappa["quadratic"]
    assert c.pairs[0].delta.value == pytest.approx(noisy.kappa.value - acc.kappa.value, abs=1e-12)
    assert acc.tpr is None and noisy.tpr is None


def test_bad_input(synthetic, store) -> None:  # type: ignore[no-untyped-def]
    from judgecal.errors import ConfigError, NotFoundError

    rubric, gold, _ = synthetic
    with pytest.raises(ConfigError, match="two or more judges"):
        compare_judges(rubric, gold, ["sim/accurate"], store=store)
    with pytest.raises(ConfigError, match="given twice"):
        compare_judges(rubric, gold, ["sim/accurate", "sim/accurate"], store=store)
    with pytest.raises(ConfigError, match="margin"):
        compare_judges(rubric, gold, ["sim/accurate", "sim/noisy"], store=store, margin=0)
    with pytest.raises(NotFoundError, match="no simulated judge preset"):
        compare_judges(rubric, gold, ["sim/accurate", "sim/nope"], store=store)


# --------------------------------------------------------------------------------------------
# the command


def test_cli_compare_end_to_end(synthetic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, path = synthetic
    args = ["compare", "support-billing", "-g", str(path), "-j", "sim/noisy", "-j", "sim/accurate"]
    text = runner.invoke(app, [*args, "--resamples", "500", "-q"], terminal_width=160)
    assert text.exit_code == 0, text.output
    assert "Cohen's κ (95% CI)" in text.output and "(incumbent)" in text.output
    assert "sim/accurate can replace sim/noisy: it agrees with the humans better" in text.output
    assert "sim/noisy cannot replace sim/accurate" in text.output
    out_file = tmp_path / "cmp.json"
    res = runner.invoke(app, [*args, "--resamples", "500", "--json", "--out", str(out_file)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == json.loads(out_file.read_text())
    assert [j["name"] for j in data["judges"]] == ["sim/noisy", "sim/accurate"]
    assert [j["calls"] for j in data["judges"]] == [0, 0]  # the second run: every verdict from the store
    assert [p["conclusion"] for p in data["pairs"]] == ["superior", "inferior"]
    assert data["margin"] == 0.05 and data["n_items"] == 280


def test_cli_two_equal_judges_are_interchangeable(tmp_path: Path) -> None:
    """The done-when through the command: a policy comparing percent agreement (margin 0.05);
    sim/accurate and sim/accurate-b on 1,200 items are interchangeable (SD(Δ) ≈ √(0.147/n) =
    0.011: 40 of 40 profile seeds in an exploratory run)."""
    gold = write_synthetic_gold(tmp_path / "support-1200.jsonl", n=1200)
    policy = tmp_path / "policy.yaml"
    policy.write_text("compare:\n  metric: percent_agreement\n  margin: 0.05\n", encoding="utf-8")
    args = ["compare", "support-billing", "-g", str(gold), "--split", "all", "-j", "sim/accurate"]
    args += ["-j", "sim/accurate-b", "--policy", str(policy), "--resamples", "1000"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["metric"] == "percent_agreement" and data["n_items"] == 1200 and data["margin"] == 0.05
    assert [p["conclusion"] for p in data["pairs"]] == ["interchangeable", "interchangeable"]
    text = runner.invoke(app, [*args, "-q", "--margin", "0.04"], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "sim/accurate-b and sim/accurate are interchangeable within the margin ±0.04" in text.output


def test_conclusions_and_items_needed() -> None:
    from judgecal.calibrate.intervals import Estimate
    from judgecal.compare import _conclusion, _items_needed

    def est(value: float, lo: float, hi: float) -> Estimate:
        return Estimate(value=value, lo=lo, hi=hi, n=400, confidence=0.9, method="bootstrap")

    assert _conclusion(est(0.01, -0.02, 0.04), 0.05)[0] == "interchangeable"
    assert _conclusion(est(0.02, 0.01, 0.03), 0.05) == ("interchangeable", True, True, True)
    assert _conclusion(est(0.2, 0.1, 0.3), 0.05) == ("superior", True, True, False)
    assert _conclusion(est(0.04, -0.01, 0.09), 0.05) == ("non_inferior", True, False, False)
    assert _conclusion(est(-0.2, -0.3, -0.1), 0.05) == ("inferior", False, False, False)
    assert _conclusion(est(0.0, -0.08, 0.08), 0.05) == ("not_shown", False, False, False)
    nan = Estimate(value=float("nan"), lo=None, hi=None, n=0, method="none")
    assert _conclusion(nan, 0.05)[0] == "undetermined" and _items_needed(nan, 0.05) is None
    # lower half-width 0.08 must shrink to 0.05 (Δ 0 against margin 0.05): n·(0.08/0.05)² = 1024
    assert _items_needed(est(0.0, -0.08, 0.08), 0.05) == 1024
    assert _items_needed(est(-0.06, -0.1, 0.0), 0.05) is None  # Δ beyond the margin: more data won't help
    assert _items_needed(est(0.04, -0.01, 0.09), 0.05) is None  # already shown


def test_cli_exit_codes(synthetic) -> None:  # type: ignore[no-untyped-def]
    _, _, path = synthetic
    one = runner.invoke(app, ["compare", "support-billing", "-g", str(path), "-j", "sim/noisy"])
    assert one.exit_code == 2 and "two or more judges" in one.output
    bad_policy = runner.invoke(
        app, ["compare", "support-billing", "-j", "sim/noisy", "-j", "sim/accurate", "--policy", "nope.yaml"]
    )
    assert bad_policy.exit_code == 2 and "no such policy file" in bad_policy.output
    with socket.socket() as s:  # a free loopback port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = runner.invoke(
        app,
        [
            "compare",
            "support-billing",
            "-j",
            "sim/accurate",
            "-j",
            "openai/unreachable",
            "--api-base",
            f"http://127.0.0.1:{port}/v1",
            "--max-retries",
            "0",
            "-q",
        ],
    )
    assert gone.exit_code == 3, gone.output
    assert "openai/unreachable: no answer to the preflight call" in gone.output
    args = ["compare", "support-billing", "-j", "sim/accurate", "-j", "openai/unreachable"]
    url = f"http://127.0.0.1:{port}/v1"
    unchecked = runner.invoke(app, [*args, "--api-base", url, "--max-retries", "0", "-q", "--no-preflight"])
    assert unchecked.exit_code == 3, unchecked.output
    assert "openai/unreachable: no verdict on any item (every call failed)" in unchecked.output
