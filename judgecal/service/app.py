"""The HTTP service (``judgecal serve``): approved judges over HTTP, approval records, and
validations as background jobs. A thin layer over the Python API — every answer comes from
:func:`judgecal.approval.find_approval`, :class:`judgecal.approval.Grader`,
:func:`judgecal.approval.validate` and the store.

::

    GET  /v1/health                    no auth: version, database answers
    GET  /v1/judges[?limit=&offset=]   rubrics and the judges approved for them now
    GET  /v1/approvals[?rubric=&judge=&limit=&offset=]   approval records with their status
    GET  /v1/approvals/{id}            one record in full (id or a unique prefix)
    POST /v1/grade                     {"rubric", "inputs" | "items", "judge"?, "allow_provisional"?}
                                       -> verdict(s)
    POST /v1/validations               {"rubric", "judge", "gold"?, "policy"?, "probes"?} -> 202 job
    GET  /v1/validations[?status=&limit=&offset=]   stored jobs, newest first
    GET  /v1/validations/{job_id}      job status, progress, decision or error
    GET  /metrics                      Prometheus text format (not in the OpenAPI spec)

Everything but ``/v1/health``, ``/openapi.json`` and ``/docs`` (and ``/metrics`` when it is made
public) needs ``Authorization: Bearer <token>``. Every error has one shape
(:mod:`judgecal.service.errors`); every POST takes an ``Idempotency-Key``
(:mod:`judgecal.service.idempotency`); every response has an ``X-Request-ID``
(:mod:`judgecal.service.observe`). Lists page with ``limit`` and ``offset`` and give the next page
in ``next``. See ``docs/service.md``.
"""

import ast
import hmac
import inspect
import logging
import textwrap
import threading
import types
import typing
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from judgecal import __version__, _aio
from judgecal.approval import Certificate, Grader, current_hashes, find_approval
from judgecal.errors import ConfigError, JudgecalError, NotApprovedError, NotFoundError
from judgecal.judge import JudgeConfig, Limits, Sampling
from judgecal.rubric import Rubric
from judgecal.service.errors import (
    JSON,
    ApiError,
    BodyLimitMiddleware,
    ErrorResponse,
    error_response,
    install_error_handlers,
)
from judgecal.service.graders import GraderPool
from judgecal.service.idempotency import DEFAULT_IDEMPOTENCY_TTL, KEY_PATTERN, Idempotency, caller_scope
from judgecal.service.jobs import Execute, JobRunner, Progress, QueueFull
from judgecal.service.models import (
    ApprovalDetail,
    ApprovalsResponse,
    ApprovalSummary,
    BatchGradeResponse,
    GradeRequest,
    GradeResponse,
    HealthResponse,
    JobResult,
    JobsResponse,
    JobStatus,
    JudgeEntry,
    JudgesResponse,
    ModelString,
    Name,
    ValidationAccepted,
    ValidationRequest,
)
from judgecal.service.observe import CONTENT_TYPE, Metrics, RequestContextMiddleware

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BATCH_ITEMS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_QUEUED_JOBS",
    "create_app",
]

log = logging.getLogger("judgecal.service")

