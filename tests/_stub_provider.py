"""A tiny OpenAI-compatible provider for tests: real HTTP on loopback (port 0), scripted replies.

``StubProvider(reply)`` answers ``POST /v1/chat/completions`` with ``reply`` — a :class:`Reply`,
or a function of the :class:`StubRequest` returning one — and records every request (path,
headers, JSON body). By default it answers every request with a valid ``pass`` verdict. An error
reply with ``echo_auth=True`` puts the request's ``Authorization`` header into its error message,
as a careless provider or gateway does: what judgecal must never store or print.

    with StubProvider(Reply(status=401, echo_auth=True)) as stub:
        ... --api-base stub.base_url ...
        assert stub.count == 1
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ANSWER", "Reply", "StubProvider", "StubRequest"]

ANSWER = json.dumps({"reasoning": "The answer is correct.", "verdict": "pass", "failure_modes": []})
"""The default answer: a valid verdict for a binary rubric."""


@dataclass
class StubRequest:
    """One request the stub received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class Reply:
    """What the stub answers: a status, a body (default: a completion of ``answer`` for 200, an
    OpenAI-style error otherwise), extra headers, and a delay before answering."""

    status: int = 200
    answer: str = ANSWER
    message: str = "the stub provider refused the request"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo_auth: bool = False
    finish_reason: str = "stop"

    def payload(self, request: StubRequest) -> bytes:
        if self.body is not None:
            return (self.body if isinstance(self.body, str) else json.dumps(self.body)).encode()
        if self.status == 200:
            return json.dumps(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.body.get("model", "stub"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.answer},
                            "finish_reason": self.finish_reason,
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            ).encode()
        message = self.message
        if self.echo_auth:
            message += f"; Incorrect API key provided: {request.authorization!s} (headers {request.headers})"
        # OpenAI's error types; litellm reads a 5xx with type invalid_request_error as a BadRequestError
        kind = "server_error" if self.status >= 500 else "invalid_request_error"
        error = {"message": message, "type": kind, "code": str(self.status)}
        return json.dumps({"error": error}).encode()


class StubProvider:
    """The stub server; a context manager (starts on enter, stops on exit)."""

    def __init__(self, reply: Reply | Callable[[StubRequest], Reply] | None = None):
        self.reply = reply or Reply()
        self.requests: list[StubRequest] = []
        self.sent: list[tuple[float, StubRequest, int]] = []
        """(time.time() once the response was written, the request, its status) of every answer."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def count(self) -> int:
        """Chat-completion requests received."""
        with self._lock:
            return len(self.requests)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _answer(self, request: StubRequest) -> Reply:
        return self.reply(request) if callable(self.reply) else self.reply

    def start(self) -> StubProvider:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._send(200, json.dumps({"object": "list", "data": []}).encode(), {})

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                request = StubRequest(
                    path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body
                )
                with stub._lock:
                    stub.requests.append(request)
                reply = stub._answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self._send(reply.status, reply.payload(request), reply.headers)
                    self.wfile.flush()
                    with stub._lock:
                        stub.sent.append((time.time(), request, reply.status))

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that was killed or gave up: nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
