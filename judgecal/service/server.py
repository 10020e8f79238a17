"""Running the app with uvicorn: in the foreground (``judgecal serve``) or on a thread (tests,
notebooks). The socket is bound before uvicorn starts, so a port in use is an error with a
message, port 0 picks a free port, and the bound port is known once the server accepts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from judgecal.errors import ConfigError

__all__ = ["ServerThread", "bind", "run"]


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
) -> None:
    """Serve ``app`` in the foreground until interrupted; ``on_ready(url)`` once it accepts."""
    sock = bind(host, port)
    url = _url(sock)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=10)
    server = _Server(config, (lambda: on_ready(url)) if on_ready is not None else None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ServerThread:
    """``with ServerThread(app) as url:`` — the app served by uvicorn on a loopback port chosen
    by the OS, on a daemon thread; stopped (lifespan shutdown included) on exit."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0):
        self.sock = bind(host, port)
        self.url = _url(self.sock)
        self.timeout = timeout
        self._ready = threading.Event()
        config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="on")
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
