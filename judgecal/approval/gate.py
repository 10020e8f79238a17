"""The approval gate: a calibration report and the probe results, read against a policy.

Gates, each ending ``pass``, ``provisional`` (G2 only), ``inconclusive`` (the point estimate
meets the threshold but its interval does not, or there is too little data to say), ``fail`` or
``skipped`` (does not apply):

- ``data`` — test items with a human majority, items per class (binary), items with ≥ 3
  annotators.
- ``G0`` — human–human Krippendorff's α ≥ 0.667 (Krippendorff 2004, *Content Analysis*: the floor
  for tentative conclusions); below it no judge can be approved.
- ``G1`` — invalid-verdict rate ≤ 1% with Wilson upper bound ≤ 3%.
- ``G2`` — κ (quadratic-weighted for ordinal) with invalid verdicts as disagreements: approve at
  point ≥ 0.80 and lower bound ≥ 0.667, provisional at point ≥ 0.667; or, when the human ceiling
  is below 0.80, the alternative annotator test (G2b; Calderon, Reichart & Dror, ACL 2025).
- ``G3`` — binary: TPR and TNR ≥ 0.85 with Wilson lower bounds ≥ 0.75.
- ``G5`` — every gated probe's outcome is ``pass``; a failed injection probe rejects outright.
- ``G6`` — resample consistency (α ≥ 0.80 or modal agreement ≥ 0.90), unless the judge already
  takes the majority of ≥ k samples.

G5 and G6 read :attr:`ProbeResult.outcome <judgecal.probes.base.ProbeResult.outcome>` with one
rule: ``pass`` passes, ``fail`` fails, ``inconclusive`` and ``underpowered`` are inconclusive
(sized from the probe's intervals or its plan), ``undefined`` is inconclusive ("could not be
decided" — never a pass), ``not_applicable`` is skipped.

Tiers: **rejected** when any gate fails (G3 may instead send the judge to *approved with
correction*); **provisional** when only the data requirements are short (at least
``data.provisional_min_test_items`` test items), no gate fails and every point estimate meets
the approval thresholds — not an approval: the decision lists the bounds the labels establish
and the labels per class approval would take; otherwise **inconclusive** when any gate is
inconclusive — with an estimate of how many more labelled items would likely decide it;
otherwise **approved with correction** when G2 is only provisional or G3 holds only as Youden's
J ≥ 0.6 (corrected pass rates: Rogan & Gladen 1978, with the interval of Lee et al. 2025);
otherwise **approved**.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from judgecal.approval.decision import Decision, GateResult, Tier
from judgecal.approval.policy import Policy
from judgecal.calibrate.report import CalibrationReport
from judgecal.gold import DEV_FRACTION
from judgecal.judge import JudgeConfig
from judgecal.probes.base import ProbePlan, ProbeReport, ProbeResult, ProbeTest

__all__ = ["Decision", "GateResult", "Tier", "decide"]


def _est(obj: Any) -> dict[str, Any]:
    """An Estimate (model or its JSON) as a plain dict with value/lo/hi/n."""
    if obj is None:
        return {"value": math.nan, "lo": None, "hi": None, "n": 0}
    d = obj.model_dump(mode="python") if hasattr(obj, "model_dump") else dict(obj)
    if d.get("value") is None:
        d["value"] = math.nan
    return d


def _f(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "undefined"
    return f"{x:.{digits}f}"


def _scale_needed(value: float, bound: float | None, limit: float, n: int, *, upper: bool) -> float | None:
    """How many times the current n would likely bring the interval bound past ``limit``, with
    the point estimate unchanged and the half-width shrinking as 1/√n (conservative for exact
    bounds at zero counts, which shrink as 1/n). None when more data cannot help."""
    if bound is None or n <= 0 or math.isnan(value):
        return None
    half = (bound - value) if upper else (value - bound)
    room = (limit - value) if upper else (value - limit)
    if room <= 0 or half <= 0:
        return None
    return max(1.0, (half / room) ** 2)


def _wilson_bound(p: float, n: float, z: float, *, upper: bool) -> float:
    z2 = z * z
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / (1.0 + z2 / n)
    return centre + half if upper else centre - half


def _rate_scale(est: dict[str, Any], limit: float, *, upper: bool) -> float | None:
    """:func:`_scale_needed` for a Wilson-interval rate, solved exactly: the n at which the
    Wilson bound of the same proportion clears ``limit``, over the current n (at a zero count the
    bound shrinks as 1/n, which the 1/√n rule overstates many times)."""
    value, n = est["value"], est.get("n", 0)
    if est.get("method") != "wilson" or n <= 0 or math.isnan(value):
        return _scale_needed(value, est.get("hi" if upper else "lo"), limit, n, upper=upper)
    if (upper and value >= limit) or (not upper and value <= limit):
        return None
    z = NormalDist().inv_cdf(0.5 + float(est.get("confidence", 0.95)) / 2.0)

    def clears(m: float) -> bool:
        bound = _wilson_bound(value, m, z, upper=upper)
        return bound <= limit if upper else bound >= limit

    if clears(n):
        return 1.0
    lo, hi = float(n), float(n)
    while not clears(hi):
        lo, hi = hi, hi * 2
        if hi > 1e8:
            return None
    while hi - lo > 0.5:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if clears(mid) else (mid, hi)
    return math.ceil(hi) / n


def _needed_from_scale(scale: float | None, n_test: int) -> int | None:
    if scale is None:
        return None
    return max(1, math.ceil(n_test * (scale - 1.0)))


def _data_gate(policy: Policy, report: CalibrationReport) -> GateResult:
    d = policy.data
    n_test = report.counts.get("with_majority", 0)
    shortfalls: list[str] = []
    needed = 0
    if n_test < d.min_test_items:
        shortfalls.append(f"{n_test} test items with a human majority (policy: ≥ {d.min_test_items})")
        needed = max(needed, d.min_test_items - n_test)
    per_class: dict[str, int] = {}
    if report.scale == "binary":
        block = report.agreement["invalid_as_disagreement"]
        for i, label in enumerate(block.confusion_labels):
            if label in report.labels:
                per_class[label] = int(sum(block.confusion[i]))
        for label, count in per_class.items():
            if count < d.min_per_class:
                shortfalls.append(f"{count} '{label}' items (policy: ≥ {d.min_per_class} per class)")
                share = count / n_test if n_test and count else 0.0
                extra = (d.min_per_class - count) / share if share else float(d.min_per_class)
                needed = max(needed, math.ceil(extra))
    ceiling = report.ceiling or {}
    human = ceiling.get("human_agreement") or {}
    key = "n_items_3plus" if d.ceiling_annotators >= 3 else "n_items_2plus"
    n_ceiling = int(human.get(key, 0))
    if n_ceiling < d.min_ceiling_items:
        shortfalls.append(
            f"{n_ceiling} test items labelled by ≥ {d.ceiling_annotators} people "
            f"(policy: ≥ {d.min_ceiling_items})"
        )
        needed = max(needed, d.min_ceiling_items - n_ceiling)
    figures = {
        "test_items": n_test,
        "per_class": per_class,
        "ceiling_items": n_ceiling,
        "thresholds": d.model_dump(),
    }
    if shortfalls:
        return GateResult(
            gate="data",
            name="enough labelled test data",
            status="inconclusive",
            reason="too little labelled data to approve: " + "; ".join(shortfalls),
            figures=figures,
            test_items_needed=needed,
        )
    return GateResult(
        gate="data",
        name="enough labelled test data",
        status="pass",
        reason=(
            f"{n_test} test items, per class {per_class or 'n/a'}, "
            f"{n_ceiling} with ≥ {d.ceiling_annotators} annotators"
        ),
        figures=figures,
    )


def _g0(policy: Policy, report: CalibrationReport) -> GateResult:
    name = "task reliability: human–human α"
    human = (report.ceiling or {}).get("human_agreement")
    if not human:
        return GateResult(
            gate="G0",
            name=name,
            status="inconclusive",
            reason="no test item has two or more human labels: the task's reliability is unknown",
            test_items_needed=policy.data.min_ceiling_items,
            meets_on_points=False,
        )
    alpha = _est(human["alpha"])
    figures = {"alpha": alpha, "min_alpha": policy.ceiling.min_alpha}
    v = alpha["value"]
    if math.isnan(v):
        n_multi = int(human.get("n_items_2plus") or 0)
        why = (
            f"every label on its {n_multi} multi-labelled items is the same, so agreement cannot be "
            "told from chance (α needs more than one label among them)"
            if n_multi >= 2
            else "too few multi-labelled items"
        )
        return GateResult(
            gate="G0",
            name=name,
            status="inconclusive",
            reason=f"human–human α is undefined on the test split: {why}",
            figures=figures,
            test_items_needed=policy.data.min_ceiling_items,
            meets_on_points=False,
        )
    ok = v >= policy.ceiling.min_alpha
    reason = (
        f"human–human α {_f(v)} (95% CI {_f(alpha['lo'])}–{_f(alpha['hi'])}, n {alpha['n']}) "
        f"{'≥' if ok else '<'} {policy.ceiling.min_alpha}"
    )
    if not ok:
        reason += ": the humans do not agree well enough for any judge to be approved — fix the rubric first"
    return GateResult(
        gate="G0",
        name=name,
        status="pass" if ok else "fail",
        reason=reason,
        figures=figures,
        meets_on_points=ok,
    )


def _g1(policy: Policy, report: CalibrationReport) -> GateResult:
    name = "output validity: invalid-verdict rate"
    r = _est(report.invalid_rate)
    v = policy.validity
    figures = {"invalid_rate": r, "max_rate": v.max_invalid_rate, "max_upper": v.max_invalid_upper}
    if r["n"] == 0:
        return GateResult(
            gate="G1",
            name=name,
            status="inconclusive",
            reason="no verdicts",
            figures=figures,
            meets_on_points=False,
        )
    text = (
        f"invalid-verdict rate {_f(r['value'])} ({round(r['value'] * r['n'])} of {r['n']}), "
        f"95% upper bound {_f(r['hi'])} (policy: ≤ {v.max_invalid_rate}, upper ≤ {v.max_invalid_upper})"
    )
    if r["value"] > v.max_invalid_rate:
        if r["lo"] is not None and r["lo"] > v.max_invalid_rate:
            return GateResult(gate="G1", name=name, status="fail", reason=text, figures=figures)
        return GateResult(
            gate="G1",
            name=name,
            status="inconclusive",
            reason=text + f": above {v.max_invalid_rate}, but the interval still includes it",
            figures=figures,
            meets_on_points=False,
        )
    if r["hi"] is not None and r["hi"] > v.max_invalid_upper:
        scale = _rate_scale(r, v.max_invalid_upper, upper=True)
        return GateResult(
            gate="G1",
            name=name,
            status="inconclusive",
            reason=text + ": the rate is low but n is too small to bound it",
            figures=figures,
            test_items_needed=_needed_from_scale(scale, report.counts.get("with_majority", 0)),
            meets_on_points=True,
        )
    return GateResult(gate="G1", name=name, status="pass", reason=text, figures=figures, meets_on_points=True)


def _g2(policy: Policy, report: CalibrationReport) -> GateResult:
    a = policy.agreement
    block = report.agreement["invalid_as_disagreement"]
    if report.scale == "ordinal":
        metric, est = "quadratic-weighted κ", _est(block.weighted_kappa.get("quadratic"))
    else:
        metric, est = "Cohen's κ", _est(block.cohen_kappa)
    name = f"agreement with humans: {metric}"
    ceiling = report.ceiling or {}
    human_alpha = _est((ceiling.get("human_agreement") or {}).get("alpha")).get("value", math.nan)
    alt = ceiling.get("alt_test") or {}
    figures: dict[str, Any] = {
        "metric": metric,
        "estimate": est,
        "thresholds": a.model_dump(),
        "human_alpha": None if math.isnan(human_alpha) else human_alpha,
        "alt_test": {
            k: alt.get(k) for k in ("epsilon", "winning_rate", "advantage_probability", "m", "passed")
        }
        if alt
        else None,
    }
    v, lo = est["value"], est["lo"]
    text = (
        f"{metric} {_f(v)} (95% CI {_f(lo)}–{_f(est['hi'])}, n {est['n']}, invalid verdicts as "
        f"disagreements; policy: approve at ≥ {a.approve} with lower bound ≥ {a.approve_lower}, "
        f"provisional at ≥ {a.provisional})"
    )
    relative = (
        not math.isnan(human_alpha)
        and human_alpha < a.relative_below
        and bool(alt)
        and alt.get("winning_rate") is not None
        and alt["winning_rate"] >= a.alt_test_min_winning_rate
        and alt.get("m", 0) > 0
    )
    if math.isnan(v):
        return GateResult(
            gate="G2", name=name, status="inconclusive", reason=text, figures=figures, meets_on_points=False
        )
    if v >= a.approve and lo is not None and lo >= a.approve_lower:
        return GateResult(
            gate="G2",
            name=name,
            status="pass",
            reason=text + ": G2a approve",
            figures=figures,
            meets_on_points=True,
        )
    if relative:
        return GateResult(
            gate="G2",
            name=name,
            status="pass",
            reason=(
                f"G2b: the human ceiling α {_f(human_alpha)} is below {a.relative_below} and the judge "
                f"passes the alternative annotator test (ε {alt.get('epsilon')}, winning rate "
                f"{_f(alt.get('winning_rate'), 2)} ≥ {a.alt_test_min_winning_rate}); " + text
            ),
            figures=figures,
            meets_on_points=True,
        )
    n_test = report.counts.get("with_majority", 0)
    if v >= a.approve:
        scale = _scale_needed(v, lo, a.approve_lower, est["n"], upper=False)
        return GateResult(
            gate="G2",
            name=name,
            status="inconclusive",
            reason=text
            + ": the point estimate reaches approval but the lower bound does not (at least provisional)",
            figures=figures,
            test_items_needed=_needed_from_scale(scale, n_test),
            meets_on_points=True,
        )
    if v >= a.provisional:
        return GateResult(
            gate="G2",
            name=name,
            status="provisional",
            reason=text + ": provisional",
            figures=figures,
            meets_on_points=False,
        )
    if est["hi"] is not None and est["hi"] >= a.provisional:
        return GateResult(
            gate="G2",
            name=name,
            status="inconclusive",
            reason=text + f": below {a.provisional}, but the interval still reaches it",
            figures=figures,
            meets_on_points=False,
        )
    return GateResult(
        gate="G2", name=name, status="fail", reason=text, figures=figures, meets_on_points=False
    )


def _g3(policy: Policy, report: CalibrationReport) -> GateResult:
    name = "class-wise error: TPR and TNR"
    c = policy.class_errors
    if report.scale != "binary":
        return GateResult(
            gate="G3", name=name, status="skipped", reason=f"applies to binary rubrics ({report.scale})"
        )
    block = report.agreement["invalid_as_disagreement"]
    tpr, tnr = _est(block.tpr), _est(block.tnr)
    j = block.youden_j
    figures = {"tpr": tpr, "tnr": tnr, "youden_j": j, "thresholds": c.model_dump()}
    text = (
        f"TPR {_f(tpr['value'])} (lower {_f(tpr['lo'])}, n {tpr['n']}), TNR {_f(tnr['value'])} "
        f"(lower {_f(tnr['lo'])}, n {tnr['n']}), Youden's J {_f(j)} (policy: each ≥ {c.min_tpr}/{c.min_tnr} "
        f"with lower bound ≥ {c.min_lower})"
    )
    points = [(tpr, c.min_tpr, "TPR"), (tnr, c.min_tnr, "TNR")]
    below = [lab for e, lim, lab in points if math.isnan(e["value"]) or e["value"] < lim]
    # a failure needs the whole interval below the threshold; otherwise more data could pass it
    clear = [lab for e, lim, lab in points if e["hi"] is not None and e["hi"] < lim]
    if below and not clear:
        return GateResult(
            gate="G3",
            name=name,
            status="inconclusive",
            reason=f"{text}: {' and '.join(below)} below the threshold, but the interval still reaches it",
            figures=figures,
            meets_on_points=False,
        )
    if below:
        below = clear
        lenient = "TNR" in below and "TPR" not in below
        extra = " — a lenient judge (passes what humans fail)" if lenient else ""
        if "TPR" in below and "TNR" not in below:
            extra = " — a harsh judge (fails what humans pass)"
        return GateResult(
            gate="G3",
            name=name,
            status="fail",
            reason=f"{text}: {' and '.join(below)} below the threshold{extra}",
            figures=figures,
            meets_on_points=False,
        )
    weak = [(e, lab) for e, _, lab in points if e["lo"] is None or e["lo"] < c.min_lower]
    if weak:
        scales = [_rate_scale(e, c.min_lower, upper=False) for e, _ in weak]
        # a class's n grows with its share of the test items
        n_test = report.counts.get("with_majority", 0)
        needed = [_needed_from_scale(s, n_test) for s in scales]
        return GateResult(
            gate="G3",
            name=name,
            status="inconclusive",
            reason=f"{text}: the lower bound of {' and '.join(lab for _, lab in weak)} < {c.min_lower}",
            figures=figures,
            test_items_needed=None if None in needed else max(n for n in needed if n is not None),
            meets_on_points=True,
        )
    return GateResult(gate="G3", name=name, status="pass", reason=text, figures=figures, meets_on_points=True)


def _probe_needed(result: ProbeResult, n_test: int) -> int | None:
    """Test items that would likely bring an inconclusive probe's intervals inside their
    tolerances, the point estimates unchanged (None: a point estimate is beyond its tolerance, or
    there is no interval to scale)."""
    gated = [t for t in result.tests if t.gated]
    if gated:
        scales = [_test_scale(t) for t in gated if t.inside is not True]
        if not scales or None in scales:
            return None
        return _needed_from_scale(max(s for s in scales if s is not None), n_test)
    est = result.estimate  # a plugin that decides for itself: its headline threshold keys
    if est is None:
        return None
    for key, limit in result.threshold.items():
        if key.endswith("_upper"):
            bound = result.details.get("worst_upper_bound", est.hi)
            return _needed_from_scale(_scale_needed(est.value, bound, limit, est.n, upper=True), n_test)
        if key.endswith("_lower"):
            return _needed_from_scale(_scale_needed(est.value, est.lo, limit, est.n, upper=False), n_test)
    return None


def _test_scale(t: ProbeTest) -> float | None:
    """How many times the current n would likely bring ``t``'s interval inside its tolerance."""
    e, tol = t.estimate, t.tolerance
    if t.direction == "max":
        return _scale_needed(e.value, e.hi, tol, e.n, upper=True)
    if t.direction == "min":
        return _scale_needed(e.value, e.lo, tol, e.n, upper=False)
    if e.lo is None or e.hi is None:
        return None
    sides = []
    if e.hi > tol:
        sides.append(_scale_needed(e.value, e.hi, tol, e.n, upper=True))
    if e.lo < -tol:
        sides.append(_scale_needed(-e.value, -e.lo, tol, e.n, upper=True))
    if not sides or None in sides:
        return None
    return max(s for s in sides if s is not None)