DEFAULT_MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB)."""
DEFAULT_MAX_BATCH_ITEMS = 100
"""Most items in one ``POST /v1/grade`` batch."""
DEFAULT_MAX_QUEUED_JOBS = 4
"""Most validations waiting behind the running one."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive (408 after)."""
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="Makes the POST safe to retry: the same key with the same request replays the first "
        "answer (`Idempotent-Replayed: true`); with a different request it is 409 `idempotency_key_reused`. "
        "1-255 visible ASCII characters (a UUID); kept 24 h by default.",
    ),
]
JobState = Literal["queued", "running", "succeeded", "failed", "interrupted"]
MetricsAccess = Literal["token", "public", "off"]
"""``GET /metrics``: behind the bearer token (default), open to anyone who reaches the port, or
not served."""


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    what = {
        400: "Invalid JSON, or invalid input (file, line and field in `details`).",
        401: "Missing or wrong bearer token.",
        404: "No such rubric, gold set, policy, probe, record or job.",
        408: "`request_timeout`: the request body did not arrive in time.",
        409: "`not_approved`: the rubric (and judge) has no valid approval — none, provisional (send "
        "`allow_provisional: true` to grade with it), stale, revoked or not approved; `details.status` says "
        "which. `idempotency_key_reused`: the Idempotency-Key came with a different request before; "
        "`idempotency_key_in_use`: its first request is still being answered.",
        413: "Request body above the server's limit.",
        422: "The request does not validate (`details.errors` lists every field), or too many items.",
        429: "`queue_full`: too many validations waiting.",
        500: "A bug; the server log has the details under `details.error_id`.",
        502: "The judge's provider could not be used.",
        503: "The database does not answer.",
    }
    return {s: {"model": ErrorResponse, "description": what[s]} for s in statuses}


class _Service:
    """What the routes share: configuration, the store (opened on first use), graders, jobs."""

    def __init__(
        self,
        *,
        store: Any,
        max_batch_items: int,
        max_queued_jobs: int,
        policy_dir: Path | None,
        api_base: str | None,
        api_key: str | None,
        limits: Limits | None,
        sampling: Sampling | None,
        validation_resamples: int,
        idempotency_ttl: float,
    ):
        self._store = store
        self._own_store = store is None
        self._pool: GraderPool | None = None
        self._lock = threading.Lock()
        self.max_batch_items = max_batch_items
        self.policy_dir = policy_dir
        self.api_base, self.api_key = api_base, api_key
        self.limits, self.sampling = limits, sampling or Sampling()
        self.validation_resamples = validation_resamples
        self.max_queued_jobs = max_queued_jobs
        self.jobs = JobRunner(self.store, max_queued=max_queued_jobs)
        self.idempotency = Idempotency(self.store, ttl=idempotency_ttl)
        self.metrics = Metrics(lambda: (self.store().count_jobs(), self.jobs.queue_depth))

    def startup(self) -> None:
        """Mark the jobs a previous process left unfinished ``interrupted``; drop its keys in
        progress. A database that does not answer is logged (health says so), not fatal."""
        try:
            self.jobs.recover()
            self.idempotency.startup()
        except Exception as exc:  # noqa: BLE001 - the service starts; /v1/health reports the database
            log.warning("start-up: cannot recover the validation jobs: %s", exc)

    def store(self) -> Any:
        with self._lock:
            if self._store is None:
                from judgecal.store import Store  # noqa: PLC0415

                self._store = Store()
            return self._store

    def pool(self) -> GraderPool:
        store = self.store()
        with self._lock:
            if self._pool is None:
                self._pool = GraderPool(
                    store, api_base=self.api_base, api_key=self.api_key, limits=self.limits
                )
            return self._pool

    def close(self) -> None:
        """Shutdown: jobs, graders, and the store if the service opened it. The app can start
        again afterwards (a fresh job runner; the jobs are in the database)."""
        jobs, self.jobs = self.jobs, JobRunner(self.store, max_queued=self.max_queued_jobs)
        jobs.close()
        with self._lock:
            pool, self._pool = self._pool, None
            store = self._store if self._own_store else None
            if self._own_store:
                self._store = None
        if pool is not None:
            pool.close()
        if store is not None:
            store.close()


# -- lookups by name (never by path: a client cannot make the server read a file it names) --------


def _rubric(name: str) -> Rubric:
    from judgecal.rubric import load_rubric, rubric_path  # noqa: PLC0415

    return load_rubric(rubric_path(name))


def _policy_path(name: str, folder: Path | None) -> Path:
    if folder is None:
        raise NotFoundError(
            f"no policy named {name!r}: this server has no policy folder (`judgecal serve --policies DIR`); "
            "leave `policy` out for the bundled default"
        )
    known = {p.stem: p for p in sorted(folder.glob("*.y*ml")) if p.suffix in (".yaml", ".yml")}
    if name not in known:
        raise NotFoundError(
            f"no policy named {name!r} in {folder}; policies: {', '.join(sorted(known)) or '(none)'}"
        )
    return known[name]


