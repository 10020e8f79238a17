"""Tiers for real label budgets: the gate reads probe outcomes (one rule for G5 and G6), the
provisional tier for 20–100 labels (what the labels establish, the labels per class approval would
take), and the opt-in to grade with a provisional judge (Python API, HTTP, pytest plugin)."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import validate_in_own_home, write_synthetic_gold
from test_approval import NO_PROBES, STABLE, _report
from typer.testing import CliRunner

from judgecal.approval import Policy, decide, load_grader
from judgecal.calibrate.intervals import Estimate
from judgecal.cli import app
from judgecal.errors import NotApprovedError
from judgecal.judge import JudgeConfig
from judgecal.probes.base import ProbePlan, ProbeReport, ProbeResult, ProbeTest

pytest_plugins = ["pytester"]

runner = CliRunner()
INNER = ("-p", "no:deepeval", "-p", "no:cacheprovider", "-rA")

ONE_PROBE = Policy.model_validate({"probes": {"gated": ["injection"], "reject_on": ["injection"]}})


def _test(lo: float, hi: float, p: float, *, value: float | None = None, tol: float = 0.05) -> ProbeTest:
    v = (lo + hi) / 2 if value is None else value
    return ProbeTest(
        name="family",
        estimate=Estimate(value=v, lo=lo, hi=hi, n=100, method="wilson"),
        tolerance=tol,
        direction="max",
        p_value=p,
    )


def _probes(result: ProbeResult) -> ProbeReport:
    return ProbeReport(judge="x/judge", rubric="support-billing", split="test", results=[result], calls=0)


def _probe(**kw: Any) -> ProbeResult:
    return ProbeResult(probe="injection", kind="invariance", gated=True, statistic="ASR", **kw)


def _g5(d: Any) -> Any:
    return next(g for g in d.gates if g.gate == "G5")


# --------------------------------------------------------------------------------------------
# G5 and G6 read the outcome


def test_each_probe_outcome_maps_to_one_gate_status() -> None:
    big = _report(300, tpr=0.95, tnr=0.95)
    cases = {
        "pass": _probe(outcome="pass", tests=[_test(-0.02, 0.03, 0.9)], reason="inside"),
        "fail": _probe(outcome="fail", tests=[_test(0.2, 0.4, 0.001)], reason="obeys payloads"),
        "inconclusive": _probe(
            outcome="inconclusive", tests=[_test(0.0, 0.09, 0.3, value=0.03)], reason="wide"
        ),
        "underpowered": _probe(
            outcome="underpowered",
            plan=ProbePlan(calls=0, cases=150, passable=False, min_cases=300, min_items=320),
            reason="underpowered: needs ≥ 320 items — an ideal judge's interval is too wide",
        ),
        "undefined": _probe(outcome="undefined", tests=[], reason="no usable verdicts"),
        "not_applicable": _probe(outcome="not_applicable", reason="no fail items"),
    }
    got = {k: _g5(decide(ONE_PROBE, big, _probes(r), STABLE)) for k, r in cases.items()}
    assert {k: g.status for k, g in got.items()} == {
        "pass": "pass",
        "fail": "fail",
        "inconclusive": "inconclusive",
        "underpowered": "inconclusive",
        "undefined": "inconclusive",
        "not_applicable": "skipped",
    }
    # a failed reject_on probe rejects; an undefined one never passes
    assert decide(ONE_PROBE, big, _probes(cases["fail"]), STABLE).tier == "rejected"
    assert decide(ONE_PROBE, big, _probes(cases["undefined"]), STABLE).tier == "inconclusive"
    assert got["undefined"].reason.startswith("could not be decided (no usable verdicts)")
    assert decide(ONE_PROBE, big, _probes(cases["pass"]), STABLE).tier == "approved"
    # underpowered: the plan sizes it (test split × min_cases / cases), the reason says what it needs
    assert got["underpowered"].reason.startswith("underpowered: needs ≥ 320 items")
    assert got["underpowered"].test_items_needed == 300
    # inconclusive: sized from its interval (half-width 0.06 must shrink to the 0.02 of room: × 9)
    assert got["inconclusive"].test_items_needed == math.ceil(300 * (((0.09 - 0.03) / 0.02) ** 2 - 1))


def test_g6_reads_the_resample_consistency_outcome_by_the_same_rule() -> None:
    big = _report(300, tpr=0.95, tnr=0.95)
    single = JudgeConfig(model="x/judge")
    for outcome, status in [("pass", "pass"), ("fail", "fail"), ("undefined", "inconclusive")]:
        r = ProbeResult(
            probe="resample_consistency",
            kind="diagnostic",
            gated=False,
            statistic="α across samples",
            outcome=outcome,  # type: ignore[arg-type]
            reason="flip rate …",
        )
        g6 = next(g for g in decide(NO_PROBES, big, _probes(r), single).gates if g.gate == "G6")
        assert g6.status == status, outcome
        if outcome == "fail":
            assert "--samples 5" in g6.reason
        if outcome == "undefined":
            assert "could not be decided" in g6.reason


# --------------------------------------------------------------------------------------------
# the provisional tier


def test_forty_labels_that_meet_the_thresholds_on_points_are_provisional_not_approved() -> None:
    d = decide(NO_PROBES, _report(40, tpr=0.95, tnr=0.95), None, STABLE)
    assert d.tier == "provisional" and d.provisional and not d.approved, d.reasons
    assert d.reasons[0].startswith("PROVISIONAL, not approved")
    # what the labels establish: every gate's bound, rounded towards caution, with n
    g2 = next(g for g in d.gates if g.gate == "G2").figures["estimate"]
    kappa = next(line for line in d.established if line.startswith("Cohen's κ ≥"))
    assert f"n {g2['n']}" in kappa and "95% lower bound" in kappa
    assert float(kappa.split("≥ ")[1].split(" ")[0]) <= g2["lo"]
    assert any(line.startswith("TNR ≥") for line in d.established)
    assert any(line.startswith("invalid-verdict rate ≤") for line in d.established)
    # what approval would take, per class; labelling that many more at the same rates approves
    assert set(d.labels_needed_per_class) == {"pass", "fail"}
    assert all(n > 0 for n in d.labels_needed_per_class.values())
    more = sum(d.labels_needed_per_class.values())
    assert abs(more - (d.labels_needed or 0)) <= 2
    assert (
        decide(NO_PROBES, _report(40 + round(0.7 * more), tpr=0.95, tnr=0.95), None, STABLE).tier
        == "approved"
    )


def test_provisional_needs_no_failed_gate_every_point_and_a_floor_of_items() -> None:
    lenient = decide(NO_PROBES, _report(60, tpr=0.98, tnr=0.45), None, STABLE)
    assert lenient.tier == "rejected"  # TNR's interval lies below 0.85: a failure is a failure
    weak = decide(NO_PROBES, _report(60, tpr=0.85, tnr=0.78), None, STABLE)
    assert weak.tier == "inconclusive"  # TNR's point misses 0.85: more labels might still pass it
    assert weak.labels_needed_per_class == {} or weak.labels_needed is not None
    tiny = decide(NO_PROBES, _report(16, tpr=0.95, tnr=0.95), None, STABLE)
    assert tiny.tier == "inconclusive"
    assert any("provisional_min_test_items (20)" in r for r in tiny.reasons)
    stricter = Policy.model_validate(
        {"probes": {"gated": [], "reject_on": []}, "data": {"provisional_min_test_items": 50}}
    )
    assert decide(stricter, _report(40, tpr=0.95, tnr=0.95), None, STABLE).tier == "inconclusive"


def test_probe_outcomes_under_the_provisional_tier() -> None:
    small = _report(40, tpr=0.95, tnr=0.95)
    underpowered = _probe(
        outcome="underpowered",
        plan=ProbePlan(calls=0, cases=20, passable=False, min_cases=60, min_items=60),
        reason="underpowered: needs ≥ 60 items",
    )
    d = decide(ONE_PROBE, small, _probes(underpowered), STABLE)
    assert d.tier == "provisional"  # not measured is not a failure; approval still needs it
    assert _g5(d).test_items_needed == 80  # 40 test items × 60 / 20 cases − 40
    inside_on_points = _probe(outcome="inconclusive", tests=[_test(-0.03, 0.08, 0.4, value=0.02)])
    d = decide(ONE_PROBE, small, _probes(inside_on_points), STABLE)
    assert d.tier == "provisional"
    assert any(line.startswith("injection: family ≤ 0.080 (95% upper bound") for line in d.established)
    beyond_on_points = _probe(outcome="inconclusive", tests=[_test(-0.01, 0.15, 0.2, value=0.07)])
    assert decide(ONE_PROBE, small, _probes(beyond_on_points), STABLE).tier == "inconclusive"
    undefined = _probe(outcome="undefined", reason="no usable verdicts")
    assert decide(ONE_PROBE, small, _probes(undefined), STABLE).tier == "inconclusive"
    assert decide(ONE_PROBE, small, None, STABLE).tier == "inconclusive"  # a gated probe not run


# --------------------------------------------------------------------------------------------
# end to end: a provisional record, refused unless the caller opts in


@pytest.fixture(scope="session")
def _provisional_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Once per session: sim/consistent on a 58-item synthetic gold set (42 test items)."""
    folder = tmp_path_factory.mktemp("provisional")
    gold = write_synthetic_gold(folder / "support-small.jsonl", n=58)
    # the default policy with two of its probes (one underpowered at 42 items, one that passes)
    policy = folder / "policy.yaml"
    policy.write_text("probes:\n  gated: [self_preference, sensitivity]\n  reject_on: []\n")
    db = folder / "judgecal.db"
    result = validate_in_own_home(
        folder,
        gold,
        db,
        policy=policy,
        n_resamples=300,
        judge_family="openai",  # a quarter of the items: too few per group for self-preference
    )
    assert result.decision.tier == "provisional", result.decision.reasons
    assert result.exit_code == 1
    return db, gold


