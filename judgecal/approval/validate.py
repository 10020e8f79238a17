"""``validate``: grade the test split, calibrate, run the gated probes, decide, record.

One command answers "may we trust this judge?". Every verdict goes
through the cached pipeline, so a validation repeated with nothing changed makes no provider
call and reaches the same decision.

Before the first call a preflight (:mod:`judgecal.preflight`) checks that the judge answers with
these credentials; ``limits.max_calls`` and ``limits.max_cost`` hold for the whole validation
(:class:`judgecal.budget.Budget`: the grading first, each probe then gets what is left). A
validation a cap cut short is never approved: its decision is at best ``inconclusive``, with a
``budget`` gate saying which stages were cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from judgecal import _aio
from judgecal._plan import Ledger, RunPlan, finish_plan, preflight_stage
from judgecal.approval.certificate import Certificate
from judgecal.approval.gate import Decision, GateResult, decide
from judgecal.approval.policy import Policy, load_policy
from judgecal.budget import Budget
from judgecal.calibrate.report import CalibrationReport
from judgecal.gold import GoldSet
from judgecal.judge import JudgeConfig, Limits
from judgecal.llm import Completer, Completion
from judgecal.preflight import PreflightResult
from judgecal.probes.base import BATTERY_ALPHA, ProbeReport, plan_battery, settle
from judgecal.rubric import Rubric

__all__ = ["ValidationResult", "aplan_validation", "avalidate", "plan_validation", "validate"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages: ``grading``, then ``probe:<name>`` per probe."""
_STAGE_LABELS = {"grading": "grading the test split", "probes": "deciding"}
"""How a stage is named on the progress bar (``probe:<name>`` becomes ``probe <name>``)."""


