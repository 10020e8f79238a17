"""``--dry-run`` and ``--no-preflight`` on grade, validate, probe and compare, through the CLI and
a stub provider on loopback (real HTTP): a dry run makes no request and prints each stage's calls;
the preflight makes exactly one request, and finds a refused key before any judge's run."""

from __future__ import annotations

import json

import pytest
from _stub_provider import Reply, StubProvider, StubRequest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.store import Store

runner = CliRunner()


def jc(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _rows(output: str) -> dict[str, list[str]]:
    """The plan's table: stage -> its cells."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if cells and (cells[0] in ("preflight", "grading", "total") or ":" in cells[0]):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize(
    "command",
    [
        ["grade", "support-billing"],
        ["validate", "support-billing"],
        ["probe", "support-billing", "--probe", "verbosity"],
        ["compare", "support-billing", "--judge", "openai/stub-b"],
    ],
)
def test_a_dry_run_makes_no_request_and_writes_no_run(command):  # type: ignore[no-untyped-def]
    with StubProvider() as stub:
        args = [*command, "--judge", "openai/stub", "--api-base", stub.base_url, "--dry-run"]
        result = jc(*args)
        assert result.exit_code == 0, result.output
        assert stub.count == 0
    rows = _rows(result.stdout)
    assert "no call made" in result.stdout
    assert "unknown price" in result.stdout  # openai/stub is not in litellm's price map
    stages = [s for s in rows if s != "total"]
    assert any(s.startswith("preflight") for s in stages)
    total = int(rows["total"][0])
    assert total == sum(int(rows[s][2]) for s in stages)  # units, cached, calls, ...
    assert total > 1
    assert Store().list_runs() == []


def test_a_dry_run_knows_the_price_and_what_the_cache_holds():  # type: ignore[no-untyped-def]
    cold = jc("grade", "support-billing", "--judge", "openai/gpt-4o-mini", "--dry-run")
    assert cold.exit_code == 0, cold.output
    rows = _rows(cold.stdout)
    assert rows["grading"][:3] == ["77", "0", "77"] and rows["grading"][3].startswith("$")
    assert rows["total"][0] == "78"  # the grading and the preflight
    # once the items are graded (here by a stub under the same model string), nothing is left to call
    with StubProvider() as stub:
        graded = jc(
            "grade", "support-billing", "--judge", "openai/gpt-4o-mini", "--api-base", stub.base_url, "-q"
        )
        assert graded.exit_code == 0, graded.output
        assert stub.count == 1 + 77  # the preflight, then one call a unit
    warm = jc("grade", "support-billing", "--judge", "openai/gpt-4o-mini", "--dry-run")
    rows = _rows(warm.stdout)
    assert rows["grading"][:3] == ["77", "77", "0"] and rows["total"][0] == "0"


def test_no_preflight_makes_no_extra_request():  # type: ignore[no-untyped-def]
    with StubProvider() as stub:
        on = jc("grade", "support-billing", "--judge", "openai/stub", "--api-base", stub.base_url, "-q")
        assert on.exit_code == 0, on.output
        assert stub.count == 78
        assert "connectivity check" in stub.requests[0].prompt
    with StubProvider() as stub:
        args = ["--judge", "openai/stub-2", "--api-base", stub.base_url, "-q", "--no-preflight"]
        off = jc("grade", "support-billing", *args)
        assert off.exit_code == 0, off.output
        assert stub.count == 77
        assert not any("connectivity check" in r.prompt for r in stub.requests)


def test_compare_finds_a_refused_judge_before_any_judge_grades():  # type: ignore[no-untyped-def]
    def reply(req: StubRequest) -> Reply:
        if req.body.get("model") == "refused":
            return Reply(status=401, message="invalid api key")
        return Reply()

    with StubProvider(reply) as stub:
        result = jc(
            "compare",
            "support-billing",
            "--judge",
            "openai/fine",
            "--judge",
            "openai/refused",
            "--api-base",
            stub.base_url,
            "-q",
        )
        assert result.exit_code == 3, result.output
        assert "openai/refused" in result.stderr and "HTTP 401" in result.stderr
        # the incumbent was only checked (one tiny call), never graded
        fine = [r for r in stub.requests if r.body.get("model") == "fine"]
        assert len(fine) == 1 and "connectivity check" in fine[0].prompt
    assert Store().list_runs() == []


def test_probe_caps_hold_across_the_battery():  # type: ignore[no-untyped-def]
    with StubProvider() as stub:
        args = ["--judge", "openai/stub", "--api-base", stub.base_url, "--json", "--max-calls", "30"]
        result = jc("probe", "support-billing", "--probe", "verbosity", "--probe", "injection", *args)
        assert result.exit_code in (0, 1), result.output
        assert stub.count == 1 + 30  # the preflight is outside the caps
    report = json.loads(result.stdout)
    stopped = [r for r in report["results"] if r.get("stopped")]
    assert stopped and all(r["outcome"] == "undefined" for r in stopped)


@pytest.mark.parametrize(
    "command", [["grade", "support-billing"], ["probe", "support-billing", "--probe", "verbosity"]]
)
@pytest.mark.parametrize("preflight", ["--preflight", "--no-preflight"])
def test_an_unenforceable_max_cost_is_refused_before_the_run(command, preflight):  # type: ignore[no-untyped-def]
    # the stub reports no cost and openai/stub is not in litellm's price map
    with StubProvider() as stub:
        args = [*command, "--judge", "openai/stub", "--api-base", stub.base_url, "--max-cost", "1", preflight]
        result = jc(*args)
        assert result.exit_code == 2, result.output
        assert "--max-cost 1 cannot be enforced for openai/stub" in result.output
        assert stub.count == (1 if preflight == "--preflight" else 0)  # only the preflight
    assert Store().list_runs() == []
