"""Ids people can copy: listings print the shortest unique prefix (at least 8 characters) whole at
80 columns, and every command that takes an id takes such a prefix (ambiguous: exit 2, naming
the candidates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.cli._common import out
from judgecal.store import ApprovalRow, RunRow, Store
from judgecal.store.ids import MIN_PREFIX, AmbiguousIdError, short_ids

runner = CliRunner()


def jc(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-column terminal for the in-process console."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(out, "_width", 80)


def _grade() -> str:
    result = jc("grade", "support-billing", "--judge", "sim/accurate", "--split", "test", "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["run_id"])


def _twin(run_id: str, shared: int, **values: Any) -> str:
    """Store a copy of run ``run_id`` whose id shares its first ``shared`` characters."""
    store = Store()
    run = store.get_run(run_id)
    flipped = "0" if run_id[shared] != "0" else "1"
    twin = run_id[:shared] + flipped + run_id[shared + 1 :]
    store.create_run(run.model_copy(update={"id": twin, **values}))
    store.close()
    return twin


def _printed_ids(text: str, every: list[str]) -> dict[str, str]:
    """The first cell of each listing line that starts an id of ``every``, by the id."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        token = line.split(" ", 1)[0]
        matches = [i for i in every if token and i.startswith(token)]
        if matches:
            assert len(matches) == 1, f"{token!r} is ambiguous: {matches}"
            assert matches[0] not in found, f"{matches[0]} printed twice"
            found[matches[0]] = token
    return found


def _assert_copyable(text: str, listed: list[str], every: list[str]) -> None:
    assert "…" not in text and "..." not in text, text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    printed = _printed_ids(text, every)
    assert sorted(printed) == sorted(listed), text
    for ident, token in printed.items():
        assert len(token) >= MIN_PREFIX and ident.startswith(token)
        assert [i for i in every if i.startswith(token)] == [ident]


# -- the pure part -----------------------------------------------------------------------------


def test_short_ids_is_the_shortest_unique_prefix_of_at_least_eight():
    ids = ["687f79ab" + "0" * 24, "687f79ab01" + "f" * 22, "12345678" + "a" * 24]
    assert short_ids(ids, among=ids) == {
        ids[0]: "687f79ab00",
        ids[1]: "687f79ab01",
        ids[2]: "12345678",
    }
    # uniqueness is among every id, not only the listed ones
    assert short_ids(ids[:1], among=ids) == {ids[0]: "687f79ab00"}
    assert short_ids(["abc"], among=["abc"]) == {"abc": "abc"}  # never longer than the id
    assert short_ids([], among=ids) == {}


# -- listings at 80 columns --------------------------------------------------------------------