def _test_point_ok(t: ProbeTest) -> bool:
    """Whether a test's point estimate lies inside its tolerance."""
    v = t.estimate.value
    if math.isnan(v):
        return False
    if t.direction == "max":
        return v <= t.tolerance
    if t.direction == "min":
        return v >= t.tolerance
    return abs(v) <= t.tolerance


def _points_ok(r: ProbeResult) -> bool:
    """Whether an inconclusive probe's point estimates meet its tolerances. A probe without tests
    (a plugin that decides for itself) calls itself inconclusive only when they do."""
    gated = [t for t in r.tests if t.gated]
    if gated:
        return all(_test_point_ok(t) for t in gated)
    return r.outcome == "inconclusive"


def _plan_needed(plan: ProbePlan | None, n_test: int) -> int | None:
    """Test items an underpowered probe needs before a pass is possible, from its plan: the test
    split scaled by ``min_cases / cases``, or ``min_items`` itself, whichever is larger."""
    if plan is None:
        return None
    candidates = []
    if plan.min_cases and plan.cases > 0:
        candidates.append(math.ceil(n_test * plan.min_cases / plan.cases) - n_test)
    if plan.min_items:
        candidates.append(plan.min_items - n_test)
    return max(1, max(candidates)) if candidates else None


def _underpowered_reason(r: ProbeResult) -> str:
    if r.reason.startswith("underpowered"):
        return r.reason
    needs = (
        f"needs ≥ {r.plan.min_items} items" if r.plan is not None and r.plan.min_items else "needs more cases"
    )
    return f"underpowered: {needs}" + (f" — {r.reason}" if r.reason else "")


