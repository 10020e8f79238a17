"""One JSON error shape for every failure the service answers, and the request-size limit.

Every error — authentication, an unknown route, a wrong method, a body too large or too slow, a
request that does not validate, a judge without approval, a full job queue, a judgecal error, a
bug, and the HTTP-level errors the server answers before the app sees a request — is::

    {"error": {"code": "not_approved", "message": "...", "details": {...}, "request_id": "..."}}

``code`` is a stable, machine-readable string (the table in ``docs/service.md``); ``message`` is
for people; ``details`` holds what a client may act on (the failing fields, the limit, the
approval record that is stale and which of its hashes changed).

How judgecal's own exceptions (``judgecal.errors``) map to HTTP::

    NotFoundError        404 not_found         a rubric, gold set, policy, probe or record named
    InputError           400 invalid_input     details: location (file:line) and field
    NotApprovedError     409 not_approved      the judge has no valid approval
    ProviderError        502 provider_error    the judge's provider could not be used
    StoreError           503 store_unavailable the database
    JudgecalError        500 judgecal_error
    anything else        500 internal_error    logged with an error id; the message says no more
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from judgecal.errors import (
    InputError,
    JudgecalError,
    NotApprovedError,
    NotFoundError,
    ProviderError,
    StoreError,
)

__all__ = [
    "STATUS_CODES",
    "REQUEST_ID",
    "ApiError",
    "BodyLimitMiddleware",
    "ErrorInfo",
    "ErrorResponse",
    "JSON",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("judgecal.service")

REQUEST_ID: ContextVar[str | None] = ContextVar("judgecal_request_id", default=None)
"""The id of the request being answered (set by the request-id middleware, :mod:`.observe`)."""

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    431: "headers_too_large",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    502: "provider_error",
    503: "unavailable",
}
"""The ``code`` of an error that has no more specific one, by HTTP status."""


class ErrorInfo(BaseModel):
    """What went wrong."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    code: str = Field(examples=["not_approved"])
    """Stable machine-readable code (see docs/service.md for the list)."""
    message: str
    """What went wrong, for people."""
    details: dict[str, Any] = Field(default_factory=dict)
    """What a client may act on: failing fields, the limit exceeded, the approval record and why it
    does not apply."""
    request_id: str | None = None
    """The request's id, as in the ``X-Request-ID`` response header and the server's log lines."""


class ErrorResponse(BaseModel):
    """Every error the service answers has this shape."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    error: ErrorInfo
    """The error."""


class JSON(JSONResponse):
    """JSON that never fails on a float: nan and infinities (an undefined statistic) become null."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null")


class ApiError(Exception):
    """An error the service answers on purpose, in the one shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSON:
    request_id = REQUEST_ID.get()
    body = {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id}}
    if request_id is not None:
        headers = {**(headers or {}), "X-Request-ID": request_id}
    return JSON(body, status_code=status, headers=headers)


def judgecal_error_status(exc: JudgecalError) -> tuple[int, str]:
    """The HTTP status and code of one of judgecal's own exceptions (the table above)."""
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, InputError):
        return 400, "invalid_input"
    if isinstance(exc, NotApprovedError):
        return 409, "not_approved"
    if isinstance(exc, ProviderError):
        return 502, "provider_error"
    if isinstance(exc, StoreError):
        return 503, "store_unavailable"
    return 500, "judgecal_error"


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "items", 3, "input")`` -> ``items[3].input``."""
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception the app can raise to the one error shape."""

    async def api_error(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        code = STATUS_CODES.get(status, "error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        details: dict[str, Any] = {}
        if status == 404 and detail == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (the endpoints: /docs)"
        elif status == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            details["allowed"] = [m.strip() for m in allowed.split(",") if m.strip()]
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed or 'none'}"
        else:
            message = detail or HTTPStatus(status).phrase
        return error_response(status, code, message, details, dict(exc.headers) if exc.headers else None)

    async def validation_error(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for e in exc.errors():
            loc = tuple(e.get("loc", ()))
            errors.append(
                {
                    "location": loc[0] if loc else "body",
                    "field": _field(loc),
                    "message": str(e.get("msg", "")).removeprefix("Value error, "),
                    "type": str(e.get("type", "")),
                }
            )
        bad_json = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if bad_json is not None:
            ctx = bad_json.get("ctx") or {}
            pos = bad_json.get("loc", ("body", "?"))[-1]
            return error_response(
                400,
                "invalid_json",
                f"the request body is not valid JSON: {ctx.get('error', 'decode error')} at character {pos}",
                {"position": pos},
            )
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        where = f"{first['field']}: " if first["field"] else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return error_response(422, "invalid_request", f"{where}{first['message']}{more}", {"errors": errors})

    async def judgecal_error(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, JudgecalError)
        status, code = judgecal_error_status(exc)
        details: dict[str, Any] = {}
        if isinstance(exc, InputError):
            details = {k: v for k, v in (("location", exc.location), ("field", exc.field)) if v}
        return error_response(status, code, str(exc), details)

    async def unexpected(request: Request, exc: Exception) -> JSON:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "internal error %s on %s %s (request %s)",
            error_id,
            request.method,
            request.url.path,
            REQUEST_ID.get(),
            exc_info=exc,
        )
        return error_response(
            500,
            "internal_error",
            f"internal error {error_id}: the server log has the details",
            {"error_id": error_id},
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(JudgecalError, judgecal_error)
    app.add_exception_handler(Exception, unexpected)


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_body_bytes`` with 413, without reading them whole, and
    bodies that take longer than ``body_timeout`` seconds to arrive with 408.

    A declared ``Content-Length`` above the limit is refused before a byte of the body is read;
    a body without one (chunked) is read chunk by chunk and refused as soon as the running total
    passes the limit. The whole body must arrive within ``body_timeout`` s of the first read
    (None: no limit) — a client trickling a byte at a time cannot hold a connection. A body within
    the limits is handed on to the app unchanged. A refusal says ``Connection: close`` because the
    rest of the body is left unread.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float | None = None):
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        if body_timeout is not None and body_timeout <= 0:
            raise ValueError("body_timeout must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    def _too_large(self, **details: Any) -> JSON:
        return error_response(
            413,
            "payload_too_large",
            f"the request body is larger than this server's limit of {self.max_body_bytes} bytes",
            {"max_body_bytes": self.max_body_bytes, **details},
            {"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                length = int(declared)
                if length < 0:
                    raise ValueError
            except ValueError:
                response = error_response(
                    400,
                    "bad_request",
                    f"Content-Length {declared!r} is not a byte count",
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
            if length > self.max_body_bytes:
                await self._too_large(content_length=length)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        try:
            async with asyncio.timeout(self.body_timeout):
                while more:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        await self._too_large(received_at_least=size)(scope, receive, send)
                        return
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            response = error_response(
                408,
                "request_timeout",
                f"the request body did not arrive within {self.body_timeout:g} s",
                {"body_timeout": self.body_timeout, "received": size},
                {"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
