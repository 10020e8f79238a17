"""The database tables. Changing them needs a migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

__all__ = [
    "ApprovalRow",
    "CallRow",
    "ClaimRow",
    "ComparisonRow",
    "IdempotencyRow",
    "JobRow",
    "LabelQueueRow",
    "LabelRow",
    "RunItemRow",
    "RunRow",
]


def _now() -> datetime:
    return datetime.now(UTC)


class RunRow(SQLModel, table=True):
    """One grading run: a judge over a set of items."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(default="grade", max_length=16)
    status: str = Field(default="running", max_length=16, index=True)
    created_at: datetime = Field(default_factory=_now, index=True)
    finished_at: datetime | None = None
    rubric_name: str = Field(max_length=200, index=True)
    rubric_version: str = Field(max_length=100)
    rubric_hash: str = Field(max_length=64)
    template_hash: str = Field(max_length=64)
    gold_name: str = Field(max_length=200)
    gold_path: str
    gold_hash: str = Field(max_length=64)
    split: str = Field(max_length=8)
    split_hash: str = Field(max_length=64)
    model: str = Field(max_length=300, index=True)
    settings_json: str
    settings_hash: str = Field(max_length=64)
    samples: int = 1
    aggregation: str = Field(default="majority", max_length=16)
    orders: str = Field(default="ab", max_length=8)
    n_items: int = 0
    n_units: int = 0
    n_ok: int = 0
    n_invalid: int = 0
    n_error: int = 0
    n_skipped: int = 0
    n_cached: int = 0
    n_calls: int = 0
    cost: float | None = None
    error: str | None = None
    judgecal_version: str = Field(max_length=32)
    worker: str | None = Field(default=None, max_length=200)
    """Who runs it: ``host:pid`` of the process that started it (None for runs before 0005)."""
    heartbeat_at: datetime | None = None
    """Renewed every few seconds while the run is ``running``; a running run whose heartbeat is
    older than the lease (or whose process on this host is gone) died: it is marked
    ``interrupted`` the next time the store is opened."""


class CallRow(SQLModel, table=True):
    """One judge call (with its retries): prompt, raw answer, parsed verdict, cost, error."""

    __tablename__ = "calls"

    id: str = Field(primary_key=True, max_length=32)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=32)
    cache_key: str = Field(index=True, max_length=64)
    item_id: str = Field(max_length=300)
    item_hash: str = Field(max_length=64)
    order: str | None = Field(default=None, max_length=2)
    sample_index: int = 0
    model: str = Field(max_length=300)
    response_model: str | None = Field(default=None, max_length=300)
    settings_hash: str = Field(max_length=64)
    rubric_hash: str = Field(max_length=64)
    template_hash: str = Field(max_length=64)
    prompt_hash: str = Field(max_length=64)
    prompt_json: str
    status: str = Field(max_length=8)
    label: str | None = Field(default=None, max_length=16)
    passed: bool | None = None
    reasoning: str | None = None
    failure_modes_json: str = "[]"
    invalid_reason: str | None = Field(default=None, max_length=32)
    parse_note: str | None = None
    raw_response: str | None = None
    finish_reason: str | None = Field(default=None, max_length=32)
    error: str | None = None
    attempts: int = 1
    attempt_errors_json: str = "[]"
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    created_at: datetime = Field(default_factory=_now)


class RunItemRow(SQLModel, table=True):
    """Which call answered each (item, order, sample) of a run — new or reused from the cache."""

    __tablename__ = "run_items"

    run_id: str = Field(foreign_key="runs.id", primary_key=True, max_length=32)
    item_id: str = Field(primary_key=True, max_length=300)
    order: str = Field(primary_key=True, max_length=2)
    sample_index: int = Field(primary_key=True)
    call_id: str | None = Field(default=None, foreign_key="calls.id", index=True, max_length=32)
    status: str = Field(max_length=8)
    cached: bool = False


class ClaimRow(SQLModel, table=True):
    """A unit of work (its cache key) that a worker is calling the provider for. Claimed before
    the call, deleted in the transaction that stores the answer; a claim whose lease passed (its
    worker died without renewing it) may be taken over."""

    __tablename__ = "claims"

    cache_key: str = Field(primary_key=True, max_length=64)
    run_id: str = Field(max_length=32)
    owner: str = Field(max_length=200, index=True)
    expires_at: datetime = Field(index=True)


