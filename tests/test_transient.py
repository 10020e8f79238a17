"""Transient answers: what is worth asking again (empty, cut at the token limit, an HTTP 200 body
that is no chat completion) and what is the model's own answer, and the simulator's faults that
produce them over real HTTP through litellm, alike in process (SimCompleter). The retry loop that
acts on them is tested with judge.py."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from _stub_provider import Reply, StubProvider

from judgecal.llm import CallFailed, Completion, LiteLLMCompleter
from judgecal.prompt import prompt_hash, render_messages
from judgecal.rubric import find_rubric
from judgecal.simulate import (
    FAULT_KINDS,
    HTML_ERROR_PAGE,
    MALFORMED_TEXT,
    OUTCOMES,
    REFUSAL_TEXT,
    FaultRates,
    JudgeProfile,
    RemoteSimulator,
    SimCompleter,
    SimConfig,
    SimItem,
    SimulatedJudge,
)
from judgecal.simulate import _core as simulate  # the answer log's ANSWER_LOG_MAX is read here
from judgecal.verdict import TRANSIENT_REASONS, ParsedAnswer, answer_schema, parse_answer, transient_reason

OK = '{"reasoning": "r", "verdict": "pass", "failure_modes": []}'
ITEMS = [SimItem(id="refund", output="Refunds are decided by the billing team.", truth="pass")]


@pytest.fixture(scope="module")
def binary():  # type: ignore[no-untyped-def]
    return find_rubric("support-billing")


def messages_for(rubric: Any, output: str) -> list[dict[str, str]]:
    """The messages judgecal sends for one support-billing item."""
    return render_messages(rubric, {"input": "Can I get a refund for last month?", "output": output})


async def ask(completer: Any, messages: list[dict[str, str]], rubric: Any, **kwargs: Any) -> Any:
    """One call: the Completion, or the CallFailed it raised."""
    args: dict[str, Any] = {"schema": answer_schema(rubric), "temperature": 0.0, "max_tokens": 256}
    args |= {"seed": None, "timeout": 5.0} | kwargs
    try:
        return await completer.complete(messages, **args)
    except CallFailed as exc:
        return exc


def stub_completer(stub: StubProvider) -> LiteLLMCompleter:
    return LiteLLMCompleter("openai/stub", api_base=stub.base_url, api_key="k-test-0123")


def sim_config(**faults: Any) -> SimConfig:
    profile = JudgeProfile(accuracy=1.0, faults=FaultRates(**faults))
    return SimConfig(profiles={"j": profile}, items=ITEMS)


def over_http(sim: SimulatedJudge) -> LiteLLMCompleter:
    """The simulator reached through litellm, as ``open_completer("sim/...")`` reaches it."""
    return LiteLLMCompleter("openai/j", api_base=sim.base_url, api_key="sim")


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "finish", "reason", "transient"),
    [
        ("", "stop", "empty", "empty"),
        (None, "stop", "empty", "empty"),
        (" \n\t ", "stop", "empty", "empty"),
        ("", "length", "empty", "empty"),
        (None, "content_filter", "refusal", None),  # the provider withheld it: not worth asking again
        ('{"reasoning": "The answer promi', "length", "truncated", "truncated"),
        ("I'm sorry, but I can't", "length", "truncated", "truncated"),
        ('{"reasoning": "r"}', "length", "truncated", "truncated"),
        ('{"reasoning": "r", "verdict": "maybe", "failure_modes": []}', "length", "truncated", "truncated"),
        (OK, "length", None, None),  # a verdict that parsed despite the cut is a verdict
        (MALFORMED_TEXT, "stop", "not_json", None),
        (REFUSAL_TEXT, "stop", "refusal", None),
        ('{"reasoning": "r"}', "stop", "no_verdict", None),
        ('{"reasoning": "r", "verdict": "maybe", "failure_modes": []}', "stop", "bad_verdict", None),
        (OK, "stop", None, None),
    ],
)
def test_transient_answers_are_told_from_the_models_own(binary, text, finish, reason, transient):
    parsed = parse_answer(binary, text, finish_reason=finish)
    assert parsed.invalid_reason == reason
    assert (parsed.status == "ok") is (reason is None)
    assert transient_reason(text, finish, parsed) == transient
    # the reason of an invalid verdict alone says whether it is transient (what the cache needs)
    assert (parsed.invalid_reason in TRANSIENT_REASONS) is (transient is not None)


def test_transient_reasons():
    assert frozenset({"empty", "truncated"}) == TRANSIENT_REASONS
    assert isinstance(TRANSIENT_REASONS, frozenset)


def test_a_cut_answer_keeps_the_reason_it_would_have_had_in_its_note(binary):
    parsed = parse_answer(binary, '{"reasoning": "r"}', finish_reason="length")
    assert parsed.invalid_reason == "truncated" and "no_verdict" in (parsed.note or "")
    parsed = parse_answer(binary, '{"reasoning": "r", "verdict": 7}', finish_reason="length")
    assert parsed.invalid_reason == "truncated" and "bad_verdict" in (parsed.note or "")


def test_an_ok_parse_is_never_transient():
    # whatever the text and the finish reason, a verdict is the answer
    parsed = ParsedAnswer(status="ok", label="pass")
    assert transient_reason("", "length", parsed) is None


# --- HTTP 200 bodies that are no chat completion, through litellm ------------------------------


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (Reply(body="<html><body><h1>502 Bad Gateway</h1></body></html>"), "'<html><body><h1>502 Bad"),
        (Reply(body=""), "(an empty body)"),
        (Reply(body={"id": "chatcmpl-x", "object": "chat.completion"}), "(JSON without a list of choices)"),
        (Reply(body={"id": "chatcmpl-x", "choices": None}), "(JSON without a list of choices)"),
    ],
    ids=["html-as-json", "empty-body", "no-choices", "choices-null"],
)
async def test_a_200_body_that_is_no_completion_is_bad_body_and_retryable(reply, shown, binary):
    # the stub sends Content-Type application/json whatever the body: litellm 1.106 raises an
    # InternalServerError "status 500" it never received (JSONDecodeError or "'choices' that is
    # not a list" beneath it); judgecal calls it bad_body, retryable, with the 200 it was
    with StubProvider(reply) as stub:
        failed = await ask(stub_completer(stub), messages_for(binary, "x"), binary)
    assert isinstance(failed, CallFailed)
    assert (failed.kind, failed.retryable, failed.fatal, failed.status) == ("bad_body", True, False, 200)
    assert str(failed).startswith(
        "bad_body: the provider answered HTTP 200 with a body that is not an OpenAI chat completion"
    )
    assert shown in str(failed)


async def test_a_long_bad_body_is_shown_by_its_first_80_characters_and_redacted(binary):
    page = "<html>" + "<p>Authorization: Bearer sk-abcdefghijklmnopqrstuvwx</p>" + "x" * 5000 + "</html>"
    with StubProvider(Reply(body=page)) as stub:
        failed = await ask(stub_completer(stub), messages_for(binary, "x"), binary)
    assert isinstance(failed, CallFailed) and failed.kind == "bad_body"
    assert "sk-abcdefghijklmnopqrstuvwx" not in str(failed) and "x" * 81 not in str(failed)
    assert len(str(failed)) < 250


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_an_html_error_page_with_an_error_status_stays_a_server_error(status, binary):
    with StubProvider(Reply(status=status, body="<html><h1>Bad Gateway</h1></html>")) as stub:
        failed = await ask(stub_completer(stub), messages_for(binary, "x"), binary)
    assert isinstance(failed, CallFailed)
    assert (failed.kind, failed.status, failed.retryable) == ("server", status, True)


# --- the simulator's empty and html faults, over real HTTP -------------------------------------


def test_the_new_fault_kinds_come_last_and_are_counted():
    assert FAULT_KINDS[:6] == ("rate_limit", "server_error", "drop", "timeout", "malformed", "truncated")
    assert FAULT_KINDS[6:] == ("empty", "html")
    assert {"empty", "html"} <= set(OUTCOMES)
    with pytest.raises(ValueError, match="sum to 1.2"):
        FaultRates(empty=0.6, html=0.6)


async def test_empty_fault_is_a_completion_with_empty_content(binary):
    messages = messages_for(binary, ITEMS[0].output or "")
    with SimulatedJudge(sim_config(empty=1.0)) as sim:
        done = await ask(over_http(sim), messages, binary)
        assert sim.stats()["by_outcome"]["empty"] == 1
    assert isinstance(done, Completion)
    assert (done.text, done.finish_reason, done.completion_tokens) == ("", "stop", 0)
    parsed = parse_answer(binary, done.text, finish_reason=done.finish_reason)
    assert parsed.invalid_reason == "empty"
    assert transient_reason(done.text, done.finish_reason, parsed) == "empty"


async def test_truncated_fault_is_transient_over_http(binary):
    messages = messages_for(binary, ITEMS[0].output or "")
    with SimulatedJudge(sim_config(truncated=1.0)) as sim:
        done = await ask(over_http(sim), messages, binary)
    assert isinstance(done, Completion) and done.finish_reason == "length"
    parsed = parse_answer(binary, done.text, finish_reason=done.finish_reason)
    assert transient_reason(done.text, done.finish_reason, parsed) == "truncated"


def test_html_fault_answers_200_with_an_html_page():
    body = json.dumps({"model": "j", "messages": [{"role": "user", "content": "<output>x</output>"}]})
    with SimulatedJudge(sim_config(html=1.0)) as sim:
        request = urllib.request.Request(
            f"{sim.base_url}/chat/completions",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/html")
            assert response.read().decode() == HTML_ERROR_PAGE
        assert sim.stats()["by_outcome"]["html"] == 1
        assert sim.answers() == []  # no completion was sent


async def test_html_fault_is_bad_body_through_litellm_and_alike_in_process(binary):
    messages = messages_for(binary, ITEMS[0].output or "")
    with SimulatedJudge(sim_config(html=1.0)) as sim:
        failed = await ask(over_http(sim), messages, binary)
    assert isinstance(failed, CallFailed)
    assert (failed.kind, failed.retryable, failed.status) == ("bad_body", True, 200)
    assert "<!DOCTYPE html> <html> <head><title>502 Bad Gateway" in str(failed)
    in_process = await ask(
        SimCompleter(sim_config(html=1.0).profiles["j"], ITEMS, name="j"), messages, binary
    )
    assert isinstance(in_process, CallFailed)
    assert (in_process.kind, in_process.status, str(in_process)) == (failed.kind, failed.status, str(failed))


# --- the answer log ---------------------------------------------------------------------------


async def test_answers_log_the_prompt_hash_judgecal_computes(binary):
    outputs = ["Refunds are decided by the billing team.", "We will refund you in full, guaranteed."]
    sent = [messages_for(binary, output) for output in outputs]
    with SimulatedJudge(sim_config()) as sim:
        completer = over_http(sim)
        before = time.time()
        for n, messages in enumerate(sent):
            done = await ask(completer, messages, binary, seed=n or None)
            assert isinstance(done, Completion) and done.text
        after = time.time()
        answers = sim.answers()
        remote = RemoteSimulator(sim.base_url)
        assert remote.answers() == answers
        assert RemoteSimulator(sim.base_url.removesuffix("/v1")).answers() == answers  # /judgecal/answers
    assert [a["prompt_hash"] for a in answers] == [prompt_hash(m) for m in sent]
    assert [(a["model"], a["seed"]) for a in answers] == [("j", None), ("j", 1)]
    assert before <= answers[0]["t"] <= answers[1]["t"] <= after


async def test_answers_log_every_200_completion_and_nothing_else(binary):
    messages = messages_for(binary, ITEMS[0].output or "")
    faults = dict.fromkeys(
        ("rate_limit", "server_error", "drop", "malformed", "truncated", "empty", "html"), 0.12
    )
    config = SimConfig(
        profiles={"j": JudgeProfile(accuracy=1.0, refusal_rate=0.3, seed=11, faults=FaultRates(**faults))},
        items=ITEMS,
    )
    with SimulatedJudge(config) as sim:
        completer = over_http(sim)
        for n in range(40):
            await ask(completer, messages, binary, seed=n)
        outcomes = sim.stats()["by_outcome"]
        answers = sim.answers()
    answered = sum(outcomes[k] for k in ("ok", "refusal", "malformed", "truncated", "empty"))
    assert all(outcomes[k] for k in ("ok", "refusal", "malformed", "truncated", "empty", "html", "drop"))
    assert len(answers) == answered
    assert {a["prompt_hash"] for a in answers} == {prompt_hash(messages)}


def test_the_answer_log_keeps_the_latest(monkeypatch):
    monkeypatch.setattr(simulate, "ANSWER_LOG_MAX", 3)
    with SimulatedJudge(sim_config()) as sim:
        for seed in range(5):
            body = {"model": "j", "messages": [{"role": "user", "content": "hi"}], "seed": seed}
            request = urllib.request.Request(
                f"{sim.base_url}/chat/completions",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
        assert [a["seed"] for a in sim.answers()] == [2, 3, 4]


def test_the_simulator_does_not_import_what_imports_it():
    import subprocess
    import sys
    from pathlib import Path

    code = "import judgecal.prompt, sys; print('judgecal.simulate' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


# --- in process and over HTTP alike -----------------------------------------------------------


def signature(result: Any) -> tuple[Any, ...]:
    """What must agree between the two paths (litellm's own messages aside)."""
    if isinstance(result, CallFailed):
        return ("failed", result.kind, result.status, result.retryable, result.retry_after)
    return ("answer", result.text, result.finish_reason)


async def test_in_process_and_served_simulators_draw_the_same_faults_and_answers(binary):
    faults = FaultRates(**dict.fromkeys(FAULT_KINDS, 0.1), hang_s=1.0, retry_after_s=0.05)
    profile = JudgeProfile(accuracy=0.7, faults=faults, seed=5, latency_ms=1.0, latency_jitter=0.5)
    messages = [messages_for(binary, text) for text in ("Refunds are decided by the billing team.", "Other.")]
    calls = [(messages[n % 2], n % 3 or None) for n in range(36)]

    async def run(completer: Any) -> list[tuple[Any, ...]]:
        return [signature(await ask(completer, m, binary, seed=seed, timeout=0.4)) for m, seed in calls]

    with SimulatedJudge(SimConfig(profiles={"j": profile}, items=ITEMS)) as sim:
        served = await run(over_http(sim))
        served_stats = sim.stats()
    in_process = SimCompleter(profile, ITEMS, name="j")
    assert await run(in_process) == served
    assert in_process.stats()["by_outcome"] == served_stats["by_outcome"]
    assert in_process.stats()["by_match"] == served_stats["by_match"]
    kinds = {s[1] for s in served if s[0] == "failed"}
    assert kinds == {"rate_limit", "server", "connection", "timeout", "bad_body"}
    texts = {s[1] for s in served if s[0] == "answer"}
    assert "" in texts and MALFORMED_TEXT in texts
