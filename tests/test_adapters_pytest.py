"""The pytest plugin (``judgecal.adapters.pytest_plugin``), run inside real inner pytest sessions
(pytester, in subprocesses that load the plugin through its ``pytest11`` entry point): an approved
judge grades, a rubric without approval fails the test with judgecal's reason, the bypass flag
works and is reported, and the plugin costs nothing in a session that does not use it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest

from judgecal.adapters.pytest_plugin import assert_passes
from judgecal.approval import GraderVerdict, load_grader
from judgecal.gold import load_gold
from judgecal.rubric import find_rubric
from judgecal.simulate import FaultRates, JudgeProfile, SimConfig, SimulatedJudge

pytest_plugins = ["pytester"]

# the inner sessions leave deepeval's auto-loaded plugin out (it only adds start-up time and output)
INNER = ("-p", "no:deepeval", "-p", "no:cacheprovider", "-rA")


def gold_items(cert: Any, n: int = 6) -> list[tuple[str, dict[str, str]]]:
    """The first ``n`` items of the approval's (synthetic) gold set: truth alternates pass/fail."""
    gold = load_gold(cert.gold_path, find_rubric("support-billing"))
    return [(it.id, dict(it.inputs)) for it in gold.items[:n]]


def outcomes(stdout: str) -> dict[str, str]:
    """``-rA`` summary lines -> {test id: PASSED/FAILED/ERROR/SKIPPED}."""
    found = re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED) \S+?\[([^\]]+)\]", stdout, flags=re.M)
    return {test_id: outcome for outcome, test_id in found}


INNER_TEST = """
import json
import pytest
from judgecal.adapters.pytest_plugin import assert_passes

ITEMS = json.loads({items!r})

@pytest.mark.parametrize("item_id", sorted(ITEMS))
def test_reply(judgecal_grader, item_id):
    grader = judgecal_grader("support-billing")
    verdict = grader.grade(ITEMS[item_id])
    assert verdict.certificate_id == {cert_id!r}
    assert_passes(verdict)
"""


def test_entry_point_registers_the_plugin_in_every_session(request: pytest.FixtureRequest) -> None:
    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.name == "judgecal"]
    assert ep.value == "judgecal.adapters.pytest_plugin"
    assert request.config.pluginmanager.has_plugin("judgecal")
    assert request.config.getoption("judgecal_allow_unapproved") is False


def test_loading_the_plugin_imports_nothing_of_judgecals_machinery() -> None:
    code = (
        "import sys, judgecal.adapters.pytest_plugin\n"
        "heavy = ('litellm', 'sqlalchemy', 'judgecal.approval', 'judgecal.judge', 'judgecal.store')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_approved_judge_grades_inside_a_real_pytest_session(
    pytester: pytest.Pytester, approved_support: Any
) -> None:
    items = dict(gold_items(approved_support))
    pytester.makepyfile(test_inner=INNER_TEST.format(items=json.dumps(items), cert_id=approved_support.id))
    result = pytester.runpytest_subprocess(*INNER)

    # every inner outcome is the approved judge's own verdict on that item (graded again directly)
    with load_grader("support-billing") as grader:
        direct = dict(zip(items, grader.grade_many(list(items.values())), strict=True))
    assert all(v.cached and v.certificate_id == approved_support.id for v in direct.values())
    expected = {i: "PASSED" if v.passed else "FAILED" for i, v in direct.items()}
    assert outcomes(result.stdout.str()) == expected, result.stdout.str()
    assert {"PASSED", "FAILED"} <= set(expected.values())  # both outcomes were exercised
    failed = sum(1 for v in expected.values() if v == "FAILED")
    result.assert_outcomes(passed=len(items) - failed, failed=failed)
    # a failing verdict is an AssertionError carrying the judge's label and reasons
    result.stdout.fnmatch_lines(
        ["*AssertionError: judge sim/consistent (approval *) graded the output 'fail'*"]
    )
    # the summary names the approval every grader ran under
    result.stdout.fnmatch_lines(
        [
            "*judgecal graders*",
            f"support-billing: judge sim/consistent, approval {approved_support.id[:12]} (approved*",
        ]
    )


def test_without_an_approval_the_test_fails_with_judgecals_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_reply(judgecal_grader):
            judgecal_grader("support-billing")
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(failed=1)  # failed, not skipped or errored
    result.stdout.fnmatch_lines(
        ["*judgecal refused to grade with 'support-billing': no approval record for rubric 'support-bil*"]
    )
    result.stdout.no_fnmatch_line("*judgecal graders*")