def _probe_gate(gate: str, title: str, r: ProbeResult, n_test: int, figures: dict[str, Any]) -> GateResult:
    """One probe's outcome as a gate (the one rule of G5 and G6)."""
    outcome = r.outcome or "undefined"
    if outcome == "not_applicable":
        return GateResult(
            gate=gate, name=title, status="skipped", reason=f"not applicable: {r.reason}", figures=figures
        )
    if outcome == "pass":
        return GateResult(
            gate=gate, name=title, status="pass", reason=r.reason, figures=figures, meets_on_points=True
        )
    if outcome == "fail":
        return GateResult(
            gate=gate, name=title, status="fail", reason=r.reason, figures=figures, meets_on_points=False
        )
    if outcome == "underpowered":
        return GateResult(
            gate=gate,
            name=title,
            status="inconclusive",
            reason=_underpowered_reason(r),
            figures=figures,
            test_items_needed=_plan_needed(r.plan, n_test),
        )
    if outcome == "undefined":
        return GateResult(
            gate=gate,
            name=title,
            status="inconclusive",
            reason=f"could not be decided ({r.reason or 'its statistic is undefined'}): not a pass",
            figures=figures,
            meets_on_points=False,
        )
    return GateResult(
        gate=gate,
        name=title,
        status="inconclusive",
        reason=f"{r.reason} — the intervals do not settle it: more cases could",
        figures=figures,
        test_items_needed=_probe_needed(r, n_test),
        meets_on_points=_points_ok(r),
    )


