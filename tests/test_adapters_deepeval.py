"""The DeepEval metric (``judgecal.adapters.deepeval_metric``) inside DeepEval itself: ``evaluate()``
(async and sync), ``assert_test`` and the ``deepeval test run`` CLI in a subprocess. The approved
judge decides each test case as it would directly, an unapproved rubric is refused in DeepEval's
terms, and an unusable verdict is an errored metric, never a pass. Offline: no Confident AI login,
telemetry off (DeepEval reads its settings when first imported, hence the variables below)."""

# ruff: noqa: E402  (DeepEval reads its settings on first import: the variables are set before it)
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OFFLINE = {
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",  # documented opt-out of DeepEval's PostHog telemetry
    "DEEPEVAL_DISABLE_DOTENV": "1",  # do not read a developer's .env files
    "DEEPEVAL_NO_INSPECT_PROMPT": "1",  # no "open deepeval inspect?" offer after a run
}
for _name, _value in OFFLINE.items():
    os.environ.setdefault(_name, _value)

if os.environ.get("JUDGECAL_REQUIRE_ADAPTERS") != "1":
    pytest.importorskip(
        "deepeval", reason='the DeepEval adapter needs the deepeval extra: pip install -e ".[deepeval]"'
    )

from deepeval import assert_test, evaluate
from deepeval.evaluate.configs import AsyncConfig, DisplayConfig
from deepeval.test_case import LLMTestCase

import judgecal.adapters.deepeval_metric as adapter
from judgecal.adapters.deepeval_metric import JudgecalMetric
from judgecal.approval import GraderVerdict, load_grader
from judgecal.errors import ConfigError
from judgecal.gold import load_gold
from judgecal.rubric import find_rubric
from judgecal.simulate import FaultRates, JudgeProfile, SimConfig, SimulatedJudge

QUIET = DisplayConfig(show_indicator=False, print_results=False, inspect_after_run=False)


