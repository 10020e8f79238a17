"""Preflight: one cheap call before a run checks the judge answers with these credentials.

A stub OpenAI-compatible server on loopback (port 0) answers with scripted statuses, reached
through litellm exactly as a provider would be."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from judgecal.errors import ProviderError

OK_BODY = {
    "id": "chatcmpl-stub",
    "object": "chat.completion",
    "created": 0,
    "model": "stub",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
}


class Stub:
    """A provider that answers each request with the next scripted status (the last repeats)."""

    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                status = stub.statuses[min(len(stub.requests) - 1, len(stub.statuses) - 1)]
                if status == 200:
                    body = OK_BODY
                else:
                    body = {"error": {"message": f"stub says {status}", "type": "stub_error", "code": status}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status in (429, 503):
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Any]:
    made: list[Stub] = []

    def start(*statuses: int) -> Stub:
        s = Stub(list(statuses))
        made.append(s)
        return s

    yield start
    for s in made:
        s.close()


def _completer(stub: Stub) -> Any:
    from judgecal.llm import LiteLLMCompleter

    return LiteLLMCompleter("openai/stub-model", api_base=stub.base_url, api_key="test-key")


@pytest.mark.parametrize("status", [401, 403, 404, 400, 413, 422])
def test_a_fatal_answer_raises_at_once_with_the_cause(stub: Any, status: int) -> None:
    from judgecal.preflight import apreflight

    s = stub(status)
    with pytest.raises(ProviderError, match=f"preflight call failed.*{status}|stub says {status}"):
        asyncio.run(apreflight(_completer(s)))
    # litellm itself resends a request refused with 422 once, without the parameters it may drop
    # (drop_params), before giving up; the preflight adds no retry of its own
    assert len(s.requests) == (2 if status == 422 else 1), "a fatal answer is not retried"
    sent = s.requests[0]
    assert sent["max_tokens"] <= 16 and "response_format" not in sent


def test_transient_failures_are_retried_briefly_then_the_check_passes(stub: Any) -> None:
    from judgecal.preflight import ATTEMPTS, apreflight

    s = stub(503, 429, 200)
    result = asyncio.run(apreflight(_completer(s)))
    assert result.status == "ok" and result.attempts == ATTEMPTS == len(s.requests) == 3
    assert len(result.errors) == 2 and result.response_model is not None


def test_a_provider_that_never_answers_is_reported_after_a_few_attempts(stub: Any) -> None:
    from judgecal.preflight import ATTEMPTS, apreflight

    s = stub(503)
    started = time.perf_counter()
    with pytest.raises(ProviderError, match=f"no answer to the preflight call after {ATTEMPTS} attempts"):
        asyncio.run(apreflight(_completer(s)))
    assert len(s.requests) == ATTEMPTS
    assert time.perf_counter() - started < 30  # generous: the waits are capped at a few seconds


def test_a_refused_key_stops_validate_before_anything_is_stored(stub: Any, store: Any) -> None:
    """The issue's no-key run: 401 from the provider -> ProviderError (exit code 3) within seconds,
    one request made, no run, no call and no approval record stored."""
    from judgecal.approval import validate

    s = stub(401)
    started = time.perf_counter()
    with pytest.raises(ProviderError, match="check the API key"):
        validate("support-billing", "openai/stub-model", api_base=s.base_url, api_key="bad", store=store)
    assert time.perf_counter() - started < 10
    assert len(s.requests) == 1
    assert store.list_runs() == [] and store.list_certificates() == []


def test_without_the_preflight_the_same_failure_is_found_by_the_run(stub: Any, store: Any) -> None:
    """preflight=False skips the check: the grading run meets the 401 itself and is recorded as
    failed (what the preflight saves)."""
    from judgecal.approval import validate

    s = stub(401)
    with pytest.raises(ProviderError):
        validate(
            "support-billing",
            "openai/stub-model",
            api_base=s.base_url,
            api_key="bad",
            store=store,
            preflight=False,
        )
    runs = store.list_runs()
    assert len(runs) == 1 and runs[0].status == "failed"
    assert all(r.get("max_tokens") != 16 for r in s.requests)  # no preflight request


def test_preflight_is_made_on_a_cold_cache_and_skipped_on_a_warm_one(store: Any) -> None:
    """sim/accurate through litellm: the first validation makes the preflight call; an identical
    second one needs no call (every unit cached), so it makes no preflight either."""
    from judgecal.approval import validate
    from judgecal.judge import JudgeConfig

    judge = JudgeConfig(model="sim/accurate", samples=5)  # majority of 5: no resample probe
    first = validate("support-billing", judge, store=store, probes=[])
    assert first.preflight is not None and first.preflight.status == "ok"
    assert first.preflight.cost_reported and first.preflight.cost == 0.0
    assert first.certificate.calls == 5 * 51  # the preflight is not one of the run's calls
    second = validate("support-billing", judge, store=store, probes=[])
    assert second.preflight is not None and second.preflight.status == "skipped"
    assert "cache" in (second.preflight.skipped_because or "") and second.certificate.calls == 0
    off = validate("support-billing", judge, store=store, probes=[], preflight=False)
    assert off.preflight is not None and off.preflight.skipped_because == "turned off"


def test_grade_preflight_helper_counts_cached_units(store: Any, support: Any) -> None:
    """apreflight_grade (for `judgecal grade` / `compare`): a call when units are missing, none
    when the store answers them all."""
    from judgecal.judge import JudgeConfig, agrade
    from judgecal.preflight import apreflight_grade
    from judgecal.simulate import SimCompleter

    rubric, gold = support
    judge = JudgeConfig(model="sim/accurate")
    sim = SimCompleter("accurate")

    async def go() -> tuple[Any, Any]:
        cold = await apreflight_grade(rubric, gold, judge, sim, store=store, split="test")
        await agrade(rubric, gold, judge, sim, store=store, split="test")
        warm = await apreflight_grade(rubric, gold, judge, sim, store=store, split="test")
        return cold, warm

    cold, warm = asyncio.run(go())
    assert cold.status == "ok" and warm.status == "skipped"
    assert sim.stats()["requests"] == 1 + len(gold.select("test"))


def test_probe_runner_preflight_refuses_a_bad_key(stub: Any, store: Any, support: Any) -> None:
    from judgecal.judge import JudgeConfig
    from judgecal.probes import run_probes

    rubric, gold = support
    s = stub(401)
    with pytest.raises(ProviderError, match="preflight"):
        run_probes(
            rubric,
            gold,
            JudgeConfig(model="openai/stub-model"),
            store=store,
            api_base=s.base_url,
            api_key="bad",
            names=["injection"],
        )
    assert len(s.requests) == 1 and store.list_runs() == []
