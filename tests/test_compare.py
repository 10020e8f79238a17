"""``judgecal compare``: the paired non-inferiority test, checked against an independent
computation, and on simulated judges of clearly different and of equal accuracy."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import write_synthetic_gold
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.compare import compare_judges, paired_difference
from judgecal.gold import find_gold
from judgecal.judge import JudgeConfig
from judgecal.rubric import find_rubric
from judgecal.simulate import PRESETS

runner = CliRunner()


def test_paired_difference_matches_the_normal_approximation_for_agreement() -> None:
    """For percent agreement, Δ is the difference of two paired proportions: its standard error
    is sqrt((b + c)/n² − (c − b)²/n³) on the discordant counts (the McNemar/Wald form)."""
    rng = random.Random(3)
    n = 2000
    human = ["pass" if rng.random() < 0.5 else "fail" for _ in range(n)]
    flip = {"pass": "fail", "fail": "pass"}
    a = [h if rng.random() < 0.90 else flip[h] for h in human]
    b = [h if rng.random() < 0.85 else flip[h] for h in human]
    delta, lo, hi = paired_difference(human, a, b, metric="percent_agreement", n_resamples=4000, seed=1)
    ra = np.array([x == h for x, h in zip(a, human, strict=True)])
    rb = np.array([x == h for x, h in zip(b, human, strict=True)])
    b_only, a_only = int(np.sum(rb & ~ra)), int(np.sum(ra & ~rb))
    assert delta == pytest.approx((b_only - a_only) / n)
    se = math.sqrt((a_only + b_only) / n**2 - (b_only - a_only) ** 2 / n**3)
    assert lo == pytest.approx(delta - 1.645 * se, abs=0.004)
    assert hi == pytest.approx(delta + 1.645 * se, abs=0.004)


def test_paired_bootstrap_covers_the_true_difference() -> None:
    """Seeded simulation: the one-sided 95% lower bound lies below the true Δκ in about 95% of
    data sets (the non-inferiority test's false-claim rate is about 5%)."""
    rng = random.Random(11)
    flip = {"p": "f", "f": "p"}
    # balanced classes, symmetric errors: κ = 2·accuracy − 1
    true_delta = (2 * 0.85 - 1) - (2 * 0.90 - 1)
    below = 0
    runs = 120
    for r in range(runs):
        human = ["p" if i % 2 else "f" for i in range(300)]
        a = [h if rng.random() < 0.90 else flip[h] for h in human]
        b = [h if rng.random() < 0.85 else flip[h] for h in human]
        _, lo, _ = paired_difference(human, a, b, n_resamples=400, seed=r)
        below += lo < true_delta
    assert 0.88 <= below / runs <= 1.0


@pytest.fixture
def big_gold(tmp_path: Path):  # type: ignore[no-untyped-def]
    rubric = find_rubric("support-billing")
    path = write_synthetic_gold(tmp_path / "support-1000.jsonl", n=1000)
    return rubric, find_gold(str(path), rubric)


def test_accurate_can_replace_noisy_but_not_the_other_way(big_gold, store) -> None:  # type: ignore[no-untyped-def]
    rubric, gold = big_gold
    c = compare_judges(
        rubric,
        gold,
        [JudgeConfig(model="sim/noisy"), JudgeConfig(model="sim/consistent")],
        store=store,
        n_resamples=500,
    )
    pairs = {(p.incumbent, p.candidate): p for p in c.pairs}
    up = pairs[("sim/noisy", "sim/consistent")]
    down = pairs[("sim/consistent", "sim/noisy")]
    assert up.non_inferior and up.superior and "can replace" in up.answer
    assert not down.non_inferior and "cannot replace" in down.answer
    assert up.mcnemar_p < 1e-6 and up.discordant["b_only"] > up.discordant["a_only"]
    assert c.judges[1].cohen_kappa > c.judges[0].cohen_kappa + 0.4
    # the second comparison reuses every verdict
    again = compare_judges(
        rubric,
        gold,
        [JudgeConfig(model="sim/noisy"), JudgeConfig(model="sim/consistent")],
        store=store,
        n_resamples=200,
    )
    assert [j.calls for j in again.judges] == [0, 0]


def test_two_equally_accurate_judges_are_interchangeable(
    big_gold, store, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    rubric, gold = big_gold
    monkeypatch.setitem(PRESETS, "consistent-twin", PRESETS["consistent"])  # same profile, its own draws
    c = compare_judges(
        rubric,
        gold,
        [JudgeConfig(model="sim/consistent"), JudgeConfig(model="sim/consistent-twin")],
        store=store,
        split="all",
        metric="percent_agreement",
        n_resamples=1000,
    )
    assert c.n_items == 1000
    assert all(p.interchangeable for p in c.pairs), [p.answer for p in c.pairs]
    assert c.judges[0].percent_agreement != c.judges[1].percent_agreement  # different verdicts, same quality


def test_cli_compare(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "compare",
            "support-billing",
            "-j",
            "sim/noisy",
            "-j",
            "sim/accurate",
            "--json",
            "--resamples",
            "300",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [j["model"] for j in data["judges"]] == ["sim/noisy", "sim/accurate"]
    assert len(data["pairs"]) == 2 and data["n_items"] > 40
    text = runner.invoke(app, ["compare", "support-billing", "-j", "sim/noisy", "-j", "sim/accurate"])
    assert text.exit_code == 0 and "Cohen's κ" in text.output and "replace" in text.output
    one = runner.invoke(app, ["compare", "support-billing", "-j", "sim/noisy"])
    assert one.exit_code == 2 and "two or more judges" in one.output
