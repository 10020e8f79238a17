"""The HTML report: one self-contained file (inline CSS, inline SVG plots, a small inline script)
that opens offline. Without JavaScript every section and every disagreement row is shown; the
script only adds the filters of the disagreement browser.

Every figure is formatted from the report object (:mod:`judgecal.report.model`); nothing is
computed here except the layout of the plots.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from judgecal.calibrate.report import CalibrationReport
from judgecal.cli._common import fmt_cost, fmt_ms
from judgecal.cli.calibrate import _fmt, _num
from judgecal.report import svg
from judgecal.report.model import JudgeView, Report

__all__ = ["SECTIONS", "agreement_rows", "render_html"]

SECTIONS = {
    "decision": "Decision",
    "agreement": "Agreement and the human ceiling",
    "confusion": "Confusion matrix",
    "reliability": "Reliability diagram",
    "probes": "Bias probes",
    "slices": "Agreement by slice",
    "disagreements": "Disagreements",
    "reproducibility": "Reproducibility record",
    "notes": "Notes",
}
"""Section ids and headings, in page order (every report has all of them)."""

STATUS_COLOR = {
    "pass": svg.COLORS["pass"],
    "provisional": svg.COLORS["warn"],
    "inconclusive": svg.COLORS["warn"],
    "fail": svg.COLORS["fail"],
    "skipped": svg.COLORS["muted"],
    "underpowered": svg.COLORS["warn"],
    "undefined": svg.COLORS["warn"],
    "not_applicable": svg.COLORS["muted"],
    "approved": svg.COLORS["pass"],
    "approved_with_correction": svg.COLORS["warn"],
    "rejected": svg.COLORS["fail"],
}

_CSS = """
:root{--ink:#263238;--muted:#607d8b;--line:#cfd8dc;--bg:#fafbfc;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#263238;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#b0bec5;font-size:13px}
nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:12px;font-size:13px}
nav a{color:#e0f2f1}
main{max-width:1280px;margin:0 auto;padding:8px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
h2{margin:0 0 10px;font-size:18px}
h3{margin:14px 0 6px;font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:13.5px}
th,td{border-bottom:1px solid #eceff1;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f5f7f8;font-weight:600}
tbody tr:nth-child(even){background:#fbfcfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}
.card{border:1px solid #eceff1;border-radius:6px;padding:10px 12px;overflow-x:auto}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.tier{font-size:20px;padding:4px 14px;border-radius:14px}
.muted{color:var(--muted)}
.note{color:var(--muted);font-size:13px}
.unavailable{padding:10px 14px;border-left:4px solid #b0bec5;background:#f5f7f8}
ul.reasons li{margin:4px 0}
#filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0;font-size:13px}
#filters select,#filters input{font:inherit;padding:2px 4px}
.reason{max-width:460px}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{white-space:pre-wrap;font-size:12px;max-width:520px;margin:4px 0}
@media print{nav,#filters{display:none}section{break-inside:avoid}}
"""

_SCRIPT = """
(function(){
  var box=document.getElementById('filters');
  var rows=Array.prototype.slice.call(document.querySelectorAll('#disagreement-table tbody tr'));
  if(!box||!rows.length){return;}
  box.hidden=false;
  var keys=['judge-name','slice','judge','human'];
  keys.forEach(function(key){
    var sel=box.querySelector('select[data-key="'+key+'"]');
    if(!sel){return;}
    var seen={};
    rows.forEach(function(r){seen[r.getAttribute('data-'+key)]=1;});
    Object.keys(seen).sort().forEach(function(v){
      var o=document.createElement('option');o.value=v;o.textContent=v||'(none)';sel.appendChild(o);
    });
    if(Object.keys(seen).length<2){sel.parentNode.hidden=true;}
  });
  var text=box.querySelector('input[type=search]');
  var count=document.getElementById('shown-count');
  function apply(){
    var n=0,q=(text.value||'').toLowerCase();
    rows.forEach(function(r){
      var ok=keys.every(function(key){
        var sel=box.querySelector('select[data-key="'+key+'"]');
        return !sel||sel.value==='*'||r.getAttribute('data-'+key)===sel.value;
      });
      if(ok&&q){ok=r.textContent.toLowerCase().indexOf(q)>=0;}
      r.hidden=!ok;if(ok){n++;}
    });
    count.textContent=n;
  }
  box.addEventListener('input',apply);box.addEventListener('change',apply);apply();
})();
"""


def _e(x: object) -> str:
    return escape(str(x))


def _badge(status: str, text: str | None = None, cls: str = "badge") -> str:
    color = STATUS_COLOR.get(status, svg.COLORS["neutral"])
    return f'<span class="{cls}" style="background:{color}">{_e(text or status.replace("_", " "))}</span>'


def _table(head: list[str], rows: list[list[str]], *, attrs: str = "") -> str:
    """A table; cells are HTML already (escape before)."""
    h = "".join(f"<th>{c}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table {attrs}><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _val(est: Any) -> float | None:
    if est is None:
        return None
    v = est.value if hasattr(est, "value") else est.get("value")
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _bounds(est: Any) -> tuple[float | None, float | None]:
    if est is None:
        return None, None
    if hasattr(est, "lo"):
        return est.lo, est.hi
    return est.get("lo"), est.get("hi")


def _row(label: str, est: Any, *, color: str, note: str = "", marks: list[svg.Mark] | None = None) -> svg.Row:
    lo, hi = _bounds(est)
    return svg.Row(label=label, value=_val(est), lo=lo, hi=hi, color=color, note=note, marks=marks or [])


def _per_judge(report: Report, part: Any) -> str:
    """One block per judge; side by side in a grid when there are several."""
    blocks = [part(view) for view in report.judges]
    if len(blocks) == 1:
        return blocks[0]
    cards = "".join(
        f'<div class="card"><h3>{_e(view.name)}</h3>{b}</div>'
        for view, b in zip(report.judges, blocks, strict=True)
    )
    return f'<div class="grid">{cards}</div>'


# --------------------------------------------------------------------------------------------
# sections


def _decision(report: Report) -> str:
    if report.kind == "comparison" and report.comparison is not None:
        return _comparison(report)
    d = report.decision
    if d is None:
        return (
            '<p class="unavailable">A grading run has no decision: <code>judgecal validate</code> applies '
            "the approval policy (gates data, G0–G6) to the same figures and records one.</p>"
        )
    parts = [f"<p>{_badge(d.tier, d.tier.replace('_', ' ').upper(), 'badge tier')}</p>"]
    if d.labels_needed:
        parts.append(
            f"<p><b>To decide:</b> about <b>{d.labels_needed}</b> more human-labelled gold items would "
            "likely settle the inconclusive gates (an estimate from the current intervals).</p>"
        )
    if d.tier == "provisional":
        parts.append(
            "<p><b>Provisional is not an approval.</b> A grader uses this judge only when its caller "
            "opts in (<code>allow_provisional</code>), and every verdict it gives says so.</p>"
        )
    if getattr(d, "labels_needed_per_class", None):
        per = ", ".join(f"{_e(str(k))}: {v}" for k, v in d.labels_needed_per_class.items())
        parts.append(f"<p><b>To approve:</b> about this many more labelled items per class — {per}.</p>")
    if getattr(d, "established", None):
        parts.append(
            "<h3>What the labels establish</h3><ul class='reasons'>"
            + "".join(f"<li>{_e(x)}</li>" for x in d.established)
            + "</ul>"
        )
    for ob in d.obligations:
        parts.append(f"<p><b>Obligation:</b> {_e(ob)}</p>")
    title = "Figures" if d.tier == "approved" else "Why"
    parts.append(
        f"<h3>{title}</h3><ul class='reasons'>" + "".join(f"<li>{_e(r)}</li>" for r in d.reasons) + "</ul>"
    )
    rows = [[_e(g.gate), _e(g.name), _badge(g.status), _e(g.reason)] for g in d.gates]
    parts.append("<h3>Gates</h3>" + _table(["gate", "checks", "status", "reason"], rows))
    return "".join(parts)


def _comparison(report: Report) -> str:
    c = report.comparison
    if c is None:
        return ""
    js = c.judges
    head = [""] + [
        _e(j.name) + (" <span class='muted'>(incumbent)</span>" if i == 0 else "") for i, j in enumerate(js)
    ]
    rows = [
        ["agreement"] + [_fmt(j.percent_agreement, True) for j in js],
        [_e(c.metric_label if c.metric == "cohen_kappa" else "Cohen's κ")] + [_fmt(j.kappa) for j in js],
        ["TPR"] + [_fmt(j.tpr, True) for j in js],
        ["TNR"] + [_fmt(j.tnr, True) for j in js],
        ["invalid verdicts"] + [_fmt(j.invalid_rate, True) for j in js],
        ["items compared / left out"] + [f"{j.n} / {j.left_out}" for j in js],
        ["cost of the verdicts"] + [_e(fmt_cost(j.cost)) for j in js],
        ["calls now / cached"] + [f"{j.calls} / {j.cached}" for j in js],
        ["latency p50 / p95 / p99"]
        + [" / ".join(_e(fmt_ms(j.latency_ms.get(p))) for p in ("p50", "p95", "p99")) for j in js],
    ]
    table = _table(head, rows)
    conf = f"{c.pairs[0].delta.confidence:.0%}" if c.pairs else ""
    forest_rows = []
    for p in c.pairs:
        color = {
            "superior": svg.COLORS["pass"],
            "interchangeable": svg.COLORS["pass"],
            "non_inferior": svg.COLORS["pass"],
            "inferior": svg.COLORS["fail"],
        }.get(p.conclusion, svg.COLORS["warn"])
        forest_rows.append(
            _row(f"{p.candidate} − {p.incumbent}", p.delta, color=color, note=p.conclusion.replace("_", " "))
        )
    plot = svg.forest(
        forest_rows,
        title=f"Δ {c.metric_label} = B − A ({conf} paired-bootstrap CI) against the margin ±{c.margin:g}",
        kind="compare",
        marks=[
            svg.Mark(-c.margin, f"−{c.margin:g}", svg.COLORS["fail"]),
            svg.Mark(0.0, "0", svg.COLORS["line"], dashed=False),
            svg.Mark(c.margin, f"+{c.margin:g}", svg.COLORS["pass"]),
        ],
    )
    answers = "".join(f"<li>{_e(p.answer)}</li>" for p in c.pairs)
    return (
        f"<p>{c.n_items} items every judge answered ({_e(c.split)} split). A comparison informs; it does "
        f"not approve.</p>{table}<h3>Can B replace A?</h3>{plot}<ul class='reasons'>{answers}</ul>"
    )


def agreement_rows(report: CalibrationReport) -> list[list[str]]:
    """The agreement table: one row per statistic, formatted for both invalid-verdict treatments
    (shared by the HTML and the Markdown report)."""
    a, b = report.agreement["invalid_as_disagreement"], report.agreement["invalid_excluded"]
    rows = [
        ["percent agreement", _fmt(a.percent_agreement, True), _fmt(b.percent_agreement, True)],
        ["Cohen's κ", _fmt(a.cohen_kappa), _fmt(b.cohen_kappa)],
        ["Scott's π", _fmt(a.scott_pi), _fmt(b.scott_pi)],
        ["Gwet's AC1", _fmt(a.gwet_ac1), _fmt(b.gwet_ac1)],
    ]
    rows += [
        [f"κ ({w} weights)", _fmt(a.weighted_kappa[w]), _fmt(b.weighted_kappa.get(w))]
        for w in a.weighted_kappa
    ]
    if a.tpr is not None:
        rows += [
            ["TPR (pass recall)", _fmt(a.tpr, True), _fmt(b.tpr, True)],
            ["TNR (fail recall)", _fmt(a.tnr, True), _fmt(b.tnr, True)],
            ["Youden's J", _num(a.youden_j), _num(b.youden_j)],
        ]
    rows += [
        [f"MT-Bench {k.replace('_', ' ')}", _fmt(e, True), _fmt(b.mt_bench.get(k), True)]
        for k, e in a.mt_bench.items()
    ]
    if a.correlations:
        rows += [
            [f"{k.replace('_', ' ')}", _num(v), _num(b.correlations.get(k))]
            for k, v in a.correlations.items()
        ]
        rows.append(["MAE", _num(a.mae), _num(b.mae)])
    rows.append(["macro F1", _num(a.macro["f1"]), _num(b.macro["f1"])])
    return rows


def _agreement(view: JudgeView) -> str:
    r = view.calibration
    a, b = r.agreement["invalid_as_disagreement"], r.agreement["invalid_excluded"]
    rows = agreement_rows(r)
    conf = f"{r.confidence:.0%}"
    judge_table = _table(
        ["judge vs human majority", f"invalid = disagreement (n={a.n})", f"invalid excluded (n={b.n})"],
        [[_e(x[0]), *x[1:]] for x in rows],
    )
    ceiling = _ceiling(view)
    return (
        f"<p class='note'>{r.split} split · {r.counts['with_majority']} items with a human majority · "
        f"{conf} intervals (bootstrap over items, {r.n_resamples} resamples, seed {r.seed}; "
        "Wilson for rates)</p>"
        f"{judge_table}{ceiling}"
    )


def _ceiling(view: JudgeView) -> str:
    r = view.calibration
    a, b = r.agreement["invalid_as_disagreement"], r.agreement["invalid_excluded"]
    judge_color, human_color = svg.COLORS["neutral"], svg.COLORS["human"]
    weighted = "quadratic" if "quadratic" in a.weighted_kappa else None
    rows = []
    if weighted:
        rows.append(
            _row("judge κ quadratic (invalid = disagr.)", a.weighted_kappa["quadratic"], color=judge_color)
        )
    rows += [
        _row("judge κ (invalid = disagreement)", a.cohen_kappa, color=judge_color, note=f"n {a.n}"),
        _row("judge κ (invalid excluded)", b.cohen_kappa, color=judge_color, note=f"n {b.n}"),
    ]
    if not r.ceiling:
        plot = svg.forest(rows, title=f"{view.name}: κ with the human majority", kind="ceiling")
        return (
            f"{plot}<p class='unavailable'>No human ceiling: no item has two or more annotators, so there is "
            "no human–human agreement to compare with.</p>"
        )
    h, loo, alt = r.ceiling["human_agreement"], r.ceiling["leave_one_out"], r.ceiling["alt_test"]
    pair_kind = "quadratic-weighted κ" if h["kappa_weights"] == "quadratic" else "κ"
    for p in h["pairs"]:
        rows.append(
            _row(
                f"human {pair_kind} {p['annotator_a']}–{p['annotator_b']}",
                p["kappa"],
                color=human_color,
                note=f"n {p['n']}",
            )
        )
    rows.append(_row("humans: Krippendorff's α", h["alpha"], color=human_color, note=f"n {h['alpha']['n']}"))
    plot = svg.forest(
        rows,
        title=f"{view.name}: judge κ next to the human–human ceiling",
        kind="ceiling",
        marks=[svg.Mark(0.0, "0", dashed=False)],
    )
    loo_table = _table(
        ["leave one annotator out (agreement with the others' majority)", "value"],
        [
            ["judge vs the others", _fmt(loo["judge_agreement"], True)],
            ["a human vs the others", _fmt(loo["human_agreement"], True)],
            ["difference (judge − human)", _fmt(loo["agreement_difference"], True)],
            ["judge κ vs the others", _fmt(loo["judge_kappa"])],
            ["human κ vs the others", _fmt(loo["human_kappa"])],
        ],
    )
    passed = _badge("pass", "passes") if alt["passed"] else _badge("fail", "fails")
    alt_line = (
        f"<p>Alternative annotator test (ε = {alt['epsilon']}): {passed} — winning rate "
        f"{_num(alt['winning_rate'])} over {alt['m']} annotators, advantage probability "
        f"{_num(alt['advantage_probability'])}.</p>"
    )
    mean = h["mean_pairwise_kappa"]
    ceiling_line = (
        f"<p><b>Human ceiling:</b> {len(h['annotators'])} annotators, mean pairwise {pair_kind} "
        f"{_num(mean)} over {h['n_pairs']} pairs, Krippendorff's α {_fmt(h['alpha'])} "
        f"(n {h['n_items_2plus']} items with ≥ 2 labels).</p>"
    )
    return f"{ceiling_line}{plot}{loo_table}{alt_line}"


def _confusion(view: JudgeView) -> str:
    r = view.calibration
    a = r.agreement["invalid_as_disagreement"]
    k = len(r.labels)
    # humans never give an invalid label: only the scale's rows are drawn
    plot = svg.heatmap(
        a.confusion[:k],
        a.confusion_labels[:k],
        a.confusion_labels,
        title=f"{view.name}: humans (rows) × judge (columns), n {a.n}",
    )
    rows = [
        [_e(lab), _num(pc["precision"]), _num(pc["recall"]), _num(pc["f1"]), str(int(pc["support"]))]
        for lab, pc in a.per_class.items()
    ]
    rows.append(["macro", _num(a.macro["precision"]), _num(a.macro["recall"]), _num(a.macro["f1"]), ""])
    return plot + _table(["human class", "precision", "recall", "F1", "support"], rows)


def _reliability(view: JudgeView) -> str:
    r = view.calibration
    sc = r.score_calibration
    if not sc:
        why = [n for n in r.notes if n.startswith("score calibration")]
        if not why and r.scale == "pairwise":
            why = ["a pairwise verdict (A, B or tie) has no pass probability to calibrate"]
        text = "; ".join(why) or "the report has no score calibration"
        return f"<p class='unavailable'><b>Not available</b> for this run: {_e(text)}.</p>"
    test = sc["test"]

    def bins(metrics: dict[str, Any]) -> list[tuple[float, float, float | None, float | None, int]]:
        return [
            (
                b["mean_predicted"],
                b["observed"]["value"],
                b["observed"]["lo"],
                b["observed"]["hi"],
                b["count"],
            )
            for b in metrics["bins"]
        ]

    plot = svg.reliability(
        {"raw score": bins(test["raw"]), f"calibrated ({test['map_kind']})": bins(test["calibrated"])},
        title=f"{view.name}: reliability on test (n {test['n']}), map fitted on dev (n {sc['map']['n']})",
    )
    rows = [
        [name, _num(test["raw"][name]), _num(test["calibrated"][name])]
        for name in ("ece", "brier", "log_loss")
    ]
    warn = "".join(
        f"<p class='note'>{_e(w)}</p>" for w in [*sc["map"].get("warnings", []), *test.get("notes", [])]
    )
    return plot + _table(["", "raw", "calibrated"], rows) + warn


def _probe_marks(result: Any) -> list[svg.Mark]:
    key = result.headline_limit
    if key is None or key not in result.threshold:
        return []
    limit = result.threshold[key]
    marks = [svg.Mark(limit, f"{key} {limit:g}", svg.COLORS["fail"])]
    if key.startswith("max"):
        marks.append(svg.Mark(-limit, f"{key} −{limit:g}", svg.COLORS["fail"]))
    return marks


def _probes(report: Report) -> str:
    if report.probes is None:
        what = "a grading run" if report.kind == "calibration" else "a comparison"
        return (
            f"<p class='unavailable'>No probes in {what}: <code>judgecal validate</code> (or "
            "<code>judgecal probe</code>) runs the bias probes.</p>"
        )
    rows, table = [], []
    for res in report.probes.results:
        # the probe's own outcome: the gate reads the same one (one result, one wording)
        status = res.outcome or "undefined"
        if res.estimate is not None:
            rows.append(
                _row(
                    res.probe,
                    res.estimate,
                    color=STATUS_COLOR[status],
                    note=f"{status} · n {res.estimate.n}",
                    marks=_probe_marks(res),
                )
            )
        thresholds = ", ".join(f"{k} {v:g}" for k, v in res.threshold.items()) or "-"
        table.append(
            [
                _e(res.probe),
                "yes" if res.gated else "no",
                _e(res.statistic),
                _fmt(res.estimate),
                _e(thresholds),
                _badge(status, res.word.lower()),
                _e(res.reason),
            ]
        )
    plot = (
        svg.forest(
            rows, title="probe effects with intervals; dashed: the limit the point is held to", kind="probes"
        )
        if rows
        else "<p class='unavailable'>No probe produced an estimate.</p>"
    )
    return plot + _table(
        ["probe", "gated", "statistic", "estimate [CI]", "thresholds", "status", "reason"], table
    )


def _slices(view: JudgeView) -> str:
    r = view.calibration
    if not r.slices:
        return (
            "<p class='unavailable'>The gold items carry no <code>metadata.slice</code>: "
            "nothing to split by.</p>"
        )
    overall = r.agreement["invalid_as_disagreement"].percent_agreement
    rows = []
    for s in sorted(
        r.slices, key=lambda s: (_val(s.percent_agreement) is None, _val(s.percent_agreement) or 0.0)
    ):
        if s.flagged:
            color, note = svg.COLORS["fail"], f"n {s.n} · worse (Holm p {s.p_adjusted:.3f})"
        elif not s.reported:
            color, note = svg.COLORS["muted"], f"n {s.n} · too few to test"
        else:
            color, note = svg.COLORS["neutral"], f"n {s.n}"
        rows.append(_row(s.slice, s.percent_agreement, color=color, note=note))
    plot = svg.forest(
        rows,
        title=f"{view.name}: agreement by slice (Wilson {r.confidence:.0%} CI), sorted; line: all items",
        kind="slices",
        bars=True,
        percent=True,
        axis=(0.0, 1.0),
        marks=[svg.Mark(overall.value, f"all {overall.value:.0%}", svg.COLORS["pass"])]
        if _val(overall) is not None
        else [],
    )
    table = _table(
        ["slice", "n", "agreement [CI]", "κ", "p", "p (Holm)", ""],
        [
            [
                _e(s.slice),
                str(s.n),
                _fmt(s.percent_agreement, True),
                "-" if s.cohen_kappa is None else _num(s.cohen_kappa),
                "-" if s.p_value is None else f"{s.p_value:.3f}",
                "-" if s.p_adjusted is None else f"{s.p_adjusted:.3f}",
                _badge("fail", "worse than the rest") if s.flagged else ("" if s.reported else "n < min"),
            ]
            for s in r.slices
        ],
    )
    return plot + table


def _disagreements(report: Report) -> str:
    rows = [row for view in report.judges for row in view.disagreements]
    notes = "".join(
        f"<p class='note'>{_e(v.disagreements_note)}</p>" for v in report.judges if v.disagreements_note
    )
    if not rows:
        return notes + "<p>No disagreement: on every item the judge gave the human majority's label.</p>"
    several = len(report.judges) > 1
    filters = (
        '<div id="filters" hidden>'
        + (
            '<label>judge <select data-key="judge-name"><option value="*">all</option></select></label>'
            if several
            else ""
        )
        + '<label>slice <select data-key="slice"><option value="*">all</option></select></label>'
        '<label>judge said <select data-key="judge"><option value="*">all</option></select></label>'
        '<label>humans said <select data-key="human"><option value="*">all</option></select></label>'
        '<label>text <input type="search" placeholder="id, reason, input…"></label>'
        f'<span>showing <b id="shown-count">{len(rows)}</b> of {len(rows)}</span></div>'
    )
    body = []
    for row in rows:
        humans = ", ".join(f"{_e(k)}: {_e(v)}" for k, v in row.humans.items())
        reason = _e(row.reason) if row.reason else "<span class='muted'>no reason recorded</span>"
        if row.invalid_reason:
            reason = f"<b>invalid: {_e(row.invalid_reason)}</b><br>{reason}"
        inputs = "".join(f"<b>{_e(k)}</b><pre>{_e(v)}</pre>" for k, v in row.inputs.items())
        body.append(
            f'<tr data-judge-name="{_e(row.judge_name)}" data-slice="{_e(row.slice or "")}" '
            f'data-judge="{_e(row.judge)}" data-human="{_e(row.human)}">'
            + (f"<td>{_e(row.judge_name)}</td>" if several else "")
            + f"<td><code>{_e(row.item_id)}</code></td><td>{_e(row.slice or '-')}</td>"
            f"<td>{_badge('fail', row.judge)}</td><td>{_badge('pass', row.human)}</td><td>{humans}</td>"
            f"<td class='reason'>{reason}"
            + (f"<details><summary>item</summary>{inputs}</details>" if inputs else "")
            + "</td></tr>"
        )
    head = (["judge"] if several else []) + [
        "item",
        "slice",
        "judge said",
        "human majority",
        "annotators",
        "judge's reason",
    ]
    table = (
        '<table id="disagreement-table"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    counts = ", ".join(f"{_e(v.name)}: {len(v.disagreements)}" for v in report.judges)
    return (
        f"<p>{len(rows)} items where the judge's verdict differs from the human majority or is invalid "
        f"({counts}) — every one is listed.</p>{notes}{filters}{table}"
    )


def _hash(h: str | None) -> str:
    return "<span class='muted'>not recorded</span>" if not h else f"<code>{_e(h)}</code>"


def _reproducibility(view: JudgeView) -> str:
    rec = view.reproducibility
    cfg = rec.judge_config
    sampling = cfg.get("sampling") or {}
    lat = rec.latency_ms
    rows = [
        ["model", _e(rec.model)],
        ["model version reported", _e(rec.model_version or "not reported")],
        ["rubric", _e(f"{rec.rubric or '-'} (version {rec.rubric_version or '-'})")],
        ["rubric hash", _hash(rec.rubric_hash)],
        ["prompt template", _e(rec.template or "-")],
        ["template hash", _hash(rec.template_hash)],
        ["gold set", _e(f"{rec.gold or '-'} · split {rec.split or '-'}")],
        ["gold hash", _hash(rec.gold_hash)],
        ["split hash", _hash(rec.split_hash)],
    ]
    if rec.record_id is not None:
        rows += [
            ["policy hash", _hash(rec.policy_hash)],
            ["policy file", _e(rec.policy_path or "the bundled default")],
            ["approval record", f"<code>{_e(rec.record_id)}</code>"],
        ]
        if rec.expires_at is not None:
            rows.append(["expires", _e(f"{rec.expires_at:%Y-%m-%d %H:%M} UTC (the policy's max_age)")])
    rows += [
        [
            "sampling",
            _e(", ".join(f"{k} {v}" for k, v in sampling.items()) or "not recorded")
            + (f" · structured output {_e(cfg['structured'])}" if "structured" in cfg else ""),
        ],
        [
            "samples per item",
            _e(
                f"{cfg.get('samples', '-')} (aggregation {cfg.get('aggregation', '-')}, "
                f"orders {cfg.get('orders', '-')})"
            ),
        ],
        [
            "grading run",
            f"<code>{_e(rec.run_id)}</code>" if rec.run_id else "<span class='muted'>none (imported)</span>",
        ],
        ["date", _e(f"{rec.date:%Y-%m-%d %H:%M} UTC" if rec.date else "-")],
        ["judgecal", _e(rec.judgecal_version or "-")],
        ["provider calls", _e("-" if rec.calls is None else rec.calls)],
        ["cost of those calls", _e(fmt_cost(rec.cost) if rec.run_id else "-")],
        ["cost of the verdicts", _e(fmt_cost(rec.verdict_cost) if rec.run_id else "-")],
        [
            "latency p50 / p95 / p99 (the verdicts' calls)",
            " / ".join(_e(fmt_ms(lat.get(p))) for p in ("p50", "p95", "p99")),
        ],
    ]
    if rec.new_call_latency_ms is not None:
        new = rec.new_call_latency_ms
        rows.append(
            [
                "latency p50 / p95 / p99 (this validation's new calls)",
                " / ".join(_e(fmt_ms(new.get(p))) for p in ("p50", "p95", "p99")),
            ]
        )
    rows.append(["invalid-verdict rate", _fmt(rec.invalid_rate, True) + f" (n {rec.invalid_rate.n})"])
    return _table(["record", "value"], [[_e(k), v] for k, v in rows])


def _notes(report: Report) -> str:
    items = [(v.name, n) for v in report.judges for n in v.calibration.notes]
    if report.comparison is not None:
        items += [("comparison", n) for n in report.comparison.notes]
    if not items:
        return "<p>Nothing was left out.</p>"
    return "<ul>" + "".join(f"<li><b>{_e(who)}</b>: {_e(n)}</li>" for who, n in items) + "</ul>"


def render_html(report: Report) -> str:
    """The whole report as one self-contained HTML page."""
    from judgecal import __version__  # noqa: PLC0415

    body = {
        "decision": _decision(report),
        "agreement": _per_judge(report, _agreement),
        "confusion": _per_judge(report, _confusion),
        "reliability": _per_judge(report, _reliability),
        "probes": _probes(report),
        "slices": _per_judge(report, _slices),
        "disagreements": _disagreements(report),
        "reproducibility": _per_judge(report, _reproducibility),
        "notes": _notes(report),
    }
    heading = dict(SECTIONS)
    if report.kind == "comparison":
        heading["decision"] = "Judges side by side"
    nav = "".join(f'<a href="#{k}">{_e(heading[k])}</a>' for k in SECTIONS)
    sections = "".join(
        f'<section id="{k}" data-section="{k}"><h2>{_e(heading[k])}</h2>{body[k]}</section>' for k in SECTIONS
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(report.title)}</h1><p>{_e(report.subject)} · generated "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC by judgecal {_e(__version__)}</p><nav>{nav}</nav></header>"
        f"<main>{sections}</main><script>{_SCRIPT}</script></body></html>\n"
    )
