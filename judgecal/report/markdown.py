"""The Markdown summary: for a pull-request comment, so it is bounded in size.

GitHub refuses comments over 65,536 characters; the summary stays under :data:`MAX_CHARS` whatever
the gold set's size: the disagreement list (and, if ever needed, the slice table) is cut to what
fits, and the summary says how many rows it left out and where the full list is (the HTML and
JSON reports). Every figure is formatted from the report object.
"""

from __future__ import annotations

from judgecal.fmt import fmt_cost, fmt_ms, fmt_value
from judgecal.fmt import fmt_estimate as _fmt
from judgecal.fmt import fmt_number as _num
from judgecal.report.html import agreement_rows
from judgecal.report.model import JudgeView, Report

__all__ = ["MAX_CHARS", "render_markdown"]

MAX_CHARS = 60_000
"""The summary's size limit (GitHub's comment limit is 65,536; this leaves room for a header)."""
MAX_DISAGREEMENTS = 50
"""Disagreement rows shown at most, even when more would fit."""
_REASON = 160
"""Characters of a judge's reason kept in a row."""


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _bounded(head: list[str], rows: list[list[str]], budget: int, most: int) -> tuple[list[str], int]:
    """As many rows as fit in ``budget`` characters (and at most ``most``): the lines, rows shown."""
    lines = _table(head, [])
    used = sum(len(x) + 1 for x in lines)
    shown = 0
    for row in rows[:most]:
        line = _table(head, [row])[-1]
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    return lines, shown


def _bar(value: float | None, width: int = 20) -> str:
    if value is None or value != value:
        return ""
    full = round(max(0.0, min(1.0, value)) * width)
    return "█" * full + "░" * (width - full)


def _decision(report: Report) -> list[str]:
    d = report.decision
    if d is None:
        return []
    out = [f"**Decision: {d.tier.replace('_', ' ').upper()}**", ""]
    if d.labels_needed:
        out += [f"About **{d.labels_needed}** more human-labelled gold items would likely settle it.", ""]
    if d.tier == "provisional":
        out += [
            "Provisional is **not an approval**: a grader uses this judge only on an explicit opt-in.",
            "",
        ]
    if getattr(d, "labels_needed_per_class", None):
        per = ", ".join(f"{k}: {v}" for k, v in d.labels_needed_per_class.items())
        out += [f"To approve: about this many more labelled items per class — {per}.", ""]
    if getattr(d, "established", None):
        out += ["What the labels establish:", *[f"- {x}" for x in d.established], ""]
    out += [f"- obligation: {ob}" for ob in d.obligations]
    out += [f"- {r}" for r in d.reasons] + [""]
    out += _table(["gate", "checks", "status"], [[g.gate, g.name, g.status] for g in d.gates]) + [""]
    return out


def _comparison(report: Report) -> list[str]:
    c = report.comparison
    if c is None:
        return []
    js = c.judges
    rows = [
        ["agreement", *[_fmt(j.percent_agreement, True) for j in js]],
        [c.metric_label if c.metric == "cohen_kappa" else "Cohen's κ", *[_fmt(j.kappa) for j in js]],
        ["invalid verdicts", *[_fmt(j.invalid_rate, True) for j in js]],
        ["cost of the verdicts", *[fmt_cost(j.cost) for j in js]],
        [
            "latency p50/p95/p99",
            *["/".join(fmt_ms(j.latency_ms.get(p)) for p in ("p50", "p95", "p99")) for j in js],
        ],
    ]
    out = [f"**{c.n_items} items every judge answered** ({c.split} split)", ""]
    out += _table(["", *[j.name for j in js]], rows) + [""]
    out += [f"- {p.answer}" for p in c.pairs] + [""]
    return out


