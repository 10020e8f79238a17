"""The report object: everything the HTML, Markdown and JSON reports show, built from stored data.

A report is one of three kinds:

- ``calibration`` — a grading run (or imported verdicts): the calibration report of one judge;
- ``validation`` — an approval record: the decision, the calibration report and the probes;
- ``comparison`` — ``judgecal compare``: several judges on the same items, and every pair's answer.

It holds the library's own result objects (:class:`~judgecal.calibrate.report.CalibrationReport`,
:class:`~judgecal.approval.gate.Decision`, :class:`~judgecal.probes.base.ProbeReport`,
:class:`~judgecal.compare.Comparison`) unchanged, plus what they do not carry: the items where
the judge and the humans differ (with the judge's reason, read from the stored calls) and the
reproducibility record of each judge. The renderers only format these figures; they compute none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgecal.approval.gate import Decision
from judgecal.calibrate.intervals import Estimate
from judgecal.calibrate.report import INVALID, CalibrationInput, CalibrationReport
from judgecal.compare import Comparison
from judgecal.probes.base import ProbeReport

if TYPE_CHECKING:
    from judgecal.approval.certificate import Certificate
    from judgecal.approval.validate import ValidationResult
    from judgecal.store import Store

__all__ = [
    "SCHEMA_VERSION",
    "DisagreementRow",
    "ItemRow",
    "JudgeView",
    "Report",
    "Reproducibility",
    "from_calibration",
    "from_certificate",
    "from_comparison",
    "from_run",
    "from_validation",
    "json_schema",
]

ReportKind = Literal["calibration", "validation", "comparison"]
SCHEMA_VERSION: Literal["1"] = "1"
"""The version of the report JSON's shape (``docs/report.schema.json``); a change that renames or
removes a field, or changes its meaning, increments it."""
EXCERPT = 400
"""Characters kept of each item input and of each judge reason in a disagreement row."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, json_schema_serialization_defaults_required=True
    )


class DisagreementRow(_Model):
    """One item where the judge's verdict differs from the human majority (or is invalid)."""

    judge_name: str
    """Which judge (a comparison has several)."""
    item_id: str
    """The gold item's id."""
    slice: str | None
    """Its ``metadata.slice``."""
    judge: str
    """The judge's aggregated verdict, or ``invalid``."""
    human: str
    """The human majority."""
    humans: dict[str, str]
    """Every annotator's label."""
    reason: str | None = None
    """The judge's stated reasoning (its first 400 characters), when the call recorded one."""
    invalid_reason: str | None = None
    """Why the verdict was invalid (no JSON, truncated, refusal, ...)."""
    inputs: dict[str, str] = Field(default_factory=dict)
    """The item's inputs, each cut to its first 400 characters (empty when not available)."""


class ItemRow(_Model):
    """One item of the report's split with a human majority and an answer of the judge: the item
    browser's row (agreeing items too)."""

    item_id: str
    """The gold item's id."""
    slice: str | None
    """Its ``metadata.slice``."""
    judge: str
    """The judge's aggregated verdict, or ``invalid``."""
    human: str
    """The human majority."""
    agrees: bool
    """Whether the judge's verdict is the human majority (an invalid verdict never is)."""
    humans: dict[str, str]
    """Every annotator's label."""


