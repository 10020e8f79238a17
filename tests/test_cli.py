"""The command line: exit codes, messages, and what it writes (or does not)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from judgecal.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def jc(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_does_not_import_litellm_or_sqlalchemy():
    code = (
        "import sys\nfrom judgecal.cli import main\nsys.argv = ['judgecal', '--help']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = [m for m in ('litellm', 'sqlalchemy', 'aiohttp', 'openai') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_console_script_runs():
    exe = shutil.which("judgecal")
    assert exe, "the judgecal console script is not installed (pip install -e .)"
    result = subprocess.run([exe, "version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("judgecal ")


def test_grade_with_the_simulated_judge_then_runs_list_and_show():
    first = jc("grade", "support-billing", "--judge", "sim/accurate", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["n_ok"] + data["n_invalid"] == data["n_units"] > 60 and data["n_cached"] == 0
    second = jc("grade", "support-billing", "--judge", "sim/accurate", "--json")
    again = json.loads(second.stdout)
    assert again["n_cached"] == again["n_units"] and again["n_calls"] == 0
    listing = jc("runs", "list", "--json")
    runs = json.loads(listing.stdout)
    assert [r["id"] for r in runs] == [again["run_id"], data["run_id"]]
    shown = jc("runs", "show", data["run_id"][:10], "--items")
    assert shown.exit_code == 0 and "sb-001" in shown.stdout and "rubric_hash" in shown.stdout
    as_json = json.loads(jc("runs", "show", data["run_id"], "--json").stdout)
    assert len(as_json["units"]) == data["n_units"]


def test_grade_table_summary():
    result = jc("grade", "support-billing", "--judge", "sim/accurate", "--split", "test", "--quiet")
    assert result.exit_code == 0, result.output
    for word in ("verdicts", "cache", "latency", "cost", "raw agreement", "split test"):
        assert word in result.stdout


def test_grade_without_a_judge_is_a_usage_error():
    result = jc("grade", "support-billing")
    assert result.exit_code == 2 and "no judge given" in result.stderr


def test_unknown_preset_and_rubric_are_usage_errors():
    r1 = jc("grade", "support-billing", "--judge", "sim/nope")
    assert r1.exit_code == 2 and "presets:" in r1.stderr
    r2 = jc("grade", "nope", "--judge", "sim/accurate")
    assert r2.exit_code == 2 and "known rubrics" in r2.stderr


def test_unreachable_provider_exits_3(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["grade", "support-billing", "--judge", "openai/x", "--api-base", f"http://127.0.0.1:{port}/v1"]
    result = jc(*args, "--max-retries", "0", "--quiet")
    # the preflight finds it (a few attempts a second or two apart), before the run starts
    assert result.exit_code == 3 and "no answer to the preflight call after 3 attempts" in result.stderr
    assert "connection" in result.stderr and "--no-preflight" in result.stderr
    without = jc(*args, "--max-retries", "0", "--no-preflight", "--quiet")
    assert without.exit_code == 3 and "no unit got an answer" in without.stderr


def _malformed_rubric(tmp_path: Path) -> Path:
    dest = tmp_path / "support-billing"
    shutil.copytree(ROOT / "rubrics" / "support-billing", dest)
    text = (dest / "rubric.yaml").read_text()
    (dest / "rubric.yaml").write_text(text.replace("pass_rule:", "pass_rul:", 1))
    return dest


def test_malformed_rubric_exit_2_and_nothing_written(tmp_path, hermetic):
    folder = _malformed_rubric(tmp_path)
    result = jc("grade", str(folder), "--judge", "sim/accurate", "--gold", "support-billing")
    assert result.exit_code == 2
    assert f"{folder / 'rubric.yaml'}:" in result.stderr and "pass_rul: unknown key" in result.stderr
    assert not (hermetic / "judgecal.db").exists()


def test_malformed_gold_exit_2_and_nothing_written(tmp_path, hermetic):
    src = (ROOT / "gold" / "support-billing.jsonl").read_text().splitlines()
    record = json.loads(src[4])
    record["labels"]["ana"] = "excellent"
    src[4] = json.dumps(record)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(src) + "\n")
    result = jc("grade", "support-billing", "--judge", "sim/accurate", "--gold", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:5: labels.ana:" in result.stderr.replace("\n", "")
    assert not (hermetic / "judgecal.db").exists()


def test_malformed_config_file(tmp_path):
    (tmp_path / "judgecal.toml").write_text("[grade]\nconcurrency = 8\nconcurency = 9\n")
    result = jc("grade", "support-billing", "--judge", "sim/accurate")
    assert result.exit_code == 2 and "judgecal.toml:3: grade.concurency: unknown key" in result.stderr


def test_config_file_supplies_defaults_and_flags_win(tmp_path, monkeypatch):
    (tmp_path / "judgecal.toml").write_text('[grade]\njudge = "sim/nope"\n')
    assert jc("grade", "support-billing", "--quiet").exit_code == 2  # from the file
    monkeypatch.setenv("JUDGECAL_JUDGE", "sim/accurate")
    assert jc("grade", "support-billing", "--quiet").exit_code == 0  # env beats file
    assert jc("grade", "support-billing", "--quiet", "--judge", "sim/nope").exit_code == 2  # flag beats env


def test_rubrics_commands():
    listing = jc("rubrics", "list")
    assert listing.exit_code == 0 and "support-billing" in listing.stdout
    ok = jc("rubrics", "validate", "support-billing", "--gold", "support-billing")
    assert ok.exit_code == 0 and "dev /" in ok.stdout
    rendered = jc("rubrics", "render", "support-billing", "--item", "sb-002", "--json")
    messages = json.loads(rendered.stdout)
    assert messages[-1]["role"] == "user" and "<output>" in messages[-1]["content"]
    missing = jc("rubrics", "render", "support-billing", "--item", "nope")
    assert missing.exit_code == 2 and "ids start" in missing.stderr


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path):
    folder = _malformed_rubric(tmp_path)
    plain = runner.invoke(app, ["rubrics", "validate", str(folder)])
    debug = runner.invoke(app, ["--debug", "rubrics", "validate", str(folder)], catch_exceptions=False)
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" in debug.stderr and "RubricError" in debug.stderr
    assert "Traceback" not in plain.stderr


def test_simulate_serve_prints_its_address_first(tmp_path):
    import urllib.request

    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "judgecal",
            "simulate",
            "serve",
            "--preset",
            "accurate",
            "--gold",
            "support-billing",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
            with urllib.request.urlopen(url + "/models", timeout=5) as resp:
                assert "accurate" in resp.read().decode()
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0


def test_grade_an_input_file_without_labels(tmp_path):
    items = tmp_path / "eval.jsonl"
    items.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"e{i}",
                    "inputs": {"input": "Where are my invoices?", "output": f"Billing > Invoices {i}"},
                }
            )
            for i in range(5)
        )
        + "\n"
    )
    result = jc("grade", "support-billing", "--judge", "sim/accurate", "--input", str(items), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n_ok"] == 5 and all(item["human"] is None for item in data["items"])
    both = jc("grade", "support-billing", "--judge", "sim/accurate", "--input", str(items), "--gold", "x")
    assert both.exit_code == 2 and "not both" in both.stderr
