"""Which decision is in force (docs/approval.md): for a judge on a rubric, the newest record of its
(judge model, rubric, gold set, policy) governs. A revoked, rejected, inconclusive, stale or expired
governing record refuses — through ``load_grader``, a grader kept alive, and ``judgecal serve`` —
and nothing falls back to an older approval of the same key. Every test first stores an *older*
approval of the same key, so a fallback would be possible."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from judgecal.approval import Certificate, find_approval, load_grader, load_policy
from judgecal.approval.policy import DEFAULT_POLICY_PATH, parse_max_age
from judgecal.errors import ConfigError, NotApprovedError
from judgecal.rubric import find_rubric
from judgecal.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette 1.x asks for the httpx2 package
    from starlette.testclient import TestClient

TOKEN = "binding-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def add_record(
    store: Store, like: Certificate, *, minutes: float, tier: str | None = None, **update: Any
) -> Certificate:
    """A copy of ``like`` made ``minutes`` later (earlier when negative), with a new id and
    optionally another tier — another validation of the same key."""
    decision = like.decision if tier is None else like.decision.model_copy(update={"tier": tier})
    record = like.model_copy(
        update={
            "id": uuid.uuid4().hex,
            "created_at": like.created_at + timedelta(minutes=minutes),
            "decision": decision,
            "revoked_at": None,
            "revoked_reason": None,
            **update,
        }
    )
    store.save_certificate(record)
    return record


@pytest.fixture
def two_approvals(approved_support: Certificate) -> Iterator[tuple[Store, Certificate, Certificate]]:
    """The approved record (newest) and an older approval of the same judge, rubric, gold set and
    policy, in the test's default store: (store, newest, older)."""
    store = Store()
    older = add_record(store, approved_support, minutes=-60)
    with load_grader("support-billing") as grader:  # both valid: the newest is the one in force
        assert grader.certificate_id == approved_support.id
    yield store, approved_support, older
    store.close()


ITEM = {"input": "Can I get a refund for last month?", "output": "Refunds are decided by the billing team."}


# --------------------------------------------------------------------------------------------
# the Python API


def test_a_revoked_newest_approval_refuses_with_no_fallback(two_approvals: Any) -> None:
    store, newest, older = two_approvals
    store.revoke_certificate(newest.id, "the provider changed the model")
    for judge in (None, "sim/consistent"):
        with pytest.raises(NotApprovedError) as exc:
            load_grader("support-billing", judge=judge)
        message = str(exc.value)
        assert f"record in force {newest.id[:12]}" in message and "is revoked" in message
        assert "the provider changed the model" in message
        assert older.id[:12] not in message
    cert, looked = find_approval(find_rubric("support-billing"), store=store)
    assert cert is None
    assert [(c.id, s) for c, s, _ in looked] == [(newest.id, "revoked")]  # the older one is not looked at


@pytest.mark.parametrize("tier", ["rejected", "inconclusive"])
def test_a_newer_rejected_or_inconclusive_validation_refuses(two_approvals: Any, tier: str) -> None:
    store, newest, _older = two_approvals
    newer = add_record(store, newest, minutes=30, tier=tier)
    with pytest.raises(
        NotApprovedError,
        match=rf"record in force {newer.id[:12]} .* is not approved: the validation ended {tier}",
    ):
        load_grader("support-billing")
    with pytest.raises(NotApprovedError, match=f"ended {tier}"):
        load_grader("support-billing", judge="sim/consistent", allow_provisional=True)


def test_a_newer_provisional_record_refuses_unless_opted_in(two_approvals: Any) -> None:
    store, newest, _older = two_approvals
    newer = add_record(store, newest, minutes=30, tier="provisional")
    with pytest.raises(NotApprovedError, match="is provisional: .*pass allow_provisional=True"):
        load_grader("support-billing")
    with load_grader("support-billing", allow_provisional=True) as grader:
        assert (grader.certificate_id, grader.approval_tier) == (newer.id, "provisional")


def test_a_stale_newest_record_refuses_even_when_an_older_one_still_matches(
    two_approvals: Any, tmp_path: Path
) -> None:
    store, newest, _older = two_approvals
    # the newest validation was of another version of the gold file: its gold hash does not hold
    hashes = {**newest.hashes, "gold": "0" * 64}
    newer = add_record(store, newest, minutes=30, hashes=hashes)
    with pytest.raises(
        NotApprovedError, match=rf"{newer.id[:12]} .* is stale: changed since the approval: gold"
    ):
        load_grader("support-billing")


def test_another_gold_set_is_another_key_and_still_grades_without_a_judge_named(two_approvals: Any) -> None:
    store, newest, _older = two_approvals
    other = add_record(store, newest, minutes=-120, gold="support-synthetic-copy")
    store.revoke_certificate(newest.id, "bad run")
    # without a judge, any key whose governing record is valid may grade: the other gold set's
    with load_grader("support-billing") as grader:
        assert grader.certificate_id == other.id
    # and a newer rejection of that key refuses it too
    add_record(store, other, minutes=1, tier="rejected")
    with pytest.raises(NotApprovedError, match=r"is revoked: .*bad run \(1 other judge/gold set/policy"):
        load_grader("support-billing")