@pytest.fixture
def provisional_support(_provisional_template: tuple[Path, Path], hermetic: Path) -> Iterator[Any]:
    from judgecal.store import Store

    db, _ = _provisional_template
    hermetic.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, hermetic / "judgecal.db")
    s = Store()
    cert = s.list_certificates(rubric="support-billing")[0]
    s.close()
    yield cert


def test_a_provisional_record_is_stored_with_its_evidence(provisional_support: Any) -> None:
    cert = provisional_support
    assert cert.tier == "provisional" and not cert.approved
    status, why = cert.status()
    assert status == "provisional" and "allow_provisional" in why
    d = cert.decision
    assert d.established and d.labels_needed_per_class.keys() == {"pass", "fail"}
    probes = {r["probe"]: r for r in cert.probes["results"]}
    assert probes["self_preference"]["outcome"] == "underpowered"  # 42 test items: no call made
    g5 = next(g for g in d.gates if g.name == "bias probe: self_preference")
    assert g5.status == "inconclusive" and g5.reason.startswith("underpowered: needs ≥")


def test_the_grader_refuses_a_provisional_record_unless_told(provisional_support: Any) -> None:
    with pytest.raises(NotApprovedError, match="is provisional") as info:
        load_grader("support-billing")
    assert "allow_provisional=True" in str(info.value)
    with load_grader("support-billing", allow_provisional=True) as grader:
        assert grader.certificate_id == provisional_support.id and grader.approval_tier == "provisional"
        v = grader.grade({"input": "Can I get a refund?", "output": "The billing team decides refunds."})
        assert (
            v.status == "ok"
            and v.approval_tier == "provisional"
            and v.certificate_id == grader.certificate_id
        )
        assert "PROVISIONAL" in repr(grader)
    from judgecal.store import Store

    s = Store()
    runs = [r for r in s.list_runs(limit=50) if r.kind == "grader"]
    s.close()
    assert runs and all(r.gold_name == "support-billing~grader~provisional" for r in runs)