class Reproducibility(_Model):
    """What it takes to reproduce (or to recognise) the figures of one judge."""

    judge: str
    """The judge's name in this report."""
    model: str
    """The model string."""
    model_version: str | None = None
    """The model the provider reported in its answers (most frequent), when it did."""
    judge_config: dict[str, Any] = Field(default_factory=dict)
    """Sampling settings, samples per item, aggregation, orders, structured output."""
    rubric: str | None = None
    """The rubric's name."""
    rubric_version: str | None = None
    """The rubric's own version string."""
    rubric_hash: str | None = None
    """SHA-256 of ``rubric.yaml`` as graded."""
    template: str | None = None
    """The prompt template file of the rubric."""
    template_hash: str | None = None
    """SHA-256 of the prompt template as graded."""
    gold: str | None = None
    """The gold set's name."""
    gold_hash: str | None = None
    """SHA-256 of the gold file."""
    split: str | None = None
    """The split graded."""
    split_hash: str | None = None
    """Hash of the dev/test assignment."""
    policy_hash: str | None = None
    """Validation: SHA-256 of the approval policy."""
    policy_path: str | None = None
    """Validation: the policy file (None: the bundled default)."""
    run_id: str | None = None
    """The grading run in the store."""
    record_id: str | None = None
    """Validation: the approval record's id."""
    expires_at: datetime | None = None
    """Validation: when the approval record expires (the policy's ``max_age``; None: never)."""
    date: datetime | None = None
    """When the run started (calibration) or the validation finished (validation)."""
    judgecal_version: str | None = None
    """The judgecal that graded (or decided)."""
    calls: int | None = None
    """Provider requests made by the run (or the whole validation, probes included)."""
    cost: float | None = None
    """USD of those requests (None when a price is unknown)."""
    verdict_cost: float | None = None
    """USD the calls behind the verdicts cost when they were made (cached ones included)."""
    latency_ms: dict[str, float | None] = Field(default_factory=dict)
    """p50/p95/p99 latency of the calls behind the verdicts, as recorded when each was made."""
    new_call_latency_ms: dict[str, float | None] | None = None
    """Validation: p50/p95/p99 of the validation's own new calls (None values: all cached)."""
    invalid_rate: Estimate
    """The invalid-verdict rate of the calibration report."""


class JudgeView(_Model):
    """One judge's figures, disagreements and reproducibility record."""

    name: str
    """The judge's name."""
    calibration: CalibrationReport
    """Its calibration report."""
    disagreements: list[DisagreementRow]
    """Every item of the report's split where it differs from the human majority or is invalid."""
    disagreements_note: str | None = None
    """Why the disagreements could not be listed, when they could not."""
    items: list[ItemRow] = Field(default_factory=list)
    """Every item of the report's split with a human majority and an answer (ok or invalid),
    agreeing or not, in gold-set order (empty when the disagreements could not be listed)."""
    reproducibility: Reproducibility
    """How the figures came about."""


