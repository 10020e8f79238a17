"""The labelling workspace's data: a queue of items, its annotators, and the labels they give.

Plain models, below everything that builds queues (:mod:`judgecal.labels.queue`), stores labels
(:mod:`judgecal.labels.store`) or serves them (:mod:`judgecal.labels.app`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LABEL_STATUSES",
    "ROLES",
    "Annotator",
    "Label",
    "LabelStatus",
    "Queue",
    "QueueItem",
    "Role",
    "Selection",
]

Role = Literal["annotator", "adjudicator"]
ROLES: tuple[Role, ...] = ("annotator", "adjudicator")
LabelStatus = Literal["labelled", "unsure", "skipped"]
LABEL_STATUSES: tuple[LabelStatus, ...] = ("labelled", "unsure", "skipped")
Selection = Literal["given", "random", "targeted"]


class QueueItem(BaseModel):
    """One item of a queue: what is shown, who labels it, and how it was chosen."""

    model_config = ConfigDict(extra="forbid")

    id: str
    inputs: dict[str, str]
    metadata: dict[str, Any] = Field(default_factory=dict)
    item_hash: str
    """SHA-256 of id, inputs and metadata: a page that shows another version is stale."""
    assigned: list[str]
    """The annotators who label it (several where the queue overlaps)."""
    selection: Selection = "given"
    """``given``: every item of the source; ``random``: a simple random draw from a pool (the
    test split stays a random sample); ``targeted``: chosen on purpose (two judges disagree), so
    pinned to the dev split and never used for the decision."""
    inclusion_probability: float | None = None
    """For a ``random`` draw: n / N, the chance any pool item had of being drawn."""
    known_labels: dict[str, str | int] = Field(default_factory=dict)
    """Labels the item already had (a gold set's annotators): kept in the export, never shown
    while labelling is blind."""
    judge_verdicts: dict[str, str] = Field(default_factory=dict)
    """Run id -> the judge's verdict (items from a stored run): never shown while blind."""


class Annotator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role = "annotator"
    token_sha256: str


class Queue(BaseModel):
    """A labelling queue as stored (``label_queues``)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    rubric_name: str
    rubric_path: str
    rubric_hash: str
    template_hash: str
    source: str
    for_record: str | None = None
    blind: bool = True
    overlap: float = 0.0
    items: list[QueueItem]
    annotators: dict[str, Annotator]
    admin_token_sha256: str
    plan: dict[str, Any] = Field(default_factory=dict)

    def item(self, item_id: str) -> QueueItem | None:
        return next((it for it in self.items if it.id == item_id), None)

    def items_for(self, annotator: str) -> list[QueueItem]:
        """The items an annotator labels, in queue order (an adjudicator: none of their own)."""
        return [it for it in self.items if annotator in it.assigned]


class Label(BaseModel):
    """One person's newest answer for one item."""

    model_config = ConfigDict(extra="forbid")

    queue_id: str
    item_id: str
    annotator: str
    role: Role = "annotator"
    status: LabelStatus
    label: str | None = None
    failure_modes: list[str] = Field(default_factory=list)
    note: str | None = None
    rubric_hash: str
    item_hash: str
    created_at: datetime
    updated_at: datetime
