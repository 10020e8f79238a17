"""Background validation jobs: one worker thread, a bounded queue, every job stored in the database.

A validation grades a gold set's test split and runs the probes — seconds with a cached or
simulated judge, minutes with a real one — so ``POST /v1/validations`` queues it and answers at
once. One job runs at a time (validations share the provider's rate limit and the database; a
second worker would only make both slower); at most ``max_queued`` wait, beyond that the service
answers 429.

Each job is a row of the ``jobs`` table (request, status, progress, result or error), so
``GET /v1/validations`` answers the same after a restart. What cannot be stored is the work
itself: a job that a previous process left ``queued`` or ``running`` is marked ``interrupted``
when the runner first touches the database (error code ``interrupted``: submit it again — its
verdicts are in the store, so a resubmitted validation re-grades nothing it already graded). It
is not re-queued on its own: a restart must not start spending on a provider unasked. A job that
fails keeps the error's message, never its traceback (that goes to the server log).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from judgecal.errors import InputError, JudgecalError
from judgecal.service.errors import judgecal_error_status
from judgecal.service.models import JobError, JobProgress, JobResult, JobStatus, ValidationRequest

__all__ = ["INTERRUPTED", "Execute", "JobRunner", "QueueFull"]

log = logging.getLogger("judgecal.service")

Progress = Callable[[str, int, int], None]
Execute = Callable[[Progress], JobResult]
"""What a job runs: called with a progress callback, returns the decision (or raises)."""

INTERRUPTED = {
    "running": JobError(
        code="interrupted", message="the server stopped while the job was running; submit it again"
    ),
    "queued": JobError(
        code="interrupted", message="the server stopped before the job started; submit it again"
    ),
}
"""The error of a job a previous server process left unfinished, by the status it was left in."""

PROGRESS_EVERY = 1.0
"""Seconds between progress writes to the database (the process itself always has the latest)."""


class QueueFull(Exception):
    """``max_queued`` jobs are already waiting."""

    def __init__(self, queued: int, max_queued: int):
        super().__init__(f"{queued} validation(s) already waiting (the limit is {max_queued})")
        self.queued, self.max_queued = queued, max_queued


@dataclass
class _Active:
    """A job of this process that has not finished: its work and its latest progress."""

    execute: Execute
    progress: JobProgress | None = None
    written: float = 0.0


class JobRunner:
    """Runs submitted jobs one at a time on a daemon thread (started on the first submission).

    ``store``: a callable returning the :class:`judgecal.store.Store` the jobs live in (called on
    first use, so the database is opened lazily). ``keep``: finished jobs kept (older ones are
    deleted; their approval records stay)."""

    def __init__(self, store: Callable[[], Any], *, max_queued: int = 4, keep: int = 1000):
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._store = store
        self.max_queued = max_queued
        self.keep = keep
        self._active: dict[str, _Active] = {}
        self._waiting: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._recovered = False

    def recover(self) -> list[str]:
        """Mark the jobs a previous process left ``queued`` or ``running`` as ``interrupted``
        (once per runner; every other method calls it first). Returns their ids."""
        with self._lock:
            return self._recover()

    def _recover(self) -> list[str]:
        if self._recovered:
            return []
        errors = {status: e.model_dump_json() for status, e in INTERRUPTED.items()}
        ids: list[str] = self._store().interrupt_jobs(errors)
        self._recovered = True
        if ids:
            log.warning("%d validation job(s) of a previous server process marked interrupted", len(ids))
        return ids

    @property
    def queue_depth(self) -> int:
        """Jobs waiting (not counting the running one)."""
        with self._lock:
            return len(self._waiting)

    def submit(self, request: ValidationRequest, execute: Execute) -> JobStatus:
        """Queue a job; raises :class:`QueueFull` when ``max_queued`` are already waiting."""
        from judgecal.store import JobRow  # noqa: PLC0415

        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is shut down")
            self._recover()
            if len(self._waiting) >= self.max_queued:
                raise QueueFull(len(self._waiting), self.max_queued)
            row = JobRow(id=uuid.uuid4().hex, request_json=request.model_dump_json(), status="queued")
            self._store().create_job(row)
            self._active[row.id] = _Active(execute=execute)
            self._waiting.append(row.id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="judgecal-validations", daemon=True)
                self._thread.start()
            status = self._status(row)
        self._queue.put(row.id)
        return status

    def get(self, job_id: str) -> JobStatus | None:
        """A job by id (None when there is none)."""
        with self._lock:
            self._recover()
            row = self._store().get_job(job_id)
            return None if row is None else self._status(row)

    def jobs(self, *, limit: int = 1000, offset: int = 0, status: str | None = None) -> list[JobStatus]:
        """Stored jobs, newest first."""
        with self._lock:
            self._recover()
            return [
                self._status(r) for r in self._store().list_jobs(limit=limit, offset=offset, status=status)
            ]

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; queued ones end ``interrupted`` (code ``shut_down``); wait up to
        ``timeout`` s for the running one (it cannot be interrupted: a longer one is left to the
        daemon thread, and the next start marks it ``interrupted`` if it is still unfinished)."""
        error = JobError(
            code="shut_down", message="the server shut down before the job started; submit it again"
        )
        with self._lock:
            self._closed = True
            now = datetime.now(UTC)
            for job_id in self._waiting:
                self._active.pop(job_id, None)
                try:
                    self._store().update_job(
                        job_id, status="interrupted", finished_at=now, error_json=error.model_dump_json()
                    )
                except JudgecalError as exc:
                    log.error("validation job %s: cannot record the shutdown: %s", job_id, exc)
            self._waiting.clear()
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    # -- internals -------------------------------------------------------------------------------

    def _status(self, row: Any) -> JobStatus:
        active = self._active.get(row.id)
        position = self._waiting.index(row.id) if row.id in self._waiting else None
        progress = active.progress if active is not None and active.progress is not None else None
        if progress is None and row.progress_json:
            progress = JobProgress.model_validate_json(row.progress_json)
        return JobStatus(
            job_id=row.id,
            status=row.status,
            request=ValidationRequest.model_validate_json(row.request_json),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            queue_position=position,
            progress=progress,
            result=JobResult.model_validate_json(row.result_json) if row.result_json else None,
            error=JobError.model_validate_json(row.error_json) if row.error_json else None,
        )

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                active = self._active.get(job_id)
                if active is None or job_id not in self._waiting:
                    continue
                self._waiting.remove(job_id)
                try:
                    self._store().update_job(job_id, status="running", started_at=datetime.now(UTC))
                except JudgecalError as exc:
                    log.error("validation job %s: cannot record its start: %s", job_id, exc)
            self._run(job_id, active)

    def _run(self, job_id: str, active: _Active) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            report = JobProgress(stage=stage, done=done, total=total)
            with self._lock:
                active.progress = report
                if time.monotonic() - active.written < PROGRESS_EVERY:
                    return
                active.written = time.monotonic()
            try:
                self._store().update_job(job_id, progress_json=report.model_dump_json())
            except JudgecalError as exc:
                log.warning("validation job %s: cannot record progress: %s", job_id, exc)

        result: JobResult | None = None
        error: JobError | None = None
        try:
            result = active.execute(progress)
        except JudgecalError as exc:
            _status, code = judgecal_error_status(exc)
            details: dict[str, Any] = (
                {k: v for k, v in (("location", exc.location), ("field", exc.field)) if v}
                if isinstance(exc, InputError)
                else {}
            )
            error = JobError(code=code, message=str(exc), details=details)
            log.info("validation job %s failed: %s", job_id, exc)
        except Exception as exc:  # noqa: BLE001 - a job's failure is its status, the traceback is logged
            error = JobError(code="internal_error", message=f"{type(exc).__name__}: {exc}")
            log.error("validation job %s failed", job_id, exc_info=exc)
        with self._lock:
            values: dict[str, Any] = {
                "status": "succeeded" if error is None else "failed",
                "finished_at": datetime.now(UTC),
                "result_json": None if result is None else result.model_dump_json(),
                "error_json": None if error is None else error.model_dump_json(),
            }
            if active.progress is not None:
                values["progress_json"] = active.progress.model_dump_json()
            try:
                store = self._store()
                store.update_job(job_id, **values)
                store.prune_jobs(self.keep)
            except JudgecalError as exc:
                log.error("validation job %s: cannot record its end: %s", job_id, exc)
            self._active.pop(job_id, None)
