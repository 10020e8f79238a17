"""The harness behind ``bench/bench_probes.py``: run one probe against a simulated judge whose
biases are known, many times, and count how often it fails, passes, and covers the truth.

A *scenario* (``bench/probe_scenarios/<probe>.py`` defines ``SCENARIOS``) names a probe, a rubric,
a gold set and three ways of making a simulated judge: unbiased at a given accuracy, biased with a
given effect parameter, and the true value of the probe's headline estimand for a profile (for
interval coverage). Each run is one seed: the judge's verdict draws (``JudgeProfile.seed``) and the
probe's own randomness (``ProbeContext.seed``) both change with it; the gold set stays fixed, so the
rates are conditional on the data a user would have.

Runs use the in-process simulator (:class:`judgecal.simulate.SimCompleter`, the server's verdict
logic without HTTP) and a throw-away SQLite store per run, through the same runner as
``judgecal probe`` (:func:`judgecal.probes.base.arun_probes`).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from judgecal.gold import GoldSet  # noqa: E402
from judgecal.judge import JudgeConfig, sim_items_from_gold  # noqa: E402
from judgecal.probes.base import ProbeResult, _teach_sim, arun_probes  # noqa: E402
from judgecal.rubric import find_rubric  # noqa: E402
from judgecal.simulate import JudgeProfile, SimCompleter  # noqa: E402
from judgecal.store import Store  # noqa: E402

__all__ = ["Outcome", "Scenario", "run_once", "bundled_gold"]

ACCURACIES = (0.75, 0.85, 0.92, 1.0)
"""Accuracies of the unbiased judges whose false-fail rate is measured."""


@dataclass
class Scenario:
    """One probe on one rubric and gold set, with simulated judges of known bias."""

    probe: str
    """The registered probe name."""
    rubric: str
    """A bundled rubric name."""
    gold: Callable[[], GoldSet]
    """The gold set the probe derives its cases from."""
    unbiased: Callable[[float, int], JudgeProfile]
    """(accuracy, seed) → a judge without the bias."""
    biased: Callable[[float, int], JudgeProfile]
    """(effect parameter, seed) → a judge with the bias."""
    effects: list[float]
    """Three effect parameters at which power is measured."""
    true_effect: Callable[[JudgeProfile], float] | None = None
    """The true value of the headline test's estimand for a profile (None: coverage not measured)."""
    headline: str | None = None
    """The name of the :class:`ProbeTest` whose estimate is checked for coverage (None: the first)."""
    split: str = "test"
    """The gold split the probe derives from."""
    family: str | None = None
    """The judge family given to the probe (self-preference)."""
    label: str = ""
    """Shown in the table (defaults to ``probe / rubric``)."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """Threshold overrides for the probe."""
    n_resamples: int = 500
    """Bootstrap resamples per run (the probes' default is 2000; fewer keeps the bench fast)."""

    @property
    def name(self) -> str:
        return self.label or f"{self.probe} / {self.rubric}"


@dataclass
class Outcome:
    """What one run gave."""

    outcome: str
    """The probe's outcome (pass, fail, inconclusive, underpowered, undefined, not_applicable)."""
    estimate: float | None
    """The headline test's estimate."""
    lo: float | None
    hi: float | None
    calls: int
    """Provider requests made (a fresh store: every call)."""
    gold_items: int
    """Items of the split the probe derived from."""
    result: ProbeResult | None = None


def bundled_gold(name: str) -> Callable[[], GoldSet]:
    """A loader for a bundled gold set, by name (cached)."""
    cache: dict[str, GoldSet] = {}

    def load() -> GoldSet:
        if name not in cache:
            from judgecal.gold import find_gold  # noqa: PLC0415

            cache[name] = find_gold(name)
        return cache[name]

    return load


def _headline(result: ProbeResult, name: str | None) -> Any:
    if result.tests:
        for test in result.tests:
            if name is None or test.name == name:
                return test.estimate
    return result.estimate


def run_once(scenario: Scenario, profile: JudgeProfile, seed: int, *, keep: bool = False) -> Outcome:
    """Run the scenario's probe once against ``profile`` (its seed set to ``seed``)."""
    rubric = find_rubric(scenario.rubric)
    gold = scenario.gold()
    profile = profile.model_copy(update={"seed": seed})
    sim = SimCompleter(profile, sim_items_from_gold(rubric, gold.items), name="bench-judge")
    judge = JudgeConfig(model=sim.model)
    with tempfile.TemporaryDirectory(prefix="judgecal-bench-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            report = asyncio.run(
                arun_probes(
                    rubric,
                    gold,
                    judge,
                    sim,
                    store=store,
                    names=[scenario.probe],
                    split=scenario.split,  # type: ignore[arg-type]
                    thresholds={scenario.probe: scenario.thresholds} if scenario.thresholds else None,
                    judge_family=scenario.family,
                    seed=seed,
                    n_resamples=scenario.n_resamples,
                    on_derived=_teach_sim(rubric, gold, sim),
                )
            )
        finally:
            store.close()
    result = report.results[0]
    est = _headline(result, scenario.headline)
    value = None if est is None else est.value
    return Outcome(
        outcome=result.outcome or "undefined",
        estimate=value,
        lo=None if est is None else est.lo,
        hi=None if est is None else est.hi,
        calls=report.calls,
        gold_items=len(gold.select(scenario.split)),  # type: ignore[arg-type]
        result=result if keep else None,
    )