def _status(cert: Certificate, rubric: Rubric | None) -> tuple[str, str]:
    """A record's status as grading sees it: the rubric is the one its name loads now."""
    if rubric is not None or cert.revoked_at is not None or not cert.approved:
        return cert.status(rubric=rubric)
    # the rubric no longer loads by its name: nothing could be graded with it
    current = current_hashes(cert)
    current.pop("rubric", None)
    current.pop("template", None)
    return cert.status(current)


def _next_page(request: Request, offset: int, limit: int, more: bool) -> str | None:
    """The path of the next page (same query, ``offset`` moved on), or None on the last page."""
    if not more:
        return None
    query = {**request.query_params, "offset": str(offset + limit), "limit": str(limit)}
    return f"{request.url.path}?{urlencode(query)}"


class _JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, whose refused preflight (a plain-text 400) gets the service's
    JSON error shape like every other 4xx."""

    def preflight_response(self, request_headers: Any) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        refused = bytes(answer.body).decode("utf-8", "replace")  # e.g. "Disallowed CORS origin"
        headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("access-control-")}
        return error_response(
            answer.status_code,
            "cors_refused",
            f"CORS preflight refused: {refused} (allowed origins: {', '.join(self.allow_origins)})",
            {"origin": request_headers.get("origin")},
            headers=headers,
        )


def _cors_origins(origins: Sequence[str]) -> list[str]:
    out = []
    for origin in origins:
        origin = origin.strip().rstrip("/")
        parts = urlsplit(origin)
        if origin != "*" and (
            parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query
        ):
            raise ConfigError(
                f"CORS origin {origin!r} is not an origin: give scheme://host[:port] (e.g. "
                "https://app.example.com), or * for any",
                field="--cors-origin",
            )
        out.append(origin)
    return out


def _summary(cert: Certificate, status: tuple[str, str]) -> ApprovalSummary:
    return ApprovalSummary(
        id=cert.id,
        created_at=cert.created_at,
        rubric=cert.rubric,
        gold=cert.gold,
        model=cert.model,
        model_version=cert.model_version,
        tier=cert.decision.tier,
        status=status[0],  # type: ignore[arg-type]
        status_reason=status[1],
        expires_at=getattr(cert, "expires_at", None),
    )


def _not_approved(rubric: Rubric, judge: str | None, looked: list[tuple[Certificate, str, str]]) -> ApiError:
    who = f"rubric {rubric.name!r}" + (f" and judge {judge!r}" if judge else "")
    details: dict[str, Any] = {"rubric": rubric.name, "judge": judge}
    if not looked:
        details["status"] = "none"
        return ApiError(
            409,
            "not_approved",
            f"no approval record for {who}: validate a judge first (POST /v1/validations, or "
            f"`judgecal validate {rubric.name} --judge MODEL`)",
            details=details,
        )
    newest, status, why = looked[0]
    details.update(
        status=status,
        certificate_id=newest.id,
        model=newest.model,
        tier=newest.decision.tier,
        reason=why,
        records=[
            {"id": c.id, "model": c.model, "tier": c.decision.tier, "status": s, "reason": w}
            for c, s, w in looked[:10]
        ],
    )
    if status == "stale":
        details["changed"] = newest.changed(current_hashes(newest, rubric))
    older = f" ({len(looked) - 1} older record(s) not valid either)" if len(looked) > 1 else ""
    opt_in = ""
    if any(s == "provisional" for _, s, _ in looked):
        details["allow_provisional"] = False
        opt_in = (
            '; to grade with a provisional record, send "allow_provisional": true (every verdict then says '
            'approval_tier "provisional")'
        )
    return ApiError(
        409,
        "not_approved",
        f"no valid approval for {who}: the newest record {newest.id[:12]} ({newest.model}, "
        f"{newest.created_at:%Y-%m-%d %H:%M} UTC) is {status.replace('_', ' ')}: {why}{older}{opt_in}",
        details=details,
    )


# -- OpenAPI: descriptions for library models that document their fields with docstrings ---------


def _attribute_docs(cls: type) -> dict[str, str]:
    """Field docstrings (the string under each annotated attribute) of ``cls`` and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, BaseModel) or not issubclass(klass, BaseModel):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _models_in(annotation: Any, seen: dict[str, type]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ in seen:
            return
        seen[annotation.__name__] = annotation
        for f in annotation.model_fields.values():
            _models_in(f.annotation, seen)
        return
    for arg in typing.get_args(annotation):
        _models_in(arg, seen)
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            _models_in(arg, seen)


def _describe(schema: dict[str, Any], roots: list[type]) -> None:
    models: dict[str, type] = {}
    for root in roots:
        _models_in(root, models)
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        cls = models.get(name.removesuffix("-Output").removesuffix("-Input"))
        if cls is None:
            continue
        docs = _attribute_docs(cls)
        for prop, spec in component.get("properties", {}).items():
            if "description" not in spec and prop in docs:
                spec["description"] = docs[prop]


# -- the app ---------------------------------------------------------------------------------------


def create_app(
    *,
    token: str | None,
    store: Any = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS,
    max_queued_jobs: int = DEFAULT_MAX_QUEUED_JOBS,
    policy_dir: str | Path | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    limits: Limits | None = None,
    sampling: Sampling | None = None,
    validation_resamples: int = 2000,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    cors_origins: Sequence[str] = (),
    metrics: MetricsAccess = "token",
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL,
) -> FastAPI:
    """The service as an ASGI app (run it with uvicorn, or ``judgecal serve``).

    ``token``: the bearer token every endpoint but health requires; ``None`` turns
    authentication off (``judgecal serve --no-auth``) — it must be passed explicitly.
    ``store``: the verdict store (default: ``Store()``, opened on first use and closed on
    shutdown). ``policy_dir``: a folder of policy YAML files that validation requests may name.
    ``api_base``/``api_key``/``limits``: how graders and validations reach the judge;
    ``sampling``: the sampling settings of judges validated through the service.
    ``body_timeout``: seconds a request body may take to arrive (408 after; None: no limit — the
    header timeout is the server's, :func:`judgecal.service.server.run`). ``cors_origins``: the
    browser origins allowed to call the API (none by default: CORS off). ``metrics``: who may
    read ``GET /metrics``. ``idempotency_ttl``: seconds an ``Idempotency-Key`` is remembered.
    """
    if token is not None and not token.strip():
        raise ConfigError("the bearer token is empty: pass a real token, or token=None for no authentication")
    if max_batch_items < 1:
        raise ConfigError(f"max_batch_items must be at least 1, got {max_batch_items}")
    service = _Service(
        store=store,
        max_batch_items=max_batch_items,
        max_queued_jobs=max_queued_jobs,
        policy_dir=Path(policy_dir) if policy_dir is not None else None,
        api_base=api_base,
        api_key=api_key,
        limits=limits,
        sampling=sampling,
        validation_resamples=validation_resamples,
        idempotency_ttl=idempotency_ttl,
    )
    origins = _cors_origins(cors_origins)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.startup)
        yield
        await run_in_threadpool(service.close)
        await _aio.close_loop_clients()  # the provider clients the graders opened on this loop

    app = FastAPI(
        title="judgecal",
        version=__version__,
        summary="Approved LLM judges over HTTP: grade, approval records, validations.",
        description=(
            "Grade with a judge only while it holds a valid approval; list judges and approval "
            "records; validate a judge as a background job. Every endpoint but `/v1/health` needs "
            '`Authorization: Bearer <token>`. Every error is `{"error": {"code", "message", '
            '"details"}}`. Reference: docs/service.md.'
        ),
        lifespan=lifespan,
        default_response_class=JSON,
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    if origins:
        app.add_middleware(
            _JSONCORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location", "Idempotent-Replayed", "Retry-After"],
            max_age=600,
        )
    # outermost, around Starlette's own error layer: every response (500s included) has an id
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: RequestContextMiddleware(  # type: ignore[method-assign]
        build_stack(), None if metrics == "off" else service.metrics
    )

    bearer = HTTPBearer(
        auto_error=False,
        scheme_name="bearer",
        description="The server's token (`judgecal serve --token`, or JUDGECAL_SERVE_TOKEN).",
    )
    expected = token.encode("utf-8") if token is not None else None

    async def authenticate(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None:
            raise ApiError(
                401,
                "unauthorized",
                "missing bearer token: send `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": 'Bearer realm="judgecal"'},
            )
        assert expected is not None
        if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
            raise ApiError(
                401,
                "unauthorized",
                "the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer realm="judgecal", error="invalid_token"'},
            )

    public = APIRouter(prefix="/v1", tags=["service"])
    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Depends(authenticate)] if expected is not None else [],
        responses=_errors(401) if expected is not None else {},
    )

    @public.get(
        "/health",
        response_model=HealthResponse,
        summary="Liveness: version, and whether the database answers",
        responses=_errors(503),
    )
    async def health() -> HealthResponse:
        """No authentication. 200 when the database answers a query, 503 ``unavailable`` when not."""

        def check() -> None:
            from sqlalchemy import text  # noqa: PLC0415

            with service.store().engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(check)
        except Exception as exc:  # noqa: BLE001 - health reports, it does not crash
            log.warning("health check: the database does not answer: %s", exc)
            raise ApiError(
                503,
                "unavailable",
                "the database does not answer",
                details={"database": f"{type(exc).__name__}: {exc}"[:500]},
            ) from None
        return HealthResponse(version=__version__)

    @v1.get(
        "/judges",
        response_model=JudgesResponse,
        tags=["judges"],
        summary="Rubrics and the judges approved for them now",
        responses=_errors(422, 500, 503),
    )
    async def judges(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500, description="Rubrics per page (by name).")] = 100,
        offset: Annotated[int, Query(ge=0, description="Rubrics to skip.")] = 0,
    ) -> JudgesResponse:
        """Every rubric on the server's search path with its approved judges: the approval
        ``POST /v1/grade`` uses when no judge is named (``default``) and the newest valid approval
        of each approved model. Status is computed now, exactly as grading would. Sorted by
        rubric name; ``next`` is the next page."""
        entries, more = await run_in_threadpool(_judges, limit, offset)
        return JudgesResponse(judges=entries, next=_next_page(request, offset, limit, more))

    def _judges(limit: int, offset: int) -> tuple[list[JudgeEntry], bool]:
        from judgecal.rubric import list_rubrics, load_rubric  # noqa: PLC0415

        store = service.store()
        entries = []
        found = sorted(list_rubrics().items())
        for name, path in found[offset : offset + limit]:
            try:
                rubric = load_rubric(path)
            except JudgecalError as exc:
                entries.append(
                    JudgeEntry(
                        rubric=name,
                        scale=None,
                        inputs=[],
                        default=None,
                        approvals=[],
                        reason=f"does not load: {exc}",
                    )
                )
                continue
            default, looked = find_approval(rubric, store=store)
            approvals = []
            models = dict.fromkeys(
                c.model
                for c in store.list_certificates(rubric=name, limit=500)
                if c.approved and c.revoked_at is None
            )
            for model in models:
                cert = default if default is not None and default.model == model else None
                if cert is None:
                    cert, _ = find_approval(rubric, judge=model, store=store)
                if cert is not None:
                    approvals.append(_summary(cert, _status(cert, rubric)))
            reason = None
            if default is None:
                reason = _not_approved(rubric, None, looked).message
            entries.append(
                JudgeEntry(
                    rubric=name,
                    scale=rubric.scale.kind,
                    inputs=list(rubric.inputs),
                    default=None if default is None else _summary(default, _status(default, rubric)),
                    approvals=approvals,
                    reason=reason,
                )
            )
        return entries, len(found) > offset + limit

    @v1.get(
        "/approvals",
        response_model=ApprovalsResponse,
        tags=["approvals"],
        summary="Approval records, newest first, with whether each applies now",
        responses=_errors(422, 500, 503),
    )
    async def approvals(
        request: Request,
        rubric: Annotated[Name | None, Query(description="Only this rubric's records.")] = None,
        judge: Annotated[ModelString | None, Query(description="Only this model string's records.")] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="Records per page.")] = 50,
        offset: Annotated[int, Query(ge=0, description="Records to skip (newest first).")] = 0,
    ) -> ApprovalsResponse:
        """Records of every tier (a rejection is evidence too), newest first; ``next`` is the next
        page. ``status`` is computed against the files as they are now, with the rubric that the
        record's rubric name loads."""

        def run() -> ApprovalsResponse:
            rubrics: dict[str, Rubric | None] = {}
            out = []
            certs = service.store().list_certificates(
                rubric=rubric, model=judge, limit=limit + 1, offset=offset
            )
            for cert in certs[:limit]:
                if cert.rubric not in rubrics:
                    try:
                        rubrics[cert.rubric] = _rubric(cert.rubric)
                    except JudgecalError:
                        rubrics[cert.rubric] = None
                out.append(_summary(cert, _status(cert, rubrics[cert.rubric])))
            return ApprovalsResponse(
                approvals=out, next=_next_page(request, offset, limit, len(certs) > limit)
            )

        return await run_in_threadpool(run)

    @v1.get(
        "/approvals/{approval_id}",
        response_model=ApprovalDetail,
        tags=["approvals"],
        summary="One approval record in full",
        responses=_errors(404, 422, 500, 503),
    )
    async def approval(
        approval_id: Annotated[
            str, PathParam(pattern=r"^[0-9a-fA-F]{4,32}$", description="Record id or a unique prefix (≥ 4).")
        ],
    ) -> ApprovalDetail:
        """The whole record: judge configuration, hashes, decision with every gate's figures, the
        calibration and probe reports, cost and latency — and whether it applies now."""

        def run() -> ApprovalDetail:
            cert = service.store().get_certificate(approval_id.lower())
            try:
                rubric: Rubric | None = _rubric(cert.rubric)
            except JudgecalError:
                rubric = None
            status, why = _status(cert, rubric)
            return ApprovalDetail(status=status, status_reason=why, certificate=cert)  # type: ignore[arg-type]

        return await run_in_threadpool(run)

    @v1.post(
        "/grade",
        response_model=GradeResponse | BatchGradeResponse,
        tags=["grade"],
        summary="Grade with the rubric's approved judge",
        responses=_errors(400, 404, 408, 409, 413, 422, 500, 502, 503),
    )
    async def grade(
        body: GradeRequest, request: Request, idempotency_key: IdempotencyKey = None
    ) -> GradeResponse | BatchGradeResponse:
        """Grades ``inputs`` (one item) or ``items`` (a batch, one run) with the judge of the
        rubric's newest valid approval (or ``judge``'s). Refused with 409 ``not_approved`` when
        there is none: no record, or the newest is stale (``details.changed`` names the hashes),
        revoked, provisional, or was not approved (inconclusive or rejected). With
        ``allow_provisional: true`` a provisional record (point estimates that meet the policy on
        too few labels) is used too, and ``approval_tier`` says ``provisional``. The approval is
        looked up on every request, so a revoked or stale record stops being served at once.
        With an ``Idempotency-Key``, a repeat of the same request replays the first answer."""
        return await service.idempotency.run(
            key=idempotency_key,
            scope=caller_scope(request.headers.get("authorization"), expected is not None),
            route="/v1/grade",
            body=body,
            status=200,
            handler=lambda: _grade(body),
        )

    async def _grade(body: GradeRequest) -> GradeResponse | BatchGradeResponse:
        items = body.items if body.items is not None else [body.inputs or {}]
        if len(items) > service.max_batch_items:
            raise ApiError(
                422,
                "too_many_items",
                f"{len(items)} items in one batch; this server grades at most {service.max_batch_items}",
                details={"items": len(items), "max_batch_items": service.max_batch_items},
            )
        rubric = await run_in_threadpool(_rubric, body.rubric)
        store = service.store()
        cert, looked = await run_in_threadpool(
            lambda: find_approval(
                rubric, judge=body.judge, store=store, allow_provisional=body.allow_provisional
            )
        )
        if cert is None:
            service.metrics.grades.labels(outcome="refused").inc(len(items))
            raise _not_approved(rubric, body.judge, looked)
        pool = service.pool()
        route = (rubric.name, body.judge, body.allow_provisional)
        grader: Grader = await run_in_threadpool(pool.acquire, route, rubric, cert)
        try:
            verdicts = await grader.agrade_many(items)
        except NotApprovedError:
            service.metrics.grades.labels(outcome="refused").inc(len(items))
            raise
        finally:
            await run_in_threadpool(pool.release, grader)
        for verdict in verdicts:
            service.metrics.grades.labels(outcome=verdict.status).inc()
        common: dict[str, Any] = {
            "certificate_id": cert.id,
            "approval_tier": cert.tier,
            "rubric": rubric.name,
            "model": grader.judge.model,
        }
        if body.items is None:
            return GradeResponse(verdict=verdicts[0], **common)
        return BatchGradeResponse(verdicts=verdicts, **common)

    def _plan(req: ValidationRequest) -> Execute:
        """Check what a validation names before queueing it (404/400 now, not a failed job)."""
        from judgecal.approval import validate  # noqa: PLC0415
        from judgecal.gold import gold_path  # noqa: PLC0415
        from judgecal.probes.base import available_probes  # noqa: PLC0415
        from judgecal.rubric import load_rubric, rubric_path  # noqa: PLC0415

        rubric_dir = rubric_path(req.rubric)
        load_rubric(rubric_dir)
        gold_file = gold_path(req.gold or req.rubric)
        policy_path = None if req.policy is None else _policy_path(req.policy, service.policy_dir)
        if req.probes:
            available_probes(req.probes)
        if req.judge.startswith("sim/"):
            from judgecal.simulate import PRESETS  # noqa: PLC0415

            if req.judge.removeprefix("sim/") not in PRESETS:
                raise NotFoundError(
                    f"no simulated judge preset {req.judge!r}; presets: "
                    + ", ".join(f"sim/{p}" for p in sorted(PRESETS))
                )
        judge = JudgeConfig(model=req.judge, sampling=service.sampling)
        store = service.store()

        def execute(progress: Progress) -> JobResult:
            result = validate(
                str(rubric_dir),
                judge,
                gold=str(gold_file),
                policy=policy_path,
                probes=req.probes,
                store=store,
                api_base=service.api_base,
                api_key=service.api_key,
                limits=service.limits,
                progress=progress,
                n_resamples=service.validation_resamples,
                fail_fast=req.fail_fast,
            )
            d, cert = result.decision, result.certificate
            return JobResult(
                tier=d.tier,
                approved=d.approved,
                reasons=list(d.reasons),
                labels_needed=d.labels_needed,
                labels_needed_per_class=dict(d.labels_needed_per_class),
                established=list(d.established),
                certificate_id=cert.id,
                calls=cert.calls,
                cost=cert.cost,
            )

        return execute

    @v1.post(
        "/validations",
        status_code=202,
        response_model=ValidationAccepted,
        tags=["validations"],
        summary="Validate a judge (a background job)",
        responses=_errors(400, 404, 408, 409, 413, 422, 429, 500, 503),
    )
    async def start_validation(
        body: ValidationRequest, request: Request, response: Response, idempotency_key: IdempotencyKey = None
    ) -> ValidationAccepted:
        """Queues ``judgecal validate``: grade the gold set's test split, calibrate, run the gated
        probes, decide, store an approval record. Names are checked first (404 for an unknown
        rubric, gold set, policy, probe or simulated preset). One validation runs at a time; when
        the queue is full the answer is 429 ``queue_full``. Poll ``poll`` for the outcome. With an
        ``Idempotency-Key``, a repeat of the same request answers the same job (no second job, no
        second approval record)."""
        response.headers["Location"] = "/v1/validations"  # replaced below, or by the replay
        return await service.idempotency.run(
            key=idempotency_key,
            scope=caller_scope(request.headers.get("authorization"), expected is not None),
            route="/v1/validations",
            body=body,
            status=202,
            handler=lambda: _start_validation(body, response),
            headers=lambda stored: {"Location": str(dict(stored).get("poll", ""))},
        )

    async def _start_validation(body: ValidationRequest, response: Response) -> ValidationAccepted:
        execute = await run_in_threadpool(_plan, body)
        try:
            job = await run_in_threadpool(service.jobs.submit, body, execute)
        except QueueFull as exc:
            raise ApiError(
                429,
                "queue_full",
                f"{exc}; poll the running validations and try again later",
                details={"queued": exc.queued, "max_queued": exc.max_queued},
            ) from None
        poll = f"/v1/validations/{job.job_id}"
        response.headers["Location"] = poll
        return ValidationAccepted(job_id=job.job_id, poll=poll)

    @v1.get(
        "/validations",
        response_model=JobsResponse,
        tags=["validations"],
        summary="Validation jobs, newest first",
        responses=_errors(422, 500, 503),
    )
    async def list_validations(
        request: Request,
        status: Annotated[JobState | None, Query(description="Only jobs in this status.")] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="Jobs per page.")] = 50,
        offset: Annotated[int, Query(ge=0, description="Jobs to skip (newest first).")] = 0,
    ) -> JobsResponse:
        """Stored in the database: the list is the same after a restart (a job a previous process
        left unfinished says ``interrupted``). ``next`` is the next page. The newest 1000 finished
        jobs are kept; their approval records are stored for good (``GET /v1/approvals``)."""
        jobs = await run_in_threadpool(
            lambda: service.jobs.jobs(limit=limit + 1, offset=offset, status=status)
        )
        return JobsResponse(jobs=jobs[:limit], next=_next_page(request, offset, limit, len(jobs) > limit))

    @v1.get(
        "/validations/{job_id}",
        response_model=JobStatus,
        tags=["validations"],
        summary="A validation job: status, progress, decision or error",
        responses=_errors(404, 422, 500, 503),
    )
    async def get_validation(
        job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="The job id.")],
    ) -> JobStatus:
        """``queued`` (with its place in the queue), ``running`` (with progress), ``succeeded``
        (``result``: tier, reasons, certificate id — whatever the tier), ``failed`` (``error``:
        the message, never a traceback) or ``interrupted`` (the server stopped first: submit it
        again)."""
        job = await run_in_threadpool(service.jobs.get, job_id)
        if job is None:
            raise ApiError(
                404,
                "not_found",
                f"no validation job {job_id} (the newest 1000 finished jobs are kept; every "
                "approval record is in GET /v1/approvals)",
            )
        return job

    app.include_router(public)
    app.include_router(v1)

    if metrics != "off":

        @app.get(
            "/metrics",
            include_in_schema=False,
            dependencies=[Depends(authenticate)] if metrics == "token" and expected is not None else [],
        )
        async def prometheus() -> Response:
            """Prometheus text format: requests, latencies, grades by outcome, jobs."""
            return Response(await run_in_threadpool(service.metrics.render), media_type=CONTENT_TYPE)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            _describe(
                schema,
                [
                    GradeResponse,
                    BatchGradeResponse,
                    ApprovalDetail,
                    JudgesResponse,
                    ApprovalsResponse,
                    JobsResponse,
                    ValidationRequest,
                    GradeRequest,
                ],
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