def _judge(view: JudgeView, report: Report) -> list[str]:
    r = view.calibration
    a, b = r.agreement["invalid_as_disagreement"], r.agreement["invalid_excluded"]
    out = [f"### {view.name}" if len(report.judges) > 1 else "### Agreement", ""]
    out.append(
        f"{r.split} split · {r.counts['with_majority']} items with a human majority · invalid verdicts "
        f"{r.counts['judge_invalid']} ({_fmt(r.invalid_rate, True)}) · {r.confidence:.0%} intervals"
    )
    out.append("")
    rows = agreement_rows(r)
    out += _table(["", f"invalid = disagreement (n={a.n})", f"invalid excluded (n={b.n})"], rows) + [""]
    if r.ceiling:
        h = r.ceiling["human_agreement"]
        loo = r.ceiling["leave_one_out"]
        alt = r.ceiling["alt_test"]
        out.append(
            f"Human ceiling: mean pairwise κ {_num(h['mean_pairwise_kappa'])} ({h['n_pairs']} pairs), "
            f"Krippendorff's α {_fmt(h['alpha'])}; leave one out: judge "
            f"{_fmt(loo['judge_agreement'], True)} vs human {_fmt(loo['human_agreement'], True)}; "
            f"alt-test (ε {alt['epsilon']}) "
            f"{'passes' if alt['passed'] else 'fails'}."
        )
    else:
        out.append("Human ceiling: not available (no item has two or more annotators).")
    out.append("")
    k = len(r.labels)
    out += _table(
        ["humans \\ judge", *a.confusion_labels],
        [
            [lab, *[str(x) for x in row]]
            for lab, row in zip(a.confusion_labels[:k], a.confusion[:k], strict=True)
        ],
    )
    out.append("")
    sc = r.score_calibration
    if sc:
        t = sc["test"]
        out.append(
            f"Score calibration (test n {t['n']}): ECE {_num(t['raw']['ece'])} → "
            f"{_num(t['calibrated']['ece'])}, "
            f"Brier {_num(t['raw']['brier'])} → {_num(t['calibrated']['brier'])}."
        )
    else:
        why = [n for n in r.notes if n.startswith("score calibration")]
        out.append("Reliability diagram: not available" + (f" — {why[0]}" if why else "") + ".")
    out.append("")
    return out


def _slices(view: JudgeView, budget: int) -> list[str]:
    r = view.calibration
    if not r.slices:
        return []
    rows = sorted(
        r.slices,
        key=lambda s: (s.percent_agreement.value != s.percent_agreement.value, s.percent_agreement.value),
    )
    cells = [
        [
            s.slice,
            str(s.n),
            _fmt(s.percent_agreement, True),
            _bar(s.percent_agreement.value),
            "**worse than the rest**" if s.flagged else ("" if s.reported else "n < min"),
        ]
        for s in rows
    ]
    overall = r.agreement["invalid_as_disagreement"].percent_agreement
    lines, shown = _bounded(["slice", "n", "agreement", "", ""], cells, budget, len(cells))
    out = [f"**By slice** (all items: {_fmt(overall, True)})", "", *lines]
    if shown < len(cells):
        out.append(
            f"\n*{len(cells) - shown} more slices are left out here; the HTML/JSON report has them all.*"
        )
    return [*out, ""]


def _probes(report: Report) -> list[str]:
    if report.probes is None:
        return []
    rows = [
        [
            p.probe,
            _fmt(p.estimate),
            ", ".join(f"{k} {v:g}" for k, v in p.threshold.items()) or "-",
            p.word,
        ]
        for p in report.probes.results
    ]
    return ["### Bias probes", "", *_table(["probe", "estimate [CI]", "thresholds", "result"], rows), ""]


