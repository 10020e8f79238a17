"""The report JSON's shipped schema (docs/report.schema.json): the JSON the command line writes
validates against it, its required top-level keys are exactly the keys the code emits, it is the
schema of the code's own model (regenerate it with the command in docs/report.md), and
``schema_version``/``approved`` mean what the docs say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.report import Report
from judgecal.report.model import SCHEMA_VERSION, json_schema

runner = CliRunner()
SCHEMA = Path(__file__).parent.parent / "docs" / "report.schema.json"


def _validator():  # noqa: ANN202 - jsonschema is untyped here
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema (the dev extra)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_the_models():
    shipped = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert shipped == json_schema(), (
        "docs/report.schema.json is stale: regenerate it with the command in docs/report.md"
    )


def _errors(validator, data) -> list[str]:  # noqa: ANN001
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(data)]


def test_the_json_the_cli_writes_validates(tmp_path):
    validator = _validator()
    required = set(json.loads(SCHEMA.read_text(encoding="utf-8"))["required"])
    v, c, k = tmp_path / "v.json", tmp_path / "c.json", tmp_path / "k.json"
    made = runner.invoke(
        app, ["validate", "support-billing", "--judge", "sim/accurate", "--quiet", "--report-json", str(v)]
    )
    assert made.exit_code == 1, made.output  # inconclusive on the bundled items
    made = runner.invoke(
        app,
        ["compare", "support-billing", "-j", "sim/accurate", "-j", "sim/noisy", "-q", "--resamples", "200"]
        + ["--report-json", str(c)],
    )
    assert made.exit_code == 0, made.output
    made = runner.invoke(app, ["calibrate", "--resamples", "200", "--report-json", str(k)])
    assert made.exit_code == 0, made.output
    for path, kind, approved in ((v, "validation", False), (c, "comparison", None), (k, "calibration", None)):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert _errors(validator, data) == [], path.name
        assert set(data) == required  # every key the code emits is required, and no other
        assert data["schema_version"] == SCHEMA_VERSION == "1"
        assert data["kind"] == kind and data["approved"] is approved
        assert data["judges"][0]["items"], "every item, agreeing ones too"
        Report.model_validate(data)  # and it reads back


def test_approved_follows_the_tier():
    from test_report_html import binary_report

    from judgecal.approval.decision import Decision

    report = binary_report()
    assert report.approved is None  # no decision: nothing was approved or refused
    for tier, approved in [
        ("approved", True),
        ("approved_with_correction", True),
        ("provisional", False),
        ("inconclusive", False),
        ("rejected", False),
    ]:
        decided = Report.model_validate(
            {**report.model_dump(), "decision": Decision(tier=tier, reasons=[], gates=[]).model_dump()}
        )
        assert decided.approved is approved, tier
        # derived, never taken from the input
        again = Report.model_validate_json(
            decided.model_dump_json().replace(
                f'"approved":{json.dumps(approved)}', f'"approved":{json.dumps(not approved)}'
            )
        )
        assert again.approved is approved