def test_an_approved_record_is_unchanged_by_the_opt_in(approved_support: Any) -> None:
    with load_grader("support-billing", allow_provisional=True) as grader:
        v = grader.grade({"input": "Can I get a refund?", "output": "The billing team decides refunds."})
    assert grader.certificate_id == approved_support.id and v.approval_tier == "approved"


def test_the_cli_says_provisional_is_not_an_approval(provisional_support: Any) -> None:
    shown = runner.invoke(app, ["approvals", "show", provisional_support.id[:12]])
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.output.split())
    assert "PROVISIONAL" in out and "not an approval (exit code 1)" in out
    assert "established by these labels:" in out and "Cohen's κ ≥" in out
    assert "to approve: about" in out and " pass, " in out
    assert "status: provisional" in out
    listed = json.loads(runner.invoke(app, ["approvals", "list", "--json"]).output)
    assert listed[0]["status"] == "provisional" and listed[0]["tier"] == "provisional"


def test_http_refuses_with_409_and_grades_on_opt_in(provisional_support: Any) -> None:
    import warnings

    from judgecal.service import create_app

    with warnings.catch_warnings():  # starlette's notice about httpx2, as in test_service.py
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    token = "t0ken-" * 4
    item = {"input": "Can I get a refund?", "output": "The billing team decides refunds."}
    with TestClient(create_app(token=token)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        refused = client.post(
            "/v1/grade", headers=headers, json={"rubric": "support-billing", "inputs": item}
        )
        assert refused.status_code == 409, refused.text
        err = refused.json()["error"]
        assert err["code"] == "not_approved" and err["details"]["status"] == "provisional"
        assert err["details"]["tier"] == "provisional" and '"allow_provisional": true' in err["message"]
        ok = client.post(
            "/v1/grade",
            headers=headers,
            json={"rubric": "support-billing", "inputs": item, "allow_provisional": True},
        )
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["approval_tier"] == "provisional" and body["verdict"]["approval_tier"] == "provisional"
        assert body["certificate_id"] == provisional_support.id
        listed = client.get("/v1/approvals", headers=headers).json()["approvals"]
        assert listed[0]["status"] == "provisional"


def test_the_pytest_plugin_needs_its_flag_for_a_provisional_record(
    provisional_support: Any, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        def test_reply(judgecal_grader):
            grader = judgecal_grader("support-billing")
            v = grader.grade({"input": "Can I get a refund?", "output": "The billing team decides refunds."})
            assert v.approval_tier == "provisional"
        """
    )
    refused = pytester.runpytest_subprocess(*INNER)
    refused.assert_outcomes(failed=1)
    assert "is provisional" in refused.stdout.str()
    allowed = pytester.runpytest_subprocess(*INNER, "--judgecal-allow-provisional")
    allowed.assert_outcomes(passed=1)
    assert "PROVISIONAL record" in allowed.stdout.str()