class ValidationResult(BaseModel):
    """What a validation decided, and the evidence."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    decision: Decision
    """Tier, reasons, per-gate figures."""
    certificate: Certificate
    """The stored approval record."""
    calibration: CalibrationReport
    """The test-split calibration report."""
    probes: ProbeReport | None
    """The probe results."""
    run_id: str
    """The grading run of the test split."""
    preflight: PreflightResult | None = None
    """The preflight check before the first call (None when not attempted)."""
    stopped: list[str] = []
    """The stages a call or cost cap cut short (empty when none): such a validation is never
    approved."""

    @property
    def exit_code(self) -> int:
        """0 when approved (either approved tier), else 1 (provisional included: not an approval)."""
        return 0 if self.decision.approved else 1


class _Metered:
    """A completer that counts what passes through it: calls, cost, latency, reported model."""

    def __init__(self, inner: Completer):
        self.inner = inner
        self.model = inner.model
        self.calls = 0
        self.cost: float | None = 0.0
        self.latencies: list[float] = []
        self.models: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:  # the rest of the completer, unchanged
        return getattr(self.inner, name)

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Completion:
        self.calls += 1
        done = await self.inner.complete(messages, **kwargs)
        self.latencies.append(done.latency_ms)
        if done.response_model:
            self.models[done.response_model] += 1
        if self.cost is not None:
            self.cost = None if done.cost is None else self.cost + done.cost
        return done

    def note_outcome(self, out: Any) -> None:
        """Count the calls a run's workers made elsewhere (the Ray executor's: they never pass
        through this completer)."""
        self.calls += out.calls
        self.latencies += out.latencies
        if self.cost is not None:
            self.cost = None if not out.cost_known else self.cost + out.cost

    def percentiles(self) -> dict[str, float | None]:
        from judgecal.judge import latency_percentiles  # noqa: PLC0415

        return latency_percentiles(self.latencies, 1)


def _probe_names(policy: Policy, judge: JudgeConfig) -> list[str]:
    names = list(policy.probes.gated)
    stable = judge.samples >= policy.stability.k and judge.aggregation == "majority"
    if not stable and "resample_consistency" not in names:
        names.append("resample_consistency")
    return names


def _thresholds(policy: Policy) -> dict[str, dict[str, float]]:
    s = policy.stability
    out = {name: dict(t) for name, t in policy.probes.thresholds.items()}
    out["resample_consistency"] = {
        "k": s.k,
        "min_alpha": s.min_alpha,
        "min_modal_agreement": s.min_modal_agreement,
        **out.get("resample_consistency", {}),
    }
    return out


async def avalidate(
    rubric: str | Rubric,
    judge: str | JudgeConfig,
    *,
    gold: str | None = None,
    policy: str | Path | Policy | None = None,
    store: Any = None,
    probes: list[str] | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    completer: Completer | None = None,
    judge_family: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    fail_fast: bool = False,
    preflight: bool = True,
) -> ValidationResult:
    """Validate a judge configuration against a rubric's gold set and a policy.

    ``fail_fast``: when the calibration gates alone already reject the judge (a failed gate stays
    failed whatever the probes find), do not run the probes; the decision says so. It gives up the
    probes' own reasons (a rejected judge may also be biased, and the bias may be what to fix) to
    save most of the calls: on the bundled support-billing set 1,080 of 1,131 (sim/accurate's
    count), about 40 minutes at the 2.3 s a verdict measured for ``local/smollm2`` (an estimate).

    ``probes`` replaces the policy's list of gated probes (the gate then reads only those);
    ``completer`` reaches the judge (default: resolve ``judge.model``, ``sim/...`` included);
    ``judge_family`` is the judge's model family for self-preference (default: inferred).

    ``preflight``: before the first call, check with one tiny call that the judge answers
    (:mod:`judgecal.preflight`; skipped anyway when every unit would come from the cache); a
    fatal failure raises :class:`~judgecal.errors.ProviderError` with nothing stored.
    ``limits.max_calls`` / ``limits.max_cost`` bound the whole validation, grading and probes
    together; with ``max_cost`` set, a judge whose price is unknown is refused before any call
    (:func:`judgecal.budget.require_known_price`, :class:`~judgecal.errors.ConfigError`).
    """
    from judgecal import __version__  # noqa: PLC0415
    from judgecal._plan import plan_grade  # noqa: PLC0415
    from judgecal.calibrate.inputs import input_from_run  # noqa: PLC0415
    from judgecal.calibrate.report import build_report  # noqa: PLC0415
    from judgecal.gold import find_gold  # noqa: PLC0415
    from judgecal.judge import agrade, sim_items_from_gold  # noqa: PLC0415
    from judgecal.llm import open_completer  # noqa: PLC0415
    from judgecal.preflight import apreflight_run  # noqa: PLC0415
    from judgecal.probes.base import _teach_sim, arun_probes, available_probes  # noqa: PLC0415
    from judgecal.progress import current_meter  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    rubric_ = find_rubric(rubric) if isinstance(rubric, str) else rubric
    judge_ = JudgeConfig(model=judge) if isinstance(judge, str) else judge
    gold_ = find_gold(gold or rubric_.name, rubric_)
    policy_ = load_policy(policy)
    if probes is not None:
        policy_ = policy_.model_copy(deep=True)
        policy_.probes.gated = list(probes)
        policy_.probes.reject_on = [p for p in policy_.probes.reject_on if p in probes]
    names = _probe_names(policy_, judge_)
    available_probes(names)  # unknown or broken probes fail before any judge is called
    store = store or Store()
    budget = Budget.of(limits)
    max_cost = limits.max_cost if limits is not None else None
    needed = 0

    async def plan_stages() -> Any:
        """Every stage's units and calls (no preflight call)."""
        return await aplan_validation(
            rubric_,
            judge_,
            gold=gold_,
            policy=policy_,
            store=store,
            judge_family=judge_family,
            seed=seed,
            fail_fast=fail_fast,
            preflight=False,
        )

    if preflight or max_cost is not None:
        # any call at all? the grading's own units first (cheap); the probes' only when it has none
        needed = plan_grade(rubric_, gold_, judge_, store=store, split="test", preflight=False).calls
        if needed == 0:
            needed = (await plan_stages()).calls

    async def check(inner: Completer) -> PreflightResult:
        """The preflight, and the refusal of a cost cap that cannot be held (before any call)."""
        return await apreflight_run(inner, needed, enabled=preflight, limits=limits)

    meter = current_meter()
    if meter is not None:  # one bar through every stage: the grading's units and every probe's
        planned = await plan_stages()
        every_stage = sum(s.units for s in planned.stages)
        # with --fail-fast the probes may never run: the bar counts the grading until they start
        grading_only = sum(s.units for s in planned.stages if not s.stage.startswith("probe:"))
        meter.set_total(grading_only if fail_fast else every_stage)

    def report(stage: str, done: int, total: int) -> None:
        if meter is not None:
            meter.set_stage(_STAGE_LABELS.get(stage, stage.replace("probe:", "probe ")))
        if progress is not None:
            progress(stage, done, total)

    async def run(metered: _Metered, on_derived: Any) -> tuple[Any, CalibrationReport, ProbeReport]:
        result = await agrade(
            rubric_,
            gold_,
            judge_,
            metered,
            store=store,
            split="test",
            limits=budget.limits(limits),
            progress=lambda d, t: report("grading", d, t),
        )
        budget.charge("grading", result)
        inp = input_from_run(store, result.run_id)
        calibration = build_report(
            inp,
            split="test",
            confidence=policy_.confidence,
            epsilon=policy_.epsilon,
            n_resamples=n_resamples,
            seed=seed,
        )
        if fail_fast:
            before = decide(policy_, calibration, None, judge_)
            if before.tier == "rejected":
                failed = [g.gate for g in before.gates if g.status == "fail"]
                why = (
                    f"the calibration gates ({', '.join(failed)}) had already rejected the judge and no "
                    "probe result could change that (--fail-fast; validate without it, or `judgecal probe`, "
                    "runs them)"
                )
                report("probes", 0, 0)
                return (
                    result,
                    calibration,
                    ProbeReport(
                        judge=judge_.model,
                        rubric=rubric_.name,
                        split="test",
                        results=[],
                        calls=0,
                        not_run=why,
                    ),
                )
        if meter is not None and fail_fast:
            meter.set_total(every_stage)
        results = []
        calls = 0
        for i, name in enumerate(names):
            report(f"probe:{name}", i, len(names))
            one = await arun_probes(
                rubric_,
                gold_,
                judge_,
                metered,
                store=store,
                names=[name],
                split="test",
                limits=limits,
                thresholds=_thresholds(policy_),
                judge_family=judge_family,
                seed=seed,
                n_resamples=n_resamples,
                on_derived=on_derived,
                budget=budget,
            )
            results.extend(one.results)
            calls += one.calls
        report("probes", len(names), len(names))
        # the probes ran one at a time (for progress): decide them together, Holm over the battery
        probe_report = ProbeReport(
            judge=judge_.model,
            rubric=rubric_.name,
            split="test",
            results=settle(results, alpha=BATTERY_ALPHA),
            calls=calls,
            alpha=BATTERY_ALPHA,
        )
        return result, calibration, probe_report

    if completer is not None:
        checked = await check(completer)
        metered = _Metered(completer)
        result, calibration, probe_report = await run(metered, None)
    else:
        sim_items = sim_items_from_gold(rubric_, gold_.items) if judge_.model.startswith("sim/") else None
        with open_completer(judge_.model, api_base=api_base, api_key=api_key, sim_items=sim_items) as opened:
            checked = await check(opened.completer)
            metered = _Metered(opened.completer)
            # the simulator judgecal started, or a `judgecal simulate serve` at a loopback api_base
            teach = _teach_sim(rubric_, gold_, opened.sim, api_base=api_base)
            result, calibration, probe_report = await run(metered, teach)

    decision = decide(policy_, calibration, probe_report, judge_)
    if budget.stopped:
        decision = cut_short(decision, budget.reason())
    model_version = (
        metered.models.most_common(1)[0][0] if metered.models else _stored_model_version(store, result.run_id)
    )
    cert = Certificate(
        rubric=rubric_.name,
        rubric_path=str(rubric_.directory),
        rubric_version=rubric_.version,
        gold=gold_.name,
        gold_path=gold_.path,
        judge=judge_.model_dump(mode="json"),
        model=judge_.model,
        model_version=model_version,
        hashes={
            "rubric": rubric_.rubric_hash,
            "template": rubric_.template_hash,
            "gold": gold_.file_hash,
            "split": gold_.split_hash,
            "policy": policy_.policy_hash,
        },
        policy_path=policy_.path if policy is not None else None,
        decision=decision,
        calibration=calibration.model_dump(mode="json"),
        probes=probe_report.model_dump(mode="json"),
        cost=None if metered.cost is None else round(metered.cost, 8),
        latency_ms=metered.percentiles(),
        calls=metered.calls,
        run_id=result.run_id,
        judgecal_version=__version__,
    )
    store.save_certificate(cert)
    return ValidationResult(
        decision=decision,
        certificate=cert,
        calibration=calibration,
        probes=probe_report,
        run_id=result.run_id,
        preflight=checked,
        stopped=list(budget.stopped),
    )


