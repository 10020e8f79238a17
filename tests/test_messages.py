"""What a newcomer reads: exit codes that mean one thing everywhere (0 done, 1 gate failed, 2 bad
input, 3 judgecal or provider error, ``--debug`` keeping the code), ``--version``, messages that
name the real problem (a missing file, a split with no items, tied annotators), and ``rubrics
render`` printing the prompt byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgecal import __version__
from judgecal.cli import app

runner = CliRunner()


def test_version_flag_and_command() -> None:
    for args in (["--version"], ["version"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"judgecal {__version__}"


def test_a_model_without_provider_prefix_is_bad_input_with_and_without_debug() -> None:
    plain = runner.invoke(app, ["grade", "support-billing", "--judge", "gpt4", "-q"])
    assert plain.exit_code == 2, plain.output
    assert "no provider prefix" in plain.stderr and "openai/gpt-4o-mini" in plain.stderr
    debug = runner.invoke(app, ["--debug", "grade", "support-billing", "--judge", "gpt4", "-q"])
    assert debug.exit_code == 2, debug.output  # the traceback, and still the error's code
    assert "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_debug_keeps_exit_code_3() -> None:
    """A judgecal (not input) error: an unreachable provider, no retries."""
    args = ["grade", "support-billing", "--judge", "openai/x", "--api-base", "http://127.0.0.1:9/v1"]
    args += ["--split", "dev", "--max-retries", "0", "--timeout", "2", "-q"]
    plain = runner.invoke(app, args, env={"OPENAI_API_KEY": "k-test"})
    debug = runner.invoke(app, ["--debug", *args], env={"OPENAI_API_KEY": "k-test"})
    assert plain.exit_code == debug.exit_code == 3, (plain.output, debug.output)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    result = runner.invoke(app, ["calibrate", "--judgments", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"no such file or folder: {missing}" in result.stderr
    assert "format=" not in result.stderr
    gold = runner.invoke(app, ["rubrics", "validate", "support-billing", "--gold", str(tmp_path / "g.csv")])
    assert gold.exit_code == 2 and "no such file" in gold.stderr, gold.output


def test_calibrate_a_split_the_run_does_not_have_exits_2() -> None:
    graded = runner.invoke(
        app, ["grade", "support-billing", "--judge", "sim/accurate", "--split", "test", "-q"]
    )
    assert graded.exit_code == 0, graded.output
    result = runner.invoke(app, ["calibrate", "--split", "dev"])
    assert result.exit_code == 2, result.output
    assert "no dev-split items" in result.stderr and "51 test" in result.stderr
    assert "use --split test or --split all" in result.stderr
    assert "`judgecal grade support-billing --split dev`" in result.stderr
    assert "nan" not in result.output and "undefined" not in result.stdout
    assert runner.invoke(app, ["calibrate", "--split", "test"]).exit_code == 0


def test_rubrics_validate_reports_items_whose_annotators_tie(support, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rubric, gold = support
    rows = []
    for i, item in enumerate(gold.items[:6]):
        labels = {"a1": "pass", "a2": "fail" if i < 2 else "pass"}  # two ties, four agreements
        rows.append({"id": item.id, "inputs": item.inputs, "labels": labels})
    path = tmp_path / "tied.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["rubrics", "validate", "support-billing", "--gold", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 of 6 items have no majority label" in result.stdout
    assert rows[0]["id"] in result.stdout and rows[1]["id"] in result.stdout
    assert rows[2]["id"] not in result.stdout


def test_rubrics_render_prints_the_prompt_byte_for_byte(support) -> None:  # type: ignore[no-untyped-def]
    from judgecal.prompt import messages_text, render_messages

    rubric, gold = support
    expected = messages_text(render_messages(rubric, gold.items[0].inputs))
    assert max(map(len, expected.splitlines())) > 80  # long lines: a wrapping console would break them
    result = runner.invoke(app, ["rubrics", "render", "support-billing"], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    assert result.stdout == expected
    assert "prompt hash" in result.stderr
