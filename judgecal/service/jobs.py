"""Background validation jobs: one worker thread, a bounded queue, status kept in memory.

A validation grades a gold set's test split and runs the probes — seconds with a cached or
simulated judge, minutes with a real one — so ``POST /v1/validations`` queues it and answers at
once. One job runs at a time (validations share the provider's rate limit and the database; a
second worker would only make both slower); at most ``max_queued`` wait, beyond that the service
answers 429. Jobs live as long as the server process: the approval record a job stores is the
durable result, the job only tracks its progress. A job that fails keeps the error's message,
never its traceback (that goes to the server log).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from judgecal.errors import InputError, JudgecalError
from judgecal.service.errors import judgecal_error_status
from judgecal.service.models import JobError, JobProgress, JobResult, JobStatus, ValidationRequest

__all__ = ["Execute", "JobRunner", "QueueFull"]

log = logging.getLogger("judgecal.service")

Progress = Callable[[str, int, int], None]
Execute = Callable[[Progress], JobResult]
"""What a job runs: called with a progress callback, returns the decision (or raises)."""


class QueueFull(Exception):
    """``max_queued`` jobs are already waiting."""

    def __init__(self, queued: int, max_queued: int):
        super().__init__(f"{queued} validation(s) already waiting (the limit is {max_queued})")
        self.queued, self.max_queued = queued, max_queued


@dataclass
class _Job:
    id: str
    request: ValidationRequest
    execute: Execute | None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: Literal["queued", "running", "succeeded", "failed"] = "queued"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress | None = None
    result: JobResult | None = None
    error: JobError | None = None


class JobRunner:
    """Runs submitted jobs one at a time on a daemon thread (started on the first submission)."""

    def __init__(self, *, max_queued: int = 4, keep: int = 200):
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self.max_queued = max_queued
        self.keep = keep
        self._jobs: dict[str, _Job] = {}
        self._waiting: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, request: ValidationRequest, execute: Execute) -> JobStatus:
        """Queue a job; raises :class:`QueueFull` when ``max_queued`` are already waiting."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job runner is shut down")
            if len(self._waiting) >= self.max_queued:
                raise QueueFull(len(self._waiting), self.max_queued)
            job = _Job(id=uuid.uuid4().hex, request=request, execute=execute)
            self._jobs[job.id] = job
            self._waiting.append(job.id)
            self._forget_old()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="judgecal-validations", daemon=True)
                self._thread.start()
            status = self._status(job)
        self._queue.put(job.id)
        return status

    def get(self, job_id: str) -> JobStatus | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._status(job)

    def jobs(self) -> list[JobStatus]:
        """Every job kept, newest first."""
        with self._lock:
            return [
                self._status(j) for j in sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)
            ]

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; queued ones fail ("shut down"); wait up to ``timeout`` s for the
        running one (it cannot be interrupted: a longer one is left to the daemon thread)."""
        with self._lock:
            self._closed = True
            now = datetime.now(UTC)
            for job_id in self._waiting:
                job = self._jobs[job_id]
                job.status, job.finished_at, job.execute = "failed", now, None
                job.error = JobError(code="shut_down", message="the server shut down before the job started")
            self._waiting.clear()
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    # -- internals -------------------------------------------------------------------------------

    def _status(self, job: _Job) -> JobStatus:
        position = self._waiting.index(job.id) if job.id in self._waiting else None
        return JobStatus(
            job_id=job.id,
            status=job.status,
            request=job.request,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            queue_position=position,
            progress=job.progress,
            result=job.result,
            error=job.error,
        )

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("succeeded", "failed")]
        finished.sort(key=lambda j: j.created_at)
        for job in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[job.id]

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.execute is None or job.status != "queued":
                    continue
                self._waiting.remove(job_id)
                job.status, job.started_at = "running", datetime.now(UTC)
                execute = job.execute
            self._run(job, execute)

    def _run(self, job: _Job, execute: Execute) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            with self._lock:
                job.progress = JobProgress(stage=stage, done=done, total=total)

        result: JobResult | None = None
        error: JobError | None = None
        try:
            result = execute(progress)
        except JudgecalError as exc:
            _status, code = judgecal_error_status(exc)
            details = (
                {k: v for k, v in (("location", exc.location), ("field", exc.field)) if v}
                if isinstance(exc, InputError)
                else {}
            )
            error = JobError(code=code, message=str(exc), details=details)
            log.info("validation job %s failed: %s", job.id, exc)
        except Exception as exc:  # noqa: BLE001 - a job's failure is its status, the traceback is logged
            error = JobError(code="internal_error", message=f"{type(exc).__name__}: {exc}")
            log.error("validation job %s failed", job.id, exc_info=exc)
        with self._lock:
            job.finished_at = datetime.now(UTC)
            job.status = "succeeded" if error is None else "failed"
            job.result, job.error, job.execute = result, error, None
            self._forget_old()
