"""What the service tells its operators: a request id on every response and log line, an access
log, and Prometheus metrics (``GET /metrics``).

**Request ids.** Every response carries ``X-Request-ID``: the client's own, when it sent a sane
one (1–128 characters of ``[A-Za-z0-9._:@/+=-]``), else a fresh 32-hex id. The same id is in the
JSON error body (``error.request_id``), in the access log line of the request and in every log
line written while the request is answered (:class:`RequestIdFilter`).

**Metrics** (Prometheus text format, one registry per app)::

    judgecal_http_requests_total{method, route, status}   requests answered (route: the path
                                                            template, "unmatched" for unknown paths)
    judgecal_http_request_duration_seconds{method, route}  latency histogram
    judgecal_grades_total{outcome}                         items through POST /v1/grade: ok,
                                                            invalid, error, refused (no approval)
    judgecal_jobs{status}                                  validation jobs stored, by status
    judgecal_jobs_queue_depth                              validations waiting to run
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from judgecal.service.errors import REQUEST_ID

__all__ = ["CONTENT_TYPE", "Metrics", "RequestContextMiddleware", "RequestIdFilter", "request_id_for"]

access_log = logging.getLogger("judgecal.service.access")
log = logging.getLogger("judgecal.service")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format."""

_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
GRADE_OUTCOMES = ("ok", "invalid", "error", "refused")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def request_id_for(supplied: str | None) -> str:
    """The client's id when it is sane, else a new one."""
    if supplied is not None and _SANE_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``-`` outside a request) to every record, for log formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class _JobsCollector(Collector):
    def __init__(self, jobs: Callable[[], tuple[dict[str, int], int]]):
        self._jobs = jobs

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("judgecal_jobs", "Validation jobs stored, by status", labels=["status"])
        yield GaugeMetricFamily("judgecal_jobs_queue_depth", "Validations waiting to run")

    def collect(self) -> Iterator[Metric]:
        try:
            counts, depth = self._jobs()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the database is down
            log.warning("metrics: cannot count the validation jobs: %s", exc)
            return
        by_status = GaugeMetricFamily("judgecal_jobs", "Validation jobs stored, by status", labels=["status"])
        for status in ("queued", "running", "succeeded", "failed", "interrupted"):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily("judgecal_jobs_queue_depth", "Validations waiting to run", value=depth)


class Metrics:
    """The app's Prometheus metrics (a registry of its own: several apps in one process do not mix)."""

    def __init__(self, jobs: Callable[[], tuple[dict[str, int], int]]):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "judgecal_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "judgecal_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.grades = Counter(
            "judgecal_grades",
            "Items through POST /v1/grade by outcome (refused: no approval in force)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in GRADE_OUTCOMES:
            self.grades.labels(outcome=outcome)
        self.registry.register(_JobsCollector(jobs))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestContextMiddleware:
    """The outermost layer: sets the request id, adds ``X-Request-ID`` to the response, writes
    the access log line and records the request's metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(Headers(scope=scope).get("x-request-id"))
        token = REQUEST_ID.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:
                    headers.append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "?")
            if self.metrics is not None:
                self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
                self.metrics.latency.labels(method=method, route=route).observe(elapsed)
            client: Any = scope.get("client")
            access_log.info(
                '%s "%s %s" %d %.1f ms request_id=%s',
                f"{client[0]}:{client[1]}" if client else "-",
                method,
                scope.get("path", ""),
                status,
                elapsed * 1000,
                rid,
            )
            REQUEST_ID.reset(token)
