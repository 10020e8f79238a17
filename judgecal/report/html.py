"""The HTML report: one self-contained file (inline CSS, inline SVG plots, a small inline script)
that opens offline. Without JavaScript every section, every disagreement and every item is shown;
the script only adds the controls: the filters of both tables, and the item browser's sorting,
permalinks (``#item-<id>``) and CSV/JSONL export of the rows shown (a Blob download, no request).

Every figure is formatted from the report object (:mod:`judgecal.report.model`); nothing is
computed here except the layout of the plots.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import judgecal.report.svg as svg
from judgecal.calibrate.report import CalibrationReport
from judgecal.fmt import fmt_cost, fmt_ms, fmt_value
from judgecal.fmt import fmt_estimate as _fmt
from judgecal.fmt import fmt_number as _num
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
    "items": "Item browser",
    "reproducibility": "Reproducibility record",
    "notes": "Notes",
}
"""Section ids and headings, in page order (every report has all of them)."""

AGREE_COLOR = {"agree": "#2e7d32", "disagree": "#c62828", "neutral": "#546e7a"}
"""A verdict's badge says whether it is the human majority (one colour) or not (another); a human
label's badge is neutral. ``pass``/``fail`` never choose a colour."""

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
header{background:#263238;color:#fff;padding:20px 32px;overflow-wrap:anywhere}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#b0bec5;font-size:13px}
nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:12px;font-size:13px}
nav a{color:#e0f2f1}
main{max-width:1280px;margin:0 auto;padding:8px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0;
min-width:0}
section>p,section>ul,.card>p{overflow-wrap:anywhere}
.scroll{max-width:100%;overflow-x:auto;-webkit-overflow-scrolling:touch}
.plot{max-width:100%;overflow-x:auto;margin:6px 0}
.plot svg{display:block;height:auto}
h2{margin:0 0 10px;font-size:18px}
h3{margin:14px 0 6px;font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:13.5px}
th,td{border-bottom:1px solid #eceff1;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f5f7f8;font-weight:600}
tbody tr:nth-child(even){background:#fbfcfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(440px,100%),1fr));gap:16px}
.card{border:1px solid #eceff1;border-radius:6px;padding:10px 12px;min-width:0}
.badge{display:inline-block;white-space:nowrap;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;
font-weight:600}
.tier{font-size:20px;padding:4px 14px;border-radius:14px}
.muted{color:var(--muted)}
.note{color:var(--muted);font-size:13px}
.unavailable{padding:10px 14px;border-left:4px solid #b0bec5;background:#f5f7f8}
ul.reasons li{margin:4px 0}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0;font-size:13px}
.filters select,.filters input,.filters button{font:inherit;padding:2px 4px;max-width:100%}
.reason{max-width:460px;min-width:200px}
td.long{min-width:220px;max-width:460px}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{white-space:pre-wrap;font-size:12px;max-width:520px;margin:4px 0}
th button.sort{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button.sort::after{content:" ▲"}
th[aria-sort=descending] button.sort::after{content:" ▼"}
#item-table code,#disagreement-table code{word-break:normal;white-space:nowrap}
#item-table tr:target,#item-table tr.target{outline:2px solid #f9a825;background:#fff8e1}
@media (max-width:700px){header{padding:14px 14px}main{padding:4px 8px 32px}
section{padding:12px 10px;margin:12px 0}table{font-size:12.5px}th,td{padding:3px 6px}}
@media print{nav,.filters{display:none}section{break-inside:avoid}}
"""

_SCRIPT = r"""
(function(){
  function browser(tableId, boxId, countId){
    var box=document.getElementById(boxId), table=document.getElementById(tableId);
    if(!box||!table){return null;}
    var tbody=table.tBodies[0];
    var rows=Array.prototype.slice.call(tbody.rows);
    if(!rows.length){return null;}
    box.hidden=false;
    var sels=Array.prototype.slice.call(box.querySelectorAll('select[data-key]'));
    sels.forEach(function(sel){
      var key=sel.getAttribute('data-key'), seen={};
      rows.forEach(function(r){seen[r.getAttribute('data-'+key)]=1;});
      Object.keys(seen).sort().forEach(function(v){
        var o=document.createElement('option');o.value=v;o.textContent=v||'(none)';sel.appendChild(o);
      });
      if(Object.keys(seen).length<2){sel.parentNode.hidden=true;}
    });
    var text=box.querySelector('input[type=search]');
    var count=document.getElementById(countId);
    function apply(){
      var n=0,q=(text.value||'').toLowerCase();
      rows.forEach(function(r){
        var ok=sels.every(function(sel){
          return sel.value==='*'||r.getAttribute('data-'+sel.getAttribute('data-key'))===sel.value;
        });
        if(ok&&q){ok=r.textContent.toLowerCase().indexOf(q)>=0;}
        r.hidden=!ok;if(ok){n++;}
      });
      count.textContent=n;
    }
    function reset(){sels.forEach(function(s){s.value='*';});text.value='';apply();}
    box.addEventListener('input',apply);box.addEventListener('change',apply);apply();
    return {table:table,tbody:tbody,rows:rows,box:box,reset:reset};
  }
  browser('disagreement-table','filters','shown-count');
  var items=browser('item-table','item-filters','items-shown');
  if(!items){return;}
  // sorting: a click on a column's heading sorts by it, a second click reverses
  var heads=Array.prototype.slice.call(items.table.tHead.rows[0].cells);
  heads.forEach(function(th,col){
    th.querySelector('button').addEventListener('click',function(){
      var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      heads.forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir>0?'ascending':'descending');
      var sorted=items.rows.slice().sort(function(a,b){
        var x=a.cells[col].textContent.trim(),y=b.cells[col].textContent.trim();
        return dir*x.localeCompare(y,undefined,{numeric:true,sensitivity:'base'});
      });
      sorted.forEach(function(r){items.tbody.appendChild(r);});
    });
  });
  // permalinks: #item-<id> shows the item (clearing filters that hide it) and highlights it
  function target(){
    var id=decodeURIComponent(location.hash.slice(1));
    if(id.indexOf('item-')!==0){return;}
    var row=document.getElementById(id);
    if(!row||!items.tbody.contains(row)){return;}
    if(row.hidden){items.reset();}
    items.rows.forEach(function(r){r.classList.remove('target');});
    row.classList.add('target');row.scrollIntoView({block:'center'});
  }
  window.addEventListener('hashchange',target);target();
  // export: the rows shown, as a file made here (no request)
  function save(name,type,text){
    var url=URL.createObjectURL(new Blob([text],{type:type}));
    var a=document.createElement('a');a.href=url;a.download=name;document.body.appendChild(a);a.click();
    setTimeout(function(){URL.revokeObjectURL(url);a.remove();},0);
  }
  function csvCell(v){v=String(v);return /[",\r\n]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v;}
  items.box.querySelectorAll('button[data-export]').forEach(function(btn){
    btn.addEventListener('click',function(){
      var shown=Array.prototype.slice.call(items.tbody.rows).filter(function(r){return !r.hidden;});
      if(btn.getAttribute('data-export')==='csv'){
        var lines=[JSON.parse(items.table.getAttribute('data-csv-head'))].concat(
          shown.map(function(r){return JSON.parse(r.getAttribute('data-csv'));}));
        var text=lines.map(function(l){return l.map(csvCell).join(',');}).join('\r\n')+'\r\n';
        save('judgecal-items.csv','text/csv',text);
      }else{
        save('judgecal-items.jsonl','application/x-ndjson',
          shown.map(function(r){return JSON.stringify(JSON.parse(r.dataset.json));}).join('\n')+'\n');
      }
    });
  });
})();
"""


def _e(x: object) -> str:
    return escape(str(x))


def _verdict(label: str, agrees: bool | None) -> str:
    """A verdict's badge: coloured by agreement with the human majority (None: a human label)."""
    key = "neutral" if agrees is None else ("agree" if agrees else "disagree")
    word = {"agree": "agrees with the human majority", "disagree": "differs from the human majority"}
    tip = f' title="{word[key]}"' if key in word else ""
    return f'<span class="badge verdict {key}" style="background:{AGREE_COLOR[key]}"{tip}>{_e(label)}</span>'


class _SvgPlot:
    """svg's plots, each wrapped in its scrolling box (:func:`_plot`)."""

    def __getattr__(self, name: str) -> Any:
        draw = getattr(svg, name)
        return lambda *a, **k: _plot(draw(*a, **k))


_svgplot = _SvgPlot()


def _plot(svg_text: str) -> str:
    """A plot in its own box: on a narrow screen it scrolls sideways instead of the page."""
    return f'<div class="plot">{svg_text}</div>'


def _badge(status: str, text: str | None = None, cls: str = "badge") -> str:
    color = STATUS_COLOR.get(status, svg.COLORS["neutral"])
    return f'<span class="{cls}" style="background:{color}">{_e(text or status.replace("_", " "))}</span>'


def _td(cell: str) -> str:
    # a cell of running text keeps a readable width; its table scrolls sideways instead
    return f'<td class="long">{cell}</td>' if len(cell) > 80 and " " in cell else f"<td>{cell}</td>"


def _table(head: list[str], rows: list[list[str]], *, attrs: str = "") -> str:
    """A table; cells are HTML already (escape before)."""
    h = "".join(f"<th>{c}</th>" for c in head)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table {attrs}><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table></div>'
    )


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
    plot = _svgplot.forest(
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
        f"{conf} intervals (bootstrap over items, {r.n_resamples} resamples, seed "
        f"{_e(fmt_value(r.seed, none='random'))}; "
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
        plot = _svgplot.forest(rows, title=f"{view.name}: κ with the human majority", kind="ceiling")
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
    plot = _svgplot.forest(
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
    plot = _svgplot.heatmap(
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

    plot = _svgplot.reliability(
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
        _svgplot.forest(
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
    plot = _svgplot.forest(
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
        '<div id="filters" class="filters" hidden>'
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
            f"<td>{_verdict(row.judge, False)}</td><td>{_verdict(row.human, None)}</td><td>{humans}</td>"
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
        '<div class="scroll"><table id="disagreement-table"><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )
    counts = ", ".join(f"{_e(v.name)}: {len(v.disagreements)}" for v in report.judges)
    return (
        f"<p>{len(rows)} items where the judge's verdict differs from the human majority or is invalid "
        f"({counts}) — every one is listed.</p>{notes}{filters}{table}"
    )


def _anchor(item_id: str) -> str:
    """The item's permalink anchor: ``item-<id>`` (whitespace, which an id cannot hold, as ``_``)."""
    return "item-" + "_".join(item_id.split())


def _attr(x: object) -> str:
    return escape(str(x), quote=True)


def _agreement_word(names: list[str], agrees: list[bool]) -> str:
    if len(names) == 1:
        return "agrees" if agrees[0] else "disagrees"
    if all(agrees):
        return "all agree"
    if not any(agrees):
        return "none agrees"
    return "only " + ", ".join(n for n, a in zip(names, agrees, strict=True) if a) + " agrees"


def _items(report: Report) -> str:
    """Every item (agreeing too) with each judge's verdict beside the human label: filters, sorting,
    a permalink per item and an export of the rows shown (CSV, JSONL) — all without leaving the
    file. Without JavaScript every row is shown and the controls stay hidden."""
    import json  # noqa: PLC0415

    views = [v for v in report.judges if v.items]
    if not views:
        notes = "".join(f"<p class='note'>{_e(v.disagreements_note)}</p>" for v in report.judges)
        return notes or "<p class='unavailable'>No item has both a human majority and a verdict.</p>"
    names = [v.name for v in views]
    by_id = [{row.item_id: row for row in v.items} for v in views]
    order = list(dict.fromkeys(row.item_id for v in views for row in v.items))
    several = len(views) > 1
    csv_head = ["item_id", "slice", "human_majority", "annotators"] + (
        [f"{kind}:{n}" for n in names for kind in ("verdict", "agrees")] if several else ["verdict", "agrees"]
    )
    body = []
    for item_id in order:
        rows = [m.get(item_id) for m in by_id]
        first = next(r for r in rows if r is not None)
        verdicts = [r.judge if r else "-" for r in rows]
        agrees = [bool(r and r.agrees) for r in rows]
        annotators = "; ".join(f"{k}: {v}" for k, v in first.humans.items())
        record: dict[str, object] = {
            "item_id": item_id,
            "slice": first.slice,
            "human_majority": first.human,
            "annotators": first.humans,
        }
        flat: list[object] = [item_id, first.slice or "", first.human, annotators]
        if several:
            record["judges"] = {
                n: {"verdict": v, "agrees": a} for n, v, a in zip(names, verdicts, agrees, strict=True)
            }
            for v, a in zip(verdicts, agrees, strict=True):
                flat += [v, "yes" if a else "no"]
        else:
            record.update(verdict=verdicts[0], agrees=agrees[0])
            flat += [verdicts[0], "yes" if agrees[0] else "no"]
        data = "".join(f' data-v{i}="{_attr(v)}"' for i, v in enumerate(verdicts))
        cells = "".join(
            f"<td>{_verdict(v, a) if r else '-'}</td>" for v, a, r in zip(verdicts, agrees, rows, strict=True)
        )
        word = _agreement_word(names, agrees)
        body.append(
            f'<tr id="{_attr(_anchor(item_id))}" data-slice="{_attr(first.slice or "")}" '
            f'data-human="{_attr(first.human)}" data-agree="{_attr(word)}"{data} '
            f"data-json='{_attr(json.dumps(record, ensure_ascii=False))}' "
            f"data-csv='{_attr(json.dumps([str(x) for x in flat], ensure_ascii=False))}'>"
            f'<td><a href="#{_attr(_anchor(item_id))}"><code>{_e(item_id)}</code></a></td>'
            f"<td>{_e(first.slice or '-')}</td><td>{_verdict(first.human, None)}</td>{cells}"
            f"<td>{_e(word)}</td><td>{_e(annotators)}</td></tr>"
        )
    head = ["item", "slice", "human majority"] + [f"{n} said" for n in names] + ["agreement", "annotators"]
    th = "".join(
        f'<th data-col="{i}"><button type="button" class="sort">{_e(h)}</button></th>'
        for i, h in enumerate(head)
    )
    verdict_selects = "".join(
        f'<label>{_e(n)} said <select data-key="v{i}"><option value="*">all</option></select></label>'
        for i, n in enumerate(names)
    )
    controls = (
        '<div id="item-filters" class="filters" hidden>'
        '<label>slice <select data-key="slice"><option value="*">all</option></select></label>'
        '<label>humans said <select data-key="human"><option value="*">all</option></select></label>'
        f"{verdict_selects}"
        '<label>agreement <select data-key="agree"><option value="*">all</option></select></label>'
        '<label>text <input type="search" placeholder="id, slice, annotator…"></label>'
        f'<span>showing <b id="items-shown">{len(order)}</b> of {len(order)}</span>'
        '<button type="button" data-export="csv">export these items as CSV</button>'
        '<button type="button" data-export="jsonl">export as JSONL</button></div>'
    )
    table = (
        f"<div class='scroll'><table id='item-table' data-csv-head='{_attr(json.dumps(csv_head))}'>"
        f"<thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    what = (
        "each judge's verdict beside the human majority"
        if several
        else "the judge's verdict beside the human majority"
    )
    return (
        f"<p>All {len(order)} items with a human majority and a verdict, {what} (green: the same "
        "label, red: a different one or invalid). Each item id is a permalink "
        "(<code>#item-&lt;id&gt;</code>); the export writes the rows shown, for relabelling.</p>"
        f"{controls}{table}"
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
            _e(fmt_value(sampling, none="not set") if sampling else "not recorded")
            + (f" · structured output {_e(fmt_value(cfg['structured']))}" if "structured" in cfg else ""),
        ],
        [
            "samples per item",
            _e(
                f"{fmt_value(cfg.get('samples', '-'))} "
                f"(aggregation {fmt_value(cfg.get('aggregation', '-'))}, "
                f"orders {fmt_value(cfg.get('orders', '-'))})"
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
        "items": _items(report),
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
