"""Provider errors are classified once, correctly: credentials and unknown models stop the run at
once (exit 3, stored as failed with the cause), other 4xx are final for their call, Retry-After is
honoured up to a cap, and a deadline bounds a run. Real HTTP on loopback (tests/_stub_provider.py)
or litellm's own no-key path; no provider is reached."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from pathlib import Path

import pytest
from _stub_provider import Reply, StubProvider, StubRequest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.errors import ProviderError
from judgecal.judge import REFUSED_STOP, JudgeConfig, Limits, agrade
from judgecal.llm import CallFailed, LiteLLMCompleter, _classify
from judgecal.store import Store

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
FAST = {"backoff_base": 0.01, "backoff_max": 0.05}


def jc(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def small_gold(tmp_path: Path, n: int = 4) -> Path:
    """The first ``n`` items of the bundled support-billing gold set, as a file of their own."""
    lines = (ROOT / "gold" / "support-billing.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sequence(*statuses: int, then: Reply | None = None):  # type: ignore[no-untyped-def]
    """A reply function: the first requests get ``statuses`` in turn, the rest ``then`` (a verdict)."""
    queue = itertools.chain((Reply(status=s) for s in statuses), itertools.repeat(then or Reply()))
    return lambda _req: next(queue)


def grade_lib(rubric, gold, stub, **limits):  # type: ignore[no-untyped-def]
    """``agrade`` through litellm to the stub; ``(result or exception, store)``."""
    store = Store()
    completer = LiteLLMCompleter("openai/stub", api_base=stub.base_url, api_key="k-test-0123")

    async def go():  # type: ignore[no-untyped-def]
        return await asyncio.wait_for(
            agrade(
                rubric,
                gold,
                JudgeConfig(model="openai/stub"),
                completer,
                store=store,
                limits=Limits(**{**FAST, **limits}),
            ),
            timeout=60,
        )

    try:
        return asyncio.run(go()), store
    except ProviderError as exc:
        return exc, store


# ---------------------------------------------------------------------------------------------
# classification


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "bad_request"),
        (401, "auth"),
        (403, "auth"),
        (404, "not_found"),
        (408, "timeout"),
        (409, "conflict"),
        (413, "bad_request"),
        (422, "bad_request"),
        (429, "rate_limit"),
        (500, "server"),
        (503, "server"),
    ],
)
def test_each_status_is_classified_once(status, kind):  # type: ignore[no-untyped-def]
    completer = LiteLLMCompleter("openai/stub", api_base="x", api_key="k-test-0123")
    with StubProvider(Reply(status=status)) as stub:
        completer.api_base = stub.base_url
        with pytest.raises(CallFailed) as caught:
            asyncio.run(
                completer.complete(
                    [{"role": "user", "content": "hi"}],
                    schema=None,
                    temperature=0,
                    max_tokens=8,
                    seed=None,
                    timeout=10,
                )
            )
        # litellm retries a 422 once without the parameters it may drop, then returns nothing
        assert stub.count == (2 if status == 422 else 1)
    failed = caught.value
    assert failed.kind == kind and failed.status == (None if status == 422 else status)
    assert failed.retryable == (status in (408, 409, 429, 500, 503))
    assert failed.fatal == (status in (401, 403, 404))


def test_a_missing_key_raised_before_any_request_is_an_auth_failure():
    import litellm

    # what litellm says for gemini without GEMINI_API_KEY (an APIConnectionError, status 500)
    exc = litellm.APIConnectionError(
        message="Missing Gemini API key. Set the GEMINI_API_KEY or GOOGLE_API_KEY environment variable.",
        llm_provider="gemini",
        model="gemini/gemini-1.5-flash",
    )
    assert _classify(exc).kind == "auth"


# ---------------------------------------------------------------------------------------------
# fatal: exit 3 within seconds, stored as failed with the cause, the cause printed


@pytest.mark.parametrize("preflight", ["--preflight", "--no-preflight"])
def test_no_key_exits_3_within_seconds_with_the_cause_printed_and_stored(preflight):  # type: ignore[no-untyped-def]
    # the real litellm path: no OPENAI_API_KEY (conftest removes it), nothing reachable
    started = time.monotonic()
    result = jc("grade", "support-billing", "--judge", "openai/gpt-4o-mini", "--quiet", preflight)
    elapsed = time.monotonic() - started
    assert result.exit_code == 3, result.output
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "Missing credentials" in result.stderr and "OPENAI_API_KEY is not set" in result.stderr
    assert "--api-key-env" in result.stderr
    run = Store().list_runs()[0]
    assert run.status == "failed"
    assert run.error and "auth" in run.error and "Missing credentials" in run.error
    if preflight == "--preflight":  # the preflight call found it: no unit was attempted
        assert run.n_calls == 0 and run.n_skipped == run.n_units and "preflight" in run.error
    else:  # the run found it: at most one call per slot of concurrency
        assert run.n_calls <= 8 and run.n_skipped > 0


def test_a_refused_key_stops_after_a_few_requests(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_STUB_KEY", "k-refused-0123456789")
    with StubProvider(Reply(status=401)) as stub:
        result = jc(
            "grade",
            "support-billing",
            "--judge",
            "openai/stub",
            "--api-base",
            stub.base_url,
            "--api-key-env",
            "JC_STUB_KEY",
            "--concurrency",
            "2",
            "--quiet",
        )
        assert result.exit_code == 3, result.output
        assert stub.count <= 2
        assert {r.authorization for r in stub.requests} == {"Bearer k-refused-0123456789"}
    assert "auth" in result.stderr and "check the API key" in result.stderr
    run = Store().list_runs()[0]
    assert run.status == "failed" and "auth" in (run.error or "")


def test_an_unknown_model_stops_the_run(tmp_path):  # type: ignore[no-untyped-def]
    with StubProvider(Reply(status=404, message="The model `nope` does not exist")) as stub:
        result = jc(
            "grade",
            "support-billing",
            "--judge",
            "openai/nope",
            "--api-base",
            stub.base_url,
            "--concurrency",
            "1",
            "--quiet",
        )
        assert result.exit_code == 3 and stub.count == 1
    assert "does not exist" in result.stderr and "check the model string" in result.stderr
    assert Store().list_runs()[0].status == "failed"


# ---------------------------------------------------------------------------------------------
# final 4xx: one request, no retry


def test_a_413_is_final_for_its_call_and_not_retried(support, tmp_path):  # type: ignore[no-untyped-def]
    from judgecal.gold import load_gold

    rubric, _ = support
    gold = load_gold(small_gold(tmp_path, 4), rubric)
    with StubProvider(sequence(413)) as stub:
        result, store = grade_lib(rubric, gold, stub, concurrency=1, max_retries=6)
        assert stub.count == 4  # one request per unit: the 413 was not retried
    assert result.status == "completed" and result.n_ok == 3 and result.n_error == 1
    [failed] = [c for _, c in store.run_calls(result.run_id) if c is not None and c.status == "error"]
    assert failed.attempts == 1 and failed.error.startswith("bad_request:")
    assert json.loads(failed.attempt_errors_json) == [failed.error]


def test_every_call_refused_stops_the_run_as_failed(support, tmp_path):  # type: ignore[no-untyped-def]
    rubric, gold = support
    with StubProvider(Reply(status=413, message="request too large")) as stub:
        result, store = grade_lib(rubric, gold, stub, concurrency=2)
        assert stub.count <= REFUSED_STOP + 1  # each unit once, then the run stopped
    assert isinstance(result, ProviderError) and "refused the first" in str(result)
    run = store.list_runs()[0]
    assert run.status == "failed" and "request too large" in (run.error or "")
    assert run.n_error == stub.count and run.n_skipped == run.n_units - run.n_error


# ---------------------------------------------------------------------------------------------
# Retry-After capped; deadline


def test_retry_after_3600_is_not_waited_for(support, tmp_path):  # type: ignore[no-untyped-def]
    rubric, gold = support
    started = time.monotonic()
    with StubProvider(Reply(status=429, headers={"Retry-After": "3600"})) as stub:
        result, store = grade_lib(rubric, gold, stub, concurrency=2, max_retries=6)
        assert stub.count <= 2
    assert time.monotonic() - started < 30  # never 3600 s (wait_for in grade_lib gives up at 60)
    run = store.list_runs()[0]
    assert run.status == "failed" and run.n_ok == 0
    assert "Retry-After" in (run.error or "") and "retry_after_max 60" in run.error
    assert run.n_skipped == run.n_units - run.n_error


def test_retry_after_under_the_cap_is_waited_then_retried(support, tmp_path):  # type: ignore[no-untyped-def]
    from judgecal.gold import load_gold

    rubric, _ = support
    gold = load_gold(small_gold(tmp_path, 2), rubric)
    limited = Reply(status=429, headers={"Retry-After": "0.3"})
    replies = itertools.chain([limited], itertools.repeat(Reply()))
    with StubProvider(lambda _r: next(replies)) as stub:
        result, _ = grade_lib(rubric, gold, stub, concurrency=1, retry_after_max=5)
        assert stub.count == 3
    assert result.n_ok == 2 and result.wall_s >= 0.3


def test_a_deadline_bounds_the_run(support, tmp_path):  # type: ignore[no-untyped-def]
    from judgecal.gold import load_gold

    rubric, _ = support
    gold = load_gold(small_gold(tmp_path, 12), rubric)
    with StubProvider(Reply(delay=0.4)) as stub:
        result, store = grade_lib(rubric, gold, stub, concurrency=1, deadline=1.0)
    assert result.status == "stopped" and result.n_ok >= 1 and result.n_skipped >= 6
    assert result.n_ok + result.n_skipped == result.n_units
    assert store.list_runs()[0].error == "deadline reached (1 s)"


def test_deadline_flag_on_grade(tmp_path):  # type: ignore[no-untyped-def]
    with StubProvider(Reply(delay=0.3)) as stub:
        result = jc(
            "grade",
            "support-billing",
            "--judge",
            "openai/stub",
            "--api-base",
            stub.base_url,
            "--concurrency",
            "1",
            "--deadline",
            "1",
            "--json",
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "stopped" and data["n_skipped"] > 0 and data["n_ok"] >= 1
    assert Store().get_run(data["run_id"]).error == "deadline reached (1 s)"


def test_a_deadline_waits_for_no_retry_after(support, tmp_path):  # type: ignore[no-untyped-def]
    from judgecal.gold import load_gold

    rubric, _ = support
    gold = load_gold(small_gold(tmp_path, 3), rubric)
    with StubProvider(Reply(status=429, headers={"Retry-After": "30"})) as stub:
        started = time.monotonic()
        result, _ = grade_lib(rubric, gold, stub, concurrency=3, deadline=1.0)
        assert time.monotonic() - started < 10
        assert stub.count == 3
    assert result.status == "stopped" and result.n_skipped == 3


# ---------------------------------------------------------------------------------------------
# no unit got an answer: never "completed"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_with_no_answer_is_stored_as_failed_with_its_cause():
    result = jc(
        "grade",
        "support-billing",
        "--judge",
        "openai/x",
        "--api-base",
        f"http://127.0.0.1:{_closed_port()}/v1",
        "--max-retries",
        "0",
        "--no-preflight",  # the run itself meets the refused connections
        "--quiet",
    )
    assert result.exit_code == 3
    run = Store().list_runs()[0]
    assert run.status == "failed"
    assert run.error and run.error.startswith("no unit got an answer; last error: connection:")
    assert "connection:" in result.stderr


def test_rejected_key_from_echoing_provider_is_reported_redacted(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_STUB_KEY", "k-echoed-abcdef0123456789")

    def reply(req: StubRequest) -> Reply:
        return Reply(status=401, echo_auth=True)

    with StubProvider(reply) as stub:
        result = jc(
            "grade",
            "support-billing",
            "--judge",
            "openai/stub",
            "--api-base",
            stub.base_url,
            "--api-key-env",
            "JC_STUB_KEY",
            "--quiet",
        )
    assert result.exit_code == 3
    assert "k-echoed-abcdef0123456789" not in result.output + result.stderr
    assert "[redacted]" in result.stderr
