"""The approval gate: a calibration report and the probe results, read against a policy.

Gates (METHODS.md Part 3, §3.0–3.2), each ending ``pass``, ``provisional`` (G2 only),
``inconclusive`` (the point estimate meets the threshold but its interval does not, or there is
too little data to say), ``fail`` or ``skipped`` (does not apply):

- ``data`` — §3.0: test items, items per class (binary), items with ≥ 3 annotators.
- ``G0`` — human–human Krippendorff's α ≥ 0.667; below it no judge can be approved.
- ``G1`` — invalid-verdict rate ≤ 1% with Wilson upper bound ≤ 3%.
- ``G2`` — κ (quadratic-weighted for ordinal) with invalid verdicts as disagreements: approve at
  point ≥ 0.80 and lower bound ≥ 0.667, provisional at point ≥ 0.667; or, when the human ceiling
  is below 0.80, the alternative annotator test (G2b).
- ``G3`` — binary: TPR and TNR ≥ 0.85 with Wilson lower bounds ≥ 0.75.
- ``G5`` — every gated probe passes; a failed injection probe rejects outright.
- ``G6`` — resample consistency (α ≥ 0.80 or modal agreement ≥ 0.90), unless the judge already
  takes the majority of ≥ k samples.

Tiers (§3.2): **rejected** when any gate fails (G3 may instead send the judge to *approved with
correction*); otherwise **inconclusive** when any gate is inconclusive — with an estimate of how
many more labelled items would likely decide it; otherwise **approved with correction** when G2
is only provisional or G3 holds only as Youden's J ≥ 0.6; otherwise **approved**.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgecal.approval.policy import Policy
from judgecal.calibrate.report import CalibrationReport
from judgecal.gold import DEV_FRACTION
from judgecal.judge import JudgeConfig
from judgecal.probes.base import ProbeReport, ProbeResult

__all__ = ["Decision", "GateResult", "Tier", "decide"]

Tier = Literal["approved", "approved_with_correction", "inconclusive", "rejected"]
Status = Literal["pass", "provisional", "inconclusive", "fail", "skipped"]


class GateResult(BaseModel):
    """One gate's outcome, with the figures behind it."""

    model_config = ConfigDict(extra="forbid")

    gate: str
    """``data``, ``G0`` … ``G6``."""
    name: str
    """What the gate checks, in words."""
    status: Status
    """pass, provisional (G2), inconclusive, fail, or skipped (does not apply)."""
    reason: str
    """One sentence with the figures and thresholds."""
    figures: dict[str, Any] = Field(default_factory=dict)
    """The figures the gate read (points, bounds, n) and its thresholds."""
    test_items_needed: int | None = None
    """For an inconclusive gate: test-split items that would likely decide it (None: unknown)."""