def _record(view: JudgeView) -> list[str]:
    rec = view.reproducibility
    cfg = rec.judge_config
    lat = rec.latency_ms
    rows = [
        ["model (reported version)", f"{rec.model} ({rec.model_version or 'not reported'})"],
        ["rubric · template", f"{rec.rubric or '-'} {rec.rubric_version or ''} · {rec.template or '-'}"],
        [
            "rubric / template hash",
            f"`{(rec.rubric_hash or '-')[:12]}` / `{(rec.template_hash or '-')[:12]}`",
        ],
        ["gold / split hash", f"`{(rec.gold_hash or '-')[:12]}` / `{(rec.split_hash or '-')[:12]}`"],
        ["policy hash", f"`{rec.policy_hash[:12]}`" if rec.policy_hash else "-"],
        *(
            [["expires", f"{rec.expires_at:%Y-%m-%d %H:%M} UTC (the policy's max_age)"]]
            if rec.expires_at is not None
            else []
        ),
        [
            "sampling · samples",
            f"{fmt_value(cfg.get('sampling', '-'), none='not set')} · {fmt_value(cfg.get('samples', '-'))}",
        ],
        [
            "run · date",
            f"{rec.run_id or '-'} · {rec.date:%Y-%m-%d %H:%M} UTC" if rec.date else rec.run_id or "-",
        ],
        [
            "calls · cost",
            f"{'-' if rec.calls is None else rec.calls} · {fmt_cost(rec.cost) if rec.run_id else '-'}",
        ],
        ["latency p50/p95/p99", "/".join(fmt_ms(lat.get(p)) for p in ("p50", "p95", "p99"))],
        ["invalid-verdict rate", _fmt(rec.invalid_rate, True)],
    ]
    return [
        f"<details><summary>Reproducibility record: {view.name}</summary>",
        "",
        *_table(["", ""], rows),
        "",
        "</details>",
        "",
    ]


def render_markdown(report: Report, *, max_chars: int = MAX_CHARS, max_rows: int = MAX_DISAGREEMENTS) -> str:
    """The summary, at most ``max_chars`` characters: what does not fit of the disagreement list
    (beyond ``max_rows`` rows) is left out and counted."""
    head = [f"## judgecal: {report.title}", "", f"{report.subject}", ""]
    head += _decision(report) + _comparison(report)
    for view in report.judges:
        head += _judge(view, report)
    head += _probes(report)
    tail = [line for view in report.judges for line in _record(view)]
    notes = [f"- {v.name}: {n}" for v in report.judges for n in v.calibration.notes]
    if notes:
        tail = ["**Notes**", "", *notes, "", *tail]
    reserve = 600  # the truncation sentences
    used = sum(len(x) + 1 for x in head + tail) + reserve
    body: list[str] = []
    for view in report.judges:
        body += _slices(view, max(0, (max_chars - used) // (2 * len(report.judges))))
    used += sum(len(x) + 1 for x in body)
    rows = [row for view in report.judges for row in view.disagreements]
    several = len(report.judges) > 1
    cells = [
        ([row.judge_name] if several else [])
        + [
            row.item_id,
            row.slice or "-",
            row.judge,
            row.human,
            ", ".join(f"{k}: {v}" for k, v in row.humans.items()),
            (f"invalid: {row.invalid_reason}. " if row.invalid_reason else "")
            + ((row.reason or "")[:_REASON] + ("…" if len(row.reason or "") > _REASON else "")),
        ]
        for row in rows
    ]
    heading = (["judge"] if several else []) + [
        "item",
        "slice",
        "judge",
        "humans",
        "annotators",
        "judge's reason",
    ]
    lines, shown = _bounded(heading, cells, max(0, max_chars - used), max_rows)
    body += [f"### Disagreements ({len(rows)})", ""]
    if rows:
        body += lines
        if shown < len(rows):
            body += [
                "",
                f"*Showing {shown} of {len(rows)} disagreements: the list is truncated to keep this "
                "summary short. The HTML report (`judgecal report ID`) and the JSON report "
                "(`--format json`) list every one.*",
            ]
    else:
        body.append("None: on every item the judge gave the human majority's label.")
    body.append("")
    return "\n".join(head + body + tail)
