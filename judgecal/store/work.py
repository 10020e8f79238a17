"""Work in the store: who owns a run, which units are claimed, and keeping both alive.

A grading worker (a task of one process, another process on the same store, or a Ray worker
on another machine sharing one PostgreSQL) **claims** a unit — its cache key — before it calls
the provider, and deletes the claim in the same transaction that stores the answer. A unit
another worker holds is not called again: the worker waits for that answer and reuses it. A
claim carries a lease (:data:`LEASE_S`), renewed every :data:`HEARTBEAT_S` while its worker
lives; when the worker dies the claim is taken over once its lease has passed, or at once when
its process is known to be gone (same host, no such pid).

How a claim is taken, the same on every database: ``INSERT … ON CONFLICT DO NOTHING`` of the
unit's key, then a conditional ``UPDATE`` that takes over claims whose lease passed or whose
worker is gone (on PostgreSQL the rows to take over are first locked with ``SELECT … FOR UPDATE
SKIP LOCKED``, so two workers never wait on each other), then a read of what this worker holds
— and, inside the same transaction, a second look for an answer stored meanwhile, so a unit
answered between the first look and the claim is reused instead of bought again.

A run's own row has the same lease: ``worker`` (``host:pid``) and ``heartbeat_at``. A
``running`` run whose heartbeat is older than the lease, or whose process on this host is gone,
died: :meth:`WorkMixin.reap_runs` (called whenever a :class:`~judgecal.store.Store` opens)
marks it ``interrupted``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from judgecal.errors import StoreError
from judgecal.store.tables import CallRow, ClaimRow, RunItemRow, RunRow
from judgecal.verdict import TRANSIENT_REASONS  # invalid answers the cache never reuses

LEASE_S = 30.0
"""Seconds a claim or a run's heartbeat stays valid without renewal."""
HEARTBEAT_S = 5.0
"""How often a live worker renews its claims and its run's heartbeat."""
_CHUNK = 500
_CALL: Any = CallRow.__table__.c  # type: ignore[attr-defined]
_CLAIM: Any = ClaimRow.__table__.c  # type: ignore[attr-defined]
_RUN: Any = RunRow.__table__.c  # type: ignore[attr-defined]
_ITEM: Any = RunItemRow.__table__.c  # type: ignore[attr-defined]
HOST = socket.gethostname()


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{HOST}:{os.getpid()}"


def owner_id(run_id: str) -> str:
    """The claim owner of one run in this process: ``host:pid:run``."""
    return f"{worker_id()}:{run_id}"


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


