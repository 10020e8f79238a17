"""The gate's decision as data: one :class:`GateResult` per gate and the :class:`Decision` they
make, with its :data:`Tier`.

Plain models, below the gate that computes them (:func:`judgecal.approval.gate.decide`, which
re-exports them) and the approval record that stores them
(:class:`judgecal.approval.certificate.Certificate`): what reading a stored record needs, without
the statistics and probes that decide.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Decision", "GateResult", "Status", "Tier"]

Tier = Literal["approved", "approved_with_correction", "provisional", "inconclusive", "rejected"]
Status = Literal["pass", "provisional", "inconclusive", "fail", "skipped"]


class GateResult(BaseModel):
    """One gate's outcome, with the figures behind it."""

    model_config = ConfigDict(extra="forbid")

    gate: str
    """``data``, ``G0`` … ``G6``."""
    name: str
    """What the gate checks, in words."""
    status: Status
    """pass, provisional (G2), inconclusive, fail, or skipped (does not apply)."""
    reason: str
    """One sentence with the figures and thresholds."""
    figures: dict[str, Any] = Field(default_factory=dict)
    """The figures the gate read (points, bounds, n) and its thresholds."""
    test_items_needed: int | None = None
    """For an inconclusive gate: test-split items that would likely decide it (None: unknown)."""
    meets_on_points: bool | None = None
    """Whether the gate's point estimates meet the approval thresholds (None: nothing to assess —
    the data gate, a skipped gate, a probe that made no call). The provisional tier needs no
    ``False`` here."""


class Decision(BaseModel):
    """The gate's decision: a tier, every reason, and what would settle an inconclusive one."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    """approved, approved_with_correction, provisional, inconclusive or rejected. Only the two
    approved tiers are approvals: a provisional judge grades only where the caller opts in."""
    reasons: list[str]
    """Why: one line per gate that did not simply pass (all gates when approved)."""
    gates: list[GateResult]
    """Every gate in order."""
    labels_needed: int | None = None
    """Inconclusive or provisional: about how many more human-labelled gold items (dev and test
    together, at the 70/30 split) would likely decide it — for a provisional judge, what approval
    would take; None otherwise or when it cannot be estimated."""
    obligations: list[str] = Field(default_factory=list)
    """What an approval with correction obliges (publish corrected rates only, human audit)."""
    established: list[str] = Field(default_factory=list)
    """What the labels establish, one line per bound (every tier): e.g. ``"Cohen's κ ≥ 0.712 (95%
    lower bound, n 38; approval needs ≥ 0.667)"``, ``"TNR ≥ 0.781 (…)"``, a probe's effect
    ``"≤ 0.083 (95% upper bound …)"``. Lower bounds are rounded down, upper bounds up."""
    labels_needed_per_class: dict[str, int] = Field(default_factory=dict)
    """Provisional and inconclusive: about how many more human-labelled gold items of each human
    majority class (pass/fail for binary rubrics; each label otherwise), dev and test together,
    approval would likely take — from the current figures, the class shares unchanged and the
    per-class minimum of binary rubrics met. Empty when it cannot be estimated."""

    @property
    def approved(self) -> bool:
        """True for both approved tiers (never for ``provisional``)."""
        return self.tier in ("approved", "approved_with_correction")

    @property
    def provisional(self) -> bool:
        """The provisional tier: point estimates that meet the policy on too few labels."""
        return self.tier == "provisional"
