"""The report object and its renderers: every figure shown is a figure of the CalibrationReport,
Decision, ProbeReport or Comparison it holds (the expected strings are formatted from those
objects here — no number is written into a test), the Markdown summary stays bounded, and
`judgecal report` / `--html` / `--markdown` write them for every kind of run."""

from __future__ import annotations

import json
import random
import re
from html import escape

import pytest
from typer.testing import CliRunner

from judgecal.calibrate.report import CalibrationInput, ItemRecord, build_report
from judgecal.cli import app
from judgecal.fmt import fmt_estimate as _fmt
from judgecal.report import Report, render, write
from judgecal.report.html import SECTIONS
from judgecal.report.markdown import MAX_CHARS
from judgecal.report.model import from_calibration

runner = CliRunner()

# slice: (items, share the judge gets right) — the average hides the slice that is unsafe
SLICES = {"invoice": (100, 0.95), "refund_request": (40, 0.6), "account_access": (20, 0.4)}


def binary_input(*, seed: int = 1, invalid: int = 3) -> CalibrationInput:
    """A binary gold set of three annotators and a judge that is good on invoices only."""
    rng = random.Random(seed)
    items = []
    for name, (n, right) in SLICES.items():
        for i in range(n):
            truth = "pass" if rng.random() < 0.5 else "fail"
            other = "fail" if truth == "pass" else "pass"
            humans = {a: truth if rng.random() > 0.05 else other for a in ("ana", "ben", "chloe")}
            judge = truth if rng.random() < right else other
            items.append(
                ItemRecord(
                    id=f"{name}-{i:03d}",
                    humans=humans,
                    judge=judge,
                    judge_status="ok",
                    split="test",
                    slice=name,
                )
            )
    for it in items[:invalid]:
        it.judge, it.judge_status = None, "invalid"
    return CalibrationInput(
        scale="binary", labels=["pass", "fail"], items=items, judge_name="sim/unit", source="unit test"
    )


def binary_report() -> Report:
    inp = binary_input()
    return from_calibration(inp, build_report(inp, split="test", n_resamples=300))


@pytest.fixture(scope="module")
def report() -> Report:
    return binary_report()