def test_no_page_limit_hides_the_governing_record(approved_support: Certificate) -> None:
    store = Store()
    slim = approved_support.model_copy(update={"calibration": {}, "probes": None})
    # 501 newer records of other judges, all rejected: the approval is the 502nd newest
    for i in range(501):
        add_record(store, slim, minutes=1 + i / 100, tier="rejected", model=f"sim/other-{i}")
    with load_grader("support-billing") as grader:
        assert grader.certificate_id == approved_support.id
    store.close()


def test_a_kept_graders_check_reads_past_the_first_few_records(two_approvals: Any) -> None:
    store, newest, _older = two_approvals
    with load_grader("support-billing") as grader:
        # newer records of the same judge on other gold sets: other keys, which do not touch it
        for i in range(12):
            add_record(store, newest, minutes=1 + i, gold=f"other-gold-{i}", tier="rejected")
        assert grader.grade(ITEM).certificate_id == newest.id
        store.revoke_certificate(newest.id, "revoked behind a dozen newer records")
        with pytest.raises(NotApprovedError, match="is revoked: .*behind a dozen newer records"):
            grader.grade(ITEM)


def test_a_grader_kept_alive_stops_at_a_revoke(two_approvals: Any) -> None:
    store, newest, _older = two_approvals
    with load_grader("support-billing") as grader:
        assert grader.grade(ITEM).certificate_id == newest.id
        store.revoke_certificate(newest.id, "found a prompt leak")
        with pytest.raises(
            NotApprovedError, match=f"approval {newest.id[:12]} .* is revoked: .*found a prompt leak"
        ):
            grader.grade(ITEM)
        with pytest.raises(NotApprovedError, match="is revoked"):
            grader.grade_many([ITEM])


def test_a_grader_kept_alive_stops_when_a_newer_validation_rejects(two_approvals: Any) -> None:
    store, newest, _older = two_approvals
    with load_grader("support-billing") as grader:
        assert grader.grade(ITEM).status == "ok"
        newer = add_record(store, newest, minutes=30, tier="rejected")
        with pytest.raises(
            NotApprovedError, match=f"no longer in force: a newer record {newer.id[:12]} .* is not approved"
        ):
            grader.grade(ITEM)


# --------------------------------------------------------------------------------------------
# expiry (the policy's max_age)


