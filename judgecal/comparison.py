"""The comparison record: several judges on the same gold items, and every ordered pair's answer.

The data shapes :func:`judgecal.compare.compare_judges` returns (and :mod:`judgecal.compare`
re-exports) and the verdict store keeps (:meth:`judgecal.store.Store.get_comparison`): plain
models, below both, so that reading a stored comparison needs none of the statistics or grading.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgecal.calibrate.intervals import Estimate
from judgecal.calibrate.report import CalibrationReport

__all__ = ["Comparison", "Conclusion", "JudgeSummary", "Metric", "PairVerdict"]

Metric = Literal["cohen_kappa", "percent_agreement"]
"""The agreement measure compared: κ (quadratic-weighted on ordinal rubrics) or percent agreement."""

Conclusion = Literal["superior", "interchangeable", "non_inferior", "not_shown", "inferior", "undetermined"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class JudgeSummary(_Model):
    """One judge on the compared items: its agreement with the humans, validity, cost and speed."""

    name: str
    """How the comparison names the judge: its model string (``#2``... appended when the same
    model string is compared under different settings)."""
    judge: dict[str, Any]
    """The judge configuration (``JudgeConfig`` as JSON)."""
    run_id: str
    """Its grading run in the store."""
    n: int
    """Items compared (with a human majority and a verdict — ok or invalid — from every judge)."""
    left_out: int
    """Items of the split with a human majority on which this judge has no verdict (the call failed
    after its retries, or a cap skipped it); they are left out for every judge."""
    percent_agreement: Estimate
    """Share of the items where the verdict equals the human majority (invalid = disagreement)."""
    kappa: Estimate
    """Cohen's κ with the human majority (quadratic-weighted on ordinal rubrics; invalid =
    disagreement)."""
    tpr: Estimate | None = None
    """Binary rubrics: P(judge pass | humans pass), Wilson interval."""
    tnr: Estimate | None = None
    """Binary rubrics: P(judge fail | humans fail), Wilson interval."""
    invalid_rate: Estimate
    """Share of its verdicts on the compared items that were invalid (Wilson interval)."""
    cost: float | None
    """USD the verdicts of this run cost when their calls were made (cached ones included);
    None when a price is unknown."""
    cost_per_item: float | None
    """``cost`` per graded item."""
    cost_now: float | None
    """USD spent on new calls in this comparison (0 when every verdict came from the store)."""
    calls: int
    """Provider requests made in this comparison, retries included (0: all from the store)."""
    cached: int
    """Units answered from the store."""
    latency_ms: dict[str, float | None]
    """p50/p95/p99 latency of the calls behind the verdicts (as recorded when each was made, so a
    cached re-run shows the same figures)."""
    calibration: CalibrationReport
    """The full calibration report of this judge on the compared items."""


class PairVerdict(_Model):
    """Can ``candidate`` (B) replace ``incumbent`` (A)?"""

    incumbent: str
    """Judge A (the one in use)."""
    candidate: str
    """Judge B (the proposed replacement)."""
    metric: str
    """The measure compared (``cohen_kappa`` or ``percent_agreement``)."""
    delta: Estimate
    """Δ = m(B) − m(A) on the same items with its two-sided (1 − 2α) paired-bootstrap interval
    (``delta.confidence``, 0.90 for α = 0.05): ``delta.lo`` is the one-sided (1 − α) lower bound."""
    margin: float
    """The non-inferiority margin."""
    non_inferior: bool
    """``delta.lo > −margin``: B is shown not worse than A by more than the margin — B can replace A."""
    superior: bool
    """``delta.lo > 0``: B agrees with the humans better than A."""
    interchangeable: bool
    """``−margin < delta.lo`` and ``delta.hi < margin``: equal within the margin either way."""
    conclusion: Conclusion
    """In this order of precedence: ``interchangeable`` (the interval lies within ±margin, even if
    it also excludes 0: a difference inside the margin is no reason to prefer either),
    ``superior`` (B is better, by possibly more than the margin), ``non_inferior`` (B can replace
    A), ``not_shown`` (the data cannot exclude B being worse by more than the margin),
    ``inferior`` (the whole interval is below −margin) or ``undetermined`` (Δ is undefined, e.g.
    no items). B can replace A in the first three."""
    items_needed: int | None
    """When ``not_shown`` with Δ > −margin: about how many compared items would show
    non-inferiority if Δ and its spread stayed as they are (n·((Δ − lo)/(Δ + margin))²); else None."""
    discordant: dict[str, int]
    """Items exactly one judge got right: ``a_only`` (only A agrees with the humans), ``b_only``."""
    mcnemar_p: float
    """Exact McNemar p-value (two-sided binomial on the discordant items): a cross-check on the
    direction of the percent-agreement difference."""
    answer: str
    """The answer in one sentence, with its figures."""


class Comparison(_Model):
    """Several judges on the same gold items, and every ordered pair's answer. Stored in the
    verdict store (``judgecal report ID`` renders a stored one)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    """The comparison's id."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When it was made (UTC)."""
    rubric: str
    """The rubric."""
    gold: str
    """The gold set."""
    split: str
    """The split compared (``test`` by default)."""
    n_items: int
    """Items compared: with a human majority and a verdict from every judge."""
    metric: Metric
    """The measure the pairs compare."""
    metric_label: str
    """Its name for people: ``Cohen's κ``, ``quadratic-weighted κ`` or ``percent agreement``."""
    margin: float
    """Non-inferiority margin (the policy's ``compare.margin`` unless overridden)."""
    confidence: float
    """One-sided confidence 1 − α of the non-inferiority bound (the intervals shown are 1 − 2α)."""
    n_resamples: int
    """Bootstrap resamples."""
    seed: int
    """Bootstrap seed."""
    judges: list[JudgeSummary]
    """Per judge, in the order given (the first is the incumbent)."""
    pairs: list[PairVerdict] = Field(default_factory=list)
    """Every ordered pair; pairs with the incumbent first."""
    notes: list[str] = Field(default_factory=list)
    """Items left out and why."""