def _text(html: str) -> str:
    """The page's text with tags removed and entities kept escaped (as the figures were)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_every_section_is_in_the_page(report):
    html = render(report, "html")
    for sid, heading in SECTIONS.items():
        assert f'<section id="{sid}" data-section="{sid}"><h2>{escape(heading)}</h2>' in html
    # self-contained: no external reference of any kind
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def test_agreement_figures_are_the_reports(report):
    html = render(report, "html")
    r = report.judges[0].calibration
    for block in r.agreement.values():
        assert f"n={block.n})" in html
        for est, pct in [
            (block.percent_agreement, True),
            (block.cohen_kappa, False),
            (block.scott_pi, False),
            (block.gwet_ac1, False),
            (block.tpr, True),
            (block.tnr, True),
        ]:
            assert _fmt(est, pct) in html
    h = r.ceiling["human_agreement"]
    assert _fmt(h["alpha"]) in html
    for pair in h["pairs"]:
        assert f"human κ {pair['annotator_a']}–{pair['annotator_b']}" in html
    loo = r.ceiling["leave_one_out"]
    assert _fmt(loo["judge_agreement"], True) in html and _fmt(loo["human_agreement"], True) in html


def test_confusion_heatmap_cells_are_the_counts(report):
    html = render(report, "html")
    block = report.judges[0].calibration.agreement["invalid_as_disagreement"]
    heat = re.search(r'<svg[^>]*data-plot="confusion".*?</svg>', html).group(0)
    cells = re.findall(r"<title>humans (\w+), judge (\w+): (\d+)", heat)
    expected = [
        (h, j, str(block.confusion[i][k]))
        for i, h in enumerate(block.confusion_labels[: len(report.judges[0].calibration.labels)])
        for k, j in enumerate(block.confusion_labels)
    ]
    assert cells == expected
    assert "invalid" in block.confusion_labels  # the invalid verdicts have their own column


def test_disagreements_are_the_off_diagonal_cells(report):
    view = report.judges[0]
    block = view.calibration.agreement["invalid_as_disagreement"]
    off_diagonal = block.n - sum(block.confusion[i][i] for i in range(len(view.calibration.labels)))
    assert len(view.disagreements) == off_diagonal
    assert sum(r.judge == "invalid" for r in view.disagreements) == view.calibration.counts["judge_invalid"]
    html = render(report, "html")
    rows = re.findall(r'<tr data-judge-name="[^"]*" data-slice="([^"]*)" data-judge="([^"]*)"', html)
    assert rows == [(r.slice, r.judge) for r in view.disagreements]  # every row, even without the script
    assert f'<b id="shown-count">{off_diagonal}</b> of {off_diagonal}' in html


def test_the_unsafe_slice_is_first_and_red_while_the_average_looks_fine(report):
    r = report.judges[0].calibration
    worst = min(r.slices, key=lambda s: s.percent_agreement.value)
    assert worst.slice == "account_access" and worst.flagged
    html = render(report, "html")
    plot = re.search(r'<svg[^>]*data-plot="slices".*?</svg>', html).group(0)
    labels = re.findall(r'text-anchor="end" fill="#263238">([^<]+)</text>', plot)
    assert labels == [s.slice for s in sorted(r.slices, key=lambda s: s.percent_agreement.value)]
    overall = r.agreement["invalid_as_disagreement"].percent_agreement.value
    assert f"all {overall:.0%}" in plot
    for s in r.slices:
        assert f"{escape(s.slice)}: {s.percent_agreement.value:.0%} [" in plot
    assert "worse (Holm p" in plot and "#c62828" in plot


def test_reliability_says_when_it_is_not_available(report):
    html = render(report, "html")
    section = re.search(r'<section id="reliability".*?</section>', html).group(0)
    note = next(n for n in report.judges[0].calibration.notes if n.startswith("score calibration"))
    assert "Not available" in section and escape(note) in section and "<svg" not in section


def test_reliability_diagram_plots_the_bins():
    inp = binary_input()
    rng = random.Random(3)
    for i, it in enumerate(inp.items):
        it.split = "dev" if i % 3 == 0 else "test"
        if it.judge_status == "ok":
            it.score = min(1.0, max(0.0, (0.8 if it.judge == "pass" else 0.2) + rng.uniform(-0.2, 0.2)))
    calibration = build_report(inp, split="test", n_resamples=200)
    assert calibration.score_calibration is not None
    html = render(from_calibration(inp, calibration), "html")
    plot = re.search(r'<svg[^>]*data-plot="reliability".*?</svg>', html).group(0)
    test = calibration.score_calibration["test"]
    points = re.findall(r"<title>([^:]+): predicted ([\d.]+), observed ([\d.]+) \(n (\d+)\)", plot)
    expected = [
        (name, f"{b['mean_predicted']:.2f}", f"{b['observed']['value']:.2f}", str(b["count"]))
        for name, metrics in (
            ("raw score", test["raw"]),
            (f"calibrated ({test['map_kind']})", test["calibrated"]),
        )
        for b in metrics["bins"]
    ]
    assert points == expected


def test_json_is_the_whole_report_object(report):
    again = Report.model_validate_json(render(report, "json"))
    assert again.judges[0].calibration.model_dump() == report.judges[0].calibration.model_dump()
    assert again.judges[0].disagreements == report.judges[0].disagreements


def test_markdown_holds_the_figures_and_truncates_with_a_count(report):
    md = render(report, "md")
    r = report.judges[0].calibration
    a = r.agreement["invalid_as_disagreement"]
    assert _fmt(a.cohen_kappa) in md and _fmt(a.percent_agreement, True) in md
    assert "**worse than the rest**" in md
    n = len(report.judges[0].disagreements)
    assert f"### Disagreements ({n})" in md
    small = render_md(report, max_rows=5)
    assert f"*Showing 5 of {n} disagreements" in small


def render_md(report: Report, **options: int) -> str:
    from judgecal.report.markdown import render_markdown

    return render_markdown(report, **options)


def test_markdown_stays_bounded_for_a_thousand_long_disagreements():
    inp = binary_input()
    many = []
    for i in range(1000):
        it = inp.items[i % len(inp.items)]
        many.append(
            ItemRecord(
                id=f"long-{i:04d}-" + "x" * 80,
                humans=dict(it.humans),
                judge="fail" if it.gold == "pass" else "pass",
                judge_status="ok",
                split="test",
                slice=f"slice-{i:04d}",  # a thousand slices of one item
            )
        )
    inp.items = many
    report = from_calibration(inp, build_report(inp, split="test", n_resamples=100))
    for row in report.judges[0].disagreements:
        row.reason = "y" * 400
    md = render(report, "md")
    assert len(md) < MAX_CHARS < 65_000
    assert "disagreements: the list is truncated" in md and "more slices are left out" in md


def test_markdown_for_a_1000_item_gold_set_through_the_pipeline(tmp_path):
    from conftest import write_synthetic_gold

    gold = write_synthetic_gold(tmp_path / "big.jsonl", n=1000, noise=0.15)
    graded = runner.invoke(
        app, ["grade", "support-billing", "--gold", str(gold), "--judge", "sim/noisy", "--quiet", "--json"]
    )
    assert graded.exit_code == 0, graded.output
    run_id = json.loads(graded.stdout)["run_id"]
    made = runner.invoke(app, ["report", run_id, "--format", "md", "--resamples", "200"])
    assert made.exit_code == 0, made.output
    md = made.stdout
    rows = json.loads(runner.invoke(app, ["report", run_id, "-f", "json", "--resamples", "200"]).stdout)
    n = len(rows["judges"][0]["disagreements"])
    assert n > 50 and len(md) < 65_000
    assert f"### Disagreements ({n})" in md and f"*Showing 50 of {n} disagreements" in md
    print(f"markdown for 1,000 items: {len(md)} characters, {n} disagreements")


def test_validate_writes_the_full_view_with_the_decisions_figures(tmp_path):
    html, md, js = tmp_path / "v.html", tmp_path / "v.md", tmp_path / "v.json"
    result = runner.invoke(
        app,
        [
            "validate",
            "support-billing",
            "--judge",
            "sim/accurate",
            "--quiet",
            "--html",
            str(html),
            "--markdown",
            str(md),
            "--report-json",
            str(js),
        ],
    )
    assert result.exit_code == 1, result.output
    report = Report.model_validate_json(js.read_text())
    d = report.decision
    page, summary = html.read_text(), md.read_text()
    assert d is not None and report.kind == "validation"
    assert d.tier.replace("_", " ").upper() in page and d.tier.replace("_", " ").upper() in summary
    for reason in d.reasons:
        assert escape(reason) in page and reason in summary
    for g in d.gates:
        assert f"| {g.gate} | {g.name} | {g.status} |" in summary
    assert f"<b>{d.labels_needed}</b>" in page
    probes = re.search(r'<svg[^>]*data-plot="probes".*?</svg>', page).group(0)
    for p in report.probes.results:
        if p.estimate is not None:
            assert f"<title>{p.probe}: {p.estimate.value:g} [{p.estimate.lo:g}, {p.estimate.hi:g}]" in probes
        if p.headline_limit:
            assert f"{p.headline_limit} {p.threshold[p.headline_limit]:g}" in probes
    rec = report.judges[0].reproducibility
    for h in (rec.rubric_hash, rec.template_hash, rec.gold_hash, rec.split_hash, rec.policy_hash):
        assert h and f"<code>{h}</code>" in page
    assert rec.record_id and rec.record_id in page and rec.model_version
    # `judgecal report` on the stored record gives the same figures
    again = runner.invoke(app, ["report", rec.record_id[:10], "-f", "json"])
    stored = Report.model_validate_json(again.stdout)
    assert stored.decision == d and stored.judges[0].calibration == report.judges[0].calibration
    assert "report (html" in result.stderr


def test_report_of_an_unknown_id_is_a_usage_error():
    result = runner.invoke(app, ["report", "ffffffffff"])
    assert result.exit_code == 2 and "judgecal report --list" in result.stderr


def test_calibrate_and_compare_write_reports(tmp_path):
    graded = runner.invoke(app, ["grade", "support-billing", "--judge", "sim/accurate", "--quiet"])
    assert graded.exit_code == 0
    md = tmp_path / "c.md"
    cal = runner.invoke(app, ["calibrate", "--resamples", "200", "--markdown", str(md)])
    assert cal.exit_code == 0, cal.output
    assert md.read_text().startswith("## judgecal: Calibration · support-billing · sim/accurate")
    js = tmp_path / "cmp.json"
    cmp = runner.invoke(
        app,
        ["compare", "support-billing", "-j", "sim/accurate", "-j", "sim/noisy", "-q", "--resamples", "200"]
        + ["--report-json", str(js), "--html", str(tmp_path / "cmp.html")],
    )
    assert cmp.exit_code == 0, cmp.output
    report = Report.model_validate_json(js.read_text())
    assert report.kind == "comparison" and [v.name for v in report.judges] == ["sim/accurate", "sim/noisy"]
    page = (tmp_path / "cmp.html").read_text()
    for p in report.comparison.pairs:
        assert escape(p.answer) in page
    for view, summary in zip(report.judges, report.comparison.judges, strict=True):
        assert view.calibration == summary.calibration
        assert view.reproducibility.run_id == summary.run_id
        block = view.calibration.agreement["invalid_as_disagreement"]
        off = block.n - sum(block.confusion[i][i] for i in range(len(view.calibration.labels)))
        assert len(view.disagreements) == off


def test_a_stored_comparison_is_listed_and_reported_later(tmp_path):
    cmp = runner.invoke(
        app,
        ["compare", "support-billing", "-j", "sim/accurate", "-j", "sim/noisy", "-q", "--resamples", "200"],
    )
    assert cmp.exit_code == 0, cmp.output
    from judgecal.store import Store

    store = Store()
    (stored,) = store.list_comparisons()
    assert f"comparison {stored.id[:12]} stored" in cmp.stdout
    assert store.get_comparison(stored.id[:8]) == stored
    listed = runner.invoke(app, ["report", "--list"])
    assert listed.exit_code == 0 and stored.id[:8] in listed.stdout and "comparison" in listed.stdout
    assert "grading run" in listed.stdout  # each judge's grading run
    html = tmp_path / "later.html"
    again = runner.invoke(app, ["report", stored.id[:12], "--out", str(html)])
    assert again.exit_code == 0, again.output
    js = runner.invoke(app, ["report", stored.id[:12], "--format", "json"])
    report = Report.model_validate_json(js.stdout)
    assert report.kind == "comparison" and report.comparison == stored
    page = html.read_text()
    for p in stored.pairs:
        assert escape(p.answer) in page


def test_write_is_atomic_and_returns_the_size(tmp_path, report):
    path = tmp_path / "deep" / "r.html"
    size = write(report, path, "html")
    assert path.stat().st_size == size and not list(path.parent.glob(".*.tmp"))


def test_svg_escapes_text_and_skips_undefined_values():
    from judgecal.report import svg

    out = svg.forest([svg.Row("<b>&", None), svg.Row("ok", 0.5, 0.4, 0.6)], title="t & <x>")
    assert "<b>&" not in out and "&lt;b&gt;&amp;" in out and "undefined" in out
    assert out.count("<circle") == 1


def test_report_package_is_not_imported_by_help():
    import subprocess
    import sys

    code = (
        "import sys\nfrom judgecal.cli import main\nsys.argv = ['judgecal', 'report', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', [m for m in ('judgecal.report', 'litellm', 'sqlalchemy') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out


def test_report_of_a_probe_run_is_a_usage_error():
    probed = runner.invoke(app, ["probe", "support-billing", "--judge", "sim/accurate", "-p", "sensitivity"])
    assert probed.exit_code in (0, 1), probed.output
    runs = json.loads(runner.invoke(app, ["runs", "list", "--kind", "probe", "--json"]).stdout)
    result = runner.invoke(app, ["report", runs[0]["id"]])
    assert result.exit_code == 2 and "is a probe run" in result.stderr


def test_the_item_browser_lists_every_item_with_a_permalink(report):
    view = report.judges[0]
    html = render(report, "html")
    section = re.search(r'<section id="items".*?</section>', html).group(0)
    rows = re.findall(
        r'<tr id="item-([^"]+)" data-slice="[^"]*" data-human="([^"]*)" data-agree="([^"]*)"', section
    )
    assert rows == [(r.item_id, r.human, "agrees" if r.agrees else "disagrees") for r in view.items]
    block = view.calibration.agreement["invalid_as_disagreement"]
    assert len(view.items) == block.n and sum(not r.agrees for r in view.items) == len(view.disagreements)
    for r in view.items[:5]:
        assert f'<a href="#item-{r.item_id}">' in section
    # without the script the controls stay hidden and every row is shown
    assert (
        '<div id="item-filters" class="filters" hidden>' in section
        and " hidden>" not in section.split("<tbody>")[1]
    )


def test_no_python_repr_and_badges_mean_agreement(report):
    import judgecal.report.html as h

    for kind_report in (report,):
        page = render(kind_report, "html") + render(kind_report, "md")
        text = _text(page)
        assert "None" not in text and "{'" not in text and "['" not in text.replace("['judge", "")
    html = render(report, "html")
    agree, disagree = h.AGREE_COLOR["agree"], h.AGREE_COLOR["disagree"]
    badges = re.findall(
        r'<span class="badge verdict (\w+)" style="background:([^"]+)"[^>]*>([^<]+)</span>', html
    )
    assert {(k, c) for k, c, _ in badges} <= {
        ("agree", agree),
        ("disagree", disagree),
        ("neutral", h.AGREE_COLOR["neutral"]),
    }
    # the same verdict word gets either colour: the colour says agreement, not pass or fail
    assert {c for k, c, w in badges if w == "pass" and k != "neutral"} == {agree, disagree}


def test_plot_widths_fit_their_text():
    from judgecal.report import svg

    long = "a very long slice name that would be clipped at a fixed width"
    out = svg.forest([svg.Row(long, 0.5, 0.4, 0.6, note="n 51 · worse (Holm p 0.001)")], title="t")
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', out).group(1))
    assert width >= svg.text_width(long) + 360 + svg.text_width("n 51 · worse (Holm p 0.001)", 11)
    title = "sim/unit: humans (rows) × judge (columns), n 51"
    heat = svg.heatmap([[3, 1], [0, 4]], ["pass", "fail"], ["pass", "fail", "invalid"], title=title)
    assert float(re.search(r'viewBox="0 0 ([\d.]+) ', heat).group(1)) >= svg.text_width(title, 14)
    # margin labels that would overlap are stacked, not drawn on top of each other
    marks = [svg.Mark(-0.01, "−0.01"), svg.Mark(0.0, "0"), svg.Mark(0.01, "+0.01")]
    out = svg.forest([svg.Row("b − a", -0.6, -0.9, -0.3)], title="t", marks=marks)
    ys = {m.label: re.search(rf'y="([\d.]+)"[^>]*>{re.escape(m.label)}</text>', out).group(1) for m in marks}
    assert len(set(ys.values())) > 1