def test_max_age_is_validated_with_file_line_and_field(tmp_path: Path) -> None:
    assert parse_max_age("90d") == timedelta(days=90) and parse_max_age("12h") == timedelta(hours=12)
    assert load_policy().max_age is None
    policy = tmp_path / "ours.yaml"
    policy.write_text("version: 1\nconfidence: 0.95\nmax_age: 90 days\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_policy(policy)
    assert f"{policy}:3" in str(exc.value) and "max_age" in str(exc.value) and "90d or 12h" in str(exc.value)


def _policy_with_max_age(folder: Path, max_age: str) -> Path:
    path = folder / "policy-with-age.yaml"
    path.write_text(
        DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace("max_age: null", f"max_age: {max_age}")
    )
    return path


def _forget(store: Store, cert: Certificate) -> None:
    """Remove ``cert``'s row, so the records under test are the rubric's only ones."""
    from sqlmodel import delete

    from judgecal.store.tables import ApprovalRow

    with store.engine.begin() as conn:
        conn.execute(delete(ApprovalRow).where(ApprovalRow.id == cert.id))  # type: ignore[arg-type]


def _record_under(policy: Path, like: Certificate, created: datetime) -> Certificate:
    """A new record (no id yet, as a validation makes it) under ``policy``."""
    data = like.model_dump(
        exclude={"id", "created_at", "max_age", "expires_at", "revoked_at", "revoked_reason", "policy_path"}
    )
    data["hashes"] = {**like.hashes, "policy": load_policy(policy).policy_hash}
    return Certificate(**data, created_at=created, policy_path=str(policy))


def test_an_approval_expires_after_the_policys_max_age(approved_support: Certificate, tmp_path: Path) -> None:
    policy = _policy_with_max_age(tmp_path, "30d")
    created = datetime.now(UTC) - timedelta(days=31)
    record = _record_under(policy, approved_support, created)
    assert record.max_age == "30d" and record.expires_at == created + timedelta(days=30)
    fresh = _record_under(policy, approved_support, datetime.now(UTC))
    status, why = fresh.status(rubric=find_rubric("support-billing"))
    assert status == "valid" and f"expires {fresh.expires_at:%Y-%m-%d %H:%M} UTC" in why
    # an old record (made before max_age existed) never expires
    assert approved_support.expires_at is None and approved_support.status()[0] == "valid"

    store = Store()
    store.save_certificate(record)
    store.save_certificate(fresh.model_copy(update={"id": uuid.uuid4().hex, "model": "sim/other"}))
    stored = store.get_certificate(record.id)
    assert stored.expires_at == record.expires_at
    status, why = stored.status()
    assert status == "expired"
    assert why == (
        f"expired {record.expires_at:%Y-%m-%d %H:%M} UTC: approved {created:%Y-%m-%d %H:%M} UTC, "
        "max_age 30d — validate again"
    )
    # the default policy's approval is another key (its own policy): it still grades
    with load_grader("support-billing", judge="sim/consistent") as grader:
        assert grader.certificate_id == approved_support.id
    _forget(store, approved_support)
    with pytest.raises(NotApprovedError, match="is expired: expired .* max_age 30d — validate again"):
        load_grader("support-billing", judge="sim/consistent")

    from judgecal.cli import app as cli_app

    shown = CliRunner().invoke(cli_app, ["approvals", "list", "--json"])
    assert shown.exit_code == 0, shown.output
    import json

    rows = {r["id"]: r for r in json.loads(shown.output)}
    assert rows[record.id]["status"] == "expired"
    assert rows[record.id]["expires_at"].startswith(f"{record.expires_at:%Y-%m-%dT%H:%M}")
    table = CliRunner().invoke(cli_app, ["approvals", "list"], env={"COLUMNS": "250"})
    assert "expired" in table.output and f"{record.expires_at:%Y-%m-%d}" in table.output
    # and the reports of the record say when it expires
    from judgecal.report.html import render_html
    from judgecal.report.markdown import render_markdown
    from judgecal.report.model import from_certificate

    report = from_certificate(store, stored)
    expiry = f"{record.expires_at:%Y-%m-%d %H:%M} UTC (the policy's max_age)"
    assert expiry in render_markdown(report)
    assert expiry.replace("'", "&#x27;") in render_html(report) or expiry in render_html(report)
    store.close()


def test_a_grader_kept_alive_stops_at_its_expiry(
    approved_support: Certificate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import judgecal.approval.certificate as certificate_module

    policy = _policy_with_max_age(tmp_path, "1h")
    record = _record_under(policy, approved_support, datetime.now(UTC) - timedelta(minutes=30))
    store = Store()
    store.save_certificate(record)
    _forget(store, approved_support)
    with load_grader("support-billing", judge="sim/consistent") as grader:
        assert grader.certificate_id == record.id and grader.grade(ITEM).status == "ok"
        # 31 minutes on, the hour is up
        later = datetime.now(UTC) + timedelta(minutes=31)
        monkeypatch.setattr(certificate_module, "_now", lambda: later)
        with pytest.raises(NotApprovedError, match=f"approval {record.id[:12]} .* is expired: expired"):
            grader.grade(ITEM)
    store.close()


# --------------------------------------------------------------------------------------------
# the HTTP service


@pytest.fixture
def client() -> Iterator[TestClient]:
    from judgecal.service import create_app

    with TestClient(create_app(token=TOKEN), raise_server_exceptions=False) as c:
        yield c


def grade(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/grade", json={"rubric": "support-billing", "inputs": ITEM, **body}, headers=AUTH)


def test_http_refuses_after_a_revoke_with_no_fallback(two_approvals: Any, client: TestClient) -> None:
    store, newest, older = two_approvals
    assert grade(client).json()["certificate_id"] == newest.id  # the grader is now open in the pool
    store.revoke_certificate(newest.id, "provider changed the model")
    for body in ({}, {"judge": "sim/consistent"}):
        r = grade(client, **body)
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "not_approved"
        assert error["details"]["status"] == "revoked" and error["details"]["certificate_id"] == newest.id
        assert "provider changed the model" in error["message"]
        assert older.id not in r.text


@pytest.mark.parametrize("tier", ["rejected", "inconclusive"])
def test_http_refuses_after_a_newer_rejection(two_approvals: Any, client: TestClient, tier: str) -> None:
    store, newest, _older = two_approvals
    assert grade(client).status_code == 200
    newer = add_record(store, newest, minutes=30, tier=tier)
    r = grade(client, judge="sim/consistent")
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert (error["details"]["status"], error["details"]["certificate_id"]) == ("not_approved", newer.id)
    assert f"the validation ended {tier}" in error["message"]
    # and /v1/judges no longer offers the judge as the rubric's default
    judges = client.get("/v1/judges", headers=AUTH).json()
    entry = next(
        j
        for j in (judges["judges"] if isinstance(judges, dict) else judges)
        if j["rubric"] == "support-billing"
    )
    assert entry["default"] is None


def test_http_a_revoke_between_lookup_and_grading_refuses(
    two_approvals: Any, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revoke that commits after the service looked the approval up but before grading starts:
    the grader's own check refuses (409), nothing is graded."""
    import judgecal.service.app as app_module

    store, newest, _older = two_approvals
    real = app_module.find_approval

    def then_revoke(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        store.revoke_certificate(newest.id, "revoked mid-request")
        return found

    monkeypatch.setattr(app_module, "find_approval", then_revoke)
    r = grade(client)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "not_approved" and "revoked mid-request" in r.text
