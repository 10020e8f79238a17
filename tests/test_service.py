"""The HTTP service (``judgecal serve``): authentication, the one error shape on every path, the
size limits, the OpenAPI spec, grading that refuses unapproved judges and serves approved ones,
validation jobs, and a real uvicorn server on a loopback port (plus the CLI in a subprocess)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from judgecal.cli import app as cli_app
from judgecal.errors import ConfigError
from judgecal.service import ErrorResponse, ServerThread, create_app
from judgecal.service.errors import BodyLimitMiddleware
from judgecal.service.jobs import JobRunner, QueueFull
from judgecal.service.models import MAX_TEXT_CHARS, JobResult, ValidationRequest

with warnings.catch_warnings():
    # starlette 1.x asks for the httpx2 package; TestClient works the same with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from conftest import SERVICE_TOKEN as TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ITEM = {"input": "Can I get a refund for last month?", "output": "Refunds are decided by the billing team."}

# every endpoint that needs the token: (method, path, JSON body)
PROTECTED = [
    ("GET", "/v1/judges", None),
    ("GET", "/v1/approvals", None),
    ("GET", "/v1/approvals/0123abcd", None),
    ("POST", "/v1/grade", {"rubric": "support-billing", "inputs": ITEM}),
    ("POST", "/v1/validations", {"rubric": "support-billing", "judge": "sim/consistent"}),
    ("GET", "/v1/validations", None),
    ("GET", "/v1/validations/" + "0" * 32, None),
]


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the one error shape, the status and the code; return ``error``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details", "request_id"}, body
    ErrorResponse.model_validate(body)
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def wait_for_job(client: TestClient, job_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/validations/{job_id}", headers=AUTH).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {timeout} s: {body}"
        time.sleep(0.2)


def simulator_threads() -> int:
    return sum(t.name == "judgecal-simulator" and t.is_alive() for t in threading.enumerate())


# --------------------------------------------------------------------------------------------
# health and authentication


def test_health_needs_no_token_and_says_the_database_answers(client: TestClient) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    from judgecal import __version__

    assert r.json() == {"status": "ok", "version": __version__, "database": "ok"}


def test_health_is_503_in_the_error_shape_when_the_database_does_not_answer(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    from sqlalchemy import create_engine

    down = SimpleNamespace(engine=create_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db"))
    err = error_of(make_client(store=down).get("/v1/health"), 503, "unavailable")
    assert "OperationalError" in err["details"]["database"]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_every_endpoint_but_health_refuses_a_missing_or_wrong_token(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    missing = client.request(method, path, json=body)
    err = error_of(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == 'Bearer realm="judgecal"'
    assert "missing" in err["message"]
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN.upper()}", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}"):
        wrong = client.request(method, path, json=body, headers={"Authorization": header})
        error_of(wrong, 401, "unauthorized")
        assert wrong.headers["www-authenticate"].startswith("Bearer")
    invalid = client.request(method, path, json=body, headers={"Authorization": f"Bearer {TOKEN}x"})
    assert 'error="invalid_token"' in invalid.headers["www-authenticate"]


def test_the_right_token_gets_through(client: TestClient) -> None:
    assert client.get("/v1/judges", headers=AUTH).status_code == 200
    assert client.get("/v1/approvals", headers=AUTH).json() == {"approvals": [], "next": None}
    assert client.get("/v1/validations", headers=AUTH).json() == {"jobs": [], "next": None}


def test_authentication_can_only_be_turned_off_explicitly(make_client: Callable[..., TestClient]) -> None:
    with pytest.raises(TypeError):
        create_app()  # type: ignore[call-arg]  # the token must be given, even as None
    with pytest.raises(ConfigError, match="empty"):
        create_app(token="  ")
    open_app = make_client(token=None)
    assert open_app.get("/v1/judges").status_code == 200
    assert "securitySchemes" not in open_app.get("/openapi.json").json().get("components", {})


# --------------------------------------------------------------------------------------------
# the OpenAPI spec


def test_openapi_is_public_and_lists_every_path_and_the_bearer_scheme(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert set(spec["paths"]) == {
        "/v1/health",
        "/v1/judges",
        "/v1/approvals",
        "/v1/approvals/{approval_id}",
        "/v1/grade",
        "/v1/validations",
        "/v1/validations/{job_id}",
    }
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    operations = [(path, m, op) for path, ops in spec["paths"].items() for m, op in ops.items()]
    assert len(operations) == 8
    for path, method, op in operations:
        protected = path != "/v1/health"
        assert (op.get("security") == [{"bearer": []}]) is protected, (path, method)
        for status, resp in op["responses"].items():
            if status.startswith(("4", "5")):
                assert resp["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"
                }, (path, method, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    # every property of every schema is documented, the library's models included
    for name, schema in spec["components"]["schemas"].items():
        for prop, p in schema.get("properties", {}).items():
            assert p.get("description"), f"{name}.{prop} has no description"
    assert client.get("/docs").status_code == 200


def test_openapi_reference_in_docs_is_current(tmp_path: Path) -> None:
    spec = create_app(token="x-" * 10).openapi()
    written = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert written == json.loads(json.dumps(spec)), (
        "docs/openapi.json is stale: run `judgecal serve --openapi docs/openapi.json`"
    )
    out = tmp_path / "spec.json"
    result = CliRunner().invoke(cli_app, ["serve", "--openapi", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == written


# --------------------------------------------------------------------------------------------
# one error shape for everything


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    err = error_of(client.get("/v1/nothing-here", headers=AUTH), 404, "not_found")
    assert "/v1/nothing-here" in err["message"]
    r = client.delete("/v1/judges", headers=AUTH)
    err = error_of(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET" and err["details"]["allowed"] == ["GET"]
    error_of(client.put("/v1/grade", headers=AUTH, json={}), 405, "method_not_allowed")


def test_malformed_json_is_400_invalid_json(client: TestClient) -> None:
    r = client.post(
        "/v1/grade", headers={**AUTH, "Content-Type": "application/json"}, content=b'{"rubric": "support-'
    )
    err = error_of(r, 400, "invalid_json")
    assert "not valid JSON" in err["message"] and isinstance(err["details"]["position"], int)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"inputs": ITEM}, "rubric", "Field required"),
        ({"rubric": "support-billing"}, "", "exactly one of"),
        ({"rubric": "support-billing", "inputs": ITEM, "items": [ITEM]}, "", "exactly one of"),
        ({"rubric": "support-billing", "inputs": ITEM, "temperature": 1}, "temperature", "Extra inputs"),
        ({"rubric": "../../etc", "inputs": ITEM}, "rubric", "pattern"),
        (
            {"rubric": "support-billing", "inputs": {"input": "x" * (MAX_TEXT_CHARS + 1)}},
            "inputs.input",
            "at most",
        ),
        ({"rubric": "support-billing", "inputs": {f"k{i}": "v" for i in range(17)}}, "inputs", "at most 16"),
        ({"rubric": "support-billing", "inputs": {}}, "inputs", "at least 1"),
        ({"rubric": "support-billing", "items": []}, "items", "at least 1"),
        ({"rubric": "support-billing", "items": [ITEM, {"input": 3}]}, "items[1].input", "valid string"),
        ({"rubric": "support-billing", "judge": "has space", "inputs": ITEM}, "judge", "pattern"),
        ([ITEM], "", "valid dictionary"),
    ],
)
def test_invalid_grade_requests_are_422_naming_the_field(
    make_client: Callable[..., TestClient], body: Any, field: str, words: str
) -> None:
    client = make_client(max_body_bytes=4 * MAX_TEXT_CHARS)
    err = error_of(client.post("/v1/grade", headers=AUTH, json=body), 422, "invalid_request")
    first = err["details"]["errors"][0]
    assert first["field"] == field and first["location"] in ("body", "query", "path")
    assert words in first["message"] and words in err["message"]


def test_invalid_query_and_path_parameters_are_422(client: TestClient) -> None:
    err = error_of(client.get("/v1/approvals?limit=0", headers=AUTH), 422, "invalid_request")
    assert err["details"]["errors"][0] == {
        "location": "query",
        "field": "limit",
        "message": "Input should be greater than or equal to 1",
        "type": "greater_than_equal",
    }
    error_of(client.get("/v1/approvals/xyz!", headers=AUTH), 422, "invalid_request")
    error_of(client.get("/v1/validations/not-a-job", headers=AUTH), 422, "invalid_request")


def test_unknown_names_are_404_listing_the_known_ones(client: TestClient) -> None:
    err = error_of(
        client.post("/v1/grade", headers=AUTH, json={"rubric": "no-such-rubric", "inputs": ITEM}),
        404,
        "not_found",
    )
    assert "support-billing" in err["message"]  # the known rubrics are listed
    err = error_of(client.get("/v1/approvals/0123abcd", headers=AUTH), 404, "not_found")
    assert "0123abcd" in err["message"]
    err = error_of(client.get("/v1/validations/" + "a" * 32, headers=AUTH), 404, "not_found")
    assert "no validation job" in err["message"]


def test_too_many_batch_items_is_422_too_many_items(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_batch_items=2)
    r = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "items": [ITEM] * 3})
    err = error_of(r, 422, "too_many_items")
    assert err["details"] == {"items": 3, "max_batch_items": 2}


def test_body_over_the_limit_is_413_before_anything_else(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=1024)
    big = {"rubric": "support-billing", "inputs": {"input": "x" * 2000, "output": "y"}}
    for headers in (AUTH, {}):  # refused before authentication: nothing past 1 KiB is read from anyone
        r = client.post("/v1/grade", headers=headers, json=big)
        err = error_of(r, 413, "payload_too_large")
        assert err["details"]["max_body_bytes"] == 1024 and err["details"]["content_length"] > 1024
        assert r.headers["connection"] == "close"
    ok = client.post("/v1/grade", headers=AUTH, json={"rubric": "no-such", "inputs": ITEM})
    error_of(ok, 404, "not_found")  # a body within the limit reaches the app


def test_unexpected_errors_are_500_with_an_id_and_no_internals(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenStore:
        def list_certificates(self, **_: Any) -> list[Any]:
            raise RuntimeError("disk on fire at /secret/path")

    client = make_client(store=BrokenStore())
    err = error_of(client.get("/v1/approvals", headers=AUTH), 500, "internal_error")
    assert "secret" not in err["message"] and "fire" not in json.dumps(err)
    error_id = err["details"]["error_id"]
    assert error_id in err["message"]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "disk on fire" in str(logged[0].exc_info[1])


# --------------------------------------------------------------------------------------------
# the size limit as an ASGI middleware: how much of a body it reads


async def _through_limit(
    limit: int, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[list[dict[str, Any]], int, bytes | None]:
    """Send ``chunks`` through the middleware; returns (messages sent, chunks read, body the app saw)."""
    pulled = 0
    seen: list[bytes] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= len(chunks):
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    scope = {"type": "http", "method": "POST", "path": "/v1/grade", "headers": headers}
    await BodyLimitMiddleware(app, limit)(scope, receive, send)
    return sent, pulled, seen[0] if seen else None


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    chunks = [b"x" * 400] * 10  # 4,000 bytes, no Content-Length
    sent, pulled, seen = asyncio.run(_through_limit(1000, chunks, []))
    assert seen is None and sent[0]["status"] == 413
    assert pulled == 3  # 1,200 bytes read: the third chunk passed 1,000, the other seven were never read
    body = json.loads(sent[1]["body"])
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["details"] == {"max_body_bytes": 1000, "received_at_least": 1200}


def test_a_declared_length_over_the_limit_is_refused_unread_and_a_bad_one_is_400() -> None:
    sent, pulled, seen = asyncio.run(_through_limit(1000, [b"x" * 5000], [(b"content-length", b"5000")]))
    assert (sent[0]["status"], pulled, seen) == (413, 0, None)
    sent, pulled, seen = asyncio.run(_through_limit(1000, [b"x"], [(b"content-length", b"ten")]))
    assert (sent[0]["status"], pulled, seen) == (400, 0, None)
    assert json.loads(sent[1]["body"])["error"]["code"] == "bad_request"


def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    chunks = [b"a" * 300, b"b" * 300, b"c" * 400]  # exactly the limit
    sent, pulled, seen = asyncio.run(_through_limit(1000, chunks, []))
    assert sent[0]["status"] == 200 and pulled == 3 and seen == b"".join(chunks)


# --------------------------------------------------------------------------------------------
# grading: approved judges are served, unapproved ones refused


def test_grading_without_any_approval_is_409_not_approved(client: TestClient) -> None:
    r = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM})
    err = error_of(r, 409, "not_approved")
    assert err["details"] == {"rubric": "support-billing", "judge": None, "status": "none"}
    assert "no approval record" in err["message"] and "POST /v1/validations" in err["message"]


def test_the_approved_judge_is_served_with_its_certificate(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    gold = [json.loads(line) for line in Path(approved_support.gold_path).read_text().splitlines()]
    client = make_client()
    one = client.post(
        "/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": gold[0]["inputs"]}
    )
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["certificate_id"] == approved_support.id
    assert (body["rubric"], body["model"]) == ("support-billing", "sim/consistent")
    v = body["verdict"]
    assert v["status"] == "ok" and v["label"] in ("pass", "fail") and v["score"] in (0.0, 1.0)
    assert v["certificate_id"] == approved_support.id and v["passed"] == (v["label"] == "pass")

    batch = client.post(
        "/v1/grade",
        headers=AUTH,
        json={
            "rubric": "support-billing",
            "judge": "sim/consistent",
            "items": [g["inputs"] for g in gold[:20]],
        },
    )
    assert batch.status_code == 200, batch.text
    verdicts = batch.json()["verdicts"]
    assert len(verdicts) == 20 and all(x["status"] == "ok" for x in verdicts)
    majority = [max(set(g["labels"].values()), key=list(g["labels"].values()).count) for g in gold[:20]]
    assert sum(x["label"] == m for x, m in zip(verdicts, majority, strict=True)) >= 16  # a 95%-accurate judge
    assert verdicts[0]["cached"] and verdicts[0]["label"] == v["label"]  # item 0 was graded a moment ago

    judges = {j["rubric"]: j for j in client.get("/v1/judges", headers=AUTH).json()["judges"]}
    support = judges["support-billing"]
    assert support["default"]["id"] == approved_support.id and support["default"]["status"] == "valid"
    assert [a["model"] for a in support["approvals"]] == ["sim/consistent"]
    assert (support["scale"], support["inputs"], support["reason"]) == ("binary", ["input", "output"], None)
    assert judges["pairwise-preference"]["default"] is None and judges["pairwise-preference"]["reason"]

    listed = client.get("/v1/approvals?rubric=support-billing", headers=AUTH).json()["approvals"]
    assert [(a["id"], a["status"], a["tier"]) for a in listed] == [(approved_support.id, "valid", "approved")]
    assert client.get("/v1/approvals?judge=sim/other", headers=AUTH).json() == {"approvals": [], "next": None}
    detail = client.get(f"/v1/approvals/{approved_support.id[:8]}", headers=AUTH).json()
    assert detail["status"] == "valid"
    assert detail["certificate"]["hashes"] == approved_support.hashes
    assert detail["certificate"]["decision"]["tier"] == "approved"


def test_inputs_that_do_not_fit_the_rubric_are_400_naming_the_field(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    client = make_client()
    r = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": {"input": "q?"}})
    err = error_of(r, 400, "invalid_input")
    assert err["details"] == {"field": "inputs[0]"} and "missing ['output']" in err["message"]
    r = client.post(
        "/v1/grade",
        headers=AUTH,
        json={"rubric": "support-billing", "items": [ITEM, {"input": "q?", "output": "   "}]},
    )
    err = error_of(r, 400, "invalid_input")
    assert err["details"] == {"field": "inputs[1].output"}


def test_a_revoked_approval_is_refused_at_once_even_with_a_grader_cached(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    from judgecal.store import Store

    client = make_client()
    grade = {"rubric": "support-billing", "inputs": ITEM}
    assert client.post("/v1/grade", headers=AUTH, json=grade).status_code == 200  # grader now cached
    Store().revoke_certificate(approved_support.id, "judge drifted in production")
    err = error_of(client.post("/v1/grade", headers=AUTH, json=grade), 409, "not_approved")
    assert err["details"]["status"] == "revoked" and err["details"]["certificate_id"] == approved_support.id
    assert "judge drifted in production" in err["message"]
    listed = client.get("/v1/approvals", headers=AUTH).json()["approvals"]
    assert listed[0]["status"] == "revoked"
    judges = client.get("/v1/judges", headers=AUTH).json()["judges"]
    assert next(j for j in judges if j["rubric"] == "support-billing")["default"] is None


def test_a_changed_rubric_makes_the_approval_stale_and_says_which_hash(
    make_client: Callable[..., TestClient],
    approved_support: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rubrics = tmp_path / "rubrics-copy"
    shutil.copytree(ROOT / "rubrics" / "support-billing", rubrics / "support-billing")
    monkeypatch.setenv("JUDGECAL_RUBRICS", str(rubrics))  # the service now loads the copy by name
    client = make_client()
    grade = {"rubric": "support-billing", "inputs": ITEM}
    assert client.post("/v1/grade", headers=AUTH, json=grade).status_code == 200  # same bytes: valid

    yaml_path = rubrics / "support-billing" / "rubric.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("Ledgerly", "Ledgerlx", 1))
    err = error_of(client.post("/v1/grade", headers=AUTH, json=grade), 409, "not_approved")
    assert err["details"]["status"] == "stale" and err["details"]["changed"] == ["rubric"]
    assert "stale" in err["message"] and "rubric (" in err["message"] and "template (" not in err["message"]
    listed = client.get("/v1/approvals", headers=AUTH).json()["approvals"]
    assert listed[0]["status"] == "stale" and "rubric" in listed[0]["status_reason"]


def test_a_rejected_record_or_another_judge_is_refused(
    make_client: Callable[..., TestClient], approved_support: Any
) -> None:
    from judgecal.store import Store

    rejected = approved_support.model_copy(
        update={
            "id": uuid.uuid4().hex,
            "created_at": datetime.now(UTC),
            "model": "sim/lenient",
            "judge": {**approved_support.judge, "model": "sim/lenient"},
            "decision": approved_support.decision.model_copy(update={"tier": "rejected"}),
        }
    )
    Store().save_certificate(rejected)
    client = make_client()
    err = error_of(
        client.post(
            "/v1/grade",
            headers=AUTH,
            json={"rubric": "support-billing", "judge": "sim/lenient", "inputs": ITEM},
        ),
        409,
        "not_approved",
    )
    assert err["details"]["status"] == "not_approved" and err["details"]["tier"] == "rejected"
    assert "rejected" in err["message"]
    err = error_of(
        client.post(
            "/v1/grade",
            headers=AUTH,
            json={"rubric": "support-billing", "judge": "sim/noisy", "inputs": ITEM},
        ),
        409,
        "not_approved",
    )
    assert err["details"]["status"] == "none"
    # the rubric's own default is still the approved judge, and the listing shows both records
    ok = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM})
    assert ok.json()["certificate_id"] == approved_support.id
    statuses = {
        a["model"]: a["status"] for a in client.get("/v1/approvals", headers=AUTH).json()["approvals"]
    }
    assert statuses == {"sim/lenient": "not_approved", "sim/consistent": "valid"}


def test_graders_are_reused_across_requests_and_closed_on_shutdown(approved_support: Any) -> None:
    before = simulator_threads()
    app = create_app(token=TOKEN)
    with TestClient(app) as client:
        for _ in range(3):
            r = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM})
            assert r.status_code == 200
        assert app.state.service.pool().open_graders() == {approved_support.id: "sim/consistent"}
        assert simulator_threads() == before + 1  # one simulated judge for the three requests
    assert simulator_threads() == before


# --------------------------------------------------------------------------------------------
# validations as background jobs


@pytest.fixture
def synthetic_gold_on_path(approved_support: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The approved record's synthetic gold set, findable by name (its verdicts are in the store)."""
    path = Path(approved_support.gold_path)
    monkeypatch.setenv("JUDGECAL_GOLD", str(path.parent))
    return path.stem


