"""The simulated judge over HTTP: the OpenAI-compatible aiohttp server (the request flow is drawn in
:mod:`judgecal.simulate`), served in the foreground (:func:`run_forever`, :func:`serve`) or on a
background thread (:class:`SimulatedJudge`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from judgecal.simulate._behaviour import _prompt_text
from judgecal.simulate._config import HTML_ERROR_PAGE, SIMULATOR_SERVICE, SimConfig, SimItem
from judgecal.simulate._core import _completion_tokens, _Core, _damaged

if TYPE_CHECKING:  # aiohttp.web takes ~150 ms to import: only the running server needs it
    from aiohttp import web

_SHUTDOWN_S = 1.0  # how long stopping waits for in-flight requests before cancelling them


def _error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> web.Response:
    from aiohttp import web

    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


class _HTTPCore(_Core):
    """A :class:`~judgecal.simulate._core._Core` answering HTTP requests (on the server's event loop)."""

    def app(self) -> web.Application:
        from aiohttp import web

        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/stats", self.stats_endpoint)
        for root in ("/v1/judgecal", "/judgecal"):  # api_base with or without /v1
            app.router.add_get(f"{root}/health", self.identify)
            app.router.add_get(f"{root}/answers", self.answers_endpoint)
            app.router.add_post(f"{root}/items", self.items_endpoint)
        import judgecal.prompt  # noqa: F401, PLC0415 - the answer log's prompt_hash, before any request

        return app

    async def identify(self, request: web.Request) -> web.Response:
        """``GET /v1/judgecal/health``: says that this is judgecal's simulator (judgecal then
        teaches it the truth of derived items, as it does the in-process one)."""
        from aiohttp import web

        return web.json_response(
            {
                "service": SIMULATOR_SERVICE,
                "status": "ok",
                "models": sorted(self.profiles),
                "items": len(self._index.items),
            }
        )

    async def answers_endpoint(self, request: web.Request) -> web.Response:
        """``GET /v1/judgecal/answers``: ``{"answers": [{"t", "prompt_hash", "model", "seed"}, ...]}``,
        the chat completions sent, oldest first (:meth:`SimulatedJudge.answers`)."""
        from aiohttp import web

        return web.json_response({"answers": self.answers()})

    async def items_endpoint(self, request: web.Request) -> web.Response:
        """``POST /v1/judgecal/items`` with ``{"items": [SimItem, ...]}``: learn these items' truth
        (items equal to known ones are skipped). 400 with the first problem when invalid."""
        from aiohttp import web

        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "The request body is not valid JSON.", "invalid_request_error", None)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return _error(400, "'items' must be an array of items.", "invalid_request_error", None)
        try:
            added = self.add_items(items)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "item"
            return _error(400, f"invalid item: {where}: {first['msg']}", "invalid_request_error", None)
        return web.json_response({"added": added, "items": len(self._index.items)})

    async def models(self, request: web.Request) -> web.Response:
        from aiohttp import web

        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "judgecal-simulator"}
            for name in self.profiles
        ]
        return web.json_response({"object": "list", "data": data})

    async def health(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(
            {"status": "ok", "models": len(self.profiles), "items": len(self._index.items)}
        )

    async def stats_endpoint(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self.stats())

    def _bad_request(self, model: str | None, message: str) -> web.Response:
        self._record(model, "bad_request")
        return _error(400, message, "invalid_request_error", None)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        try:
            req = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return self._bad_request(None, "The request body is not valid JSON.")
        if not isinstance(req, dict):
            return self._bad_request(None, "The request body must be a JSON object.")
        model = req.get("model")
        if not isinstance(model, str) or not model:
            return self._bad_request(None, "'model' is required and must be a string.")
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._bad_request(model, "'messages' must be a non-empty array.")
        if req.get("stream"):
            return self._bad_request(model, "stream=true is not supported by the simulated judge.")
        name = model.removeprefix("openai/")
        profile = self.profiles.get(name)
        if profile is None:
            self._record(model, "not_found")
            return _error(
                404,
                f"The model {model!r} does not exist. Available models: {', '.join(sorted(self.profiles))}.",
                "invalid_request_error",
                "model_not_found",
            )
        try:
            text = _prompt_text(messages)
        except ValueError as exc:
            return self._bad_request(model, str(exc))

        fault = self.draw_fault(name)
        faults = profile.faults
        if fault == "rate_limit":
            self._record(name, "rate_limit")
            return _error(
                429,
                "Rate limit reached for requests (simulated).",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers={"Retry-After": f"{faults.retry_after_s:g}"},
            )
        if fault == "server_error":
            self._record(name, "server_error")
            return _error(
                500,
                "The server had an error processing your request (simulated).",
                "server_error",
                None,
            )
        if fault == "drop":
            self._record(name, "drop")
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # nothing can be written any more
        if fault == "timeout":
            self._record(name, "timeout")  # counted now: the client usually leaves first
            await asyncio.sleep(faults.hang_s)
        delay = self.draw_delay(name, profile)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "html":
            self._record(name, "html")
            return web.Response(text=HTML_ERROR_PAGE, content_type="text/html")

        content, outcome, match = self.answer(
            name, profile, text, req.get("response_format"), req.get("seed"), req.get("temperature")
        )
        content, finish, outcome = _damaged(fault, content, outcome)
        if fault != "timeout":
            self._record(name, outcome, match)

        with self._lock:
            self._counter += 1
            number = self._counter
        prompt_tokens = max(1, len(text) // 4)
        completion_tokens = _completion_tokens(content)
        body = {
            "id": f"chatcmpl-sim{number:010d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_judgecal_sim",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        response = web.Response(
            text=json.dumps(body),
            content_type="application/json",
            headers={"X-Judgecal-Sim-Match": match},
        )
        entry = self._log_answer(messages, name, req.get("seed"))
        try:
            await response.prepare(request)
            await response.write_eof()  # handed to the transport
        except ConnectionError:  # the client left: nothing was delivered (aiohttp ignores it too)
            self._unlog_answer(entry)
            return response
        except asyncio.CancelledError:  # the client left while it was being written
            self._unlog_answer(entry)
            raise
        return response


async def _start(core: _HTTPCore, host: str, port: int) -> tuple[web.AppRunner, int]:
    from aiohttp import web

    runner = web.AppRunner(
        core.app(), access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, bound


async def serve(
    config: SimConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_ready: Callable[[int], None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Serve ``config`` on the running event loop until ``stop_event`` is set or the task is
    cancelled; ``on_ready(port)`` is called once bound (port 0 picks a free port)."""
    runner, bound = await _start(_HTTPCore(config), host, port)
    try:
        if on_ready is not None:
            on_ready(bound)
        await (stop_event or asyncio.Event()).wait()
    finally:
        await runner.cleanup()


def run_forever(config: SimConfig, host: str, port: int, on_ready: Callable[[int], None]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (for ``judgecal simulate serve``)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await serve(config, host, port, on_ready=on_ready, stop_event=stop)

    asyncio.run(main())


class SimulatedJudge:
    """The simulator on a background thread with its own event loop (for tests and benchmarks).

    >>> from judgecal.simulate import JudgeProfile, SimConfig
    >>> config = SimConfig(profiles={"judge": JudgeProfile(accuracy=1.0)})
    >>> with SimulatedJudge(config) as sim:
    ...     sim.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, config: SimConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._core = _HTTPCore(config)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SimulatedJudge:
        """Bind and serve on a daemon thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("the simulated judge is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._runner, self._port = loop.run_until_complete(
                    _start(self._core, self._host, self._requested_port)
                )
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="judgecal-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests get up to 1 s) and join the thread. Idempotent."""
        thread, loop, runner = self._thread, self._loop, self._runner
        if thread is None or loop is None:
            return
        if runner is not None:
            future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=_SHUTDOWN_S + 10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = self._runner = None
        self._port = None

    def __enter__(self) -> SimulatedJudge:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._port is None:
            raise RuntimeError("the simulated judge is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the api_base / base_url to give a client."""
        host = "127.0.0.1" if self._host in ("0.0.0.0", "", "::") else self._host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """Counters: ``requests``, ``by_model``, ``by_outcome`` (every OUTCOMES key),
        ``by_match`` (exact / perturbed / unknown item), ``items``. A snapshot copy."""
        return self._core.stats()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._core.reset_stats()

    def answers(self) -> list[dict[str, Any]]:
        """The log of the chat completions sent with HTTP 200 (outcomes ``ok``, ``refusal``,
        ``malformed``, ``truncated``, ``empty``, and the answer after a ``timeout`` hang when the
        client waited for it; not ``html``, which is no completion), oldest first, the latest
        :data:`ANSWER_LOG_MAX` kept: ``t`` (``time.time()`` as the response is handed to the
        transport: logged just before, so a client never holds an answer the log lacks, and
        withdrawn if the write fails), ``prompt_hash`` (:func:`judgecal.prompt.prompt_hash` of the request's
        messages, as judgecal computes it for the prompt it sent), ``model`` (the profile name: the
        request's model without ``openai/``) and ``seed`` (the request's, or None). A copy;
        ``reset_stats`` does not clear it."""
        return self._core.answers()

    def set_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> None:
        """Replace the known items (thread-safe; takes effect for the next request)."""
        self._core.set_items(items)

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """Add known items to those already known (thread-safe); items equal to known ones are
        skipped. Returns how many were new."""
        return self._core.add_items(items)