def test_the_bypass_flag_grades_without_approval_and_says_so(pytester: pytest.Pytester, support: Any) -> None:
    _rubric, gold = support
    item = gold.items[0]  # sb-001 of the bundled gold set, which sim/ judges know the truth of
    pytester.makepyfile(
        test_inner=f"""
        def test_reply(judgecal_grader):
            verdict = judgecal_grader("support-billing").grade({dict(item.inputs)!r})
            assert verdict.status == "ok" and verdict.certificate_id is None
            assert verdict.model == "sim/accurate"
        """
    )
    result = pytester.runpytest_subprocess(
        *INNER, "--judgecal-allow-unapproved", "--judgecal-judge", "sim/accurate"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*judgecal graders*",
            "support-billing: judge sim/accurate WITHOUT approval (--judgecal-allow-unapproved)",
        ]
    )
    # the flag needs a judge to fall back on
    result = pytester.runpytest_subprocess(*INNER, "--judgecal-allow-unapproved")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*could not load a grader*allow_unapproved needs a judge*"])


def test_assert_passes_never_passes_an_unusable_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    # a real invalid verdict: a judge that answers prose without a verdict, reached through litellm
    sim = SimulatedJudge(
        SimConfig(profiles={"prose": JudgeProfile(faults=FaultRates(malformed=1.0))})
    ).start()
    monkeypatch.setenv("OPENAI_API_KEY", "sim")
    try:
        with load_grader(
            "support-billing", judge="openai/prose", allow_unapproved=True, api_base=sim.base_url
        ) as grader:
            verdict = grader.grade({"input": "Can I get a refund?", "output": "Ask billing."})
    finally:
        sim.stop()
    assert verdict.status == "invalid" and verdict.passed is None
    with pytest.raises(pytest.fail.Exception, match=r"gave no usable verdict \(invalid: .*never a pass"):
        assert_passes(verdict)

    ok = dict(status="ok", model="m", rubric="support-billing", certificate_id="ab" * 16)
    good = GraderVerdict(label="pass", passed=True, score=1.0, **ok)  # type: ignore[arg-type]
    assert assert_passes(good) is good
    bad = GraderVerdict(label="fail", passed=False, score=0.0, failure_modes=["refund_promise"], **ok)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=r"approval abababababab.*'fail'.*failure modes: refund_promise"):
        assert_passes(bad)
    pairwise = GraderVerdict(label="A", model="m", rubric="pairwise-preference", status="ok")
    with pytest.raises(TypeError, match="compare verdict.label"):
        assert_passes(pairwise)


REVOKE_MID_SESSION = """
from judgecal.store import Store

ITEM = {item!r}
KEPT = []

def test_1_grades(judgecal_grader):
    KEPT.append(judgecal_grader("support-billing"))
    assert KEPT[0].grade(ITEM).certificate_id == {cert_id!r}

def test_2_revoke():
    Store().revoke_certificate({cert_id!r}, "provider swapped the model")

def test_3_the_kept_grader_refuses():
    KEPT[0].grade(ITEM)

def test_4_so_does_the_factory(judgecal_grader):
    judgecal_grader("support-billing")
"""


def test_a_revoke_mid_session_fails_every_later_grade_with_no_fallback(
    pytester: pytest.Pytester, approved_support: Any
) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    older = add_record(store, approved_support, minutes=-60)  # a fallback would be possible
    store.close()
    (_, item), *_ = gold_items(approved_support, n=1)
    pytester.makepyfile(test_inner=REVOKE_MID_SESSION.format(item=item, cert_id=approved_support.id))
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert re.search(r"^PASSED test_inner.py::test_1_grades", out, re.M)
    assert re.search(r"^PASSED test_inner.py::test_2_revoke", out, re.M)
    assert re.search(
        r"^FAILED test_inner.py::test_3_the_kept_grader_refuses - judgecal.errors.NotApp", out, re.M
    )
    assert re.search(r"^FAILED test_inner.py::test_4_so_does_the_factory - Failed: judgecal refus", out, re.M)
    # each failure's report carries the reason
    result.stdout.fnmatch_lines(
        [
            "*test_3_the_kept_grader_refuses*",
            f"*NotApprovedError: approval {approved_support.id[:12]} for judge 'sim/consistent' on rubric "
            "'support-billing' is revoked: revoked * UTC: provider swapped the model",
            "*test_4_so_does_the_factory*",
            "judgecal refused to grade with 'support-billing': approval * is revoked: *provider swapped*",
        ]
    )
    assert older.id[:12] not in out


def test_a_newer_rejected_validation_fails_the_test(pytester: pytest.Pytester, approved_support: Any) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    newer = add_record(store, approved_support, minutes=30, tier="rejected")
    store.close()
    pytester.makepyfile(
        test_inner="""
        def test_reply(judgecal_grader):
            judgecal_grader("support-billing")
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*judgecal refused to grade with 'support-billing'*record in force {newer.id[:12]}*ended rejected*"]
    )