def cut_short(decision: Decision, why: str) -> Decision:
    """The decision of a validation a call or cost cap cut short: a ``budget`` gate that is
    inconclusive, and the tier at best ``inconclusive`` — some units were never graded, so no
    figure covers the whole test split or battery and nothing may be approved. A rejection stays
    a rejection (a gate failed on what was graded)."""
    gate = GateResult(
        gate="budget",
        name="call and cost caps",
        status="inconclusive",
        reason=f"{why}; validate again with a larger --max-calls/--max-cost (stored verdicts are reused)",
        meets_on_points=False,
    )
    line = f"budget inconclusive ({gate.name}): {gate.reason}"
    update: dict[str, Any] = {"gates": [*decision.gates, gate], "reasons": [line, *decision.reasons]}
    if decision.tier != "rejected":
        update |= {
            "tier": "inconclusive",
            "reasons": [line, *(r for r in decision.reasons if not r.startswith("PROVISIONAL"))],
            "obligations": [],
            "labels_needed": None,
            "labels_needed_per_class": {},
        }
    return decision.model_copy(update=update)


def _stored_model_version(store: Any, run_id: str) -> str | None:
    """The model the provider reported in the run's stored calls (for a fully cached validation)."""
    models = Counter(
        call.response_model for _, call in store.run_calls(run_id) if call is not None and call.response_model
    )
    return models.most_common(1)[0][0] if models else None


