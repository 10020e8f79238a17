"""Credentials are first class and never stored: ``--api-key-env`` (``JUDGECAL_API_KEY_ENV``,
``grade.api_key_env``) sends a key to any provider, ``--api-base`` servers included; a provider
that echoes the key back leaves no trace of it in the database, the output or the reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _stub_provider import Reply, StubProvider, StubRequest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.judge import JudgeConfig
from judgecal.redact import MARK, redact, register
from judgecal.store import Store

runner = CliRunner()
KEY = "jc-TEST-9f8e7d6c5b4a3210-distinctive"
"""A key of no common shape: only the registry of configured keys can remove it."""


def jc(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def grade_args(stub: StubProvider, *extra: str) -> list[str]:
    return ["grade", "support-billing", "--judge", "openai/stub", "--api-base", stub.base_url, *extra]


# ---------------------------------------------------------------------------------------------
# sending the key


def test_api_key_env_sends_the_key_to_an_api_base_server(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_KEY", KEY)
    with StubProvider() as stub:
        result = jc(*grade_args(stub, "--api-key-env", "JC_KEY", "--json"))
        assert result.exit_code == 0, result.output
        assert {r.authorization for r in stub.requests} == {f"Bearer {KEY}"}
    run = Store().get_run(json.loads(result.stdout)["run_id"])
    assert json.loads(run.settings_json)["api_key_env"] == "JC_KEY"  # the name, never the value


def test_without_a_key_an_api_base_server_gets_a_placeholder(monkeypatch):  # type: ignore[no-untyped-def]
    with StubProvider() as stub:
        result = jc(*grade_args(stub, "--quiet"))
        assert result.exit_code == 0, result.output
        assert {r.authorization for r in stub.requests} == {"Bearer none"}


def test_the_variable_can_be_named_in_the_environment_or_judgecal_toml(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_KEY_A", "key-from-env-variable-0001")
    monkeypatch.setenv("JC_KEY_B", "key-from-toml-file-0002")
    with StubProvider() as stub:
        monkeypatch.setenv("JUDGECAL_API_KEY_ENV", "JC_KEY_A")
        assert jc(*grade_args(stub, "--quiet")).exit_code == 0
        assert stub.requests[-1].authorization == "Bearer key-from-env-variable-0001"
        monkeypatch.delenv("JUDGECAL_API_KEY_ENV")
        (tmp_path / "judgecal.toml").write_text('[grade]\napi_key_env = "JC_KEY_B"\n', encoding="utf-8")
        Store().close()
        # a new cache key is not needed: the same judge with another key is the same judge
        stub.requests.clear()
        assert jc(*grade_args(stub, "--quiet", "--samples", "2")).exit_code == 0
        assert stub.requests and stub.requests[-1].authorization == "Bearer key-from-toml-file-0002"
        # the flag beats the file
        stub.requests.clear()
        assert jc(*grade_args(stub, "--quiet", "--samples", "3", "--api-key-env", "JC_KEY_A")).exit_code == 0
        assert stub.requests[-1].authorization == "Bearer key-from-env-variable-0001"


def test_the_key_is_not_part_of_the_cache_key_or_the_judges_identity(monkeypatch):  # type: ignore[no-untyped-def]
    assert (
        JudgeConfig(model="openai/x", api_key_env="A").settings_hash
        == JudgeConfig(model="openai/x").settings_hash
    )
    monkeypatch.setenv("JC_KEY_A", "key-number-one-000001")
    monkeypatch.setenv("JC_KEY_B", "key-number-two-000002")
    with StubProvider() as stub:
        first = jc(*grade_args(stub, "--api-key-env", "JC_KEY_A", "--json"))
        n = stub.count
        second = jc(*grade_args(stub, "--api-key-env", "JC_KEY_B", "--json"))
        assert stub.count == n  # every unit from the cache
    assert json.loads(second.stdout)["n_cached"] == json.loads(first.stdout)["n_units"]


# ---------------------------------------------------------------------------------------------
# a variable that does not hold a key: exit 2, naming it and where it was named, before any call


def test_an_unset_variable_is_refused_before_any_call(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with StubProvider() as stub:
        flag = jc(*grade_args(stub, "--api-key-env", "JC_NOT_SET", "--quiet"))
        assert flag.exit_code == 2
        assert "--api-key-env: environment variable JC_NOT_SET is not set" in flag.stderr
        monkeypatch.setenv("JC_EMPTY", "  ")
        monkeypatch.setenv("JUDGECAL_API_KEY_ENV", "JC_EMPTY")
        env = jc(*grade_args(stub, "--quiet"))
        assert (
            env.exit_code == 2
            and "JUDGECAL_API_KEY_ENV: environment variable JC_EMPTY is empty" in env.stderr
        )
        monkeypatch.delenv("JUDGECAL_API_KEY_ENV")
        (tmp_path / "judgecal.toml").write_text('[grade]\napi_key_env = "JC_NOT_SET"\n', encoding="utf-8")
        toml = jc(*grade_args(stub, "--quiet"))
        assert toml.exit_code == 2 and "grade.api_key_env in" in toml.stderr and "JC_NOT_SET" in toml.stderr
        assert stub.count == 0
    assert Store().list_runs() == []


def test_a_key_given_instead_of_a_name_is_refused_and_not_repeated():
    with StubProvider() as stub:
        result = jc(*grade_args(stub, "--api-key-env", "sk-live 0123456789abcdef", "--quiet"))
        assert result.exit_code == 2 and stub.count == 0
    assert "name of an environment variable" in result.stderr
    assert "0123456789abcdef" not in result.output + result.stderr


def test_api_key_env_in_judgecal_toml_must_be_a_name(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "judgecal.toml").write_text('[grade]\napi_key_env = "Key 42-xyz-secret"\n', encoding="utf-8")
    result = jc("grade", "support-billing", "--judge", "sim/accurate", "--quiet")
    assert result.exit_code == 2
    assert "judgecal.toml:2: grade.api_key_env: must be the name of an environment variable" in result.stderr
    assert "42-xyz-secret" not in result.stderr


# ---------------------------------------------------------------------------------------------
# a provider that echoes the key: no trace anywhere


def _everything_written(home: Path, tmp_path: Path) -> bytes:
    blobs = [p.read_bytes() for p in home.glob("judgecal.db*")]  # the database, its -wal and -shm
    blobs += [p.read_bytes() for p in tmp_path.glob("report*")]
    return b"\n".join(blobs)


def test_a_key_echoing_provider_leaves_no_trace(hermetic, tmp_path, monkeypatch, caplog):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_KEY", KEY)
    calls = {"n": 0}

    def reply(req: StubRequest) -> Reply:
        calls["n"] += 1
        echo = {"error": {"message": f"request refused; you sent {req.authorization} ({req.headers})"}}
        if calls["n"] % 4 == 1:  # a 400 (final) that echoes the Authorization header
            return Reply(status=400, body=echo)
        if calls["n"] % 4 == 2:  # a 500 (retried) that echoes it too
            return Reply(status=500, body=echo)
        reasoning = f"The reply is fine. (Debug: your request had {req.authorization}, api_key={KEY})"
        answer = json.dumps({"reasoning": reasoning, "verdict": "pass", "failure_modes": []})
        return Reply(answer=answer)

    caplog.set_level(logging.DEBUG)
    with StubProvider(reply) as stub:
        graded = jc(
            *grade_args(stub, "--api-key-env", "JC_KEY", "--json", "--concurrency", "2", "--no-preflight")
        )
        assert graded.exit_code == 0, graded.output
        assert all(r.authorization == f"Bearer {KEY}" for r in stub.requests)  # it was sent
    run_id = json.loads(graded.stdout)["run_id"]
    shown = jc("runs", "show", run_id, "--json")
    items = jc("runs", "show", run_id, "--items")
    listed = jc("runs", "list", "--json")
    report_md = jc("report", run_id, "--format", "md")
    report_json = jc("report", run_id, "--format", "json")
    html = jc("report", run_id, "--out", str(tmp_path / "report.html"))
    assert html.exit_code == 0, html.output
    payload = json.loads(shown.stdout)
    errors = [u["call"]["error"] for u in payload["units"] if u["call"] and u["call"]["error"]]
    assert errors and all(MARK in e for e in errors)  # the error is kept, the key is not
    raws = [u["call"]["raw_response"] for u in payload["units"] if u["call"] and u["call"]["raw_response"]]
    assert raws and all(MARK in r for r in raws)
    Store().close()
    printed = "".join(
        r.output + r.stderr for r in (graded, shown, items, listed, report_md, report_json, html)
    )
    for text in (printed, caplog.text):
        assert KEY not in text
    assert KEY.encode() not in _everything_written(hermetic, tmp_path)
    assert b"9f8e7d6c5b4a3210" not in _everything_written(hermetic, tmp_path)


def test_a_fatal_error_echoing_the_key_is_stored_and_printed_redacted(hermetic, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JC_KEY", KEY)
    with StubProvider(Reply(status=401, echo_auth=True)) as stub:
        result = jc(*grade_args(stub, "--api-key-env", "JC_KEY", "--quiet"))
    assert result.exit_code == 3
    assert KEY not in result.output + result.stderr and MARK in result.stderr
    run = Store().list_runs()[0]
    assert run.status == "failed" and MARK in (run.error or "")
    Store().close()
    assert KEY.encode() not in b"".join(p.read_bytes() for p in hermetic.glob("judgecal.db*"))


# ---------------------------------------------------------------------------------------------
# the redactor


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Incorrect API key provided: sk-proj-AbCdEf0123456789xyz.", "Incorrect API key provided: "),
        ("bad key sk-ant-api03-AbCdEf0123456789-xyz", "bad key "),
        ("header Authorization: Bearer abc.def-ghi_0123456789", "header Authorization: "),
        ('{"api_key": "zzz-111", "model": "m"}', '"model": "m"'),
        ("url?api_key=abcdef123&x=1", "&x=1"),
        ("x-api-key: 0a1b2c3d4e5f", "x-api-key: "),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws "),
        ("google AIzaSyA-0123456789abcdefghijklmnopqrstu", "google "),
        ("the token is 0123456789abcdef0123456789abcdef", "the token is "),
    ],
)
def test_common_key_shapes_are_redacted(text, kept):  # type: ignore[no-untyped-def]
    out = redact(text)
    assert MARK in out and kept in out


@pytest.mark.parametrize(
    "text",
    [
        "The reply promises a refund the policy does not allow.",
        "A key point: the agent never asks for the card number.",
        '{"prompt_tokens": 10, "cache_key": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"}',
        "bearer of bad news",
    ],
)
def test_ordinary_text_is_left_alone(text):  # type: ignore[no-untyped-def]
    assert redact(text) == text


def test_registered_keys_are_removed_whatever_their_shape():
    register("plain-words-as-a-key-77")
    assert redact("echo: plain-words-as-a-key-77!") == f"echo: {MARK}!"
    register("x")  # a placeholder, never registered
    assert redact("x marks the spot") == "x marks the spot"


def test_log_records_of_judgecal_and_litellm_are_redacted(caplog):  # type: ignore[no-untyped-def]
    register("logged-secret-value-42")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("LiteLLM").error("request failed with key %s", "logged-secret-value-42")
    logging.getLogger("judgecal.service").warning("Authorization: Bearer logged-secret-value-42")
    assert "logged-secret-value-42" not in caplog.text
    assert caplog.text.count(MARK) == 2