class Report(_Model):
    """The report object behind ``judgecal report`` (HTML, Markdown and JSON).

    Its JSON form is described by ``docs/report.schema.json`` (``schema_version``)."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    """The version of this shape (:data:`SCHEMA_VERSION`)."""
    approved: bool | None = None
    """Whether the judge is approved: true for the ``approved`` and ``approved_with_correction``
    tiers, false for every other tier (provisional, inconclusive, rejected); null when the report
    has no decision (a grading run or a comparison: nothing was decided). Always derived from
    ``decision``; a value given is replaced."""
    kind: ReportKind
    """calibration, validation or comparison."""
    title: str
    """One line naming what was measured."""
    subject: str
    """The run id, approval record id, or the compared judges."""
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When this report was rendered."""
    judges: list[JudgeView]
    """One judge (calibration, validation) or every compared judge, the incumbent first."""
    decision: Decision | None = None
    """Validation: the gate's decision."""
    probes: ProbeReport | None = None
    """Validation: the probe results the gate read."""
    comparison: Comparison | None = None
    """Comparison: the judges side by side and every pair's answer."""

    @model_validator(mode="after")
    def _derive_approved(self) -> Report:
        self.approved = None if self.decision is None else self.decision.approved
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report JSON as written (``--format json``, ``--report-json``): the
    one shipped as ``docs/report.schema.json`` (a test checks they are the same)."""
    schema = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
    }


# --------------------------------------------------------------------------------------------
# building blocks


def _cut(text: str | None, limit: int = EXCERPT) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _call_details(store: Store, run_id: str) -> tuple[dict[str, tuple[str | None, str | None]], list[Any]]:
    """Per item: (the judge's reasoning, the invalid reason) from the run's stored calls; and
    the calls themselves."""
    details: dict[str, tuple[str | None, str | None]] = {}
    calls = []
    for ri, call in store.run_calls(run_id):
        if call is None:
            continue
        calls.append(call)
        reason, invalid = details.get(ri.item_id, (None, None))
        details[ri.item_id] = (reason or call.reasoning, invalid or call.invalid_reason)
    return details, calls


def disagreements(
    inp: CalibrationInput,
    split: str,
    *,
    judge_name: str,
    details: dict[str, tuple[str | None, str | None]] | None = None,
    inputs: dict[str, dict[str, str]] | None = None,
    keep: Iterable[str] | None = None,
) -> list[DisagreementRow]:
    """The items of ``split`` with a human majority where the judge's verdict differs from it or is
    invalid — the off-diagonal cells of the report's ``invalid_as_disagreement`` confusion matrix,
    one row each (``keep``: only these item ids, as a comparison restricts them)."""
    rows = []
    for it, judge in _answered(inp, split, keep):
        if judge == str(it.gold):
            continue
        reason, invalid_reason = (details or {}).get(it.id, (None, None))
        rows.append(
            DisagreementRow(
                judge_name=judge_name,
                item_id=it.id,
                slice=it.slice,
                judge=judge,
                human=str(it.gold),
                humans={k: str(v) for k, v in it.humans.items()},
                reason=_cut(reason),
                invalid_reason=invalid_reason if it.judge_status == "invalid" else None,
                inputs={k: _cut(v) or "" for k, v in (inputs or {}).get(it.id, {}).items()},
            )
        )
    return rows


def _answered(inp: CalibrationInput, split: str, keep: Iterable[str] | None) -> Iterator[tuple[Any, str]]:
    """The items of ``split`` (only ``keep``'s ids, if given) with a human majority and an answer
    (ok or invalid), each with the judge's label as shown (``INVALID`` for an invalid answer)."""
    kept = None if keep is None else set(keep)
    for it in inp.items:
        if split != "all" and it.split != split:
            continue
        if kept is not None and it.id not in kept:
            continue
        if it.gold is None or it.judge_status not in ("ok", "invalid"):
            continue
        yield it, str(it.judge) if it.judge_status == "ok" else INVALID


def item_rows(inp: CalibrationInput, split: str, *, keep: Iterable[str] | None = None) -> list[ItemRow]:
    """Every item of ``split`` with a human majority and an answer (ok or invalid), agreeing or not
    — the cells of the report's ``invalid_as_disagreement`` confusion matrix, one row each
    (``keep``: only these item ids)."""
    rows = []
    for it, judge in _answered(inp, split, keep):
        rows.append(
            ItemRow(
                item_id=it.id,
                slice=it.slice,
                judge=judge,
                human=str(it.gold),
                agrees=judge == str(it.gold),
                humans={k: str(v) for k, v in it.humans.items()},
            )
        )
    return rows


def _gold_inputs(run: Any) -> dict[str, dict[str, str]]:
    from judgecal.errors import JudgecalError  # noqa: PLC0415
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    try:
        gold = load_gold(run.gold_path, find_rubric(run.rubric_name), require_labels=False)
    except JudgecalError:
        return {}
    return {item.id: dict(item.inputs) for item in gold.items}


def _run_record(
    store: Store, run: Any, calls: list[Any], invalid_rate: Estimate, name: str
) -> Reproducibility:
    """The reproducibility record of a stored grading run."""
    import json  # noqa: PLC0415

    from judgecal.approval.validate import _stored_model_version  # noqa: PLC0415
    from judgecal.judge import latency_percentiles  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    answered = [c for c in calls if c.status in ("ok", "invalid")]
    costs = [c.cost for c in answered]
    try:
        template: str | None = find_rubric(run.rubric_name).template
    except Exception:  # noqa: BLE001 - a rubric gone from the search path still has its hashes
        template = None
    config = json.loads(run.settings_json)
    return Reproducibility(
        judge=name,
        model=run.model,
        model_version=_stored_model_version(store, run.id),
        judge_config=config,
        rubric=run.rubric_name,
        rubric_version=run.rubric_version,
        rubric_hash=run.rubric_hash,
        template=template,
        template_hash=run.template_hash,
        gold=run.gold_name,
        gold_hash=run.gold_hash,
        split=run.split,
        split_hash=run.split_hash,
        run_id=run.id,
        date=run.created_at,
        judgecal_version=run.judgecal_version,
        calls=run.n_calls,
        cost=run.cost,
        verdict_cost=None if any(c is None for c in costs) else round(sum(costs), 8),
        latency_ms=latency_percentiles([c.latency_ms for c in answered if c.latency_ms is not None], 1),
        invalid_rate=invalid_rate,
    )


def _view(
    store: Store,
    run_id: str,
    inp: CalibrationInput,
    calibration: CalibrationReport,
    *,
    name: str,
    keep: Iterable[str] | None = None,
) -> JudgeView:
    run = store.get_run(run_id)
    details, calls = _call_details(store, run.id)
    rows = disagreements(
        inp, calibration.split, judge_name=name, details=details, inputs=_gold_inputs(run), keep=keep
    )
    record = _run_record(store, run, calls, calibration.invalid_rate, name)
    return JudgeView(
        name=name,
        calibration=calibration,
        disagreements=rows,
        items=item_rows(inp, calibration.split, keep=keep),
        reproducibility=record,
    )


# --------------------------------------------------------------------------------------------
# the three kinds


def default_split(run_split: str) -> Literal["dev", "test"]:
    """The split a run's report shows: the run's own, or test (the approval figures) for ``all``."""
    return "dev" if run_split == "dev" else "test"


def from_calibration(
    inp: CalibrationInput, calibration: CalibrationReport, *, store: Store | None = None
) -> Report:
    """A calibration report already built (``judgecal calibrate``). With a stored run
    (``inp.run_id`` and ``store``) the disagreements carry the judge's reasons and the record
    comes from the run; imported verdicts have neither, and the report says so."""
    title = f"Calibration · {calibration.rubric or '-'} · {calibration.judge} · {calibration.split} split"
    if store is not None and inp.run_id is not None:
        view = _view(store, inp.run_id, inp, calibration, name=calibration.judge)
        return Report(kind="calibration", title=title, subject=f"run {inp.run_id}", judges=[view])
    rows = disagreements(inp, calibration.split, judge_name=calibration.judge)
    record = Reproducibility(
        judge=calibration.judge,
        model=calibration.judge,
        rubric=calibration.rubric,
        gold_hash=inp.gold_hash,
        split=calibration.split,
        invalid_rate=calibration.invalid_rate,
    )
    view = JudgeView(
        name=calibration.judge,
        calibration=calibration,
        disagreements=rows,
        items=item_rows(inp, calibration.split),
        disagreements_note="imported verdicts: the judge's reasons and the call records are not available",
        reproducibility=record,
    )
    return Report(kind="calibration", title=title, subject=calibration.source, judges=[view])


def from_run(
    store: Store,
    run_id: str,
    *,
    split: Literal["dev", "test", "all"] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Report:
    """The calibration view of a stored grading run (``split`` None: :func:`default_split`)."""
    from judgecal.calibrate.inputs import input_from_run  # noqa: PLC0415
    from judgecal.calibrate.report import build_report  # noqa: PLC0415

    run = store.get_run(run_id)
    inp = input_from_run(store, run.id)
    chosen = split or default_split(run.split)
    calibration = build_report(inp, split=chosen, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return from_calibration(inp, calibration, store=store)


def from_certificate(
    store: Store,
    cert: Certificate,
    *,
    calibration: CalibrationReport | None = None,
    probes: ProbeReport | None = None,
) -> Report:
    """The full view of an approval record: decision, calibration, probes, disagreements, record.

    The figures are the record's own (as decided); the disagreements are re-read from its grading
    run — if the gold set changed since, they are left out and the report says why.
    """
    from judgecal.calibrate.inputs import input_from_run  # noqa: PLC0415
    from judgecal.errors import JudgecalError  # noqa: PLC0415

    calibration = calibration or CalibrationReport.model_validate(cert.calibration)
    if probes is None and cert.probes is not None:
        probes = ProbeReport.model_validate(cert.probes)
    run = store.get_run(cert.run_id)
    details, calls = _call_details(store, run.id)
    record = _run_record(store, run, calls, calibration.invalid_rate, cert.model)
    record = record.model_copy(
        update={
            "model_version": cert.model_version,
            "judge_config": cert.judge,
            "rubric_version": cert.rubric_version,
            "rubric_hash": cert.hashes.get("rubric"),
            "template_hash": cert.hashes.get("template"),
            "gold": cert.gold,
            "gold_hash": cert.hashes.get("gold"),
            "split": cert.split,
            "split_hash": cert.hashes.get("split"),
            "policy_hash": cert.hashes.get("policy"),
            "policy_path": cert.policy_path,
            "record_id": cert.id,
            "expires_at": cert.expires_at,
            "date": cert.created_at,
            "judgecal_version": cert.judgecal_version,
            "calls": cert.calls,
            "cost": cert.cost,
            "new_call_latency_ms": dict(cert.latency_ms),
        }
    )
    rows: list[DisagreementRow] = []
    items: list[ItemRow] = []
    note = None
    try:
        inp = input_from_run(store, run.id)
        rows = disagreements(
            inp, calibration.split, judge_name=cert.model, details=details, inputs=_gold_inputs(run)
        )
        items = item_rows(inp, calibration.split)
    except JudgecalError as exc:
        note = f"the disagreements cannot be listed: {exc}"
    view = JudgeView(
        name=cert.model,
        calibration=calibration,
        disagreements=rows,
        disagreements_note=note,
        items=items,
        reproducibility=record,
    )
    return Report(
        kind="validation",
        title=f"Validation · {cert.rubric} · {cert.model} · {cert.decision.tier.replace('_', ' ')}",
        subject=f"approval record {cert.id}",
        judges=[view],
        decision=cert.decision,
        probes=probes,
    )


def from_validation(store: Store, result: ValidationResult) -> Report:
    """The full view of a validation just run (:func:`judgecal.approval.validate`)."""
    return from_certificate(store, result.certificate, calibration=result.calibration, probes=result.probes)


def from_comparison(store: Store, comparison: Comparison) -> Report:
    """The side-by-side view of a comparison (its runs are read back from the store)."""
    from judgecal.calibrate.inputs import input_from_run  # noqa: PLC0415

    inputs = [input_from_run(store, s.run_id) for s in comparison.judges]
    # the comparison's figures are on the items every judge answered: the same items here
    answered = [
        {
            it.id
            for it in inp.items
            if it.gold is not None
            and it.judge_status in ("ok", "invalid")
            and (comparison.split == "all" or it.split == comparison.split)
        }
        for inp in inputs
    ]
    common = set.intersection(*answered) if answered else set()
    views = [
        _view(store, s.run_id, inp, s.calibration, name=s.name, keep=common)
        for s, inp in zip(comparison.judges, inputs, strict=True)
    ]
    names = " vs ".join(j.name for j in comparison.judges)
    return Report(
        kind="comparison",
        title=f"Comparison · {comparison.rubric} · {names} · {comparison.split} split",
        subject=names,
        judges=views,
        comparison=comparison,
    )