def validate(rubric: str | Rubric, judge: str | JudgeConfig, **options: Any) -> ValidationResult:
    """Synchronous :func:`avalidate` (same arguments)."""

    return _aio.run(avalidate(rubric, judge, **options))


def plan_validation(rubric: str | Rubric, judge: str | JudgeConfig, **options: Any) -> RunPlan:
    """Synchronous :func:`aplan_validation` (same arguments)."""

    return _aio.run(aplan_validation(rubric, judge, **options))


async def aplan_validation(
    rubric: str | Rubric,
    judge: str | JudgeConfig,
    *,
    gold: str | GoldSet | None = None,
    policy: str | Path | Policy | None = None,
    store: Any = None,
    probes: list[str] | None = None,
    judge_family: str | None = None,
    seed: int = 0,
    fail_fast: bool = False,
    preflight: bool = True,
) -> RunPlan:
    """What :func:`judgecal.approval.validate` with these options would call and cost (no call):
    the test split's grading, then each probe the policy gates (and resample consistency when
    the judge takes no majority of k samples), one at a time."""
    from judgecal.gold import find_gold  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    rubric_ = find_rubric(rubric) if isinstance(rubric, str) else rubric
    judge_ = JudgeConfig(model=judge) if isinstance(judge, str) else judge
    gold_ = (
        gold if gold is not None and not isinstance(gold, str) else find_gold(gold or rubric_.name, rubric_)
    )
    policy_ = load_policy(policy)
    if probes is not None:
        policy_ = policy_.model_copy(deep=True)
        policy_.probes.gated = list(probes)
    names = _probe_names(policy_, judge_)
    ledger = Ledger(store)
    ledger.count("grading", rubric_, gold_.select("test"), judge_)
    note = "only when the calibration gates do not already reject (--fail-fast)" if fail_fast else ""
    notes = await plan_battery(
        ledger,
        rubric_,
        gold_,
        judge_,
        names,
        thresholds=_thresholds(policy_),
        judge_family=judge_family,
        seed=seed,
        force=False,
        note=note,
    )
    stages = list(ledger.stages.values())
    first = preflight_stage(ledger, judge_.model, sum(s.calls for s in stages), preflight)
    return finish_plan(ledger, "validate", rubric_, gold_, "test", [judge_.model], [first, *stages], notes)
