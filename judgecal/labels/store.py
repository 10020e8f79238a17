"""Queues and labels in the store: create a queue (its tokens are returned once and stored only
as SHA-256), submit a label, undo, read them back.

Every write is one transaction. A label is keyed by (queue, item, annotator): two annotators
submitting at once write two rows, and an annotator's second answer for an item replaces their
first (``INSERT … ON CONFLICT DO UPDATE``), so no submission is lost or half-applied. Every check —
the token, the item in that annotator's queue, the label on the rubric's scale, the page's item
and rubric hashes — happens before the write: a refused label stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from judgecal.errors import LabelError, NotFoundError, StoreError
from judgecal.labels._model import LABEL_STATUSES, Annotator, Label, Queue, QueueItem, Role
from judgecal.store import Store
from judgecal.store.tables import LabelQueueRow, LabelRow

__all__ = ["Access", "LabelStore", "hash_token", "new_token"]


def new_token() -> str:
    """A fresh capability token (URL-safe, 128 bits)."""
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Access:
    """Who a token belongs to in one queue: an annotator, an adjudicator or the queue's admin."""

    def __init__(self, queue: Queue, name: str, role: Role | None):
        self.queue = queue
        self.name = name
        self.role = role
        """None: the admin (coordinator) token."""

    @property
    def admin(self) -> bool:
        return self.role is None


