"""The promptfoo adapter (``judgecal/adapters/promptfoo/``): the real ``promptfoo eval`` CLI with the
shipped JavaScript assertion, grading through a real ``judgecal serve`` subprocess. The approved
judge decides each test as the service does, the shipped example config runs as it is, and a
refusal or an unusable verdict is a promptfoo *error*, never a pass.

Needs the ``promptfoo`` CLI on PATH (``npm install -g promptfoo@0.121.20``; later versions need
Node 22): skipped without it, unless ``JUDGECAL_REQUIRE_ADAPTERS=1`` (CI), which makes it fail."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from judgecal.gold import load_gold
from judgecal.rubric import find_rubric

ADAPTER = Path(__file__).resolve().parent.parent / "judgecal" / "adapters" / "promptfoo"
TOKEN = "adapter-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def promptfoo() -> str:
    found = shutil.which("promptfoo")
    if found is None:
        why = "the promptfoo CLI is not on PATH (npm install -g promptfoo@0.121.20)"
        if os.environ.get("JUDGECAL_REQUIRE_ADAPTERS") == "1":
            pytest.fail(why + " and JUDGECAL_REQUIRE_ADAPTERS=1")
        pytest.skip(why)
    return found


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``serve()`` starts ``judgecal serve`` on a free loopback port (the test's JUDGECAL_HOME)."""
    procs: list[subprocess.Popen[str]] = []

    def start() -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "judgecal", "serve", "--port", "0", "--log-level", "warning"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "JUDGECAL_SERVE_TOKEN": TOKEN},
            cwd=tmp_path,
        )
        procs.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        return url

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def promptfoo_eval(
    promptfoo: str, config: Path, url: str, out_dir: Path, *, token: str = TOKEN
) -> tuple[int, dict[str, Any]]:
    """Run ``promptfoo eval`` on ``config``; its exit code and its JSON output."""
    out = out_dir / "promptfoo-out.json"
    env = {
        **os.environ,
        "JUDGECAL_URL": url,
        "JUDGECAL_SERVE_TOKEN": token,
        "PROMPTFOO_DISABLE_TELEMETRY": "1",  # documented opt-outs: no telemetry, no update check
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CONFIG_DIR": str(out_dir / "promptfoo-home"),  # its database and logs
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [promptfoo, "eval", "-c", str(config), "--no-cache", "-o", str(out)],
        cwd=out_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    return run.returncode, json.loads(out.read_text(encoding="utf-8"))["results"]


def write_config(path: Path, tests: list[dict[str, Any]], rubric: str = "support-billing") -> Path:
    """A config like the shipped one (echo replays each test's ``output``), with these tests."""
    config = {
        "prompts": ["{{output}}"],
        "providers": ["echo"],
        "defaultTest": {
            "assert": [
                {
                    "type": "javascript",
                    "value": f"file://{ADAPTER / 'judgecal_assert.js'}",
                    "config": {"rubric": rubric},
                }
            ]
        },
        "tests": tests,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def graded(url: str, inputs: dict[str, str]) -> dict[str, Any]:
    """The service's verdict on ``inputs`` (from its store when promptfoo's run graded them)."""
    response = httpx.post(
        f"{url}/v1/grade", json={"rubric": "support-billing", "inputs": inputs}, headers=AUTH, timeout=60
    )
    response.raise_for_status()
    verdict: dict[str, Any] = response.json()["verdict"]
    return verdict


def test_approved_judge_grades_through_the_service(
    promptfoo: str, serve: Callable[[], str], approved_support: Any, tmp_path: Path
) -> None:
    gold = load_gold(approved_support.gold_path, find_rubric("support-billing"))
    items = {it.id: dict(it.inputs) for it in gold.items[:6]}  # truth alternates pass/fail
    url = serve()
    config = write_config(
        tmp_path / "promptfooconfig.yaml",
        [{"description": item_id, "vars": inputs} for item_id, inputs in items.items()],
    )
    code, results = promptfoo_eval(promptfoo, config, url, tmp_path)

    rows = {r["testCase"]["description"]: r for r in results["results"]}
    assert set(rows) == set(items)
    for item_id, inputs in items.items():
        verdict = graded(url, inputs)
        assert verdict["cached"] and verdict["certificate_id"] == approved_support.id
        row = rows[item_id]
        assert row["response"]["output"] == inputs["output"]  # echo replayed the recorded reply
        assert row["success"] is verdict["passed"], row["gradingResult"]
        (component,) = row["gradingResult"]["componentResults"]
        assert component["score"] == (1 if verdict["passed"] else 0)
        assert component["metadata"]["judgecal"]["certificate_id"] == approved_support.id
        assert component["reason"].startswith(
            f"judgecal {verdict['label']} by sim/consistent (approval {approved_support.id[:12]})"
        )
    n_passed = sum(1 for r in rows.values() if r["success"])
    assert 0 < n_passed < len(items)  # both outcomes exercised
    stats = results["stats"]
    assert (stats["successes"], stats["failures"], stats["errors"]) == (n_passed, len(items) - n_passed, 0)
    assert code == 100  # promptfoo's exit code when a test failed


def test_the_shipped_example_config_runs_as_it_is(
    promptfoo: str, serve: Callable[[], str], approved_support: Any, tmp_path: Path
) -> None:
    url = serve()
    config = ADAPTER / "promptfooconfig.yaml"
    code, results = promptfoo_eval(promptfoo, config, url, tmp_path)
    shipped = yaml.safe_load(config.read_text(encoding="utf-8"))["tests"]
    assert len(results["results"]) == len(shipped) == 2
    for row in results["results"]:
        verdict = graded(url, row["vars"])  # the same verdict the run got, from the store
        assert verdict["cached"] and row["success"] is verdict["passed"]
    assert code == (0 if all(r["success"] for r in results["results"]) else 100)
    assert not list(ADAPTER.glob("*.json"))  # nothing written next to the shipped files


def test_a_refusal_is_an_error_not_a_pass(promptfoo: str, serve: Callable[[], str], tmp_path: Path) -> None:
    url = serve()  # a home without any approval record
    config = write_config(
        tmp_path / "promptfooconfig.yaml",
        [{"vars": {"input": "Can I get a refund?", "output": "Ask billing@ledgerly.example."}}],
    )
    code, results = promptfoo_eval(promptfoo, config, url, tmp_path)
    (row,) = results["results"]
    assert row["success"] is False
    assert "judgecal refused to grade: not_approved (none): no approval record" in row["error"]
    assert (results["stats"]["successes"], results["stats"]["errors"]) == (0, 1)
    assert code == 100


class _FakeService(BaseHTTPRequestHandler):
    """Answers /v1/grade as ``judgecal serve`` does for the two cases a real approved judge does
    not produce on demand: an ``invalid`` verdict, and a wrong token (401)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, answer = 401, {"error": {"code": "unauthorized", "message": "bad token", "details": {}}}
        else:
            verdict = {
                "status": "invalid", "label": None, "passed": None, "score": None, "reasoning": None,
                "failure_modes": [], "certificate_id": "c" * 32, "model": "sim/x",
                "rubric": body["rubric"], "cached": False, "error": "not_json",
            }  # fmt: skip
            status, answer = 200, {"verdict": verdict, "certificate_id": "c" * 32}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_an_unusable_verdict_or_a_bad_token_is_an_error(promptfoo: str, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = write_config(tmp_path / "promptfooconfig.yaml", [{"vars": {"input": "q", "output": "a"}}])
    try:
        code, results = promptfoo_eval(promptfoo, config, url, tmp_path)
        (row,) = results["results"]
        assert row["success"] is False and results["stats"]["errors"] == 1
        assert "the judge sim/x gave no usable verdict (invalid: not_json); not a score" in row["error"]
        assert code == 100

        code, results = promptfoo_eval(promptfoo, config, url, tmp_path, token="wrong-token")
        (row,) = results["results"]
        assert "judgecal answered HTTP 401: unauthorized: bad token" in row["error"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_revoke_or_a_newer_rejection_is_an_error_with_the_reason(
    promptfoo: str, serve: Callable[[], str], approved_support: Any, tmp_path: Path
) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    older = add_record(store, approved_support, minutes=-60)  # a fallback would be possible
    gold = load_gold(approved_support.gold_path, find_rubric("support-billing"))
    inputs = dict(gold.items[0].inputs)
    url = serve()
    assert graded(url, inputs)["certificate_id"] == approved_support.id  # the service's grader is open
    config = write_config(tmp_path / "promptfooconfig.yaml", [{"vars": inputs}])

    store.revoke_certificate(approved_support.id, "the provider retired the model")
    code, results = promptfoo_eval(promptfoo, config, url, tmp_path)
    (row,) = results["results"]
    assert row["success"] is False and results["stats"]["errors"] == 1 and code == 100
    assert "judgecal refused to grade: not_approved (revoked): " in row["error"]
    assert "the provider retired the model" in row["error"] and older.id[:12] not in row["error"]

    # a new approval of the same key grades again, until a newer validation rejects the judge
    approved = add_record(store, approved_support, minutes=10)
    assert graded(url, inputs)["certificate_id"] == approved.id
    rejected = add_record(store, approved_support, minutes=20, tier="rejected")
    store.close()
    code, results = promptfoo_eval(promptfoo, config, url, tmp_path)
    (row,) = results["results"]
    assert row["success"] is False and results["stats"]["errors"] == 1
    assert "judgecal refused to grade: not_approved (not_approved): " in row["error"]
    assert f"{rejected.id[:12]}" in row["error"] and "the validation ended rejected" in row["error"]
