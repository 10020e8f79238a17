"""The service holds up (issue 13, item 6): Idempotency-Key on every POST, validation jobs in the
database (a restarted server still lists them; an interrupted one says so), pagination, the JSON
error shape for the HTTP server's own errors, header and body timeouts, CORS, request ids and
Prometheus metrics."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from test_service import AUTH, ITEM, TOKEN, error_of, wait_for_job
from typer.testing import CliRunner

from judgecal.cli import app as cli_app
from judgecal.errors import ConfigError
from judgecal.service import ServerThread, create_app
from judgecal.service.idempotency import caller_scope
from judgecal.service.models import JobResult, ValidationRequest
from judgecal.store import IdempotencyRow, Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

RESULT = JobResult(
    tier="rejected", approved=False, reasons=["r"], labels_needed=None, certificate_id="c", calls=0, cost=0.0
)
REQUEST = ValidationRequest(rubric="support-billing", judge="sim/consistent")


@pytest.fixture
def synthetic_gold_on_path(approved_support: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    path = Path(approved_support.gold_path)
    monkeypatch.setenv("JUDGECAL_GOLD", str(path.parent))
    return path.stem


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


# --------------------------------------------------------------------------------------------
# Idempotency-Key


def test_the_same_idempotency_key_twice_makes_one_job_and_one_approval_record(
    make_client: Callable[..., TestClient], approved_support: Any, synthetic_gold_on_path: str
) -> None:
    client = make_client(validation_resamples=300)
    body = {"rubric": "support-billing", "judge": "sim/consistent", "gold": synthetic_gold_on_path}
    headers = {**AUTH, **key()}
    first = client.post("/v1/validations", headers=headers, json=body)
    assert first.status_code == 202, first.text
    assert "idempotent-replayed" not in first.headers
    # the same request again, keys in another order: the same job, whatever state it is in
    again = client.post("/v1/validations", headers=headers, json=dict(reversed(list(body.items()))))
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    job = wait_for_job(client, first.json()["job_id"])
    assert job["status"] == "succeeded", job
    replay = client.post("/v1/validations", headers=headers, json={**body, "fail_fast": False})  # a default
    assert replay.status_code == 202 and replay.json()["job_id"] == job["job_id"]

    jobs = client.get("/v1/validations", headers=AUTH).json()["jobs"]
    assert [j["job_id"] for j in jobs] == [job["job_id"]]
    records = client.get("/v1/approvals", headers=AUTH).json()["approvals"]
    assert [r["id"] for r in records] == [job["result"]["certificate_id"], approved_support.id]

    # the same key with a different request: 409, and nothing queued
    err = error_of(
        client.post("/v1/validations", headers=headers, json={**body, "fail_fast": True}),
        409,
        "idempotency_key_reused",
    )
    assert err["details"]["idempotency_key"] == headers["Idempotency-Key"]
    error_of(
        client.post("/v1/grade", headers=headers, json={"rubric": "support-billing", "inputs": ITEM}),
        409,
        "idempotency_key_reused",
    )
    assert len(client.get("/v1/validations", headers=AUTH).json()["jobs"]) == 1


def test_an_idempotent_grade_replays_the_stored_answer(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    client = make_client()
    headers = {**AUTH, **key()}
    body = {"rubric": "support-billing", "inputs": ITEM}
    first = client.post("/v1/grade", headers=headers, json=body)
    assert first.status_code == 200, first.text
    second = client.post("/v1/grade", headers=headers, json=body)
    assert second.status_code == 200 and second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["verdict"]["cached"] is False  # the first answer, not a re-grade from the cache
    error_of(
        client.post("/v1/grade", headers=headers, json={**body, "inputs": {**ITEM, "output": "other"}}),
        409,
        "idempotency_key_reused",
    )
    # without a key every request is answered anew
    plain = client.post("/v1/grade", headers=AUTH, json=body)
    assert plain.json()["verdict"]["cached"] is True and "idempotent-replayed" not in plain.headers


def test_an_error_does_not_keep_the_key_and_a_bad_key_is_422(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    headers = {**AUTH, **key()}
    body = {"rubric": "support-billing", "inputs": ITEM}
    error_of(client.post("/v1/grade", headers=headers, json=body), 409, "not_approved")
    error_of(client.post("/v1/grade", headers=headers, json=body), 409, "not_approved")  # not replayed
    error_of(client.post("/v1/grade", headers=headers, json={**body, "judge": "sim/x"}), 409, "not_approved")
    for bad in ("", "has space", "x" * 256):
        err = error_of(
            client.post("/v1/grade", headers={**AUTH, "Idempotency-Key": bad}, json=body),
            422,
            "invalid_request",
        )
        assert err["details"]["errors"][0]["field"] == "Idempotency-Key"


def test_idempotency_keys_expire_and_are_scoped_per_caller(
    make_client: Callable[..., TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / "broken.jsonl").write_text("{not json\n")  # the jobs fail at once: no grading
    monkeypatch.setenv("JUDGECAL_GOLD", str(gold_dir))
    store = Store(f"sqlite:///{tmp_path / 'keys.db'}")
    client = make_client(store=store)
    headers = {**AUTH, **key()}
    body = {"rubric": "support-billing", "judge": "sim/consistent", "gold": "broken"}
    job = client.post("/v1/validations", headers=headers, json=body).json()["job_id"]
    error_of(
        client.post("/v1/validations", headers=headers, json={**body, "fail_fast": True}),
        409,
        "idempotency_key_reused",
    )
    with store.engine.begin() as conn:  # a day later
        conn.execute(update(IdempotencyRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    again = client.post("/v1/validations", headers=headers, json={**body, "fail_fast": True})
    assert again.status_code == 202 and again.json()["job_id"] != job
    assert caller_scope("Bearer a", True) != caller_scope("Bearer b", True)
    assert caller_scope("Bearer a", False) == caller_scope(None, True) == "-"


# --------------------------------------------------------------------------------------------
# jobs in the database


def test_a_restarted_server_still_lists_its_jobs_and_an_interrupted_one_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    release = threading.Event()

    def blocked(progress: Any) -> JobResult:
        progress("grading", 3, 10)
        release.wait(30)
        return RESULT

    first_app = create_app(token=TOKEN, store=Store(url))
    with TestClient(first_app) as first:
        jobs = first_app.state.service.jobs
        done = jobs.submit(REQUEST, lambda _progress: RESULT)
        assert wait_for_job(first, done.job_id, timeout=30)["status"] == "succeeded"
        running = jobs.submit(REQUEST, blocked)
        deadline = time.monotonic() + 10
        while jobs.get(running.job_id).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        queued = jobs.submit(REQUEST, blocked)

        # the process dies here (no shutdown); another starts on the same database
        second_app = create_app(token=TOKEN, store=Store(url))
        with TestClient(second_app) as second:
            listed = {j["job_id"]: j for j in second.get("/v1/validations", headers=AUTH).json()["jobs"]}
            assert list(listed) == [queued.job_id, running.job_id, done.job_id]  # newest first
            assert listed[done.job_id]["status"] == "succeeded"
            assert listed[done.job_id]["result"]["tier"] == "rejected"
            was_running = second.get(f"/v1/validations/{running.job_id}", headers=AUTH).json()
            assert was_running["status"] == "interrupted" and was_running["finished_at"]
            assert was_running["error"] == {
                "code": "interrupted",
                "message": "the server stopped while the job was running; submit it again",
                "details": {},
            }
            assert was_running["request"] == REQUEST.model_dump(mode="json")
            was_queued = listed[queued.job_id]
            assert was_queued["status"] == "interrupted" and was_queued["started_at"] is None
            assert "before the job started" in was_queued["error"]["message"]
            only = second.get("/v1/validations?status=interrupted", headers=AUTH).json()["jobs"]
            assert {j["job_id"] for j in only} == {queued.job_id, running.job_id}
        release.set()


def test_a_graceful_shutdown_interrupts_the_waiting_jobs_for_good(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    release = threading.Event()

    def blocked(_progress: Any) -> JobResult:
        release.wait(30)
        return RESULT

    app = create_app(token=TOKEN, store=Store(url))
    with TestClient(app):
        jobs = app.state.service.jobs
        running = jobs.submit(REQUEST, blocked)
        while jobs.get(running.job_id).status != "running":
            time.sleep(0.01)
        waiting = jobs.submit(REQUEST, blocked)
        threading.Timer(0.5, release.set).start()  # the running job ends while shutdown waits for it
    with TestClient(create_app(token=TOKEN, store=Store(url))) as again:
        statuses = {
            j["job_id"]: (j["status"], (j["error"] or {}).get("code"))
            for j in again.get("/v1/validations", headers=AUTH).json()["jobs"]
        }
    assert statuses == {running.job_id: ("succeeded", None), waiting.job_id: ("interrupted", "shut_down")}


# --------------------------------------------------------------------------------------------
# pagination


def _pages(client: TestClient, path: str, field: str) -> list[list[Any]]:
    pages = []
    while path:
        body = client.get(path, headers=AUTH).json()
        pages.append(body[field])
        path = body["next"]
    return pages


def test_every_list_pages_with_limit_and_offset(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    client = make_client()
    jobs = client.app.state.service.jobs
    ids = [jobs.submit(REQUEST, lambda _p: RESULT).job_id for _ in range(4)]
    for job_id in ids:
        wait_for_job(client, job_id, timeout=30)
    pages = _pages(client, "/v1/validations?limit=3", "jobs")
    assert [len(p) for p in pages] == [3, 1]
    assert [j["job_id"] for p in pages for j in p] == list(reversed(ids))
    assert client.get("/v1/validations?limit=2&offset=2", headers=AUTH).json()["jobs"][0]["job_id"] == ids[1]

    store = Store()
    base = approved_support.created_at
    for i in range(3):
        store.save_certificate(
            approved_support.model_copy(
                update={"id": f"{i:032x}", "created_at": base - timedelta(days=i + 1)}
            )
        )
    store.close()
    pages = _pages(client, "/v1/approvals?rubric=support-billing&limit=2", "approvals")
    assert [[a["id"] for a in p] for p in pages] == [
        [approved_support.id, f"{0:032x}"],
        [f"{1:032x}", f"{2:032x}"],
    ]
    first = client.get("/v1/approvals?rubric=support-billing&limit=2", headers=AUTH).json()["next"]
    assert first.startswith("/v1/approvals?") and "rubric=support-billing" in first and "offset=2" in first

    judge_pages = _pages(client, "/v1/judges?limit=1", "judges")
    names = [j["rubric"] for p in judge_pages for j in p]
    assert len(judge_pages) == len(names) >= 2 and names == sorted(names)
    error_of(client.get("/v1/validations?offset=-1", headers=AUTH), 422, "invalid_request")


# --------------------------------------------------------------------------------------------
# the HTTP server's own errors and timeouts, over a raw socket


def _exchange(
    url: str, chunks: list[bytes], pause: float = 0.0, read_for: float = 15.0
) -> tuple[bytes, float]:
    """Send ``chunks`` (``pause`` s apart) and read until the server closes; (response, seconds)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=read_for) as sock:
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection: stop sending
                break
            time.sleep(pause)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data, time.monotonic() - started


