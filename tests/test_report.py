"""The calibration report: how verdicts and labels become figures, and `judgecal calibrate`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgecal.calibrate.report import CalibrationInput, ItemRecord, build_report
from judgecal.cli import app

runner = CliRunner()


def _items(spec: list[tuple[str, str | None, str]], *, split: str = "test", slice_: str | None = None):  # type: ignore[no-untyped-def]
    """(human majority, judge label or None for invalid, id prefix) -> binary items, 3 annotators."""
    out = []
    for i, (human, judge, prefix) in enumerate(spec):
        out.append(
            ItemRecord(
                id=f"{prefix}{i}",
                humans={"a": human, "b": human, "c": "fail" if human == "pass" else "pass"},
                judge=judge,
                judge_status="ok" if judge is not None else "invalid",
                split=split,  # type: ignore[arg-type]
                slice=slice_,
            )
        )
    return out


def _binary(items: list[ItemRecord]) -> CalibrationInput:
    return CalibrationInput(
        scale="binary", labels=["pass", "fail"], items=items, judge_name="j", source="test"
    )


def test_invalid_verdicts_are_counted_both_ways_and_labelled():
    # 8 agreeing, 2 disagreeing, 2 invalid: 8/12 counting invalid as disagreement, 8/10 excluding them
    spec = (
        [("pass", "pass", "x")] * 4
        + [("fail", "fail", "x")] * 4
        + [("pass", "fail", "x"), ("fail", "pass", "x")]
    )
    spec += [("pass", None, "x"), ("fail", None, "x")]
    report = build_report(_binary(_items(spec)), n_resamples=200)
    counted, excluded = report.agreement["invalid_as_disagreement"], report.agreement["invalid_excluded"]
    assert (counted.n, counted.percent_agreement.value) == (12, 8 / 12)
    assert (excluded.n, excluded.percent_agreement.value) == (10, 0.8)
    assert counted.confusion_labels == ["pass", "fail", "invalid"] and excluded.confusion_labels == [
        "pass",
        "fail",
    ]
    assert report.invalid_rate.value == 2 / 12 and report.invalid_rate.method == "wilson"
    # TPR: 4 of 6 human passes are judged pass (the invalid one counts against it)
    assert counted.tpr is not None and counted.tpr.value == 4 / 6 and counted.tpr.n == 6
    assert excluded.tpr is not None and excluded.tpr.value == 4 / 5


def test_no_invalid_column_when_nothing_is_invalid():
    spec = [("pass", "pass", "x")] * 5 + [("fail", "fail", "x")] * 4 + [("fail", "pass", "x")]
    report = build_report(_binary(_items(spec)), n_resamples=200)
    a, b = report.agreement["invalid_as_disagreement"], report.agreement["invalid_excluded"]
    assert a.gwet_ac1.value == b.gwet_ac1.value and a.confusion_labels == ["pass", "fail"]


def test_figures_come_from_the_chosen_split():
    items = _items([("pass", "pass", "t")] * 6, split="test") + _items(
        [("pass", "fail", "d")] * 4, split="dev"
    )
    test = build_report(_binary(items), n_resamples=100)
    assert test.counts["items"] == 6 and test.agreement["invalid_excluded"].percent_agreement.value == 1.0
    dev = build_report(_binary(items), split="dev", n_resamples=100)
    assert dev.counts["items"] == 4 and any("dev-split figures" in n for n in dev.notes)


def test_a_bad_slice_is_flagged_and_small_ones_are_not_tested():
    good = _items([("pass", "pass", "g")] * 30 + [("fail", "fail", "g")] * 30, slice_="billing")
    bad = _items([("pass", "fail", "b")] * 15 + [("pass", "pass", "b")] * 10, slice_="refunds")
    tiny = _items([("pass", "fail", "t")] * 3, slice_="tiny")
    report = build_report(_binary(good + bad + tiny), n_resamples=100)
    rows = {r.slice: r for r in report.slices}
    assert (
        rows["refunds"].flagged
        and rows["refunds"].p_adjusted is not None
        and rows["refunds"].p_adjusted < 0.05
    )
    assert not rows["billing"].flagged
    assert rows["tiny"].reported is False and rows["tiny"].p_value is None
    assert rows["refunds"].percent_agreement.value == 10 / 25


def test_degenerate_empty_report_serialises():
    report = build_report(_binary([]), n_resamples=100)
    data = json.loads(report.model_dump_json())
    assert data["agreement"]["invalid_excluded"]["n"] == 0
    assert data["agreement"]["invalid_excluded"]["cohen_kappa"]["value"] is None
    assert data["invalid_rate"]["value"] is None


def test_items_without_a_majority_are_left_out_and_counted():
    items = _items([("pass", "pass", "x")] * 4)
    items.append(
        ItemRecord(
            id="tied", humans={"a": "pass", "b": "fail"}, judge="pass", judge_status="ok", split="test"
        )
    )
    report = build_report(_binary(items), n_resamples=100)
    assert report.counts["without_majority"] == 1 and report.agreement["invalid_excluded"].n == 4
    assert any("no human majority" in n for n in report.notes)


def test_clusters_make_a_cluster_bootstrap():
    items = _items([("pass", "pass", "x"), ("fail", "fail", "x"), ("pass", "fail", "x")] * 10)
    for i, it in enumerate(items):
        it.cluster = f"p{i // 3}"
    report = build_report(_binary(items), n_resamples=200)
    est = report.agreement["invalid_excluded"].cohen_kappa
    assert est.n_clusters == 10


def test_ordinal_report_has_weighted_kappa_and_correlations():
    items = [
        ItemRecord(
            id=f"o{i}", humans={"a": h, "b": h}, judge=j, judge_status="ok" if j else "invalid", split="test"
        )
        for i, (h, j) in enumerate(
            [(1, 1), (2, 2), (3, 4), (4, 4), (5, 5), (5, 4), (2, 1), (3, 3), (1, None)] * 3
        )
    ]
    inp = CalibrationInput(
        scale="ordinal", labels=[1, 2, 3, 4, 5], items=items, judge_name="j", source="t", pass_threshold=4
    )
    report = build_report(inp, n_resamples=200)
    block = report.agreement["invalid_as_disagreement"]
    assert set(block.weighted_kappa) == {"linear", "quadratic"}
    assert block.correlations["spearman"] > 0.8 and block.mae is not None
    excluded = report.agreement["invalid_excluded"].weighted_kappa["quadratic"].value
    assert block.weighted_kappa["quadratic"].value < excluded  # an invalid verdict is a full miss
    assert report.corrected_pass_rate is not None


# -- from stored runs -----------------------------------------------------------------------------


def _grade(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["grade", "support-billing", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_calibrate_a_stored_run(tmp_path):
    run = _grade("--judge", "sim/accurate", "--split", "all")
    result = runner.invoke(app, ["calibrate", run["run_id"][:8], "--json", "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads((tmp_path / "r.json").read_text())
    assert report["split"] == "test" and report["source"] == f"run {run['run_id']}"
    block = report["agreement"]["invalid_as_disagreement"]
    assert 0 < block["n"] < run["n_items"]
    assert block["cohen_kappa"]["lo"] <= block["cohen_kappa"]["value"] <= block["cohen_kappa"]["hi"]
    assert report["ceiling"]["human_agreement"]["annotators"] == ["ana", "ben", "chloe"]
    assert report["corrected_pass_rate"]["n_test"] == block["n"]
    assert {s["slice"] for s in report["slices"]} >= {"refund_request", "card_details"}
    assert report["dev_versions"] == 1
    table = runner.invoke(app, ["calibrate"])
    assert table.exit_code == 0 and "Cohen's κ" in table.stdout and "human ceiling" in table.stdout


def test_score_calibration_from_sampled_verdicts():
    _grade("--judge", "sim/noisy", "--split", "all", "--samples", "5", "--temperature", "1")
    report = json.loads(runner.invoke(app, ["calibrate", "--json"]).stdout)
    sc = report["score_calibration"]
    assert sc is not None and sc["test"]["n"] > 0
    assert 0 <= sc["test"]["calibrated"]["ece"] <= 1 and 0 <= sc["test"]["raw"]["brier"] <= 1


def test_calibrate_refuses_a_gold_set_that_changed(tmp_path):
    gold = tmp_path / "support-billing.jsonl"
    root = Path(__file__).resolve().parent.parent
    gold.write_text((root / "gold" / "support-billing.jsonl").read_text())
    run = _grade("--judge", "sim/accurate", "--gold", str(gold))
    gold.write_text(gold.read_text().replace('"ana": "pass"', '"ana": "fail"', 1))
    result = runner.invoke(app, ["calibrate", run["run_id"]])
    assert result.exit_code == 2 and "changed since run" in result.stderr


def test_calibrate_recorded_verdicts_of_another_harness(tmp_path):
    from judgecal.gold import find_gold
    from judgecal.rubric import find_rubric

    gold = find_gold("support-billing", find_rubric("support-billing"))
    lines = [
        json.dumps(
            {
                "item_id": it.id,
                "judge": "other-harness",
                "label": it.majority() if i % 5 else None,
                "raw": "x",
            }
        )
        for i, it in enumerate(gold.items)
    ]
    path = tmp_path / "verdicts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["calibrate", "--verdicts", str(path), "--gold", "support-billing", "--split", "all", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["agreement"]["invalid_excluded"]["percent_agreement"]["value"] == 1.0
    n_invalid = sum(1 for i in range(len(gold.items)) if i % 5 == 0)
    assert report["counts"]["judge_invalid"] == n_invalid
    assert report["agreement"]["invalid_as_disagreement"]["percent_agreement"]["value"] == pytest.approx(
        1 - n_invalid / len(gold.items)
    )


@pytest.mark.realdata
@pytest.mark.skipif(
    not os.environ.get("JUDGECAL_REAL_DATA"), reason="set JUDGECAL_REAL_DATA (public human-judgment data)"
)
def test_pandalm_table_through_the_command_line():
    data = Path(os.environ["JUDGECAL_REAL_DATA"]) / "pandalm" / "data" / "testset-v1.json"
    base = [
        "calibrate",
        "--judgments",
        str(data),
        "--judge",
        "gpt-3.5-turbo",
        "--split",
        "all",
        "--json",
        "--resamples",
        "200",
    ]
    as_ties = json.loads(runner.invoke(app, [*base, "--invalid-as", "tie"]).stdout)
    block = as_ties["agreement"]["invalid_excluded"]
    figures = [
        round(100 * x, 2)
        for x in (
            block["percent_agreement"]["value"],
            block["macro"]["precision"],
            block["macro"]["recall"],
            block["macro"]["f1"],
        )
    ]
    assert figures == [71.07, 58.79, 57.36, 57.55]  # the published row: unparseable counted as ties
    assert any("counted as 'tie'" in n for n in as_ties["notes"])
    invalid = json.loads(runner.invoke(app, base).stdout)
    assert (
        round(100 * invalid["agreement"]["invalid_as_disagreement"]["percent_agreement"]["value"], 2) == 69.77
    )
    assert invalid["counts"]["judge_invalid"] == 25
    pairs = invalid["ceiling"]["human_agreement"]["pairs"]
    assert [round(p["kappa"]["value"], 2) for p in pairs] == [0.85, 0.88, 0.86]
    assert not math.isnan(invalid["ceiling"]["human_agreement"]["alpha"]["value"])


def test_the_ceiling_counts_the_items_where_annotators_split():
    # two annotators who disagree on half the items: those items have no majority, but they are
    # exactly the human-human disagreement, so α must see them
    agree = [
        ItemRecord(id=f"a{i}", humans={"x": lab, "y": lab}, judge=lab, judge_status="ok", split="test")
        for i, lab in enumerate(["pass", "fail"] * 10)
    ]
    split = [
        ItemRecord(
            id=f"s{i}", humans={"x": "pass", "y": "fail"}, judge="pass", judge_status="ok", split="test"
        )
        for i in range(20)
    ]
    report = build_report(_binary(agree + split), n_resamples=100)
    assert report.agreement["invalid_excluded"].n == 20  # agreement needs a majority
    alpha = report.ceiling["human_agreement"]["alpha"]["value"]  # type: ignore[index]
    assert alpha < 0.6 and report.ceiling["human_agreement"]["n_items_2plus"] == 40  # type: ignore[index]


def test_some_items_with_a_prompt_id_is_fine():
    items = _items([("pass", "pass", "x"), ("fail", "fail", "x"), ("pass", "fail", "x")] * 5)
    items[0].cluster = "p0"
    items[1].cluster = "p0"
    report = build_report(_binary(items), n_resamples=100)
    assert report.agreement["invalid_excluded"].cohen_kappa.n_clusters == len(items) - 1


def test_imported_ties_resolve_like_judgecal_runs():
    from judgecal.calibrate.inputs import _item_verdict
    from judgecal.importers import RecordedVerdict

    two = [
        RecordedVerdict(item_id="i", label="pass", order="ab"),
        RecordedVerdict(item_id="i", label="fail", order="ba"),
    ]
    assert _item_verdict(two, ["pass", "fail"], None, "binary") == ("fail", "ok")
    scores = [RecordedVerdict(item_id="i", label=4), RecordedVerdict(item_id="i", label=2)]
    assert _item_verdict(scores, [1, 2, 3, 4, 5], None, "ordinal") == (2, "ok")
    ab = [
        RecordedVerdict(item_id="i", label="A", order="ab"),
        RecordedVerdict(item_id="i", label="B", order="ba"),
    ]
    assert _item_verdict(ab, ["A", "B", "tie"], None, "pairwise") == ("tie", "ok")
    # order-inconsistent: a tie (Zheng et al. 2023), even on a scale without ties — never invalid
    assert _item_verdict(ab, ["A", "B"], None, "pairwise") == ("tie", "ok")