def _probe_figures(r: ProbeResult) -> dict[str, Any]:
    return {
        "outcome": r.outcome,
        "estimate": None if r.estimate is None else r.estimate.model_dump(mode="json"),
        "threshold": r.threshold,
        "n": r.n,
        "statistic": r.statistic,
        "tests": [t.model_dump(mode="json") for t in r.tests],
    }


def _g5(policy: Policy, probes: ProbeReport | None, n_test: int) -> tuple[list[GateResult], bool]:
    """One gate result per gated probe; the flag says whether a reject_on probe failed."""
    gated = [p for p in policy.probes.gated]
    if not gated:
        return [
            GateResult(gate="G5", name="bias probes", status="skipped", reason="the policy gates no probe")
        ], False
    by_name = {r.probe: r for r in probes.results} if probes else {}
    out: list[GateResult] = []
    reject = False
    for name in gated:
        r = by_name.get(name)
        title = f"bias probe: {name}"
        if r is None and probes is not None and probes.not_run:
            out.append(
                GateResult(gate="G5", name=title, status="skipped", reason=f"not run: {probes.not_run}")
            )
            continue
        if r is None:
            out.append(
                GateResult(
                    gate="G5",
                    name=title,
                    status="inconclusive",
                    reason=f"probe {name} was not run",
                    meets_on_points=False,
                )
            )
            continue
        g = _probe_gate("G5", title, r, n_test, _probe_figures(r))
        out.append(g)
        reject = reject or (g.status == "fail" and name in policy.probes.reject_on)
    return out, reject