class Decision(BaseModel):
    """The gate's decision: a tier, every reason, and what would settle an inconclusive one."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    """approved, approved_with_correction, inconclusive or rejected."""
    reasons: list[str]
    """Why: one line per gate that did not simply pass (all gates when approved)."""
    gates: list[GateResult]
    """Every gate in order."""
    labels_needed: int | None = None
    """Inconclusive: about how many more human-labelled gold items (dev and test together, at the
    70/30 split) would likely decide it; None otherwise or when it cannot be estimated."""
    obligations: list[str] = Field(default_factory=list)
    """What an approval with correction obliges (publish corrected rates only, human audit)."""

    @property
    def approved(self) -> bool:
        """True for both approved tiers."""
        return self.tier in ("approved", "approved_with_correction")


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
            name="enough labelled test data (§3.0)",
            status="inconclusive",
            reason="too little labelled data to approve: " + "; ".join(shortfalls),
            figures=figures,
            test_items_needed=needed,
        )
    return GateResult(
        gate="data",
        name="enough labelled test data (§3.0)",
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
        )
    alpha = _est(human["alpha"])
    figures = {"alpha": alpha, "min_alpha": policy.ceiling.min_alpha}
    v = alpha["value"]
    if math.isnan(v):
        return GateResult(
            gate="G0",
            name=name,
            status="inconclusive",
            reason="human–human α is undefined on the test split (too few multi-labelled items)",
            figures=figures,
            test_items_needed=policy.data.min_ceiling_items,
        )
    ok = v >= policy.ceiling.min_alpha
    reason = (
        f"human–human α {_f(v)} (95% CI {_f(alpha['lo'])}–{_f(alpha['hi'])}, n {alpha['n']}) "
        f"{'≥' if ok else '<'} {policy.ceiling.min_alpha}"
    )
    if not ok:
        reason += ": the humans do not agree well enough for any judge to be approved — fix the rubric first"
    return GateResult(gate="G0", name=name, status="pass" if ok else "fail", reason=reason, figures=figures)


def _g1(policy: Policy, report: CalibrationReport) -> GateResult:
    name = "output validity: invalid-verdict rate"
    r = _est(report.invalid_rate)
    v = policy.validity
    figures = {"invalid_rate": r, "max_rate": v.max_invalid_rate, "max_upper": v.max_invalid_upper}
    if r["n"] == 0:
        return GateResult(gate="G1", name=name, status="inconclusive", reason="no verdicts", figures=figures)
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
        )
    if r["hi"] is not None and r["hi"] > v.max_invalid_upper:
        scale = _scale_needed(r["value"], r["hi"], v.max_invalid_upper, r["n"], upper=True)
        return GateResult(
            gate="G1",
            name=name,
            status="inconclusive",
            reason=text + ": the rate is low but n is too small to bound it",
            figures=figures,
            test_items_needed=_needed_from_scale(scale, report.counts.get("with_majority", 0)),
        )
    return GateResult(gate="G1", name=name, status="pass", reason=text, figures=figures)


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
        return GateResult(gate="G2", name=name, status="inconclusive", reason=text, figures=figures)
    if v >= a.approve and lo is not None and lo >= a.approve_lower:
        return GateResult(gate="G2", name=name, status="pass", reason=text + ": G2a approve", figures=figures)
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
        )
    if v >= a.provisional:
        return GateResult(
            gate="G2", name=name, status="provisional", reason=text + ": provisional", figures=figures
        )
    if est["hi"] is not None and est["hi"] >= a.provisional:
        return GateResult(
            gate="G2",
            name=name,
            status="inconclusive",
            reason=text + f": below {a.provisional}, but the interval still reaches it",
            figures=figures,
        )
    return GateResult(gate="G2", name=name, status="fail", reason=text, figures=figures)


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
        )
    weak = [(e, lab) for e, _, lab in points if e["lo"] is None or e["lo"] < c.min_lower]
    if weak:
        scales = [_scale_needed(e["value"], e["lo"], c.min_lower, e["n"], upper=False) for e, _ in weak]
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
        )
    return GateResult(gate="G3", name=name, status="pass", reason=text, figures=figures)


def _probe_needed(result: ProbeResult, n_test: int) -> int | None:
    est = result.estimate
    if est is None:
        return None
    for key, limit in result.threshold.items():
        if key.endswith("_upper"):
            bound = result.details.get("worst_upper_bound", est.hi)
            return _needed_from_scale(_scale_needed(est.value, bound, limit, est.n, upper=True), n_test)
        if key.endswith("_lower"):
            return _needed_from_scale(_scale_needed(est.value, est.lo, limit, est.n, upper=False), n_test)
    return None


def _significant(r: ProbeResult) -> bool:
    """Whether a failed probe's headline interval lies wholly on the wrong side of its limit
    (``max_…``: |value| ≤ limit is the acceptable region; ``min_…``: value ≥ limit). A probe that
    names no headline limit, or has no interval, keeps its own verdict."""
    est, key = r.estimate, r.headline_limit
    if est is None or key is None or key not in r.threshold or est.lo is None or est.hi is None:
        return True
    limit = r.threshold[key]
    if key.startswith("min"):
        return est.hi < limit
    return est.lo > limit or est.hi < -limit


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
                GateResult(gate="G5", name=title, status="inconclusive", reason=f"probe {name} was not run")
            )
            continue
        figures = {
            "estimate": None if r.estimate is None else r.estimate.model_dump(mode="json"),
            "threshold": r.threshold,
            "n": r.n,
            "statistic": r.statistic,
        }
        if not r.applicable:
            out.append(
                GateResult(
                    gate="G5",
                    name=title,
                    status="skipped",
                    reason=f"not applicable: {r.reason}",
                    figures=figures,
                )
            )
        elif r.passed is True:
            out.append(GateResult(gate="G5", name=title, status="pass", reason=r.reason, figures=figures))
        elif r.passed is False and not r.inconclusive and _significant(r):
            out.append(GateResult(gate="G5", name=title, status="fail", reason=r.reason, figures=figures))
            reject = reject or name in policy.probes.reject_on
        elif r.passed is False and not r.inconclusive:
            limit = r.threshold[r.headline_limit or ""]
            out.append(
                GateResult(
                    gate="G5",
                    name=title,
                    status="inconclusive",
                    reason=f"{r.reason} — but the interval of the headline figure still includes the "
                    f"limit {limit}: not a significant bias; more cases could decide it",
                    figures=figures,
                )
            )
        else:
            why = (
                "only its interval bounds miss the thresholds"
                if r.passed is False
                else "its statistic is undefined"
            )
            out.append(
                GateResult(
                    gate="G5",
                    name=title,
                    status="inconclusive",
                    reason=f"{r.reason} — {why}: more cases could decide it",
                    figures=figures,
                    test_items_needed=_probe_needed(r, n_test),
                )
            )
    return out, reject


def _g6(policy: Policy, probes: ProbeReport | None, judge: JudgeConfig | None) -> GateResult:
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
        )
    r = {x.probe: x for x in probes.results}.get("resample_consistency") if probes else None
    if r is None and probes is not None and probes.not_run:
        return GateResult(gate="G6", name=name, status="skipped", reason=f"not measured: {probes.not_run}")
    if r is None:
        return GateResult(
            gate="G6", name=name, status="inconclusive", reason="resample consistency was not measured"
        )
    figures = {
        "estimate": None if r.estimate is None else r.estimate.model_dump(mode="json"),
        "details": {
            k: r.details.get(k)
            for k in ("alpha", "modal_agreement", "flip_rate", "temperature")
            if k in r.details
        },
    }
    if r.passed:
        return GateResult(gate="G6", name=name, status="pass", reason=r.reason, figures=figures)
    if r.passed is False and not r.inconclusive:
        return GateResult(
            gate="G6",
            name=name,
            status="fail",
            reason=(
                f"{r.reason}; it may be approved only with majority-of-{s.k} aggregation: "
                f"validate again with --samples {s.k}"
            ),
            figures=figures,
        )
    return GateResult(gate="G6", name=name, status="inconclusive", reason=r.reason, figures=figures)


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
    gates.append(_g6(policy, probes, judge))
    by = {g.gate: g for g in gates}
    g2, g3 = by["G2"], by["G3"]
    j = g3.figures.get("youden_j")
    correctable = (
        g3.status == "fail"
        and g2.status in ("pass", "provisional")
        and j is not None
        and j >= policy.class_errors.min_j_for_correction
    )
    failed = [g for g in gates if g.status == "fail" and not (g.gate == "G3" and correctable)]
    inconclusive = [g for g in gates if g.status == "inconclusive"]
    tier: Tier
    if failed or reject_probe:
        tier = "rejected"
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
    labels_needed = None
    if tier == "inconclusive":
        sized = [g.test_items_needed for g in inconclusive if g.test_items_needed is not None]
        if sized:
            labels_needed = math.ceil(max(sized) / (1.0 - DEV_FRACTION))
        unsized = [g.gate if g.gate != "G5" else g.name for g in inconclusive if g.test_items_needed is None]
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
        tier=tier, reasons=reasons, gates=gates, labels_needed=labels_needed, obligations=obligations
    )