@pytest.fixture(autouse=True)
def _close_deepevals_event_loops(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DeepEval makes event loops (``deepeval.utils.get_or_create_event_loop`` calls
    ``asyncio.new_event_loop()`` whenever the thread has no open loop, e.g. after an
    ``asyncio.run``) and never closes them; their ResourceWarning then surfaces in whichever test
    the garbage collector happens to run in. Keep every loop made through ``asyncio.new_event_loop``
    during a test alive and close it afterwards, so a leak of judgecal's own still fails."""
    import asyncio

    made: list[asyncio.AbstractEventLoop] = []
    real = asyncio.new_event_loop

    def tracked() -> asyncio.AbstractEventLoop:
        loop = real()
        made.append(loop)
        return loop

    monkeypatch.setattr(asyncio, "new_event_loop", tracked)
    yield
    for loop in made:
        if not loop.is_running() and not loop.is_closed():
            loop.close()
    asyncio.set_event_loop(None)


def gold_items(cert: Any, n: int = 6) -> dict[str, dict[str, str]]:
    """The first ``n`` items of the approval's (synthetic) gold set: truth alternates pass/fail."""
    gold = load_gold(cert.gold_path, find_rubric("support-billing"))
    return {it.id: dict(it.inputs) for it in gold.items[:n]}


def direct_verdicts(items: dict[str, dict[str, str]]) -> dict[str, GraderVerdict]:
    with load_grader("support-billing") as grader:
        return dict(zip(items, grader.grade_many(list(items.values())), strict=True))


def cases(items: dict[str, dict[str, str]]) -> list[LLMTestCase]:
    return [LLMTestCase(name=i, input=x["input"], actual_output=x["output"]) for i, x in items.items()]


@pytest.fixture
def prose_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A judge that answers prose without a verdict (every verdict ``invalid``); its base URL."""
    sim = SimulatedJudge(SimConfig(profiles={"prose": JudgeProfile(faults=FaultRates(malformed=1.0))}))
    sim.start()
    monkeypatch.setenv("OPENAI_API_KEY", "sim")
    yield sim.base_url
    sim.stop()


@pytest.mark.parametrize("run_async", [True, False], ids=["a_measure", "measure"])
def test_evaluate_with_the_approved_judge(
    approved_support: Any, monkeypatch: pytest.MonkeyPatch, run_async: bool
) -> None:
    items = gold_items(approved_support)
    lookups: list[str] = []
    real_load = adapter.load_grader
    monkeypatch.setattr(adapter, "load_grader", lambda *a, **k: lookups.append(a[0]) or real_load(*a, **k))

    metric = JudgecalMetric("support-billing")
    assert (metric.threshold, metric.evaluation_model) == (0.5, "sim/consistent")
    result = evaluate(
        cases(items), [metric], async_config=AsyncConfig(run_async=run_async), display_config=QUIET
    )

    # DeepEval copied the metric for every test case; the copies reused the one grader
    assert lookups == ["support-billing"]
    direct = direct_verdicts(items)
    assert all(v.cached and v.certificate_id == approved_support.id for v in direct.values())
    by_name = {r.name: r for r in result.test_results}
    assert set(by_name) == set(items)
    for item_id, verdict in direct.items():
        (data,) = by_name[item_id].metrics_data or []
        assert data.name == "judgecal[support-billing]" and data.error is None
        assert data.success is verdict.passed and by_name[item_id].success is verdict.passed
        assert data.score == (1.0 if verdict.passed else 0.0)
        assert data.evaluation_model == "sim/consistent"
        assert data.reason is not None and approved_support.id in data.reason
        assert data.reason.startswith(f"{verdict.label} by sim/consistent")
    assert {True, False} <= {v.passed for v in direct.values()}  # both outcomes exercised


def test_assert_test_and_an_unusable_verdict(approved_support: Any, prose_judge: str) -> None:
    items = gold_items(approved_support, n=2)
    direct = direct_verdicts(items)
    metric = JudgecalMetric("support-billing")
    for case in cases(items):
        if direct[case.name or ""].passed:
            assert_test(case, [metric])
        else:
            with pytest.raises(AssertionError, match=r"judgecal\[support-billing\] \(score: 0.0"):
                assert_test(case, [metric])

    # an invalid verdict is an errored metric: no score, not a success, and assert_test fails on it
    prose = JudgecalMetric(
        "support-billing", judge="openai/prose", allow_unapproved=True, api_base=prose_judge
    )
    case = LLMTestCase(input="Can I get a refund?", actual_output="Ask billing.")
    result = evaluate([case], [prose], display_config=QUIET)
    (data,) = result.test_results[0].metrics_data or []
    assert (data.score, data.success) == (None, False)
    assert data.error is not None and "gave no usable verdict (invalid: " in data.error
    assert "WITHOUT approval" in data.error
    with pytest.raises(AssertionError, match=r"score: None.*error: judgecal: the judge openai/prose gave no"):
        assert_test(case, [prose])


def test_without_an_approval_every_test_case_errors_with_the_reason() -> None:
    metric = JudgecalMetric("support-billing")
    assert metric.refused is not None and "no approval record for rubric 'support-billing'" in metric.refused
    case = LLMTestCase(input="Can I get a refund?", actual_output="Ask billing.")
    result = evaluate([case], [metric], display_config=QUIET)
    (data,) = result.test_results[0].metrics_data or []
    assert (data.score, data.success) == (None, False)
    assert data.error is not None
    assert data.error.startswith("judgecal refused to grade with 'support-billing': no approval record")
    with pytest.raises(AssertionError, match=r"score: None.*error: judgecal refused to grade"):
        assert_test(case, [metric])
    with pytest.raises(ConfigError, match="pairwise"):
        JudgecalMetric("pairwise-preference", judge="sim/accurate", allow_unapproved=True)


INNER_TEST = """
import json
import pytest
from deepeval import assert_test
from deepeval.test_case import LLMTestCase
from judgecal.adapters.deepeval_metric import JudgecalMetric

ITEMS = json.loads({items!r})

@pytest.mark.parametrize("item_id", sorted(ITEMS))
def test_reply(item_id):
    item = ITEMS[item_id]
    case = LLMTestCase(input=item["input"], actual_output=item["output"])
    assert_test(case, [JudgecalMetric("support-billing")])
"""


def deepeval_test_run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``deepeval test run`` in ``folder`` (its own pytest session, with deepeval's plugin)."""
    deepeval = Path(sys.executable).with_name("deepeval")
    command = [str(deepeval)] if deepeval.exists() else [sys.executable, "-m", "deepeval.cli.main"]
    return subprocess.run(
        [*command, "test", "run", *args],
        cwd=folder,
        env={**os.environ, **OFFLINE, "NO_COLOR": "1", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_deepeval_test_run_cli(approved_support: Any, tmp_path: Path) -> None:
    items = gold_items(approved_support)
    (tmp_path / "test_replies.py").write_text(INNER_TEST.format(items=json.dumps(items)))
    run = deepeval_test_run(tmp_path, "test_replies.py", "--color", "no", "--", "-rA")
    direct = direct_verdicts(items)
    expected = {i: "PASSED" if v.passed else "FAILED" for i, v in direct.items()}
    found = dict(
        (test_id, outcome)
        for outcome, test_id in re.findall(r"^(PASSED|FAILED|ERROR) \S+?\[([^\]]+)\]", run.stdout, flags=re.M)
    )
    assert found == expected, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 1  # pytest's "some tests failed", passed on by deepeval
    n_failed = sum(1 for v in expected.values() if v == "FAILED")
    assert f"{n_failed} failed, {len(items) - n_failed} passed" in run.stdout


def test_deepeval_test_run_cli_refuses_without_an_approval(tmp_path: Path) -> None:
    (tmp_path / "test_replies.py").write_text(
        INNER_TEST.format(items=json.dumps({"x": {"input": "Refund?", "output": "Ask billing."}}))
    )
    run = deepeval_test_run(tmp_path, "test_replies.py", "--color", "no", "--", "-rA")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(
        r"^FAILED \S+\[x\] - AssertionError: Metrics: judgecal\[support-billing\] \(score: None, .*"
        r"error: judgecal refused to grade",
        run.stdout,
        re.M,
    ), run.stdout[-3000:]
    # the whole reason is in the failure's report, and DeepEval's table lists the test as ERRORED
    assert "judgecal refused to grade with 'support-billing': no approval record for rubric" in run.stdout
    assert "ERRORED" in run.stdout[run.stdout.index("Test Results") :]


def test_a_revoke_after_the_metric_is_built_errors_every_later_test_case(approved_support: Any) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    older = add_record(store, approved_support, minutes=-60)  # a fallback would be possible
    items = gold_items(approved_support, n=2)
    metric = JudgecalMetric("support-billing")
    assert metric.refused is None
    store.revoke_certificate(approved_support.id, "the provider retired the model")
    store.close()
    result = evaluate(cases(items), [metric], display_config=QUIET)
    assert {r.name for r in result.test_results} == set(items)  # every test case is listed
    for test_result in result.test_results:
        (data,) = test_result.metrics_data or []
        assert (data.score, data.success, test_result.success) == (None, False, False)
        assert data.error is not None and data.error.startswith(
            "judgecal refused to grade with 'support-billing'"
        )
        assert "is revoked" in data.error and "the provider retired the model" in data.error
        assert older.id[:12] not in data.error


def test_deepeval_test_run_lists_a_newer_rejection_as_errored(approved_support: Any, tmp_path: Path) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    newer = add_record(store, approved_support, minutes=30, tier="rejected")
    store.close()
    items = gold_items(approved_support, n=2)
    (tmp_path / "test_replies.py").write_text(INNER_TEST.format(items=json.dumps(items)))
    run = deepeval_test_run(tmp_path, "test_replies.py", "--color", "no", "--", "-rA")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    for item_id in items:
        assert re.search(
            rf"^FAILED \S+\[{re.escape(item_id)}\] - AssertionError: Metrics: judgecal\[support-billing\] "
            r"\(score: None, .*error: judgecal refused to grade",
            run.stdout,
            re.M,
        ), run.stdout[-3000:]
    # DeepEval's own results table lists each refused test case as ERRORED, with the reason
    table = run.stdout[run.stdout.index("Test Results") :]
    assert table.count("ERRORED") == len(items), table
    # the full reason, in the failure's own report
    assert f"record in force {newer.id[:12]}" in run.stdout and "ended rejected" in run.stdout
