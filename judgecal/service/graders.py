"""The service's graders: one per approval record in use, reused across requests, closed when
their record stops being the one in use and on shutdown.

Every request looks the approval up again (:func:`judgecal.approval.find_approval`, which
applies the rule of ``docs/approval.md``, "Which decision is in force"): a record revoked,
expired, superseded by a newer record of the same judge, rubric, gold set and policy, or made
stale by an edited rubric, gold set or policy, stops being served on the very next request — the
cache never answers for an approval that no longer applies, and no older approval of the same key
is served instead. The grader itself checks again before grading
(:meth:`judgecal.approval.Grader.check_in_force`), so a revoke that commits between the lookup
and the grading refuses too. What is cached is
the grader (its provider client; for ``sim/...`` judges, the simulated judge it started).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from judgecal.approval import Certificate, Grader
from judgecal.judge import Limits
from judgecal.rubric import Rubric

__all__ = ["GraderPool"]


@dataclass
class _Entry:
    grader: Grader
    users: int = 0
    retired: bool = False


class GraderPool:
    """Graders keyed by approval record; ``(rubric, judge, allow_provisional)`` routes say which
    record each request shape uses now, so a record no longer routed to is closed once its last
    request finishes."""

    def __init__(
        self,
        store: Any,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        limits: Limits | None = None,
    ):
        self.store = store
        self.api_base, self.api_key, self.limits = api_base, api_key, limits
        self._entries: dict[str, _Entry] = {}
        self._routes: dict[tuple[str, str | None, bool], str] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _new(self, rubric: Rubric, cert: Certificate) -> Grader:
        return Grader.from_certificate(
            rubric, cert, store=self.store, api_base=self.api_base, api_key=self.api_key, limits=self.limits
        )

    def acquire(self, route: tuple[str, str | None, bool], rubric: Rubric, cert: Certificate) -> Grader:
        """The grader for ``cert`` (made on first use); pair with :meth:`release`. Blocking (it
        may load the gold set): call it from a worker thread."""
        to_close: list[Grader] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the grader pool is closed")
            entry = self._entries.get(cert.id)
            if entry is None:
                entry = self._entries[cert.id] = _Entry(self._new(rubric, cert))
            entry.users += 1
            previous = self._routes.get(route)
            self._routes[route] = cert.id
            if previous is not None and previous != cert.id and previous not in self._routes.values():
                to_close += self._retire(previous)
        for grader in to_close:
            grader.close()
        return entry.grader

    def release(self, grader: Grader) -> None:
        """A request is done with ``grader`` (closes it if it was retired meanwhile)."""
        cert_id = grader.certificate_id or ""
        close = False
        with self._lock:
            entry = self._entries.get(cert_id)
            if entry is not None and entry.grader is grader:
                entry.users -= 1
                if entry.retired and entry.users == 0:
                    del self._entries[cert_id]
                    close = True
        if close:
            grader.close()

    def _retire(self, cert_id: str) -> list[Grader]:
        entry = self._entries.get(cert_id)
        if entry is None:
            return []
        entry.retired = True
        if entry.users == 0:
            del self._entries[cert_id]
            return [entry.grader]
        return []

    def open_graders(self) -> dict[str, str]:
        """Approval record id -> model of every grader open now."""
        with self._lock:
            return {cid: e.grader.judge.model for cid, e in self._entries.items()}

    def close(self) -> None:
        """Close every grader (shutdown)."""
        with self._lock:
            self._closed = True
            graders = [e.grader for e in self._entries.values()]
            self._entries.clear()
            self._routes.clear()
        for grader in graders:
            grader.close()