class ComparisonRow(SQLModel, table=True):
    """One ``judgecal compare``: the full :class:`judgecal.compare.Comparison` is ``record_json``;
    its judges' verdicts are their own grading runs."""

    __tablename__ = "comparisons"

    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=_now, index=True)
    rubric_name: str = Field(max_length=200, index=True)
    record_json: str


class ApprovalRow(SQLModel, table=True):
    """One validation's approval record (certificate), whatever its tier: the evidence behind a
    decision. The full record is ``record_json``; the columns are what lists filter on."""

    __tablename__ = "approvals"

    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=_now, index=True)
    rubric_name: str = Field(max_length=200, index=True)
    model: str = Field(max_length=300, index=True)
    tier: str = Field(max_length=32)
    run_id: str = Field(foreign_key="runs.id", max_length=32)
    rubric_hash: str = Field(max_length=64)
    template_hash: str = Field(max_length=64)
    gold_hash: str = Field(max_length=64)
    split_hash: str = Field(max_length=64)
    policy_hash: str = Field(max_length=64)
    record_json: str
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class JobRow(SQLModel, table=True):
    """One validation job of the HTTP service (``POST /v1/validations``): what was asked, how far
    it got and how it ended. Kept across restarts; a job a previous process left ``queued`` or
    ``running`` is marked ``interrupted`` when the service starts."""

    __tablename__ = "jobs"

    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=_now, index=True)
    status: str = Field(default="queued", max_length=16, index=True)
    request_json: str
    progress_json: str | None = None
    result_json: str | None = None
    error_json: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class IdempotencyRow(SQLModel, table=True):
    """An ``Idempotency-Key`` the service has seen on a POST: the hash of the request it came with
    and, once answered, the response to replay. ``scope`` separates callers (a hash of their bearer
    token); rows past ``expires_at`` are deleted."""

    __tablename__ = "idempotency_keys"

    scope: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    route: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    status: str = Field(default="in_progress", max_length=16)
    response_status: int | None = None
    response_json: str | None = None
    created_at: datetime = Field(default_factory=_now)
    expires_at: datetime = Field(index=True)


class LabelQueueRow(SQLModel, table=True):
    """A labelling queue (``judgecal label``): the items to label under one rubric, who labels
    which, and where the items came from. The items are ``items_json``
    (:class:`judgecal.labels.QueueItem`); annotators' tokens are stored only as SHA-256."""

    __tablename__ = "label_queues"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    rubric_name: str = Field(max_length=200, index=True)
    rubric_path: str
    rubric_hash: str = Field(max_length=64)
    template_hash: str = Field(max_length=64)
    source: str
    """Where the items came from: ``gold:PATH``, ``items:PATH``, ``run:ID`` or ``record:ID``."""
    for_record: str | None = Field(default=None, max_length=32)
    blind: bool = True
    overlap: float = 0.0
    items_json: str
    annotators_json: str
    """Annotator name -> ``{"token_sha256", "role"}`` (role ``annotator`` or ``adjudicator``)."""
    admin_token_sha256: str = Field(max_length=64)
    plan_json: str = "{}"
    """How the queue was sized and drawn (the record's needs, the sampling scheme)."""


class LabelRow(SQLModel, table=True):
    """One person's label of one queue item: the newest answer they gave (an update replaces it).
    ``role`` ``adjudicator``: a label that settles a disagreement, never counted as an annotator."""

    __tablename__ = "labels"

    queue_id: str = Field(foreign_key="label_queues.id", primary_key=True, max_length=32)
    item_id: str = Field(primary_key=True, max_length=300)
    annotator: str = Field(primary_key=True, max_length=100)
    role: str = Field(default="annotator", max_length=16)
    status: str = Field(max_length=16)
    """``labelled``, ``unsure`` (a label the annotator is not sure of: not exported) or ``skipped``."""
    label: str | None = Field(default=None, max_length=16)
    failure_modes_json: str = "[]"
    note: str | None = None
    rubric_hash: str = Field(max_length=64)
    item_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now, index=True)
