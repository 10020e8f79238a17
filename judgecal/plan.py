"""Dry runs: what a grade, validation, probe battery or comparison would call and cost, with no call.

A plan renders every prompt the run would send — the grading units and every batch of derived
items each probe grades, found by running the probes with a grader that counts instead of
calling — and looks their cache keys up in the store, exactly as :func:`judgecal.judge.agrade`
would: a unit the store (or an earlier stage of the same run) already answers costs nothing. So
for each stage it gives the units, how many the cache answers, and the **new provider calls**
(retries of failed calls not counted). Nothing is called, no simulator or local model is
started, and nothing is written.

Cost is an estimate from litellm's price map: prompt tokens are the rendered prompts' characters
divided by 4 (plus 4 per message), answers are :data:`TYPICAL_ANSWER_TOKENS` tokens (``cost``) or
the judge's ``max_tokens`` (``cost_max``, an upper bound). A model not in the map has an
**unknown price** (cost None); ``sim/`` and ``local/`` models are free.

Where each plan is made: the ledger and the plans of a grade and a comparison in
:mod:`judgecal._plan`; a probe battery's beside the probe runner (:mod:`judgecal.probes.base`)
and a validation's beside :func:`judgecal.approval.validate`, since each runs the probes with a
counting grader and each runner asks its own plan how many calls it needs before the preflight.
This module gathers them.
"""

from __future__ import annotations

from judgecal._plan import TYPICAL_ANSWER_TOKENS, RunPlan, StagePlan, plan_compare, plan_grade, render_plan
from judgecal.approval.validate import aplan_validation, plan_validation
from judgecal.pricing import Price, price_of
from judgecal.probes.base import plan_probe

__all__ = [
    "TYPICAL_ANSWER_TOKENS",
    "Price",
    "RunPlan",
    "StagePlan",
    "aplan_validation",
    "plan_compare",
    "plan_grade",
    "plan_probe",
    "plan_validation",
    "price_of",
    "render_plan",
]