def test_runs_list_at_80_columns_prints_whole_unique_prefixes_and_statuses(hermetic):
    first = _grade()
    twin = _twin(first, 10, status="interrupted")
    probe = _twin(first, 3, kind="probe", status="completed", model="openai/gpt-4o-mini-2024-07-18")
    every = [first, twin, probe]
    env = {**os.environ, "COLUMNS": "80", "JUDGECAL_HOME": str(hermetic)}
    result = subprocess.run(
        [sys.executable, "-m", "judgecal", "runs", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    _assert_copyable(result.stdout, every, every)
    printed = _printed_ids(result.stdout, every)
    assert len(printed[first]) == len(printed[twin]) == 11  # they share 10 characters
    assert len(printed[probe]) == MIN_PREFIX
    for word in ("completed", "interrupted", "(probe)", "$0.0000", "51/0/0"):
        assert word in result.stdout, result.stdout


def test_report_list_at_80_columns(narrow):
    first = _grade()
    twin = _twin(first, 9)
    result = jc("report", "--list")
    assert result.exit_code == 0
    _assert_copyable(result.stdout, [first, twin], [first, twin])


def test_approvals_list_at_80_columns_and_prefixes(approved_support, narrow):
    cert = approved_support
    store = Store()
    flipped = "0" if cert.id[12] != "0" else "1"
    twin = cert.model_copy(update={"id": cert.id[:12] + flipped + cert.id[13:], "rubric": "support-billing"})
    store.save_certificate(twin)
    store.close()
    every = [cert.id, twin.id]
    listing = jc("approvals", "list")
    assert listing.exit_code == 0, listing.output
    _assert_copyable(listing.stdout, every, every)
    assert "valid" in listing.stdout
    token = _printed_ids(listing.stdout, every)[cert.id]

    shown = jc("approvals", "show", token, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == cert.id

    ambiguous = jc("approvals", "show", cert.id[:12])
    assert ambiguous.exit_code == 2
    assert cert.id in ambiguous.stderr and twin.id in ambiguous.stderr and "ambiguous" in ambiguous.stderr

    revoked = jc("approvals", "revoke", token, "--reason", "test")
    assert revoked.exit_code == 0, revoked.output
    assert Store().get_certificate(cert.id).revoked_at is not None
    assert Store().get_certificate(twin.id).revoked_at is None

    report = jc("report", token, "--format", "json")
    assert report.exit_code == 0, report.output


# -- resolution ----------------------------------------------------------------------------------


def test_a_prefix_works_in_runs_show_calibrate_and_report(hermetic):
    run_id = _grade()
    prefix = run_id[:MIN_PREFIX]
    shown = jc("runs", "show", prefix, "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == run_id
    calibrated = jc("calibrate", prefix, "--json")
    assert calibrated.exit_code == 0, calibrated.output
    report = jc("report", prefix, "--format", "json")
    assert report.exit_code == 0, report.output
    assert jc("runs", "show", f"  {run_id}  ", "--json").exit_code == 0  # blanks around a pasted id


def test_an_ambiguous_prefix_exits_2_and_names_the_candidates():
    run_id = _grade()
    twin = _twin(run_id, 10)
    for args in (("runs", "show", run_id[:10]), ("calibrate", run_id[:10]), ("report", run_id[:10])):
        result = jc(*args)
        assert result.exit_code == 2, (args, result.output)
        assert run_id in result.stderr and twin in result.stderr, (args, result.stderr)
        assert "ambiguous" in result.stderr
    # one more character, or the whole id, names one run
    assert json.loads(jc("runs", "show", twin[:11], "--json").stdout)["id"] == twin
    assert json.loads(jc("runs", "show", run_id, "--json").stdout)["id"] == run_id


def test_unknown_ids_and_wildcards_are_not_found():
    run_id = _grade()
    for ident in (
        "ffffffffffff" if not run_id.startswith("f") else "000000000000",
        "%",
        "_",
        run_id[:4] + "%",
    ):
        result = jc("runs", "show", ident)
        assert result.exit_code == 2, (ident, result.output)
        assert "matches no run" in result.stderr and "judgecal runs list" in result.stderr


def test_store_resolution_prefers_the_exact_id_and_lists_candidates(store):
    base = RunRow(
        id="a" * 32,
        rubric_name="r",
        rubric_version="1",
        rubric_hash="h",
        template_hash="h",
        gold_name="g",
        gold_path="g.jsonl",
        gold_hash="h",
        split="all",
        split_hash="h",
        model="sim/accurate",
        settings_json="{}",
        settings_hash="h",
        judgecal_version="0",
    )
    store.create_run(base)
    store.create_run(base.model_copy(update={"id": "a" * 31 + "b"}))
    assert store.get_run("a" * 32).id == "a" * 32
    assert store.get_run("a" * 31 + "b").id == "a" * 31 + "b"
    with pytest.raises(AmbiguousIdError) as info:
        store.get_run("aaaa")
    assert info.value.candidates == ["a" * 32, "a" * 31 + "b"]
    assert info.value.exit_code == 2
    assert store.short_ids(["a" * 32], RunRow) == {"a" * 32: "a" * 32}
    assert store.short_ids(["a" * 32], ApprovalRow) == {"a" * 32: "a" * MIN_PREFIX}