class LabelStore:
    """The labelling tables of a :class:`~judgecal.store.Store`."""

    def __init__(self, store: Store):
        self.store = store
        self.engine = store.engine

    # -- queues ----------------------------------------------------------------------------------

    def create_queue(
        self,
        *,
        name: str,
        rubric: Any,
        items: Sequence[QueueItem],
        annotators: Sequence[str],
        adjudicators: Sequence[str] = (),
        source: str,
        for_record: str | None = None,
        blind: bool = True,
        overlap: float = 0.0,
        plan: dict[str, Any] | None = None,
    ) -> tuple[Queue, dict[str, str]]:
        """Store a new queue; returns it and the tokens (name -> token; ``"admin"`` too). The
        tokens exist only in this return value: the store keeps their hashes."""
        people = list(annotators) + list(adjudicators)
        if len(set(people)) != len(people):
            raise LabelError("a person is named twice among annotators and adjudicators", field="annotator")
        if "admin" in people:
            raise LabelError("'admin' is the coordinator's link, not an annotator name", field="annotator")
        tokens = {p: new_token() for p in [*people, "admin"]}
        roster = {
            p: Annotator(
                name=p,
                role="adjudicator" if p in adjudicators else "annotator",
                token_sha256=hash_token(tokens[p]),
            )
            for p in people
        }
        now = _now()
        row = LabelQueueRow(
            id=uuid.uuid4().hex,
            name=name,
            created_at=now,
            updated_at=now,
            rubric_name=rubric.name,
            rubric_path=str(rubric.directory),
            rubric_hash=rubric.rubric_hash,
            template_hash=rubric.template_hash,
            source=source,
            for_record=for_record,
            blind=blind,
            overlap=overlap,
            items_json=json.dumps([it.model_dump(mode="json") for it in items]),
            annotators_json=json.dumps({p: a.model_dump(mode="json") for p, a in roster.items()}),
            admin_token_sha256=hash_token(tokens["admin"]),
            plan_json=json.dumps(plan or {}),
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(LabelQueueRow).values(**row.model_dump()))
        except IntegrityError:
            raise LabelError(
                f"a queue named {name!r} exists already (judgecal labels list; pick another --queue name)",
                field="queue",
            ) from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self.store._safe_url()}: {exc}") from exc
        return self._queue(row), tokens

    def update_items(self, queue: Queue, items: Sequence[QueueItem]) -> Queue:
        """Replace a queue's items (a changed source): a page showing an old version is stale."""
        with self.engine.begin() as conn:
            conn.execute(
                update(LabelQueueRow)
                .where(LabelQueueRow.id == queue.id)  # type: ignore[arg-type]
                .values(
                    items_json=json.dumps([it.model_dump(mode="json") for it in items]), updated_at=_now()
                )
            )
        return self.get_queue(queue.id)

    def new_token_for(self, queue: Queue, name: str) -> str:
        """A new token for a person (or ``admin``); the old one stops working."""
        token = new_token()
        if name == "admin":
            values: dict[str, Any] = {"admin_token_sha256": hash_token(token)}
        elif name in queue.annotators:
            roster = {p: a.model_dump(mode="json") for p, a in queue.annotators.items()}
            roster[name]["token_sha256"] = hash_token(token)
            values = {"annotators_json": json.dumps(roster)}
        else:
            raise NotFoundError(
                f"queue {queue.name!r} has no annotator {name!r} ({', '.join(queue.annotators)})"
            )
        with self.engine.begin() as conn:
            conn.execute(update(LabelQueueRow).where(LabelQueueRow.id == queue.id).values(**values))  # type: ignore[arg-type]
        return token

    @staticmethod
    def _queue(row: LabelQueueRow | Any) -> Queue:
        data = dict(row._mapping) if hasattr(row, "_mapping") else row.model_dump()
        return Queue(
            id=data["id"],
            name=data["name"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            rubric_name=data["rubric_name"],
            rubric_path=data["rubric_path"],
            rubric_hash=data["rubric_hash"],
            template_hash=data["template_hash"],
            source=data["source"],
            for_record=data["for_record"],
            blind=data["blind"],
            overlap=data["overlap"],
            items=[QueueItem.model_validate(it) for it in json.loads(data["items_json"])],
            annotators={
                p: Annotator.model_validate(a) for p, a in json.loads(data["annotators_json"]).items()
            },
            admin_token_sha256=data["admin_token_sha256"],
            plan=json.loads(data["plan_json"]),
        )

    def get_queue(self, ident: str) -> Queue:
        """A queue by name, id or unique id prefix."""
        with self.engine.connect() as conn:
            row = conn.execute(select(LabelQueueRow).where(LabelQueueRow.name == ident)).first()  # type: ignore[arg-type]
        if row is not None:
            return self._queue(row)
        found = self.store._by_prefix(LabelQueueRow, ident, "labelling queue", "judgecal labels list")
        return self._queue(found)

    def list_queues(self) -> list[Queue]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(LabelQueueRow).order_by(LabelQueueRow.created_at)).all()  # type: ignore[arg-type]
        return [self._queue(r) for r in rows]

    # -- who is asking ---------------------------------------------------------------------------

    def access(self, queue: Queue, token: str) -> Access:
        """The person a token belongs to; :class:`LabelError` (``unknown_token``) otherwise."""
        digest = hash_token(token)
        if hmac.compare_digest(digest, queue.admin_token_sha256):
            return Access(queue, "admin", None)
        for person in queue.annotators.values():
            if hmac.compare_digest(digest, person.token_sha256):
                return Access(queue, person.name, person.role)
        raise LabelError(
            "unknown token: this link is not one of the queue's (ask for a new link)", kind="unknown_token"
        )

    # -- labels ----------------------------------------------------------------------------------

    def submit(
        self,
        access: Access,
        *,
        rubric: Any,
        item_id: str,
        status: str,
        label: str | int | None = None,
        failure_modes: Iterable[str] = (),
        note: str | None = None,
        item_hash: str | None = None,
        rubric_hash: str | None = None,
    ) -> Label:
        """Store one person's answer for one item, after every check (nothing is stored when one
        fails). ``item_hash``/``rubric_hash``: what the page showed; a mismatch is ``stale``."""
        queue = access.queue
        if access.admin:
            raise LabelError(
                "the coordinator's link does not label; use an annotator's link", kind="unknown_token"
            )
        item = queue.item(item_id)
        if item is None or (access.role == "annotator" and access.name not in item.assigned):
            raise LabelError(
                f"item {item_id!r} is not in {access.name}'s queue", kind="not_in_queue", field="item"
            )
        if access.role == "adjudicator" and item_id not in {d["item_id"] for d in self.disagreements(queue)}:
            raise LabelError(
                f"item {item_id!r} has no disagreement to adjudicate", kind="not_in_queue", field="item"
            )
        if rubric.rubric_hash != queue.rubric_hash or rubric.template_hash != queue.template_hash:
            raise LabelError(
                f"rubric {queue.rubric_name!r} changed since the queue was made: a new queue is needed",
                kind="stale",
                field="rubric",
            )
        if item_hash is not None and item_hash != item.item_hash:
            raise LabelError(
                f"item {item_id!r} changed since this page was shown: reload it",
                kind="stale",
                field="item_hash",
            )
        if rubric_hash is not None and rubric_hash != queue.rubric_hash:
            raise LabelError(
                "the page was shown for another version of the rubric: reload it",
                kind="stale",
                field="rubric_hash",
            )
        if status not in LABEL_STATUSES:
            raise LabelError(f"status {status!r} is not one of {', '.join(LABEL_STATUSES)}", field="status")
        norm: str | None = None
        if status == "skipped":
            if label not in (None, ""):
                raise LabelError("a skipped item has no label", field="label")
        else:
            if label in (None, ""):
                raise LabelError(f"a {status} answer needs a label", kind="off_scale", field="label")
            value = rubric.scale.normalise(label)
            if value is None:
                allowed = ", ".join(str(x) for x in rubric.scale.labels)
                raise LabelError(
                    f"label {label!r} is not on the scale ({allowed})", kind="off_scale", field="label"
                )
            norm = str(value)
        modes = list(dict.fromkeys(m for m in failure_modes if m))
        known = {m.id for m in rubric.failure_modes}
        for m in modes:
            if m not in known:
                raise LabelError(
                    f"failure mode {m!r} is not one of the rubric's ({', '.join(sorted(known)) or 'none'})",
                    kind="off_scale",
                    field="failure_modes",
                )
        if note is not None and len(note) > 4000:
            raise LabelError("the note is longer than 4000 characters", field="note")
        now = _now()
        values = {
            "queue_id": queue.id,
            "item_id": item_id,
            "annotator": access.name,
            "role": access.role,
            "status": status,
            "label": norm,
            "failure_modes_json": json.dumps(modes),
            "note": (note or None) and note.strip() or None,
            "rubric_hash": queue.rubric_hash,
            "item_hash": item.item_hash,
            "created_at": now,
            "updated_at": now,
        }
        changing = {
            k: v for k, v in values.items() if k not in ("queue_id", "item_id", "annotator", "created_at")
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(self._upsert(values, changing))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self.store._safe_url()}: {exc}") from exc
        return Label.model_validate(
            {**{k: v for k, v in values.items() if k != "failure_modes_json"}, "failure_modes": modes}
        )

    def _upsert(self, values: dict[str, Any], changing: dict[str, Any]) -> Any:
        keys = ["queue_id", "item_id", "annotator"]
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415

            return (
                postgresql.insert(LabelRow)
                .values(**values)
                .on_conflict_do_update(index_elements=keys, set_=changing)
            )
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        return (
            sqlite.insert(LabelRow).values(**values).on_conflict_do_update(index_elements=keys, set_=changing)
        )

    def undo(self, access: Access) -> Label | None:
        """Remove this person's most recent answer; returns it (None: nothing to undo)."""
        mine = self.labels(access.queue, annotator=access.name)
        if not mine:
            return None
        last = max(mine, key=lambda lab: lab.updated_at)
        with self.engine.begin() as conn:
            conn.execute(
                delete(LabelRow).where(
                    (LabelRow.queue_id == last.queue_id)  # type: ignore[arg-type]
                    & (LabelRow.item_id == last.item_id)  # type: ignore[arg-type]
                    & (LabelRow.annotator == last.annotator)  # type: ignore[arg-type]
                )
            )
        return last

    def labels(self, queue: Queue, *, annotator: str | None = None) -> list[Label]:
        stmt = select(LabelRow).where(LabelRow.queue_id == queue.id)  # type: ignore[arg-type]
        if annotator is not None:
            stmt = stmt.where(LabelRow.annotator == annotator)  # type: ignore[arg-type]
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        out = []
        for r in rows:
            data = dict(r)
            modes = json.loads(data.pop("failure_modes_json"))
            out.append(Label(**data, failure_modes=modes))
        order = {it.id: i for i, it in enumerate(queue.items)}
        return sorted(out, key=lambda lab: (order.get(lab.item_id, 1 << 30), lab.annotator))

    def disagreements(self, queue: Queue) -> list[dict[str, Any]]:
        """Items where two or more annotators gave different labels (``labelled`` answers)."""
        by_item: dict[str, dict[str, str]] = {}
        for lab in self.labels(queue):
            if lab.role == "annotator" and lab.status == "labelled" and lab.label is not None:
                by_item.setdefault(lab.item_id, {})[lab.annotator] = lab.label
        return [
            {"item_id": item_id, "labels": got}
            for item_id, got in by_item.items()
            if len(got) >= 2 and len(set(got.values())) > 1
        ]
