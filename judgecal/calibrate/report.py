"""The calibration report: judge verdicts against human gold labels, every figure with its n and
an interval.

One orchestrator turns verdicts and gold labels into arrays and calls the pure statistics of
``agreement``, ``intervals``, ``ceiling``, ``correction`` and ``scores``. Conventions
(``docs/statistics.md``):

- Approval figures come from the **test** split; the dev split is for prompt work. The report
  says how many rubric/prompt versions have been run against the dev split of the gold set.
- The gold label of an item is its annotators' majority; items without one are left out (counted).
- An **invalid** verdict (the judge answered unusably) is its own outcome with a Wilson interval;
  agreement is shown twice, **counting invalid verdicts as disagreements** (the judge's label is
  the extra category ``invalid``) and **excluding them**. Units whose call failed (no answer after
  retries) are not verdicts: they are counted and left out of both.
- Intervals: percentile bootstrap over items (clustered by ``metadata.prompt_id`` when items share a
  prompt), 2,000 resamples, seeded; Wilson intervals for rates.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judgecal.calibrate import agreement as ag
from judgecal.calibrate.intervals import Estimate, bootstrap_confusion_stats, wilson

__all__ = [
    "AgreementBlock",
    "CalibrationInput",
    "CalibrationReport",
    "ItemRecord",
    "SliceRow",
    "build_report",
]

Label = str | int
INVALID = "invalid"
"""The judge-side category an invalid verdict becomes when counted as a disagreement."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class ItemRecord:
    """One gold item with the judge's aggregated verdict."""

    id: str
    humans: dict[str, Label]
    judge: Label | None
    judge_status: Literal["ok", "invalid", "error", "skipped"]
    split: Literal["dev", "test"]
    slice: str | None = None
    cluster: str | None = None
    score: float | None = None
    """A continuous judge signal for score calibration (ordinal mean score, share of pass votes)."""
    adjudicated: Label | None = None
    """An adjudicator's label (``metadata.adjudicated_label``): settles a tie, never an annotator."""

    @cached_property
    def gold(self) -> Label | None:
        """The annotators' majority; when the top labels tie, the adjudicated label (None without
        one, or without labels)."""
        if not self.humans:
            return None
        counts = Counter(self.humans.values()).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            return (
                self.adjudicated if self.adjudicated in {c for c, n in counts if n == counts[0][1]} else None
            )
        return counts[0][0]


@dataclass
class CalibrationInput:
    """Everything the report needs, whatever the source (a stored run or imported verdicts)."""

    scale: Literal["binary", "ordinal", "pairwise"]
    labels: list[Label]
    items: list[ItemRecord]
    judge_name: str
    source: str
    rubric: str | None = None
    run_id: str | None = None
    gold_hash: str | None = None
    dev_versions: int | None = None
    pass_threshold: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class AgreementBlock(_Model):
    """Judge-vs-human-majority agreement on one set of items, under one invalid-verdict rule."""

    treatment: Literal["invalid_as_disagreement", "invalid_excluded"]
    """How invalid verdicts were handled for these figures."""
    n: int
    """Items in these figures."""
    percent_agreement: Estimate
    """Share of items where the judge's verdict equals the human majority."""
    cohen_kappa: Estimate
    """Cohen's κ (unweighted)."""
    scott_pi: Estimate
    """Scott's π (pooled marginals: penalises a judge whose pass rate differs from the humans')."""
    gwet_ac1: Estimate
    """Gwet's AC1 (robust to the prevalence paradox; lenient toward lenient judges)."""
    weighted_kappa: dict[str, Estimate] = Field(default_factory=dict)
    """Ordinal: κ with ``linear`` and ``quadratic`` weights."""
    correlations: dict[str, float] = Field(default_factory=dict)
    """Ordinal: Spearman, Kendall τ-b, Pearson between judge and majority scores (point values)."""
    mae: float | None = None
    """Ordinal: mean absolute error between judge and majority score."""
    confusion: list[list[int]]
    """Rows: human majority; columns: judge; order as ``confusion_labels``."""
    confusion_labels: list[str]
    """Row and column labels (square matrix); ``invalid`` is added as the last label when a
    verdict was invalid (its row, for humans, is all zeros)."""
    per_class: dict[str, dict[str, float]]
    """Per human class: precision, recall, f1, support."""
    macro: dict[str, float]
    """Macro precision, recall and F1."""
    tpr: Estimate | None = None
    """Binary: P(judge pass | human pass), Wilson interval."""
    tnr: Estimate | None = None
    """Binary: P(judge fail | human fail), Wilson interval."""
    youden_j: float | None = None
    """Binary: TPR + TNR − 1."""
    mt_bench: dict[str, Estimate] = Field(default_factory=dict)
    """Pairwise: MT-Bench agreement with ties (S1) and without ties (S2)."""