def _g6(policy: Policy, probes: ProbeReport | None, judge: JudgeConfig | None, n_test: int) -> GateResult:
    s = policy.stability
    name = "stability across resamples"
    if judge is not None and judge.samples >= s.k and judge.aggregation == "majority":
        return GateResult(
            gate="G6",
            name=name,
            status="pass",
            reason=(
                f"the judge takes the majority of {judge.samples} samples (≥ k = {s.k}): "
                "stable by construction"
            ),
            meets_on_points=True,
        )
    r = {x.probe: x for x in probes.results}.get("resample_consistency") if probes else None
    if r is None and probes is not None and probes.not_run:
        return GateResult(gate="G6", name=name, status="skipped", reason=f"not measured: {probes.not_run}")
    if r is None:
        return GateResult(
            gate="G6",
            name=name,
            status="inconclusive",
            reason="resample consistency was not measured",
            meets_on_points=False,
        )
    figures = _probe_figures(r)
    figures["details"] = {
        k: r.details.get(k)
        for k in ("alpha", "modal_agreement", "flip_rate", "temperature")
        if k in r.details
    }
    g = _probe_gate("G6", name, r, n_test, figures)
    if g.status == "fail":
        g = g.model_copy(
            update={
                "reason": f"{r.reason}; it may be approved only with majority-of-{s.k} aggregation: "
                f"validate again with --samples {s.k}"
            }
        )
    return g


