"""The approval gate: policy files, the gate's tiers on controlled reports, ``validate`` end to end on
simulated judges, approval records and their staleness, the grader API, and the CLI."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, write_synthetic_gold
from typer.testing import CliRunner

from judgecal.approval import Policy, decide, load_grader, load_policy, validate
from judgecal.calibrate.report import CalibrationInput, ItemRecord, build_report
from judgecal.cli import app
from judgecal.errors import ConfigError, InputError, NotApprovedError
from judgecal.judge import JudgeConfig
from judgecal.simulate import PRESETS

runner = CliRunner()

# the gate alone: no probes, and a judge that aggregates 5 samples (G6 by construction)
NO_PROBES = Policy.model_validate({"probes": {"gated": [], "reject_on": []}})
STABLE = JudgeConfig(model="x/judge", samples=5)


# --------------------------------------------------------------------------------------------
# policy files


def test_bundled_policy_states_the_published_defaults() -> None:
    p = load_policy()
    assert (p.ceiling.min_alpha, p.validity.max_invalid_rate, p.validity.max_invalid_upper) == (
        0.667,
        0.01,
        0.03,
    )
    assert (p.agreement.approve, p.agreement.approve_lower, p.agreement.provisional) == (0.80, 0.667, 0.667)
    assert (p.class_errors.min_tpr, p.class_errors.min_tnr, p.class_errors.min_lower) == (0.85, 0.85, 0.75)
    assert (p.stability.k, p.stability.min_alpha, p.stability.min_modal_agreement) == (5, 0.80, 0.90)
    assert p.data.min_test_items == 100 and p.data.min_per_class == 40 and p.data.min_ceiling_items == 50
    assert "injection" in p.probes.reject_on
    assert p.policy_hash == Policy().policy_hash


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("version: 1\nagreement:\n  aprove: 0.9\n", 3, "agreement.aprove", "unknown key"),
        (
            "version: 1\nvalidity:\n  max_invalid_rate: 1.5\n",
            3,
            "validity.max_invalid_rate",
            "less than or equal",
        ),
        ("version: 2\n", 1, "version", "not supported"),
        ("probes:\n  gated: [position]\n  reject_on: [injection]\n", 1, "probes", "not gated"),
        ("agreement: [1, 2]\n", 1, "agreement", "valid dictionary"),
    ],
)
def test_bad_policy_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert info.value.location is not None and info.value.location.startswith(f"{path}:")
    assert info.value.location.endswith(f":{line}") or field == "probes"
    assert info.value.field == field
    assert message in str(info.value)


def test_policy_hash_ignores_comments_but_not_thresholds(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("# ours\nagreement:\n  approve: 0.8\n")
    b = tmp_path / "b.yaml"
    b.write_text("agreement:\n  approve: 0.85\n")
    assert load_policy(a).policy_hash == load_policy().policy_hash
    assert load_policy(b).policy_hash != load_policy().policy_hash


# --------------------------------------------------------------------------------------------
# the gate on controlled calibration reports


def _report(
    n: int, *, tpr: float, tnr: float, invalid: float = 0.0, human_noise: float = 0.03, seed: int = 1
):  # type: ignore[no-untyped-def]
    """A test-split report of a binary judge with the given error rates, on n items with three
    annotators each (exact counts, shuffled: the rates hold exactly, up to rounding)."""
    rng = random.Random(seed)
    items = []
    half = n // 2
    for truth, k, rate in (("pass", half, tpr), ("fail", n - half, tnr)):
        n_right = round(rate * k)
        n_invalid = round(invalid * k)
        verdicts = ["right"] * n_right + ["wrong"] * (k - n_right)
        for i in range(n_invalid):  # invalid verdicts replace wrong ones first, then right ones
            verdicts[-1 - i] = "invalid"
        rng.shuffle(verdicts)
        other = "fail" if truth == "pass" else "pass"
        for i, v in enumerate(verdicts):
            humans = {a: truth if rng.random() >= human_noise else other for a in ("h1", "h2", "h3")}
            items.append(
                ItemRecord(
                    id=f"{truth}-{i}",
                    humans=humans,
                    judge=None if v == "invalid" else (truth if v == "right" else other),
                    judge_status="invalid" if v == "invalid" else "ok",
                    split="test",
                )
            )
    inp = CalibrationInput(
        scale="binary", labels=["pass", "fail"], items=items, judge_name="x", source="test"
    )
    return build_report(inp, split="test", n_resamples=500, seed=0)


def test_accurate_judge_with_enough_data_is_approved() -> None:
    d = decide(NO_PROBES, _report(300, tpr=0.95, tnr=0.95), None, STABLE)
    assert d.tier == "approved", d.reasons
    assert d.approved and d.labels_needed is None
    assert {g.gate: g.status for g in d.gates if g.gate != "G5"} == {
        "data": "pass",
        "G0": "pass",
        "G1": "pass",
        "G2": "pass",
        "G3": "pass",
        "G6": "pass",
    }


def test_lenient_judge_is_rejected_for_its_true_negative_rate() -> None:
    d = decide(NO_PROBES, _report(300, tpr=0.98, tnr=0.55), None, STABLE)
    assert d.tier == "rejected"
    g3 = next(g for g in d.gates if g.gate == "G3")
    assert g3.status == "fail" and "TNR" in g3.reason and "lenient" in g3.reason
    assert any(r.startswith("G3 fail (class-wise error") for r in d.reasons)


def test_provisional_agreement_with_a_usable_j_is_approved_with_correction() -> None:
    d = decide(NO_PROBES, _report(400, tpr=0.90, tnr=0.80), None, STABLE)
    assert d.tier == "approved_with_correction", d.reasons
    assert next(g for g in d.gates if g.gate == "G2").status == "provisional"
    assert any("corrected" in o for o in d.obligations) and any("audit" in o for o in d.obligations)


def test_small_gold_set_is_provisional_with_a_label_estimate_that_would_settle_it() -> None:
    # 60 items meet every threshold on the points but not the data requirements: provisional (not
    # an approval; tests/test_tiers.py), with the labels approval would take
    d = decide(NO_PROBES, _report(60, tpr=0.95, tnr=0.95), None, STABLE)
    assert d.tier == "provisional" and not d.approved
    assert d.labels_needed is not None and d.labels_needed > 0
    data = next(g for g in d.gates if g.gate == "data")
    assert data.status == "inconclusive" and "60 test items" in data.reason
    # the estimate is about right: that many more items (70% of them in test), same rates, decides it
    bigger = 60 + round(0.7 * d.labels_needed)
    assert decide(NO_PROBES, _report(bigger, tpr=0.95, tnr=0.95), None, STABLE).tier == "approved"


def test_invalid_verdicts_fail_g1_and_count_against_agreement() -> None:
    d = decide(NO_PROBES, _report(300, tpr=0.97, tnr=0.97, invalid=0.05), None, STABLE)
    g1 = next(g for g in d.gates if g.gate == "G1")
    assert g1.status == "fail" and d.tier == "rejected"
    assert f"{2 * round(0.05 * 150)} of 300" in g1.reason  # 8 per class


def test_unreliable_humans_block_any_judge() -> None:
    d = decide(NO_PROBES, _report(300, tpr=1.0, tnr=1.0, human_noise=0.3), None, STABLE)
    g0 = next(g for g in d.gates if g.gate == "G0")
    assert g0.status == "fail" and "fix the rubric" in g0.reason
    assert d.tier == "rejected"


def test_a_gated_probe_that_was_not_run_keeps_the_judge_from_approval() -> None:
    d = decide(load_policy(), _report(300, tpr=0.95, tnr=0.95), None, STABLE)
    assert d.tier == "inconclusive"
    assert any("was not run" in r for r in d.reasons)


# --------------------------------------------------------------------------------------------
# validate end to end (simulated judges, through litellm over loopback)


def test_consistent_accurate_judge_is_approved_and_recorded(approved_support) -> None:  # type: ignore[no-untyped-def]
    cert = approved_support
    assert cert.decision.tier == "approved"
    assert set(cert.hashes) == {"rubric", "template", "gold", "split", "policy"}
    assert cert.model == "sim/consistent" and cert.model_version == "consistent"
    assert cert.judge["model"] == "sim/consistent" and cert.judge["samples"] == 1
    assert cert.cost == 0.0 and cert.calls > 0
    assert set(cert.latency_ms) == {"p50", "p95", "p99"} and cert.latency_ms["p50"] is not None
    assert cert.calibration["split"] == "test" and cert.probes is not None
    probes = {r["probe"]: r for r in cert.probes["results"]}
    assert {"position", "verbosity", "injection", "sensitivity", "resample_consistency"} <= set(probes)
    assert cert.status() == ("valid", cert.status()[1])


def test_revalidating_unchanged_reuses_every_verdict(approved_support, hermetic: Path) -> None:  # type: ignore[no-untyped-def]
    gold = approved_support.gold_path
    again = validate("support-billing", "sim/consistent", gold=gold)
    assert again.decision.tier == "approved"
    assert again.certificate.calls == 0
    assert again.certificate.id != approved_support.id


def test_strong_position_bias_is_rejected_for_that_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        PRESETS, "consistent-first", PRESETS["consistent"].model_copy(update={"position_bias": 0.6})
    )
    gold = write_synthetic_gold(tmp_path / "pairs.jsonl", kind="pairwise", n=200)
    fair = validate(
        "pairwise-preference", "sim/consistent", gold=str(gold), probes=["position"], n_resamples=500
    )
    biased = validate(
        "pairwise-preference", "sim/consistent-first", gold=str(gold), probes=["position"], n_resamples=500
    )
    position = {
        r.decision.tier: next(g for g in r.decision.gates if "position" in g.name) for r in (fair, biased)
    }
    assert fair.decision.tier == "approved", fair.decision.reasons
    assert biased.decision.tier == "rejected"
    assert position["rejected"].status == "fail"
    assert any("position" in r for r in biased.decision.reasons)


def test_lenient_simulated_judge_ends_rejected_by_g3(approved_support) -> None:  # type: ignore[no-untyped-def]
    result = validate(
        "support-billing", "sim/lenient", gold=approved_support.gold_path, probes=[], n_resamples=500
    )
    assert result.decision.tier == "rejected"
    g3 = next(g for g in result.decision.gates if g.gate == "G3")
    assert g3.status == "fail" and "TNR" in g3.reason
    assert result.exit_code == 1


def test_fail_fast_skips_the_probes_once_calibration_has_rejected_the_judge(approved_support) -> None:  # type: ignore[no-untyped-def]
    gold = approved_support.gold_path
    rejected = validate("support-billing", "sim/noisy", gold=gold, n_resamples=300, fail_fast=True)
    n_test = rejected.calibration.counts["with_majority"]
    assert rejected.decision.tier == "rejected"
    assert rejected.certificate.calls == n_test  # the test split, and not one probe variant
    assert rejected.probes is not None and rejected.probes.results == [] and rejected.probes.calls == 0
    g2 = next(g for g in rejected.decision.gates if g.gate == "G2")
    assert g2.status == "fail"
    probe_gates = [g for g in rejected.decision.gates if g.gate in ("G5", "G6")]
    assert probe_gates and all(g.status == "skipped" and "G2" in g.reason for g in probe_gates)
    assert any(r.startswith("bias probes and resample stability not run") for r in rejected.decision.reasons)

    # without it (the default) the probes run on a rejected judge too: their reasons add to the case
    forced = validate("support-billing", "sim/noisy", gold=gold, probes=["verbosity"], n_resamples=300)
    assert forced.decision.tier == "rejected"
    assert [r.probe for r in forced.probes.results] == ["verbosity", "resample_consistency"]  # type: ignore[union-attr]
    assert forced.certificate.calls > 0 and forced.probes.calls > 0  # type: ignore[union-attr]
    assert not any("not run" in g.reason for g in forced.decision.gates)


def test_one_character_of_the_rubric_makes_the_approval_stale(tmp_path: Path, approved_support) -> None:  # type: ignore[no-untyped-def]
    rubric_dir = tmp_path / "support-billing"
    shutil.copytree(ROOT / "rubrics" / "support-billing", rubric_dir)
    result = validate(str(rubric_dir), "sim/consistent", gold=approved_support.gold_path, n_resamples=500)
    assert result.decision.tier == "approved", result.decision.reasons
    assert result.certificate.status()[0] == "valid"
    with load_grader(str(rubric_dir)) as grader:
        assert grader.certificate_id == result.certificate.id

    yaml_path = rubric_dir / "rubric.yaml"
    text = yaml_path.read_text()
    yaml_path.write_text(text.replace("Ledgerly", "Ledgerlx", 1))
    status, why = result.certificate.status()
    assert status == "stale" and "rubric" in why and "template" not in why
    with pytest.raises(NotApprovedError) as info:
        load_grader(str(rubric_dir), judge="sim/consistent")
    assert "stale" in str(info.value) and "rubric" in str(info.value)


# --------------------------------------------------------------------------------------------
# the grader API


def test_grader_serves_the_approved_judge(approved_support, support) -> None:  # type: ignore[no-untyped-def]
    gold_items = [json.loads(line) for line in Path(approved_support.gold_path).read_text().splitlines()]
    with load_grader("support-billing") as grader:
        assert grader.certificate_id == approved_support.id
        assert grader.judge.model == "sim/consistent"
        verdicts = grader.grade_many([it["inputs"] for it in gold_items[:20]])
        one = grader.grade(gold_items[0]["inputs"])
    assert all(v.status == "ok" and v.certificate_id == approved_support.id for v in verdicts)
    agree = sum(
        v.label == max(set(it["labels"].values()), key=list(it["labels"].values()).count)
        for v, it in zip(verdicts, gold_items[:20], strict=True)
    )
    assert agree >= 16  # a 95%-accurate judge on 20 items
    assert one.label in ("pass", "fail") and one.score in (0.0, 1.0) and one.passed == (one.label == "pass")
    assert one.cached  # the same item was graded in grade_many


async def test_grader_async_and_input_errors(approved_support) -> None:  # type: ignore[no-untyped-def]
    grader = load_grader("support-billing")
    try:
        v = await grader.agrade(
            {"input": "Can I get a refund?", "output": "The billing team decides refunds."}
        )
        assert v.status == "ok" and v.rubric == "support-billing"
        with pytest.raises(InputError, match="missing"):
            await grader.agrade({"input": "only the question"})
        with pytest.raises(InputError, match="unknown"):
            await grader.agrade({"input": "q", "output": "a", "answer": "x"})
        with pytest.raises(InputError, match="non-empty"):
            await grader.agrade({"input": "q", "output": "  "})
    finally:
        grader.close()


def test_grader_refuses_without_a_valid_approval(approved_support, store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotApprovedError, match="no approval record"):
        load_grader("support-billing", store=store)  # an empty database
    with pytest.raises(NotApprovedError, match="no approval record"):
        load_grader("support-billing", judge="sim/accurate")  # approved, but another judge
    with pytest.raises(ConfigError, match="judge"):
        load_grader("support-billing", store=store, allow_unapproved=True)
    with load_grader("support-billing", judge="sim/accurate", store=store, allow_unapproved=True) as g:
        assert g.certificate is None and g.grade({"input": "q?", "output": "a."}).certificate_id is None

    from judgecal.store import Store

    Store().revoke_certificate(approved_support.id[:10], "judge drifted in production")
    with pytest.raises(NotApprovedError, match="revoked") as info:
        load_grader("support-billing")
    assert "judge drifted" in str(info.value)


def test_rejected_validation_is_recorded_but_never_served(approved_support) -> None:  # type: ignore[no-untyped-def]
    from judgecal.store import Store

    Store().revoke_certificate(approved_support.id, "test")
    validate("support-billing", "sim/lenient", gold=approved_support.gold_path, probes=[], n_resamples=300)
    with pytest.raises(NotApprovedError, match="rejected"):
        load_grader("support-billing", judge="sim/lenient")


# --------------------------------------------------------------------------------------------
# the CLI


def test_cli_validate_exit_codes_and_record(approved_support, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record = tmp_path / "out" / "record.json"
    ok = runner.invoke(
        app,
        [
            "validate",
            "support-billing",
            "--judge",
            "sim/consistent",
            "--gold",
            approved_support.gold_path,
            "--quiet",
            "--out",
            str(record),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "APPROVED" in ok.output and "G2" in ok.output
    saved = json.loads(record.read_text())
    assert saved["decision"]["tier"] == "approved" and saved["calls"] == 0

    small = runner.invoke(
        app, ["validate", "support-billing", "--judge", "sim/accurate", "--quiet", "-p", "position"]
    )
    assert small.exit_code == 1, small.output
    assert ("INCONCLUSIVE" in small.output or "PROVISIONAL" in small.output) and (
        "more human-labelled gold items" in small.output
    )

    bad = tmp_path / "policy.yaml"
    bad.write_text("agreement:\n  approve: high\n")
    res = runner.invoke(app, ["validate", "support-billing", "--judge", "sim/accurate", "--policy", str(bad)])
    assert res.exit_code == 2 and f"{bad}:2" in res.output and "agreement.approve" in res.output


def test_cli_approvals_list_show_revoke(approved_support) -> None:  # type: ignore[no-untyped-def]
    short = approved_support.id[:12]
    listed = runner.invoke(app, ["approvals", "list", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert rows[0]["id"] == approved_support.id and rows[0]["status"] == "valid"
    shown = runner.invoke(app, ["approvals", "show", short])
    assert shown.exit_code == 0 and "APPROVED" in shown.output and "status: valid" in shown.output
    full = json.loads(runner.invoke(app, ["approvals", "show", short, "--json"]).output)
    assert full["hashes"] == approved_support.hashes
    revoked = runner.invoke(app, ["approvals", "revoke", short, "--reason", "rubric under review"])
    assert revoked.exit_code == 0
    rows = json.loads(runner.invoke(app, ["approvals", "list", "--json"]).output)
    assert rows[0]["status"] == "revoked" and "rubric under review" in rows[0]["status_reason"]
    missing = runner.invoke(app, ["approvals", "show", "ffffffff"])
    assert missing.exit_code == 2 and "no approval record" in missing.output


def test_g0_says_why_alpha_is_undefined() -> None:
    """α is undefined for two reasons: too few multi-labelled items, or one label on all of them."""
    from types import SimpleNamespace

    from judgecal.approval.gate import _g0
    from judgecal.approval.policy import load_policy
    from judgecal.calibrate.ceiling import human_agreement

    policy = load_policy(None)
    same = human_agreement(
        {f"i{n}": {"a": "pass", "b": "pass", "c": "pass"} for n in range(60)},
        scale_labels=["fail", "pass"],
        n_resamples=50,
    )
    assert same.n_items_2plus == 60 and same.alpha.value != same.alpha.value  # nan
    got = _g0(policy, SimpleNamespace(ceiling={"human_agreement": same.model_dump(mode="python")}))
    assert got.status == "inconclusive"
    assert "every label on its 60 multi-labelled items is the same" in got.reason
    assert "too few" not in got.reason
    few = human_agreement({"i1": {"a": "pass"}}, scale_labels=["fail", "pass"], n_resamples=50)
    got = _g0(policy, SimpleNamespace(ceiling={"human_agreement": few.model_dump(mode="python")}))
    assert got.status == "inconclusive" and "too few multi-labelled items" in got.reason