class SliceRow(_Model):
    """Agreement within one metadata slice."""

    slice: str
    """The slice's name (``metadata.slice``)."""
    n: int
    """Items of the slice in these figures."""
    percent_agreement: Estimate
    """Agreement with the human majority (invalid counted as disagreement), Wilson interval."""
    cohen_kappa: float | None
    """Point κ (None when the slice is below the minimum n)."""
    p_value: float | None
    """Fisher exact test of this slice's agreement against the other items (two-sided)."""
    p_adjusted: float | None
    """Holm-adjusted over the slices that were tested."""
    flagged: bool
    """Agreement significantly lower than elsewhere after adjustment."""
    reported: bool
    """False when n < the minimum: the figures are shown, not tested."""


class CalibrationReport(_Model):
    """The calibration report (JSON-serialisable)."""

    judge: str
    """The judge (model string or imported judge name)."""
    source: str
    """Where the verdicts came from (``run <id>`` or an imported file)."""
    rubric: str | None
    """The rubric's name."""
    scale: str
    """binary, ordinal or pairwise."""
    labels: list[str]
    """The scale's labels."""
    split: str
    """Which split these figures are for (approval uses ``test``)."""
    confidence: float
    """Confidence level of every interval."""
    n_resamples: int
    """Bootstrap resamples."""
    seed: int
    """Bootstrap seed."""
    counts: dict[str, int]
    """Items in the split; with a human majority; without one; judge ok/invalid/error/skipped."""
    dev_versions: int | None
    """Distinct rubric/prompt versions run against the dev split of this gold set so far."""
    invalid_rate: Estimate
    """Share of judged items whose verdict was invalid (Wilson interval)."""
    invalid_reasons: dict[str, int]
    """Invalid verdicts by reason, where known."""
    agreement: dict[str, AgreementBlock]
    """``invalid_as_disagreement`` and ``invalid_excluded``."""
    ceiling: dict[str, Any] | None
    """Human–human agreement, leave-one-annotator-out and the alternative annotator test."""
    corrected_pass_rate: dict[str, Any] | None
    """Binary/ordinal: the judge's pass rate corrected with its TPR/TNR (Rogan–Gladen)."""
    score_calibration: dict[str, Any] | None
    """Isotonic map fitted on dev, evaluated on test (ECE, Brier, reliability data)."""
    slices: list[SliceRow]
    """Agreement per ``metadata.slice``."""
    notes: list[str]
    """What was skipped and why."""


def _str(label: object) -> str:
    return str(label)


def _cm_labels(labels: Sequence[Label], with_invalid: bool) -> list[Label]:
    return [*labels, INVALID] if with_invalid else list(labels)


def _farthest(label: Label, labels: Sequence[Label]) -> Label:
    """The scale label farthest from ``label``: an invalid ordinal verdict as a full miss."""
    i = list(labels).index(label)
    return labels[0] if i >= (len(labels) - 1) / 2 else labels[-1]


