"""Running the app with uvicorn: in the foreground (``judgecal serve``) or on a thread (tests,
notebooks). The socket is bound before uvicorn starts, so a port in use is an error with a
message, port 0 picks a free port, and the bound port is known once the server accepts.

uvicorn's HTTP/1.1 protocol (h11) is used with two changes (:class:`HardenedH11Protocol`):

- **Header timeout.** A connection must deliver a request's line and headers within
  ``header_timeout`` seconds of opening (or of the first byte of a keep-alive request); a client
  that trickles them (slowloris) gets 408 ``request_timeout`` and the connection is closed.
  uvicorn has no such timeout of its own (``timeout_keep_alive`` only covers the idle time between
  requests). The body has its own limit in the app (``body_timeout``,
  :class:`judgecal.service.errors.BodyLimitMiddleware`).
- **Errors in the one JSON shape.** A request h11 cannot parse — a malformed ``Content-Length``,
  a bad header line, headers above ``h11_max_incomplete_event_size`` (431) — is answered with the
  service's JSON error (``bad_request`` / ``headers_too_large``, with a request id) instead of
  uvicorn's plain-text 400.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from judgecal.errors import ConfigError
from judgecal.service.errors import STATUS_CODES
from judgecal.service.observe import request_id_for

__all__ = ["DEFAULT_HEADER_TIMEOUT", "HardenedH11Protocol", "ServerThread", "bind", "protocol", "run"]

log = logging.getLogger("judgecal.service")

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers."""


def _raw_error(status: int, code: str, message: str, details: dict[str, Any]) -> bytes:
    """A complete HTTP/1.1 error response in the service's JSON shape, ``Connection: close``."""
    rid = request_id_for(None)
    body = json.dumps(
        {"error": {"code": code, "message": message, "details": details, "request_id": rid}}
    ).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {rid}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HardenedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and JSON protocol errors (module docstring)."""

    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._protocol_error: h11.RemoteProtocolError | None = None
        next_event = self.conn.next_event

        def remembering_next_event() -> Any:
            try:
                return next_event()
            except h11.RemoteProtocolError as exc:
                self._protocol_error = exc
                raise

        self.conn.next_event = remembering_next_event  # type: ignore[method-assign]
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._header_timer is None and self.conn.trailing_data[0]:
                self._arm_header_timer()  # the first bytes of a keep-alive request
        else:
            self._cancel_header_timer()  # the headers are in (or the connection is done)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self.header_timeout is not None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if not self.conn.trailing_data[0]:  # idle between requests: uvicorn's keep-alive timeout
            self.transport.close()
            return
        log.info(
            "closing a connection from %s: no complete request headers in %g s",
            self.client,
            self.header_timeout,
        )
        self.transport.write(
            _raw_error(
                408,
                "request_timeout",
                f"the request line and headers did not arrive within {self.header_timeout:g} s",
                {"header_timeout": self.header_timeout},
            )
        )
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        exc = self._protocol_error
        status = getattr(exc, "error_status_hint", 400) if exc is not None else 400
        status = status if status in (400, 431) else 400
        what = str(exc) if exc is not None and str(exc) else msg
        self.transport.write(
            _raw_error(
                status,
                STATUS_CODES.get(status, "bad_request"),
                f"the request is not valid HTTP/1.1: {what}",
                {"reason": what},
            )
        )
        self.transport.close()


def protocol(header_timeout: float | None) -> type[HardenedH11Protocol]:
    """:class:`HardenedH11Protocol` with ``header_timeout`` (None: no header timeout)."""
    if header_timeout is not None and header_timeout <= 0:
        raise ConfigError(
            f"the header timeout must be positive, got {header_timeout}", field="--header-timeout"
        )
    return type("JudgecalH11Protocol", (HardenedH11Protocol,), {"header_timeout": header_timeout})


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up plus judgecal's own lines (the access log with request ids)."""
    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config["filters"] = {"request_id": {"()": "judgecal.service.observe.RequestIdFilter"}}
    config["formatters"]["judgecal"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s [request %(request_id)s]",
    }
    config["handlers"]["judgecal"] = {
        "formatter": "judgecal",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["request_id"],
    }
    config["formatters"]["judgecal_access"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s",  # the line names its request id itself
    }
    config["handlers"]["judgecal_access"] = {
        "formatter": "judgecal_access",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["judgecal"] = {"handlers": ["judgecal"], "level": level.upper(), "propagate": False}
    config["loggers"]["judgecal.service.access"] = {
        "handlers": ["judgecal_access"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (0 = a free port); ConfigError if it cannot."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", field="--host") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", field="--port") from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None):
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()


def run(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
) -> None:
    """Serve ``app`` in the foreground until interrupted; ``on_ready(url)`` once it accepts.
    The access log is judgecal's (``judgecal.service.access``, with the request id)."""
    http = protocol(header_timeout)
    sock = bind(host, port)
    url = _url(sock)
    config = uvicorn.Config(
        app,
        http=http,
        log_level=log_level,
        log_config=log_config(log_level),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config, (lambda: on_ready(url)) if on_ready is not None else None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ServerThread:
    """``with ServerThread(app) as url:`` — the app served by uvicorn on a loopback port chosen
    by the OS, on a daemon thread; stopped (lifespan shutdown included) on exit."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 20.0,
        header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
    ):
        http = protocol(header_timeout)
        self.sock = bind(host, port)
        self.url = _url(self.sock)
        self.timeout = timeout
        self._ready = threading.Event()
        config = uvicorn.Config(
            app, http=http, log_level="warning", log_config=None, access_log=False, lifespan="on"
        )
        self.server = _Server(config, self._ready.set)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="judgecal-serve", daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        if not self._ready.wait(self.timeout):
            self.server.should_exit = True
            raise RuntimeError(f"the server did not start within {self.timeout} s")
        return self.url

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(self.timeout)
        self.sock.close()
