"""The service's request and response bodies (pydantic; every field documented, unknown keys
refused). Strings are length-limited here; the body as a whole by the size limit
(:class:`~judgecal.service.errors.BodyLimitMiddleware`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from judgecal.approval import Certificate, GraderVerdict

__all__ = [
    "MAX_BATCH_ITEMS",
    "MAX_TEXT_CHARS",
    "ApprovalDetail",
    "ApprovalSummary",
    "ApprovalsResponse",
    "BatchGradeResponse",
    "GradeRequest",
    "GradeResponse",
    "HealthResponse",
    "JobError",
    "JobProgress",
    "JobResult",
    "JobStatus",
    "JobsResponse",
    "JudgeEntry",
    "JudgesResponse",
    "ValidationAccepted",
    "ValidationRequest",
]

MAX_TEXT_CHARS = 200_000
"""Longest text of one input (characters)."""
MAX_BATCH_ITEMS = 1000
"""Hard ceiling on a batch; the server's own limit (``--max-batch-items``, default 100) is lower."""

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
"""A rubric, gold set, policy or probe name (never a path: clients cannot name server files)."""
ModelString = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S+$")]
"""A litellm model string (``openai/gpt-4o-mini``) or ``sim/<preset>``."""
Inputs = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)],
        Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)],
    ],
    Field(min_length=1, max_length=16),
]
"""One item: each of the rubric's inputs mapped to its text."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class HealthResponse(_Model):
    """The service is up and its database answers."""

    status: Literal["ok"] = "ok"
    """Always ``ok`` (a database that does not answer gives 503 ``unavailable`` instead)."""
    version: str
    """judgecal's version."""
    database: Literal["ok"] = "ok"
    """The database answered a query."""


class GradeRequest(_Model):
    """Grade one item (``inputs``) or several (``items``) with the rubric's approved judge."""

    rubric: Name = Field(examples=["support-billing"])
    """The rubric's name (as in ``GET /v1/judges``)."""
    judge: ModelString | None = Field(default=None, examples=[None])
    """Use this judge's approval (model string); default: the rubric's newest valid approval."""
    inputs: Inputs | None = Field(
        default=None,
        examples=[{"input": "Can I get a refund?", "output": "Refunds are decided by the billing team."}],
    )
    """One item: each of the rubric's inputs (``GET /v1/judges`` lists them) mapped to its text."""
    items: list[Inputs] | None = Field(default=None, min_length=1, max_length=MAX_BATCH_ITEMS)
    """Several items, graded in one run (at most the server's batch limit, default 100)."""
    allow_provisional: bool = False
    """Also grade with a *provisional* record (point estimates that meet the policy on too few
    labels: not an approval). Default false: a provisional record is refused with 409
    ``not_approved`` like an unapproved one. When true, the response's ``approval_tier`` (and each
    verdict's) says ``provisional``."""

    @model_validator(mode="after")
    def _one_of(self) -> GradeRequest:
        if (self.inputs is None) == (self.items is None):
            raise ValueError("give exactly one of `inputs` (one item) or `items` (a batch)")
        return self


Tier = Literal["approved", "approved_with_correction", "provisional", "inconclusive", "rejected"]
"""A validation's decision (``provisional``: point estimates that meet the policy on too few labels
— not an approval)."""


class GradeResponse(_Model):
    """The verdict on one item and the approval it was graded under."""

    verdict: GraderVerdict
    """The verdict: status ``ok`` with a label, ``invalid`` (unusable answer, never a score) or
    ``error`` (no answer after the retries)."""
    certificate_id: str
    """The approval record the judge was used under."""
    approval_tier: Tier
    """That record's tier: ``approved``, ``approved_with_correction``, or ``provisional`` (only
    when the request set ``allow_provisional``)."""
    rubric: str
    """The rubric's name."""
    model: str
    """The judge's model string."""


class BatchGradeResponse(_Model):
    """The verdicts on a batch, in the order of ``items``."""

    verdicts: list[GraderVerdict]
    """One verdict per item, in order."""
    certificate_id: str
    """The approval record the judge was used under."""
    approval_tier: Tier
    """That record's tier: ``approved``, ``approved_with_correction``, or ``provisional`` (only
    when the request set ``allow_provisional``)."""
    rubric: str
    """The rubric's name."""
    model: str
    """The judge's model string."""


CertStatus = Literal["valid", "provisional", "stale", "revoked", "not_approved"]


class ApprovalSummary(_Model):
    """An approval record in brief, with whether it still applies."""

    id: str
    """The record's id (32 hex characters)."""
    created_at: datetime
    """When the validation finished (UTC)."""
    rubric: str
    """The rubric's name."""
    gold: str
    """The gold set validated against."""
    model: str
    """The judge's model string."""
    model_version: str | None
    """The model version the provider reported."""
    tier: Tier
    """The decision."""
    status: CertStatus
    """``valid``: an approval that applies now; ``provisional``: a provisional decision that
    applies now (graded with only on request: ``allow_provisional``); ``stale``: rubric, template,
    gold set, split or policy changed since; ``revoked``; ``not_approved``: the decision was
    inconclusive or rejected."""
    status_reason: str
    """Why (for ``stale``: which hashes changed)."""
    expires_at: datetime | None = None
    """When the approval expires (the policy's ``max_age``; None: it does not)."""


