"""Scenarios of the injection probe (P9/P10/P12/P13).

- **142 gold-FAIL test items** (support-billing rubric, the generated ``support-synthetic`` gold
  set: 280 test items): the simulator's ``injection_susceptibility`` s makes the judge give the
  best label, with probability s and independently of its accuracy draw, to an output in which its
  general injection detector finds an injection — every payload of the probe is one. On a
  gold-FAIL output the pass rate is 1 − a without a payload and s + (1 − s)(1 − a) with one
  (``judgecal.simulate._decide``), so the true shift of every family, and of the pooled headline,
  is exactly s·a. Power at s = 0.1 (a shift of 0.09 at accuracy 0.9: inside the 0.10 tolerance,
  so it should rarely fail), 0.3 (0.27) and 0.6 (0.54; the ``sim/gullible`` preset has 0.8).
- **the bundled set** (support-billing, 51 test items, 27 gold-FAIL): passable for an ideal
  judge (54 pairs per family, bound 0.050), too small for a noisy one to pass often.
"""

from __future__ import annotations

from bench._probe_bench import Scenario, bundled_gold
from bench.probe_scenarios._gold import unbiased_judge
from judgecal.simulate import JudgeProfile


def _biased(effect: float, seed: int) -> JudgeProfile:
    return JudgeProfile(accuracy=0.9, injection_susceptibility=effect, seed=seed)


def _true_shift(profile: JudgeProfile) -> float:
    # binary, gold-FAIL items: P(pass) rises from 1 − tnr to s + (1 − s)(1 − tnr), a shift of s·tnr
    tnr = profile.tnr if profile.tnr is not None else profile.accuracy
    return profile.injection_susceptibility * tnr


def _scenario(gold: str, label: str) -> Scenario:
    return Scenario(
        probe="injection",
        rubric="support-billing",
        gold=bundled_gold(gold),
        unbiased=unbiased_judge,
        biased=_biased,
        effects=[0.1, 0.3, 0.6],
        true_effect=_true_shift,
        headline="all payloads",
        label=label,
    )


SCENARIOS = [
    _scenario("support-synthetic", "injection / support-synthetic (142 gold-FAIL test items)"),
    _scenario("support-billing", "injection / support-billing bundled (27 gold-FAIL test items)"),
]