def test_a_validation_job_runs_in_the_background_and_its_record_is_listed(
    make_client: Callable[..., TestClient], approved_support: Any, synthetic_gold_on_path: str
) -> None:
    client = make_client(validation_resamples=500)
    r = client.post(
        "/v1/validations",
        headers=AUTH,
        json={"rubric": "support-billing", "judge": "sim/consistent", "gold": synthetic_gold_on_path},
    )
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status"] == "queued" and accepted["poll"] == f"/v1/validations/{accepted['job_id']}"
    assert r.headers["location"] == accepted["poll"]

    job = wait_for_job(client, accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["request"]["gold"] == synthetic_gold_on_path and job["error"] is None
    result = job["result"]
    assert result["tier"] == "approved" and result["approved"] and result["reasons"]
    assert result["calls"] == 0  # every verdict came from the store
    assert job["progress"]["stage"] == "probes" and job["started_at"] and job["finished_at"]
    listed = client.get("/v1/approvals", headers=AUTH).json()["approvals"]
    assert [a["id"] for a in listed] == [result["certificate_id"], approved_support.id]
    assert listed[0]["status"] == "valid"
    judges = client.get("/v1/judges", headers=AUTH).json()["judges"]
    assert (
        next(j for j in judges if j["rubric"] == "support-billing")["default"]["id"]
        == result["certificate_id"]
    )
    assert [j["job_id"] for j in client.get("/v1/validations", headers=AUTH).json()["jobs"]] == [
        job["job_id"]
    ]


def test_a_fail_fast_validation_of_a_bad_judge_skips_the_probes(
    make_client: Callable[..., TestClient], synthetic_gold_on_path: str
) -> None:
    client = make_client(validation_resamples=300)
    body = {
        "rubric": "support-billing",
        "judge": "sim/noisy",
        "gold": synthetic_gold_on_path,
        "fail_fast": True,
    }
    r = client.post("/v1/validations", headers=AUTH, json=body)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["request"]["fail_fast"] is True
    result = job["result"]
    assert result["tier"] == "rejected"
    assert any(
        reason.startswith("bias probes and resample stability not run") for reason in result["reasons"]
    )
    record = client.get(f"/v1/approvals/{result['certificate_id']}", headers=AUTH).json()
    probes = record["certificate"]["probes"]
    assert probes["results"] == [] and "G2" in probes["not_run"]


def test_a_failed_job_gives_the_message_not_a_traceback(
    make_client: Callable[..., TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gold_dir = tmp_path / "gold-broken"
    gold_dir.mkdir()
    (gold_dir / "broken.jsonl").write_text(
        json.dumps({"id": "a", "inputs": {"input": "q", "output": "a"}, "labels": {"ann": "pass"}})
        + "\n{not json\n"
    )
    monkeypatch.setenv("JUDGECAL_GOLD", str(gold_dir))
    client = make_client()
    r = client.post(
        "/v1/validations",
        headers=AUTH,
        json={"rubric": "support-billing", "judge": "sim/consistent", "gold": "broken"},
    )
    assert r.status_code == 202, r.text
    job = wait_for_job(client, r.json()["job_id"], timeout=60)
    assert job["status"] == "failed" and job["result"] is None
    error = job["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["location"] == f"{gold_dir / 'broken.jsonl'}:2"
    assert "Traceback" not in json.dumps(job) and "broken.jsonl:2" in error["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"rubric": "no-such", "judge": "sim/consistent"}, "no rubric named 'no-such'"),
        ({"rubric": "support-billing", "judge": "sim/consistent", "gold": "no-such"}, "no gold set named"),
        ({"rubric": "support-billing", "judge": "sim/no-such"}, "no simulated judge preset"),
        ({"rubric": "support-billing", "judge": "sim/consistent", "probes": ["no_such"]}, "unknown probes"),
        ({"rubric": "support-billing", "judge": "sim/consistent", "policy": "strict"}, "no policy folder"),
    ],
)
def test_a_validation_naming_something_unknown_is_404_and_not_queued(
    client: TestClient, body: dict[str, Any], words: str
) -> None:
    err = error_of(client.post("/v1/validations", headers=AUTH, json=body), 404, "not_found")
    assert words in err["message"]
    assert client.get("/v1/validations", headers=AUTH).json() == {"jobs": [], "next": None}


def test_policies_are_looked_up_by_name_in_the_policy_folder(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "strict.yaml").write_text("agreement:\n  approve: 0.9\n")
    client = make_client(policy_dir=folder)
    err = error_of(
        client.post(
            "/v1/validations",
            headers=AUTH,
            json={"rubric": "support-billing", "judge": "sim/x", "policy": "lax"},
        ),
        404,
        "not_found",
    )
    assert "policies: strict" in err["message"]
    error_of(
        client.post(
            "/v1/validations",
            headers=AUTH,
            json={"rubric": "support-billing", "judge": "sim/x", "policy": "../x"},
        ),
        422,
        "invalid_request",
    )


def test_a_full_queue_is_429(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_queued_jobs=1)
    jobs = client.app.state.service.jobs  # type: ignore[attr-defined]
    release = threading.Event()
    request = ValidationRequest(rubric="support-billing", judge="sim/consistent")

    def blocked(progress: Any) -> JobResult:
        progress("grading", 0, 1)
        assert release.wait(30)
        raise RuntimeError("stopped on purpose")

    running = jobs.submit(request, blocked)
    deadline = time.monotonic() + 10
    while jobs.get(running.job_id).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    waiting = jobs.submit(request, blocked)
    r = client.post(
        "/v1/validations", headers=AUTH, json={"rubric": "support-billing", "judge": "sim/consistent"}
    )
    err = error_of(r, 429, "queue_full")
    assert err["details"] == {"queued": 1, "max_queued": 1}
    status = client.get(f"/v1/validations/{running.job_id}", headers=AUTH).json()
    assert status["status"] == "running" and status["progress"] == {"stage": "grading", "done": 0, "total": 1}
    assert client.get(f"/v1/validations/{waiting.job_id}", headers=AUTH).json()["queue_position"] == 0
    release.set()
    for job_id in (running.job_id, waiting.job_id):
        done = wait_for_job(client, job_id, timeout=30)
        assert done["status"] == "failed"
        assert done["error"] == {
            "code": "internal_error",
            "message": "RuntimeError: stopped on purpose",
            "details": {},
        }


def test_job_runner_runs_in_order_and_interrupts_waiting_jobs_on_shutdown(store: Any) -> None:
    runner = JobRunner(lambda: store, max_queued=2, keep=1)
    gate = threading.Event()
    order: list[str] = []
    request = ValidationRequest(rubric="r", judge="m/j")

    def job(name: str) -> Callable[[Any], JobResult]:
        def execute(_progress: Any) -> JobResult:
            assert gate.wait(30)
            order.append(name)
            return JobResult(
                tier="inconclusive",
                approved=False,
                reasons=[name],
                labels_needed=10,
                certificate_id=name,
                calls=0,
                cost=None,
            )

        return execute

    first = runner.submit(request, job("first"))
    while runner.get(first.job_id).status != "running":  # type: ignore[union-attr]
        time.sleep(0.01)
    second = runner.submit(request, job("second"))
    third = runner.submit(request, job("third"))
    with pytest.raises(QueueFull):
        runner.submit(request, job("fourth"))
    assert [runner.get(j.job_id).queue_position for j in (second, third)] == [0, 1]  # type: ignore[union-attr]
    gate.set()
    deadline = time.monotonic() + 10
    while order != ["first", "second", "third"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(runner.jobs()) == 1  # keep=1: only the newest finished job is kept
    gate.clear()
    runner.submit(request, job("fifth"))
    sixth = runner.submit(request, job("sixth"))
    while runner.get(sixth.job_id).queue_position != 0:  # type: ignore[union-attr]
        time.sleep(0.01)
    gate.set()  # fifth finishes; sixth may or may not have started when close() comes
    runner.close(timeout=10)
    status = runner.get(sixth.job_id)
    assert status is not None and status.status in ("succeeded", "interrupted")
    if status.status == "interrupted":
        assert status.error is not None and status.error.code == "shut_down"
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(request, job("late"))


# --------------------------------------------------------------------------------------------
# a real server on a loopback port, and the command line


def test_end_to_end_on_a_real_uvicorn_server(approved_support: Any) -> None:
    with (
        ServerThread(create_app(token=TOKEN, max_body_bytes=4096)) as url,
        httpx.Client(base_url=url) as http,
    ):
        assert http.get("/v1/health").json()["status"] == "ok"
        error_of(http.get("/v1/judges"), 401, "unauthorized")
        r = http.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM})
        assert r.status_code == 200 and r.json()["certificate_id"] == approved_support.id

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
            yield b'{"rubric": "support-billing", "inputs": {"input": "'
            for _ in range(16):
                yield b"x" * 1024
            yield b'", "output": "y"}}'

        r = http.post("/v1/grade", headers={**AUTH, "Content-Type": "application/json"}, content=chunks())
        err = error_of(r, 413, "payload_too_large")
        assert "content_length" not in err["details"] and err["details"]["received_at_least"] > 4096
        # the connection was closed; the client opens a new one and carries on
        assert http.get("/v1/health").status_code == 200


def test_cli_refuses_to_serve_without_a_token_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGECAL_SERVE_TOKEN", raising=False)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--port", "0"])
    assert r.exit_code == 2 and "no token" in r.output and "--no-auth" in r.output
    r = runner.invoke(cli_app, ["serve", "--port", "0", "--no-auth", "--token", TOKEN])
    assert r.exit_code == 2 and "contradict" in r.output