def gone(owner: str | None) -> bool:
    """Whether ``owner`` (``host:pid[:run]``) is a process of this host that no longer exists.
    A process on another host is never known to be gone: only its lease can tell."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != HOST or not parts[1].isdigit():
        return False
    return _pid_gone(int(parts[1]))


def _aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class Claimed:
    """What :meth:`WorkMixin.claim` found for a batch of cache keys."""

    claimed: list[str] = field(default_factory=list)
    """Keys this owner now holds: call the provider for them."""
    answered: dict[str, CallRow] = field(default_factory=dict)
    """Keys with a reusable stored answer (status ``ok``, or ``invalid`` from the model's text)."""
    held: list[str] = field(default_factory=list)
    """Keys another live worker holds: wait for its answer."""


def reusable(stmt: Any) -> Any:
    """``stmt`` limited to calls the cache may reuse."""
    return stmt.where(
        (_CALL.status == "ok")
        | (
            (_CALL.status == "invalid")
            & (_CALL.invalid_reason.is_(None) | _CALL.invalid_reason.not_in(TRANSIENT_REASONS))
        )
    )


class WorkMixin:
    """Claims, leases and run ownership (mixed into :class:`~judgecal.store.Store`)."""

    engine: Engine
    url: str

    def _safe_url(self) -> str:  # pragma: no cover - Store defines it
        raise NotImplementedError

    def _insert_ignore(self, table: Any) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING`` for this database."""
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects import sqlite  # noqa: PLC0415

            return sqlite.insert(table).on_conflict_do_nothing()
        if name == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415

            return postgresql.insert(table).on_conflict_do_nothing()
        return insert(table)  # other databases: plain inserts (no concurrent workers)

    # -- the cache -------------------------------------------------------------------------------

    def _answers(self, conn: Any, keys: Sequence[str]) -> dict[str, CallRow]:
        out: dict[str, CallRow] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            stmt = reusable(select(CallRow).where(_CALL.cache_key.in_(chunk))).order_by(_CALL.created_at)
            for row in conn.execute(stmt).mappings():
                out[row["cache_key"]] = CallRow(**dict(row))
        return out

    def cached_calls(self, cache_keys: Iterable[str]) -> dict[str, CallRow]:
        """The newest reusable call (status ok, or invalid from the model's own text) for each of
        ``cache_keys``."""
        keys = list(dict.fromkeys(cache_keys))
        with self.engine.connect() as conn:
            return self._answers(conn, keys)

    # -- claims ----------------------------------------------------------------------------------

    def claim(self, keys: Sequence[str], *, run_id: str, owner: str, lease_s: float = LEASE_S) -> Claimed:
        """Claim the units ``keys`` for ``owner`` (see the module docstring for how)."""
        keys = list(dict.fromkeys(keys))
        out = Claimed()
        if not keys:
            return out
        try:
            with self.engine.connect() as conn:
                out.answered = self._answers(conn, keys)
            todo = [k for k in keys if k not in out.answered]
            if not todo:
                return out
            now = datetime.now(UTC)
            expires = now + timedelta(seconds=lease_s)
            with self.engine.begin() as conn:
                rows = [
                    {"cache_key": k, "run_id": run_id, "owner": owner, "expires_at": expires} for k in todo
                ]
                conn.execute(self._insert_ignore(ClaimRow), rows)
                others = conn.execute(
                    select(_CLAIM.cache_key, _CLAIM.owner, _CLAIM.expires_at).where(
                        _CLAIM.cache_key.in_(todo),
                        _CLAIM.owner != owner,
                    )
                ).all()
                takeover = [k for k, who, until in others if (_aware(until) or now) <= now or gone(who)]
                if takeover:
                    if self.engine.dialect.name == "postgresql":
                        takeover = list(
                            conn.execute(
                                select(_CLAIM.cache_key)
                                .where(_CLAIM.cache_key.in_(takeover))
                                .with_for_update(skip_locked=True)
                            ).scalars()
                        )
                    for k, who, until in others:
                        if k in takeover:  # only if nobody renewed or took it meanwhile
                            conn.execute(
                                update(ClaimRow)
                                .where(
                                    _CLAIM.cache_key == k,
                                    _CLAIM.owner == who,
                                    _CLAIM.expires_at == until,
                                )
                                .values(owner=owner, run_id=run_id, expires_at=expires)
                            )
                mine = set(
                    conn.execute(
                        select(_CLAIM.cache_key).where(
                            _CLAIM.cache_key.in_(todo),
                            _CLAIM.owner == owner,
                        )
                    ).scalars()
                )
                # answered between the first look and the claim: reuse, do not buy again
                late = self._answers(conn, sorted(mine)) if mine else {}
                if late:
                    conn.execute(
                        delete(ClaimRow).where(_CLAIM.cache_key.in_(list(late)), _CLAIM.owner == owner)
                    )
                    out.answered.update(late)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot claim work in {self._safe_url()}: {exc}") from exc
        out.claimed = [k for k in todo if k in mine and k not in late]
        out.held = [k for k in todo if k not in mine]
        return out

    def release(self, keys: Sequence[str], *, owner: str) -> None:
        """Give up claims (the units were not called, or their call failed)."""
        if not keys:
            return
        try:
            with self.engine.begin() as conn:
                for start in range(0, len(keys), _CHUNK):
                    chunk = list(keys[start : start + _CHUNK])
                    conn.execute(delete(ClaimRow).where(_CLAIM.cache_key.in_(chunk), _CLAIM.owner == owner))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    def release_owner(self, owner: str) -> None:
        """Give up every claim of ``owner`` (its run ended)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(ClaimRow).where(_CLAIM.owner == owner))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    def heartbeat(self, run_id: str | None, owners: Sequence[str], lease_s: float = LEASE_S) -> None:
        """Renew the claims of ``owners`` and (when given) the run's heartbeat."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                if owners:
                    conn.execute(
                        update(ClaimRow)
                        .where(_CLAIM.owner.in_(list(owners)))
                        .values(expires_at=now + timedelta(seconds=lease_s))
                    )
                if run_id is not None:
                    conn.execute(
                        update(RunRow)
                        .where(_RUN.id == run_id, _RUN.status == "running")
                        .values(heartbeat_at=now)
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    # -- writing results -------------------------------------------------------------------------

    def write_batch(
        self,
        calls: Sequence[dict[str, Any]],
        run_items: Sequence[dict[str, Any]],
        *,
        owner: str | None = None,
        released: Sequence[str] = (),
    ) -> None:
        """In one transaction: insert ``calls`` and ``run_items`` (plain dicts of column values;
        a run item already stored is left as it is) and delete ``owner``'s claims on the calls'
        cache keys and on ``released``."""
        if not calls and not run_items and not released:
            return
        done = [c["cache_key"] for c in calls] + list(released)
        try:
            with self.engine.begin() as conn:
                if calls:
                    conn.execute(insert(CallRow), list(calls))
                if run_items:
                    conn.execute(self._insert_ignore(RunItemRow), list(run_items))
                if owner is not None and done:
                    for start in range(0, len(done), _CHUNK):
                        chunk = done[start : start + _CHUNK]
                        conn.execute(
                            delete(ClaimRow).where(_CLAIM.cache_key.in_(chunk), _CLAIM.owner == owner)
                        )
        except SQLAlchemyError as exc:
            raise StoreError(_write_failure(self._safe_url(), exc)) from exc

    def done_units(self, run_id: str) -> set[tuple[str, str, int]]:
        """(item, order, sample) of the units of ``run_id`` that already have a stored outcome
        other than ``skipped`` (a worker retried by Ray starts after them)."""
        stmt = select(_ITEM.item_id, _ITEM.order, _ITEM.sample_index).where(
            _ITEM.run_id == run_id,
            _ITEM.status != "skipped",
        )
        with self.engine.connect() as conn:
            return {(i, o, s) for i, o, s in conn.execute(stmt)}

    def spent(self, run_id: str, keys: Sequence[str]) -> tuple[int, float]:
        """(provider requests, USD) the stored calls of ``run_id`` on ``keys`` took: what an earlier
        attempt at the same work (a Ray task retried after its worker died) already spent."""
        from sqlalchemy import func  # noqa: PLC0415

        attempts, cost = 0, 0.0
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                a, c = conn.execute(
                    select(
                        func.coalesce(func.sum(_CALL.attempts), 0), func.coalesce(func.sum(_CALL.cost), 0.0)
                    ).where(_CALL.run_id == run_id, _CALL.cache_key.in_(chunk))
                ).one()
                attempts, cost = attempts + int(a), cost + float(c)
        return attempts, cost

    # -- runs whose process died -----------------------------------------------------------------

    def reap_runs(self) -> list[str]:
        """Mark ``interrupted`` every ``running`` run whose process died: its heartbeat is older
        than :data:`LEASE_S` (or it has none and started longer ago than that), or its process
        on this host is gone. Returns their ids."""
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=LEASE_S)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_RUN.id, _RUN.worker, _RUN.heartbeat_at, _RUN.created_at).where(
                        _RUN.status == "running"
                    )
                ).all()
        except SQLAlchemyError:  # an old schema mid-upgrade, or a read-only database: not ours to fix
            return []
        dead: dict[str, str] = {}
        for run_id, worker, beat, created in rows:
            if gone(worker):
                dead[run_id] = "the process running it is gone"
            elif (_aware(beat) or _aware(created) or now) < cutoff:
                dead[run_id] = "its heartbeat stopped"
        for run_id, why in dead.items():
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(RunRow)
                        .where(_RUN.id == run_id, _RUN.status == "running")
                        .values(
                            status="interrupted",
                            finished_at=now,
                            error=f"interrupted: {why} (killed or crashed); run the same command to resume",
                        )
                    )
            except SQLAlchemyError:
                break
        return list(dead)


def _write_failure(url: str, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = text.lower()
    if "full" in low or "no space" in low:
        return f"cannot write to {url}: the disk or database is full ({text})"
    if "readonly" in low or "read-only" in low:
        return f"cannot write to {url}: the database is read-only ({text})"
    return f"cannot write to {url}: {text}"