def _floor(x: float, digits: int = 3) -> str:
    return f"{math.floor(x * 10**digits + 1e-9) / 10**digits:.{digits}f}"


def _ceil(x: float, digits: int = 3) -> str:
    return f"{math.ceil(x * 10**digits - 1e-9) / 10**digits:.{digits}f}"


def _bound(label: str, est: dict[str, Any], *, upper: bool, need: str, abs_: bool = False) -> str | None:
    """One line of what the labels establish: ``label ≥ lo`` (or ``≤ hi``) with the level and n."""
    lo, hi = est.get("lo"), est.get("hi")
    level = f"{est.get('confidence', 0.95):.0%}"
    n = est.get("n", 0)
    if abs_:
        if lo is None or hi is None:
            return None
        return f"|{label}| ≤ {_ceil(max(abs(lo), abs(hi)))} ({level} interval, n {n}; {need})"
    if upper:
        return None if hi is None else f"{label} ≤ {_ceil(hi)} ({level} upper bound, n {n}; {need})"
    return None if lo is None else f"{label} ≥ {_floor(lo)} ({level} lower bound, n {n}; {need})"


def _established(policy: Policy, gates: list[GateResult], probes: ProbeReport | None) -> list[str]:
    """What the labels establish now: the bound each gate's interval reaches, in the direction
    approval needs."""
    by = {g.gate: g for g in gates}
    lines: list[str] = []
    data = by["data"].figures
    per_class = data.get("per_class") or {}
    classes = f" ({', '.join(f'{k} {v}' for k, v in per_class.items())})" if per_class else ""
    lines.append(
        f"{data.get('test_items', 0)} test items with a human majority{classes}, "
        f"{data.get('ceiling_items', 0)} labelled by ≥ {policy.data.ceiling_annotators} people"
    )
    alpha = by["G0"].figures.get("alpha")
    if alpha:
        line = _bound("human–human α", alpha, upper=False, need=f"policy: point ≥ {policy.ceiling.min_alpha}")
        if line:
            lines.append(line)
    rate = by["G1"].figures.get("invalid_rate")
    if rate:
        line = _bound(
            "invalid-verdict rate",
            rate,
            upper=True,
            need=f"approval needs ≤ {policy.validity.max_invalid_upper}",
        )
        if line:
            lines.append(line)
    g2 = by["G2"].figures
    if g2.get("estimate"):
        line = _bound(
            g2["metric"],
            g2["estimate"],
            upper=False,
            need=f"approval needs ≥ {policy.agreement.approve_lower}",
        )
        if line:
            lines.append(line)
    g3 = by["G3"].figures
    for key, label in (("tpr", "TPR"), ("tnr", "TNR")):
        if g3.get(key):
            line = _bound(
                label, g3[key], upper=False, need=f"approval needs ≥ {policy.class_errors.min_lower}"
            )
            if line:
                lines.append(line)
    for r in probes.results if probes else []:
        if not r.gated and r.probe != "resample_consistency":
            continue
        for t in r.tests:
            if not t.gated:
                continue
            est = t.estimate.model_dump(mode="python")
            need = f"tolerance {t.tolerance}"
            line = _bound(
                f"{r.probe}: {t.name}", est, upper=t.direction == "max", need=need, abs_=t.direction == "abs"
            )
            if line:
                lines.append(line)
    return lines