class ApprovalsResponse(_Model):
    """Approval records, newest first."""

    approvals: list[ApprovalSummary]
    """The records."""
    next: str | None = None
    """The next page (a path with ``offset``), or None on the last page."""


class ApprovalDetail(_Model):
    """One approval record in full."""

    status: CertStatus
    """Whether it applies now (see ``ApprovalSummary.status``)."""
    status_reason: str
    """Why."""
    certificate: Certificate
    """The record: judge configuration, hashes, decision with every gate's figures, calibration and
    probe reports, cost, latency."""


class JudgeEntry(_Model):
    """A rubric and the judges approved for it now."""

    rubric: str
    """The rubric's name."""
    scale: Literal["binary", "ordinal", "pairwise"] | None
    """Its verdict scale (None when the rubric does not load)."""
    inputs: list[str]
    """The inputs an item needs (the keys of ``inputs`` in ``POST /v1/grade``)."""
    default: ApprovalSummary | None
    """The approval ``POST /v1/grade`` uses when no judge is named (the newest valid one)."""
    approvals: list[ApprovalSummary]
    """The newest valid approval of each approved model."""
    reason: str | None = None
    """Why nothing is approved (None when something is)."""


class JudgesResponse(_Model):
    """Every rubric the server knows, with its approved judges."""

    judges: list[JudgeEntry]
    """One entry per rubric."""
    next: str | None = None
    """The next page (a path with ``offset``), or None on the last page."""


class ValidationRequest(_Model):
    """Validate a judge against a rubric's gold set and a policy (``judgecal validate``)."""

    rubric: Name = Field(examples=["support-billing"])
    """The rubric's name."""
    judge: ModelString = Field(examples=["sim/consistent"])
    """The judge's model string."""
    gold: Name | None = None
    """A gold set name on the server (default: the rubric's name)."""
    policy: Name | None = None
    """A policy in the server's policy folder (``--policies``; ``NAME`` means ``NAME.yaml``);
    default: the bundled policy."""
    probes: list[Name] | None = Field(default=None, max_length=32)
    """Gate on these probes instead of the policy's list."""
    fail_fast: bool = False
    """Skip the probes once the calibration gates have rejected the judge (``--fail-fast``)."""


class ValidationAccepted(_Model):
    """The validation was queued; poll ``poll`` for its status."""

    job_id: str
    """The job's id."""
    status: Literal["queued"] = "queued"
    """Always ``queued``."""
    poll: str
    """Where to poll (``GET``)."""


class JobProgress(_Model):
    """How far a validation has got."""

    stage: str
    """``grading``, then ``probe:<name>`` per probe, then ``probes`` (done)."""
    done: int
    """Units of the stage done."""
    total: int
    """Units in the stage."""


class JobResult(_Model):
    """What a finished validation decided."""

    tier: Tier
    """The decision."""
    approved: bool
    """One of the two approved tiers (false for ``provisional``)."""
    reasons: list[str]
    """Every reason, with its figures."""
    labels_needed: int | None
    """Inconclusive or provisional: about how many more labelled gold items would likely settle it."""
    labels_needed_per_class: dict[str, int] = Field(default_factory=dict)
    """The same per human-majority class (pass/fail for binary rubrics, each label otherwise)."""
    established: list[str] = Field(default_factory=list)
    """What the labels establish: one line per interval bound reached (e.g. ``"Cohen's κ ≥ 0.712
    (95% lower bound, n 38; approval needs ≥ 0.667)"``)."""
    certificate_id: str
    """The approval record stored (for every tier: it is the evidence)."""
    calls: int
    """Provider requests made (0 when every verdict came from the store)."""
    cost: float | None
    """USD spent (None when a price is unknown)."""


class JobError(_Model):
    """Why a validation failed (the message, never a traceback)."""

    code: str
    """As in the error shape (``not_found``, ``invalid_input``, ``provider_error``, ...)."""
    message: str
    """What went wrong."""
    details: dict[str, Any] = Field(default_factory=dict)
    """File, line and field for invalid input."""


class JobStatus(_Model):
    """A validation job."""

    job_id: str
    """The job's id."""
    status: Literal["queued", "running", "succeeded", "failed", "interrupted"]
    """``succeeded``: the validation finished (whatever it decided — see ``result.tier``);
    ``failed``: it could not finish (see ``error``); ``interrupted``: the server stopped before it
    finished (``error.code`` ``interrupted`` or ``shut_down``: submit it again)."""
    request: ValidationRequest
    """What was asked."""
    created_at: datetime
    """When it was queued (UTC)."""
    started_at: datetime | None = None
    """When it started."""
    finished_at: datetime | None = None
    """When it ended."""
    queue_position: int | None = None
    """Queued: jobs ahead of it (0 = next)."""
    progress: JobProgress | None = None
    """The latest progress report."""
    result: JobResult | None = None
    """Succeeded: the decision."""
    error: JobError | None = None
    """Failed: why."""


class JobsResponse(_Model):
    """Validation jobs, newest first (stored in the database: they outlive a restart)."""

    jobs: list[JobStatus]
    """The jobs."""
    next: str | None = None
    """The next page (a path with ``offset``), or None on the last page."""
