"""`judgecal probe`: the registry, the simulated judge taught about derived items, the cache."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from judgecal.cli import app

runner = CliRunner()


def test_list_shows_every_registered_probe():
    result = runner.invoke(app, ["probe", "--list"])
    assert result.exit_code == 0
    for name in (
        "position",
        "verbosity",
        "self_preference",
        "injection",
        "resample_consistency",
        "sensitivity",
    ):
        assert name in result.stdout


def test_unknown_probe_lists_the_registered_ones():
    result = runner.invoke(app, ["probe", "support-billing", "--judge", "sim/accurate", "-p", "nope"])
    assert result.exit_code == 2 and "probes: " in result.stderr and "position" in result.stderr


def test_sensitivity_on_the_simulated_judge_and_a_second_run_makes_no_calls():
    args = ["probe", "support-billing", "--judge", "sim/accurate", "-p", "sensitivity", "--json"]
    first = json.loads(runner.invoke(app, args).stdout)
    (result,) = first["results"]
    # the simulator is told the truth of the error-inserted variants (fail), so an accurate judge
    # detects most of them; without that it would grade them as padded copies of passing answers
    assert result["passed"] is True and result["estimate"]["value"] >= 0.85
    assert first["calls"] > 0
    second = json.loads(runner.invoke(app, args).stdout)
    assert second["calls"] == 0 and second["results"][0]["estimate"] == result["estimate"]


def test_a_constant_pass_judge_fails_the_counterweight():
    out = runner.invoke(
        app, ["probe", "support-billing", "--judge", "sim/constant-pass", "-p", "sensitivity"]
    )
    # a failed gated probe: exit code 1, so CI can use `judgecal probe`
    assert out.exit_code == 1 and "FAIL" in out.stdout