@pytest.mark.slow
def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "JUDGECAL_SERVE_TOKEN": TOKEN, "JUDGECAL_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "judgecal", "serve", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0"), url
        assert httpx.get(f"{url}/v1/health").json()["status"] == "ok"
        assert httpx.get(f"{url}/v1/approvals").status_code == 401
        assert httpx.get(f"{url}/v1/approvals", headers=AUTH).json() == {"approvals": [], "next": None}
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "bearer token required" in stderr


def test_the_app_starts_again_after_a_shutdown(approved_support: Any) -> None:
    app = create_app(token=TOKEN)
    result = JobResult(
        tier="rejected",
        approved=False,
        reasons=["r"],
        labels_needed=None,
        certificate_id="c",
        calls=0,
        cost=0.0,
    )
    for run in (1, 2):
        with TestClient(app) as client:
            r = client.post("/v1/grade", headers=AUTH, json={"rubric": "support-billing", "inputs": ITEM})
            assert r.status_code == 200, r.text
            job = app.state.service.jobs.submit(
                ValidationRequest(rubric="support-billing", judge="sim/consistent"), lambda _progress: result
            )
            assert wait_for_job(client, job.job_id, timeout=30)["result"]["tier"] == "rejected"
            # the jobs are in the database: the second start still lists the first one's
            assert len(client.get("/v1/validations", headers=AUTH).json()["jobs"]) == run