def _per_class_needed(policy: Policy, report: CalibrationReport, extra_test: int) -> dict[str, int]:
    """New labelled gold items per human class (dev and test) for a test split of
    ``n_test + extra_test`` items at the current class shares (binary: each at least the policy's
    per-class minimum)."""
    n_test = report.counts.get("with_majority", 0)
    block = report.agreement["invalid_as_disagreement"]
    counts = {
        str(label): int(sum(block.confusion[i]))
        for i, label in enumerate(block.confusion_labels)
        if label in report.labels
    }
    target = n_test + extra_test
    out: dict[str, int] = {}
    for label, count in counts.items():
        share = count / n_test if n_test else 1.0 / max(1, len(counts))
        want = math.ceil(share * target - 1e-9)
        if report.scale == "binary":
            want = max(want, policy.data.min_per_class)
        out[label] = math.ceil(max(0, want - count) / (1.0 - DEV_FRACTION))
    return out


def decide(
    policy: Policy,
    report: CalibrationReport,
    probes: ProbeReport | None,
    judge: JudgeConfig | None = None,
) -> Decision:
    """Apply the policy's gates to a test-split calibration report and the probe results."""
    n_test = report.counts.get("with_majority", 0)
    gates = [_data_gate(policy, report), _g0(policy, report), _g1(policy, report), _g2(policy, report)]
    gates.append(_g3(policy, report))
    probe_gates, reject_probe = _g5(policy, probes, n_test)
    gates.extend(probe_gates)
    gates.append(_g6(policy, probes, judge, n_test))
    by = {g.gate: g for g in gates}
    data, g2, g3 = by["data"], by["G2"], by["G3"]
    j = g3.figures.get("youden_j")
    correctable = (
        g3.status == "fail"
        and g2.status in ("pass", "provisional")
        and j is not None
        and j >= policy.class_errors.min_j_for_correction
    )
    failed = [g for g in gates if g.status == "fail" and not (g.gate == "G3" and correctable)]
    inconclusive = [g for g in gates if g.status == "inconclusive"]
    # provisional: only the data requirements are short, and on the points the judge would be approved
    points_meet = all(g.meets_on_points is not False for g in gates if g.gate != "data")
    enough_for_provisional = n_test >= policy.data.provisional_min_test_items
    tier: Tier
    if failed or reject_probe:
        tier = "rejected"
    elif data.status == "inconclusive" and points_meet and enough_for_provisional:
        tier = "provisional"
    elif inconclusive:
        tier = "inconclusive"
    elif g2.status == "provisional" or correctable:
        tier = "approved_with_correction"
    else:
        tier = "approved"
    no_correction = tier == "approved_with_correction" and report.corrected_pass_rate is None
    if no_correction:
        # the correction (Rogan–Gladen) needs pass/fail verdicts: a pairwise judge, or an ordinal
        # one without a pass threshold, has no corrected rate to publish
        tier = "rejected"
    shown = gates if tier == "approved" else [g for g in gates if g.status not in ("pass", "skipped")]
    reasons = [f"{g.gate} {g.status} ({g.name}): {g.reason}" for g in shown]
    if probes is not None and probes.not_run:
        reasons.append(f"bias probes and resample stability not run: {probes.not_run}")
    if no_correction:
        reasons.append(
            f"approval with correction needs pass/fail verdicts to correct ({report.scale} rubric without a "
            "pass threshold): a provisional agreement is not enough"
        )
    if correctable and tier != "rejected":
        reasons.append(
            f"G3 holds only as Youden's J {_f(j)} ≥ {policy.class_errors.min_j_for_correction}: "
            "corrected pass rates"
        )
    if tier == "provisional":
        reasons.insert(
            0,
            f"PROVISIONAL, not approved: {n_test} test items are fewer than the policy's data requirements "
            "(see the data gate); no gate fails and every point estimate meets the approval thresholds. "
            "The bounds below are what these labels establish; graders use this judge only when the "
            "caller opts in (allow_provisional), and every verdict then says so",
        )
    elif data.status == "inconclusive" and points_meet and not enough_for_provisional and not failed:
        reasons.append(
            f"{n_test} test items are fewer than data.provisional_min_test_items "
            f"({policy.data.provisional_min_test_items}): too few for even a provisional decision"
        )
    labels_needed = None
    per_class: dict[str, int] = {}
    if tier in ("inconclusive", "provisional"):
        sized = [g.test_items_needed for g in inconclusive if g.test_items_needed is not None]
        if sized:
            labels_needed = math.ceil(max(sized) / (1.0 - DEV_FRACTION))
            per_class = _per_class_needed(policy, report, max(sized))
        unsized = [
            g.gate if g.gate not in ("G5",) else g.name for g in inconclusive if g.test_items_needed is None
        ]
        if unsized:
            reasons.append(
                f"not sized from the current figures (their point estimates miss a threshold, or they have "
                f"no interval to scale): {', '.join(unsized)}"
                + (
                    f" — the estimate of {labels_needed} more labelled items covers the others"
                    if sized
                    else ""
                )
            )
    obligations = []
    if tier == "approved_with_correction":
        obligations = [
            "publish only pass rates corrected with the judge's TPR/TNR (Rogan–Gladen, Lee et al. interval)",
            f"send {policy.correction.audit_fraction:.0%} of production items to a human audit",
        ]
    return Decision(
        tier=tier,
        reasons=reasons,
        gates=gates,
        labels_needed=labels_needed,
        obligations=obligations,
        established=_established(policy, gates, probes),
        labels_needed_per_class=per_class,
    )
