"""The verdict store: runs, every judge call, and which call answered each item of a run.

SQLite (WAL) in the home folder by default; ``DATABASE_URL`` selects another database (any
SQLAlchemy URL, e.g. ``postgresql+psycopg://...``). The schema is created and upgraded by the
Alembic migrations shipped in ``judgecal/store/migrations``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from judgecal.errors import StoreError
from judgecal.store import _migrate, ids
from judgecal.store.tables import (
    ApprovalRow,
    CallRow,
    ClaimRow,
    ComparisonRow,
    IdempotencyRow,
    JobRow,
    RunItemRow,
    RunRow,
)
from judgecal.store.work import WorkMixin, worker_id

__all__ = [
    "ApprovalRow",
    "CallRow",
    "ClaimRow",
    "ComparisonRow",
    "IdempotencyRow",
    "JobRow",
    "RunItemRow",
    "RunRow",
    "Store",
]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")  # first: the switch to WAL may wait for another process
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives kill -9 (not power loss)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store(WorkMixin):
    """Access to the database. ``Store()`` opens the configured database and migrates it."""

    def __init__(self, url: str | None = None, *, migrate: bool = True):
        from judgecal.settings import database_url  # noqa: PLC0415

        self.url = url or database_url()
        try:
            self.engine: Engine = create_engine(self.url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            if migrate:
                _migrate.ensure_head(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {self._safe_url()}: {exc}") from exc
        self._file = self._file_identity()
        if migrate:
            self.reap_runs()

    def _sqlite_path(self) -> str | None:
        if self.engine.dialect.name != "sqlite":
            return None
        db = self.engine.url.database
        return None if not db or db == ":memory:" or db.startswith("file:") else db

    def _file_identity(self) -> tuple[int, int] | None:
        path = self._sqlite_path()
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def check_file(self) -> None:
        """Raise :class:`StoreError` when the SQLite file this store opened was deleted or
        replaced since (a process that keeps writing to a deleted file writes to nothing anyone
        can read again)."""
        if self._file is None:
            return
        now = self._file_identity()
        if now != self._file:
            what = "was deleted" if now is None else "was replaced by another file"
            raise StoreError(f"the database file {self._sqlite_path()} {what} while judgecal was using it")

    def _safe_url(self) -> str:
        try:
            from sqlalchemy.engine import make_url  # noqa: PLC0415

            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001
            return "(unparseable URL)"

    def close(self) -> None:
        self.engine.dispose()

    # -- runs ------------------------------------------------------------------------------------

    def create_run(self, run: RunRow) -> RunRow:
        """Store a new run, owned by this process (``worker``) with a fresh heartbeat."""
        if run.worker is None:
            run.worker = worker_id()
        if run.heartbeat_at is None:
            run.heartbeat_at = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(RunRow).values(**run.model_dump()))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc
        return run

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(RunRow).where(RunRow.id == run_id).values(**values))  # type: ignore[arg-type]

    def finish_run(self, run_id: str, status: str, **values: Any) -> None:
        self.update_run(run_id, status=status, finished_at=datetime.now(UTC), **values)

    def _by_prefix(self, table: Any, ident: str, noun: str, lister: str) -> Any:
        """The row of ``table`` with id ``ident``, else with a unique id prefix ``ident``
        (:func:`judgecal.store.ids.resolve`)."""
        return ids.resolve(self.engine, table, ident, noun=noun, lister=lister)

    def short_ids(self, listed: Iterable[str], *tables: Any) -> dict[str, str]:
        """What a listing prints for each id of ``listed``: its shortest prefix (at least
        :data:`~judgecal.store.ids.MIN_PREFIX` characters) unique among every id of ``tables``."""
        among = [i for table in tables for i in ids.all_ids(self.engine, table)]
        return ids.short_ids(listed, among=among)

    def get_run(self, run_id: str) -> RunRow:
        """A run by id or unique id prefix."""
        return self._by_prefix(RunRow, run_id, "run", "judgecal runs list")  # type: ignore[no-any-return]

    def list_runs(
        self, *, limit: int = 20, rubric: str | None = None, kind: str | None = None
    ) -> list[RunRow]:
        """The newest runs first (``kind``: only ``grade`` or only ``probe`` runs)."""
        stmt = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
        if rubric:
            stmt = stmt.where(RunRow.rubric_name == rubric)
        if kind:
            stmt = stmt.where(RunRow.kind == kind)
        with Session(self.engine) as session:
            rows = list(session.exec(stmt).all())
            session.expunge_all()
            return rows

    # -- calls ---------------------------------------------------------------------------------

    def run_calls(self, run_id: str) -> list[tuple[RunItemRow, CallRow | None]]:
        """Every (item, order, sample) of a run with the call that answered it."""
        stmt = (
            select(RunItemRow, CallRow)
            .join(CallRow, RunItemRow.call_id == CallRow.id, isouter=True)  # type: ignore[arg-type]
            .where(RunItemRow.run_id == run_id)
            .order_by(RunItemRow.item_id, RunItemRow.order, RunItemRow.sample_index)  # type: ignore[arg-type]
        )
        with Session(self.engine) as session:
            rows: list[tuple[RunItemRow, CallRow | None]] = [(i, c) for i, c in session.exec(stmt).all()]
            session.expunge_all()
        return rows

    def dev_versions(self, rubric_name: str, gold_hash: str) -> int:
        """How many distinct rubric/prompt versions have been run on the dev split of a gold set."""
        stmt = (
            select(func.count(func.distinct(RunRow.rubric_hash + RunRow.template_hash)))
            .where(RunRow.rubric_name == rubric_name, RunRow.gold_hash == gold_hash, RunRow.kind == "grade")
            .where(RunRow.split.in_(("dev", "all")))  # type: ignore[attr-defined]
        )
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- approval records ------------------------------------------------------------------------

    def save_certificate(self, cert: Any) -> None:
        """Store an approval record (:class:`judgecal.approval.Certificate`)."""
        row = ApprovalRow(
            id=cert.id,
            created_at=cert.created_at,
            rubric_name=cert.rubric,
            model=cert.model,
            tier=cert.decision.tier,
            run_id=cert.run_id,
            rubric_hash=cert.hashes["rubric"],
            template_hash=cert.hashes["template"],
            gold_hash=cert.hashes["gold"],
            split_hash=cert.hashes["split"],
            policy_hash=cert.hashes["policy"],
            record_json=cert.model_dump_json(),
            revoked_at=cert.revoked_at,
            revoked_reason=cert.revoked_reason,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ApprovalRow).values(**row.model_dump()))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    @staticmethod
    def _certificate(row: ApprovalRow) -> Any:
        from judgecal.approval.certificate import Certificate  # noqa: PLC0415

        cert = Certificate.model_validate_json(row.record_json)
        return cert.model_copy(update={"revoked_at": row.revoked_at, "revoked_reason": row.revoked_reason})

    def save_comparison(self, comparison: Any) -> None:
        """Store a :class:`judgecal.comparison.Comparison`."""
        row = ComparisonRow(
            id=comparison.id,
            created_at=comparison.created_at,
            rubric_name=comparison.rubric,
            record_json=comparison.model_dump_json(),
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ComparisonRow).values(**row.model_dump()))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    def get_comparison(self, comparison_id: str) -> Any:
        """A stored comparison by id or unique id prefix."""
        from judgecal.comparison import Comparison  # noqa: PLC0415

        row = self._by_prefix(ComparisonRow, comparison_id, "comparison", "judgecal report --list")
        return Comparison.model_validate_json(row.record_json)

    def list_comparisons(self, *, rubric: str | None = None, limit: int = 50) -> list[Any]:
        """Stored comparisons, newest first."""
        from judgecal.comparison import Comparison  # noqa: PLC0415

        stmt = select(ComparisonRow).order_by(ComparisonRow.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
        if rubric:
            stmt = stmt.where(ComparisonRow.rubric_name == rubric)
        with Session(self.engine) as session:
            return [Comparison.model_validate_json(r.record_json) for r in session.exec(stmt).all()]

    def get_certificate(self, cert_id: str) -> Any:
        """An approval record by id or unique id prefix."""
        return self._certificate(
            self._by_prefix(ApprovalRow, cert_id, "approval record", "judgecal approvals list")
        )

    def list_certificates(
        self, *, rubric: str | None = None, model: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Any]:
        """Approval records, newest first (ties by id, so pages of ``limit`` from ``offset`` do not
        overlap)."""
        stmt = (
            select(ApprovalRow)
            .order_by(ApprovalRow.created_at.desc(), ApprovalRow.id.desc())  # type: ignore[attr-defined]
            .offset(offset)
            .limit(limit)
        )
        if rubric:
            stmt = stmt.where(ApprovalRow.rubric_name == rubric)
        if model:
            stmt = stmt.where(ApprovalRow.model == model)
        with Session(self.engine) as session:
            return [self._certificate(r) for r in session.exec(stmt).all()]

    def revoke_certificate(self, cert_id: str, reason: str) -> Any:
        """Mark an approval record revoked (it stays, as evidence); returns the updated record."""
        cert = self.get_certificate(cert_id)
        if cert.revoked_at is not None:
            return cert
        with self.engine.begin() as conn:
            conn.execute(
                update(ApprovalRow)
                .where(ApprovalRow.id == cert.id)  # type: ignore[arg-type]
                .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
            )
        return self.get_certificate(cert.id)

    # -- the service's validation jobs -----------------------------------------------------------

    def _write(self, stmt: Any) -> Any:
        try:
            with self.engine.begin() as conn:
                return conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc

    def create_job(self, job: JobRow) -> None:
        """Store a new validation job."""
        self._write(insert(JobRow).values(**job.model_dump()))

    def update_job(self, job_id: str, **values: Any) -> None:
        """Change columns of a stored job."""
        self._write(update(JobRow).where(JobRow.id == job_id).values(**values))  # type: ignore[arg-type]

    def get_job(self, job_id: str) -> JobRow | None:
        """A job by its full id (None when there is none)."""
        with Session(self.engine) as session:
            row = session.get(JobRow, job_id)
            if row is not None:
                session.expunge(row)
            return row

    def list_jobs(self, *, limit: int = 50, offset: int = 0, status: str | None = None) -> list[JobRow]:
        """Jobs, newest first (ties by id)."""
        stmt = (
            select(JobRow)
            .order_by(JobRow.created_at.desc(), JobRow.id.desc())  # type: ignore[attr-defined]
            .offset(offset)
            .limit(limit)
        )
        if status:
            stmt = stmt.where(JobRow.status == status)
        with Session(self.engine) as session:
            rows = list(session.exec(stmt).all())
            session.expunge_all()
            return rows

    def count_jobs(self) -> dict[str, int]:
        """How many jobs there are in each status."""
        stmt = select(JobRow.status, func.count()).group_by(JobRow.status)
        with self.engine.connect() as conn:
            return {str(status): int(n) for status, n in conn.execute(stmt)}

    def interrupt_jobs(self, error_json: dict[str, str]) -> list[str]:
        """Mark every ``queued`` or ``running`` job ``interrupted`` (with ``error_json[status]``
        as its error); returns their ids. Called when the service starts: no job of a previous
        process is still running."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            rows = list(session.exec(select(JobRow).where(JobRow.status.in_(("queued", "running")))))  # type: ignore[attr-defined]
        for row in rows:
            self._write(
                update(JobRow)
                .where(JobRow.id == row.id, JobRow.status == row.status)  # type: ignore[arg-type]
                .values(status="interrupted", finished_at=now, error_json=error_json[row.status])
            )
        return [row.id for row in rows]

    def prune_jobs(self, keep: int) -> None:
        """Delete finished jobs beyond the newest ``keep``."""
        finished = ("succeeded", "failed", "interrupted")
        with self.engine.connect() as conn:
            cutoff = conn.execute(
                select(JobRow.id, JobRow.created_at)
                .where(JobRow.status.in_(finished))  # type: ignore[attr-defined]
                .order_by(JobRow.created_at.desc(), JobRow.id.desc())  # type: ignore[attr-defined]
                .offset(keep)
                .limit(1)
            ).first()
        if cutoff is None:
            return
        _id, created_at = cutoff
        self._write(
            delete(JobRow).where(
                JobRow.status.in_(finished),  # type: ignore[attr-defined]
                (JobRow.created_at < created_at) | ((JobRow.created_at == created_at) & (JobRow.id <= _id)),  # type: ignore[arg-type,operator]
            )
        )

    # -- idempotency keys ------------------------------------------------------------------------

    def claim_idempotency_key(self, row: IdempotencyRow) -> IdempotencyRow | None:
        """Record ``row`` (status ``in_progress``) unless its (scope, key) is taken; returns
        None when it was recorded, else the row already there. An expired row is replaced."""
        now = datetime.now(UTC)
        for _ in range(2):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(IdempotencyRow).values(**row.model_dump()))
                return None
            except IntegrityError:
                pass
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot write to {self._safe_url()}: {exc}") from exc
            with Session(self.engine) as session:
                existing = session.get(IdempotencyRow, (row.scope, row.key))
                if existing is not None:
                    session.expunge(existing)
            if existing is None:
                continue  # deleted meanwhile: try again
            if _aware(existing.expires_at) > now:
                return existing
            self._write(
                delete(IdempotencyRow).where(
                    IdempotencyRow.scope == row.scope,  # type: ignore[arg-type]
                    IdempotencyRow.key == row.key,  # type: ignore[arg-type]
                    IdempotencyRow.expires_at == existing.expires_at,  # type: ignore[arg-type]
                )
            )
        raise StoreError(f"idempotency key {row.key!r} is being claimed and released repeatedly")

    def complete_idempotency_key(self, scope: str, key: str, status: int, response_json: str) -> None:
        """Store the response given to the request that claimed (scope, key)."""
        self._write(
            update(IdempotencyRow)
            .where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)  # type: ignore[arg-type]
            .values(status="done", response_status=status, response_json=response_json)
        )

    def release_idempotency_key(self, scope: str, key: str) -> None:
        """Forget (scope, key): its request ended without a response worth replaying."""
        self._write(
            delete(IdempotencyRow).where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)  # type: ignore[arg-type]
        )

    def prune_idempotency_keys(self, *, in_progress: bool = False) -> None:
        """Delete expired keys (and with ``in_progress``, every key still in progress: at start-up
        no request of a previous process is)."""
        cond: Any = IdempotencyRow.expires_at <= datetime.now(UTC)  # type: ignore[operator]
        if in_progress:
            cond = cond | (IdempotencyRow.status == "in_progress")  # type: ignore[operator]
        self._write(delete(IdempotencyRow).where(cond))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