def _agreement_block(
    items: list[ItemRecord],
    inp: CalibrationInput,
    treatment: Literal["invalid_as_disagreement", "invalid_excluded"],
    *,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> AgreementBlock:
    with_invalid = treatment == "invalid_as_disagreement"
    rows = [it for it in items if it.judge_status == "ok" or (with_invalid and it.judge_status == "invalid")]
    human: list[Label] = [it.gold for it in rows]  # type: ignore[misc]  # rows all have a gold label
    judge: list[Label] = [it.judge if it.judge_status == "ok" else INVALID for it in rows]  # type: ignore[misc]
    # the extra judge category only when there is an invalid verdict: AC1 depends on the number of
    # categories, so an unused "invalid" column would change it
    labels = _cm_labels(inp.labels, with_invalid and INVALID in judge)
    clusters = [it.cluster or it.id for it in rows] if any(it.cluster for it in rows) else None
    stats: dict[str, Any] = {
        "percent_agreement": ag.agreement_from_confusion,
        "cohen_kappa": ag.kappa_from_confusion,
        "scott_pi": ag.pi_from_confusion,
        "gwet_ac1": ag.ac1_from_confusion,
    }
    estimates = ag_boot(human, judge, stats, labels, clusters, n_resamples, confidence, seed)
    cm = ag.confusion_matrix(human, judge, labels=labels) if rows else np.zeros((len(labels),) * 2, dtype=int)
    # macro averages over the gold classes: a judge-only category (``tie`` of order-inconsistent
    # pairs on a scale without ties) has no gold item and no recall
    gold_classes = [lab for lab in inp.labels if lab in set(human)] or inp.labels
    prf = ag.precision_recall_f1(human, judge, labels=labels, macro_labels=gold_classes)
    block: dict[str, Any] = {
        "treatment": treatment,
        "n": len(rows),
        **estimates,
        "confusion": cm.tolist(),
        "confusion_labels": [_str(x) for x in labels],
        "per_class": {
            _str(lab): {
                "precision": prf.precision[lab],
                "recall": prf.recall[lab],
                "f1": prf.f1[lab],
                "support": float(prf.support[lab]),
            }
            for lab in inp.labels
        },
        "macro": {"precision": prf.macro_precision, "recall": prf.macro_recall, "f1": prf.macro_f1},
    }
    if inp.scale == "ordinal":
        # weighted κ needs ordered categories: an invalid verdict becomes the farthest score (a full miss)
        scored = [j if j != INVALID else _farthest(h, inp.labels) for h, j in zip(human, judge, strict=True)]
        weighted = {w: lambda c, w=w: ag.kappa_from_confusion(c, weights=w) for w in ("linear", "quadratic")}
        block["weighted_kappa"] = ag_boot(
            human, scored, weighted, inp.labels, clusters, n_resamples, confidence, seed
        )
        ok = [(float(h), float(j)) for h, j in zip(human, judge, strict=True) if j != INVALID]
        if len(ok) >= 2:
            hs, js = [h for h, _ in ok], [j for _, j in ok]
            block["correlations"] = {
                "spearman": ag.spearman(hs, js),
                "kendall_tau_b": ag.kendall_tau_b(hs, js),
                "pearson": ag.pearson(hs, js),
            }
            block["mae"] = ag.mean_absolute_error(hs, js)
    if inp.scale == "binary":
        pos = [it for it in rows if it.gold == "pass"]
        neg = [it for it in rows if it.gold == "fail"]
        k_tp = sum(1 for it in pos if it.judge_status == "ok" and it.judge == "pass")
        k_tn = sum(1 for it in neg if it.judge_status == "ok" and it.judge == "fail")
        tpr = wilson(k_tp, len(pos), confidence=confidence)
        tnr = wilson(k_tn, len(neg), confidence=confidence)
        block["tpr"], block["tnr"] = tpr, tnr
        j = tpr.value + tnr.value - 1
        block["youden_j"] = None if math.isnan(j) else j
    if inp.scale == "pairwise":
        block["mt_bench"] = {}
        for setup, key in (("with_ties", "s1_with_ties"), ("without_ties", "s2_without_ties")):
            value, n = ag.pairwise_agreement(judge, human, tie="tie", setup=setup)  # type: ignore[arg-type]
            block["mt_bench"][key] = wilson(round(value * n) if n else 0, n, confidence=confidence)
    return AgreementBlock.model_validate(block)


def ag_boot(
    human: list[Label],
    judge: list[Label],
    stats: dict[str, Any],
    labels: Sequence[Label],
    clusters: list[str] | None,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict[str, Estimate]:
    """Bootstrap several confusion-matrix statistics on one shared set of resamples."""
    if not human:
        return {name: Estimate(value=math.nan, lo=None, hi=None, n=0, method="none") for name in stats}
    return bootstrap_confusion_stats(
        human,
        judge,
        stats,
        labels=labels,
        clusters=clusters,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (family-wise error control)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def slice_table(
    items: list[ItemRecord],
    inp: CalibrationInput,
    *,
    min_n: int = 10,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> list[SliceRow]:
    """Agreement per ``metadata.slice``; slices with n >= ``min_n`` are tested against the rest
    (Fisher exact, two-sided) with Holm's correction, and flagged when significantly worse."""
    from scipy.stats import fisher_exact  # noqa: PLC0415

    rows = [it for it in items if it.judge_status in ("ok", "invalid")]
    names = sorted({it.slice for it in rows if it.slice is not None})
    agree = {it.id: it.judge_status == "ok" and it.judge == it.gold for it in rows}
    out: list[dict[str, Any]] = []
    tested: list[int] = []
    p_values: list[float] = []
    for name in names:
        inside = [it for it in rows if it.slice == name]
        outside = [it for it in rows if it.slice != name]
        k = sum(agree[it.id] for it in inside)
        row: dict[str, Any] = {
            "slice": name,
            "n": len(inside),
            "percent_agreement": wilson(k, len(inside), confidence=confidence),
            "cohen_kappa": None,
            "p_value": None,
            "p_adjusted": None,
            "flagged": False,
            "reported": len(inside) >= min_n,
        }
        if len(inside) >= min_n and outside:
            judge = [it.judge if it.judge_status == "ok" else INVALID for it in inside]
            kappa = ag.cohen_kappa(
                [it.gold for it in inside], judge, labels=_cm_labels(inp.labels, INVALID in judge)
            )
            row["cohen_kappa"] = None if math.isnan(kappa) else kappa
            k_out = sum(agree[it.id] for it in outside)
            table = [[k, len(inside) - k], [k_out, len(outside) - k_out]]
            row["p_value"] = float(fisher_exact(table).pvalue)
            tested.append(len(out))
            p_values.append(row["p_value"])
        out.append(row)
    for i, p_adj in zip(tested, _holm(p_values), strict=True):
        row = out[i]
        row["p_adjusted"] = p_adj
        inside_rate = row["percent_agreement"].value
        rest = [it for it in rows if it.slice != row["slice"]]
        rest_rate = sum(agree[it.id] for it in rest) / len(rest)
        row["flagged"] = p_adj < alpha and inside_rate < rest_rate
    return [SliceRow.model_validate(r) for r in out]


def _ceiling(
    items: list[ItemRecord],
    inp: CalibrationInput,
    judged: dict[str, Label | None],
    *,
    epsilon: float,
    n_resamples: int,
    seed: int,
    confidence: float,
    notes: list[str],
) -> dict[str, Any] | None:
    from judgecal.calibrate import ceiling  # noqa: PLC0415

    multi = {it.id: dict(it.humans) for it in items if len(it.humans) >= 2}
    if not multi:
        notes.append(
            "human ceiling: no item has two or more annotators, so there is no human-human agreement"
        )
        return None
    level: Literal["ordinal", "nominal"] = "ordinal" if inp.scale == "ordinal" else "nominal"
    clusters = {it.id: it.cluster or it.id for it in items} if any(it.cluster for it in items) else None
    human = ceiling.human_agreement(
        multi,
        scale_labels=inp.labels,
        level=level,
        clusters=clusters,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )
    judge_on_multi = {k: v for k, v in judged.items() if k in multi}
    loo = ceiling.leave_one_out(
        multi,
        judge_on_multi,
        scale_labels=inp.labels,
        level=level,
        invalid="disagree",
        clusters=clusters,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
    )
    alt = ceiling.alt_test(
        multi, judge_on_multi, epsilon=epsilon, scoring="neg_rmse" if inp.scale == "ordinal" else "accuracy"
    )
    return {
        "human_agreement": human.model_dump(mode="json"),
        "leave_one_out": loo.model_dump(mode="json"),
        "alt_test": alt.model_dump(mode="json"),
    }


def _corrected(
    rows: list[ItemRecord],
    inp: CalibrationInput,
    *,
    confidence: float,
    n_resamples: int,
    seed: int,
    notes: list[str],
) -> dict[str, Any] | None:
    from judgecal.calibrate.correction import corrected_pass_rate  # noqa: PLC0415

    if inp.scale == "pairwise":
        return None

    def passed(label: Label | None) -> bool:
        if inp.scale == "binary":
            return label == "pass"
        return label is not None and inp.pass_threshold is not None and int(label) >= inp.pass_threshold

    if inp.scale == "ordinal" and inp.pass_threshold is None:
        notes.append("corrected pass rate: the ordinal scale has no pass threshold")
        return None
    # Rogan–Gladen models a judge that says pass or fail: it is applied to the valid verdicts
    # (invalid ones are the invalid-verdict rate's business, reported beside it)
    rows = [it for it in rows if it.judge_status == "ok"]
    judge_pass = [passed(it.judge) for it in rows]
    human_pass = [passed(it.gold) for it in rows]
    tp = sum(j and h for j, h in zip(judge_pass, human_pass, strict=True))
    fn = sum((not j) and h for j, h in zip(judge_pass, human_pass, strict=True))
    tn = sum((not j) and (not h) for j, h in zip(judge_pass, human_pass, strict=True))
    fp = sum(j and (not h) for j, h in zip(judge_pass, human_pass, strict=True))
    result = corrected_pass_rate(
        sum(judge_pass),
        len(rows),
        tp,
        fn,
        tn,
        fp,
        confidence=confidence,
        method="lee",
        n_resamples=n_resamples,
        seed=seed,
    )
    out = result.model_dump(mode="json")
    out["human_pass_rate"] = wilson(sum(human_pass), len(rows), confidence=confidence).model_dump(mode="json")
    out["note"] = (
        "computed on the valid verdicts of the same labelled items that estimate TPR/TNR, so the point "
        "estimate equals the human pass rate; the interval shows what the correction costs. Apply it to "
        "an unlabelled run's pass rate for a real estimate"
    )
    return out


def _score_calibration(
    items: list[ItemRecord], inp: CalibrationInput, *, confidence: float, notes: list[str]
) -> dict[str, Any] | None:
    from judgecal.calibrate.scores import evaluate_calibration, fit_isotonic  # noqa: PLC0415

    if inp.scale == "pairwise":
        return None
    usable = [it for it in items if it.score is not None and it.gold is not None and it.judge_status == "ok"]
    dev = [it for it in usable if it.split == "dev"]
    test = [it for it in usable if it.split == "test"]
    if not usable:
        notes.append(
            "score calibration: the judge gave no continuous score (binary verdicts with one sample); "
            "grade with --samples k to calibrate the share of pass votes"
        )
        return None
    if not dev or not test:
        notes.append(
            "score calibration: needs judged items of both splits (fit on dev, evaluate on test); "
            "grade with --split all"
        )
        return None

    def human_pass(it: ItemRecord) -> int:
        if inp.scale == "binary":
            return int(it.gold == "pass")
        return int(inp.pass_threshold is not None and int(it.gold) >= inp.pass_threshold)  # type: ignore[arg-type]

    score_range = (0.0, 1.0) if inp.scale == "binary" else (float(min(inp.labels)), float(max(inp.labels)))  # type: ignore[type-var, arg-type]
    fitted = fit_isotonic(
        [float(it.score or 0.0) for it in dev], [human_pass(it) for it in dev], score_range=score_range
    )
    report = evaluate_calibration(
        fitted,
        [float(it.score or 0.0) for it in test],
        [human_pass(it) for it in test],
        confidence=confidence,
    )
    return {"map": fitted.model_dump(mode="json"), "test": report.model_dump(mode="json")}


def build_report(
    inp: CalibrationInput,
    *,
    split: Literal["dev", "test", "all"] = "test",
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    epsilon: float = 0.15,
    min_slice_n: int = 10,
) -> CalibrationReport:
    """Every figure of the calibration report for one judge on one split.

    Score calibration always fits on the dev split and evaluates on test, whatever ``split`` is.
    """
    notes: list[str] = list(inp.meta.get("notes", []))
    chosen = [it for it in inp.items if split == "all" or it.split == split]
    with_gold = [it for it in chosen if it.gold is not None]
    judged = [it for it in with_gold if it.judge_status in ("ok", "invalid")]
    status = Counter(it.judge_status for it in chosen)
    counts = {
        "items": len(chosen),
        "with_majority": len(with_gold),
        "without_majority": len(chosen) - len(with_gold) - sum(1 for it in chosen if not it.humans),
        "unlabelled": sum(1 for it in chosen if not it.humans),
        "judge_ok": status["ok"],
        "judge_invalid": status["invalid"],
        "judge_error": status["error"],
        "judge_skipped": status["skipped"],
        "order_inconsistent": int(inp.meta.get("order_inconsistent", 0)),
    }
    if counts["without_majority"]:
        notes.append(
            f"{counts['without_majority']} items have no human majority (annotators tied) and are left out"
        )
    never_ids = set(inp.meta.get("never_graded", ()))
    never = sum(1 for it in chosen if it.id in never_ids)
    if inp.meta.get("run_status") in ("interrupted", "running") or never:
        what = "was interrupted" if inp.meta.get("run_status") != "running" else "is still running"
        notes.append(
            f"the run {what} before it finished: {never} items were never graded and are left out of"
            " every figure; run the same grade command to finish it (stored answers are reused)"
        )
    if status["error"] + status["skipped"] - never > 0:
        notes.append(
            f"{status['error'] + status['skipped'] - never} items have no verdict (failed or skipped"
            " calls): left out of every figure; grade again to fill them in"
        )
    n_invalid = sum(1 for it in judged if it.judge_status == "invalid")
    blocks = {
        t: _agreement_block(judged, inp, t, n_resamples=n_resamples, seed=seed, confidence=confidence)
        for t in ("invalid_as_disagreement", "invalid_excluded")
    }
    judge_map: dict[str, Label | None] = {
        it.id: (it.judge if it.judge_status == "ok" else None)
        for it in chosen
        if it.judge_status in ("ok", "invalid")
    }
    # the ceiling uses every item of the split with two or more labels — the items where the
    # annotators split are exactly where they disagree — and the judge's verdicts where it has one
    ceiling = _ceiling(
        chosen,
        inp,
        judge_map,
        epsilon=epsilon,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        notes=notes,
    )
    corrected = _corrected(
        judged, inp, confidence=confidence, n_resamples=n_resamples, seed=seed, notes=notes
    )
    calibration = _score_calibration(inp.items, inp, confidence=confidence, notes=notes)
    if split == "dev":
        notes.append("these are dev-split figures: use them for prompt work, not for approval")
    return CalibrationReport(
        judge=inp.judge_name,
        source=inp.source,
        rubric=inp.rubric,
        scale=inp.scale,
        labels=[_str(x) for x in inp.labels],
        split=split,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        counts=counts,
        dev_versions=inp.dev_versions,
        invalid_rate=wilson(n_invalid, len(judged), confidence=confidence),
        invalid_reasons=dict(inp.meta.get("invalid_reasons", {})),
        agreement=blocks,
        ceiling=ceiling,
        corrected_pass_rate=corrected,
        score_calibration=calibration,
        slices=slice_table(judged, inp, min_n=min_slice_n, confidence=confidence),
        notes=notes,
    )