def _json_error(raw: bytes, status: int, code: str) -> dict[str, Any]:
    import json

    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), raw
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and error["request_id"] == headers["x-request-id"]
    return error  # type: ignore[no-any-return]


def test_a_malformed_content_length_and_oversized_headers_get_the_json_error() -> None:
    with ServerThread(create_app(token=TOKEN)) as url:
        raw, _ = _exchange(url, [b"POST /v1/grade HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}"])
        err = _json_error(raw, 400, "bad_request")
        assert "Content-Length" in err["message"]
        big = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 20000  # > 16 KiB, unfinished
        raw, _ = _exchange(url, [big, b"\r\n\r\n"], pause=0.3)
        _json_error(raw, 431, "headers_too_large")
        assert httpx.get(f"{url}/v1/health").status_code == 200


def test_slow_headers_and_a_slow_body_are_cut_off() -> None:
    with ServerThread(create_app(token=TOKEN, body_timeout=1.0), header_timeout=1.0) as url:
        trickle = [b"GET /v1/health HTTP/1.1\r\n"] + [b"X-Slow: 1\r\n"] * 60
        raw, seconds = _exchange(url, trickle, pause=0.1)
        err = _json_error(raw, 408, "request_timeout")
        assert err["details"] == {"header_timeout": 1.0} and seconds < 5  # 1 s, not the 6 s of trickling

        head = (
            b"POST /v1/grade HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500\r\n\r\n"
        )
        raw, seconds = _exchange(url, [head] + [b" "] * 60, pause=0.1)
        err = _json_error(raw, 408, "request_timeout")
        assert err["details"]["body_timeout"] == 1.0 and seconds < 5

        raw, seconds = _exchange(url, [])  # connects and says nothing
        assert raw == b"" and seconds < 5
        assert httpx.get(f"{url}/v1/health").status_code == 200  # a normal client is unaffected


# --------------------------------------------------------------------------------------------
# CORS, request ids


def test_cors_is_off_by_default_and_configurable(make_client: Callable[..., TestClient]) -> None:
    origin = {"Origin": "https://app.example.com"}
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "idempotency-key",
    }
    off = make_client()
    assert "access-control-allow-origin" not in off.get("/v1/health", headers=origin).headers
    assert "access-control-allow-origin" not in off.options("/v1/grade", headers=preflight).headers

    on = make_client(cors_origins=["https://app.example.com/"])
    r = on.get("/v1/health", headers=origin)
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    r = on.options("/v1/grade", headers=preflight)
    assert r.status_code == 200 and "idempotency-key" in r.headers["access-control-allow-headers"].lower()
    other = on.get("/v1/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = on.options("/v1/grade", headers={**preflight, "Origin": "https://evil.example"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "cors_refused"
    assert "Disallowed CORS origin" in refused.json()["error"]["message"]
    assert refused.json()["error"]["request_id"] == refused.headers["x-request-id"]
    with pytest.raises(ConfigError, match="not an origin"):
        create_app(token=TOKEN, cors_origins=["app.example.com"])
    r = CliRunner().invoke(cli_app, ["serve", "--port", "0", "--token", TOKEN, "--cors-origin", "ftp://x/y"])
    assert r.exit_code == 2 and "not an origin" in r.output


def test_every_response_has_a_request_id_in_the_header_the_error_and_the_log(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="judgecal.service.access")
    client = make_client()
    ok = client.get("/v1/health")
    generated = ok.headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/v1/health").headers["x-request-id"] != generated
    mine = client.get("/v1/judges", headers={"X-Request-ID": "trace-42.a"})
    err = error_of(mine, 401, "unauthorized")
    assert mine.headers["x-request-id"] == err["request_id"] == "trace-42.a"
    for insane in ("has space", "x" * 129, "semi;colon"):
        r = client.get("/v1/nothing", headers={"X-Request-ID": insane})
        assert r.headers["x-request-id"] != insane and error_of(r, 404, "not_found")["request_id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "judgecal.service.access"]
    assert any('"GET /v1/judges" 401' in line and "request_id=trace-42.a" in line for line in lines), lines


# --------------------------------------------------------------------------------------------
# /metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_grades_and_jobs(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    client = make_client()
    error_of(client.get("/metrics"), 401, "unauthorized")  # behind the token by default
    for _ in range(2):
        assert (
            client.post(
                "/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM}
            ).status_code
            == 200
        )
    refused = client.post(
        "/v1/grade", headers=AUTH, json={"rubric": "pairwise-preference", "items": [ITEM, ITEM]}
    )
    error_of(refused, 409, "not_approved")
    job = client.app.state.service.jobs.submit(REQUEST, lambda _p: RESULT)
    wait_for_job(client, job.job_id, timeout=30)

    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(r.text)
    assert samples[("judgecal_grades_total", (("outcome", "ok"),))] == 2
    assert samples[("judgecal_grades_total", (("outcome", "refused"),))] == 2
    assert samples[("judgecal_grades_total", (("outcome", "error"),))] == 0
    grades = (("method", "POST"), ("route", "/v1/grade"), ("status", "200"))
    assert samples[("judgecal_http_requests_total", grades)] == 2
    assert (
        samples[
            ("judgecal_http_requests_total", (("method", "GET"), ("route", "/metrics"), ("status", "401")))
        ]
        == 1
    )
    latency = (("method", "POST"), ("route", "/v1/grade"))
    assert samples[("judgecal_http_request_duration_seconds_count", latency)] == 3
    assert samples[("judgecal_jobs", (("status", "succeeded"),))] == 1
    assert samples[("judgecal_jobs_queue_depth", ())] == 0

    public = make_client(metrics="public")
    assert public.get("/metrics").status_code == 200
    public.get("/no/such/path")
    assert (
        "judgecal_http_requests_total",
        (("method", "GET"), ("route", "unmatched"), ("status", "404")),
    ) in _samples(public.get("/metrics").text)
    error_of(make_client(metrics="off").get("/metrics", headers=AUTH), 404, "not_found")
