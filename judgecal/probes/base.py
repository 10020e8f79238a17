"""The probe protocol, the plugin registry, and the runner that grades derived items through the
cached pipeline."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgecal import _aio
from judgecal._plan import Ledger, RunPlan, finish_plan, preflight_stage
from judgecal.budget import Budget
from judgecal.calibrate.intervals import Estimate
from judgecal.errors import JudgecalError, NotFoundError
from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import JudgeConfig, Limits, RunResult, agrade
from judgecal.rubric import Rubric

__all__ = [
    "BATTERY_ALPHA",
    "ENTRY_POINT_GROUP",
    "OUTCOME_WORDS",
    "Outcome",
    "Probe",
    "ProbeContext",
    "ProbePlan",
    "ProbeReport",
    "ProbeResult",
    "ProbeTest",
    "available_probes",
    "infer_family",
    "plan_battery",
    "plan_probe",
    "plan_probes",
    "run_probes",
    "settle",
]

ENTRY_POINT_GROUP = "judgecal.probes"

BATTERY_ALPHA = 0.05
"""The family-wise false-fail rate of a probe battery (:func:`settle`: Holm within each probe's
families, then Holm across the gated probes run together), and so at most this for each probe
alone."""

Outcome = Literal["pass", "fail", "inconclusive", "underpowered", "undefined", "not_applicable"]
"""A probe's outcome, the one wording used by the CLI, the reports, the JSON and the gate:

- ``pass``: every gated test's interval lies inside its tolerance (equivalence shown);
- ``fail``: the probe rejects "every family within tolerance" after the battery's adjustment
  (Holm within the probe, then Holm across the probes: :func:`settle`);
- ``inconclusive``: neither — the data cannot settle it (more cases could);
- ``underpowered``: before any call, the cases available could not reach a pass even for an
  ideal judge (``plan``), so the probe made no call;
- ``undefined``: the statistic could not be computed (no usable verdicts);
- ``not_applicable``: the probe does not apply to this rubric or data.

Only ``pass`` counts as passing; the gate reads every other outcome but ``not_applicable`` as
something that stops approval."""

OUTCOME_WORDS: dict[str, str] = {
    "pass": "pass",
    "fail": "FAIL",
    "inconclusive": "inconclusive",
    "underpowered": "underpowered",
    "undefined": "undefined",
    "not_applicable": "not applicable",
}
"""How each outcome is written for people (CLI, HTML, Markdown)."""


class ProbeTest(BaseModel):
    """One hypothesis a probe decides: an effect (one payload family, one component) against its
    tolerance. The probe passes when every gated test's interval lies inside the acceptable
    region (an intersection–union test: no multiplicity adjustment is needed to pass), and fails
    when any gated test's Holm-adjusted p-value is below the battery's α."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """What is tested (e.g. ``"first-slot excess"``, ``"grader_instruction"``)."""
    estimate: Estimate
    """The effect with its interval and n."""
    tolerance: float
    """The limit T of the acceptable region."""
    direction: Literal["max", "min", "abs"]
    """``max``: acceptable when effect ≤ T; ``min``: when effect ≥ T (an ability, e.g. a detection
    rate); ``abs``: when |effect| ≤ T."""
    p_value: float | None = None
    """One-sided p-value of "the effect is acceptable" at the boundary T (small: evidence that it
    is beyond T); None or nan when it cannot be computed."""
    p_adjusted: float | None = None
    """``p_value`` after Holm's adjustment over every gated test of the battery (set by
    :func:`settle`)."""
    gated: bool = True
    """Whether the test counts for the outcome (False: reported beside it)."""

    @property
    def inside(self) -> bool | None:
        """Whether the interval lies wholly inside the acceptable region (None: no interval)."""
        e = self.estimate
        if e.lo is None or e.hi is None or math.isnan(e.value):
            return None
        if self.direction == "max":
            return e.hi <= self.tolerance
        if self.direction == "min":
            return e.lo >= self.tolerance
        return -self.tolerance <= e.lo and e.hi <= self.tolerance


class ProbePlan(BaseModel):
    """What a probe will cost and whether it can possibly pass, known before any call."""

    model_config = ConfigDict(extra="forbid")

    calls: int
    """Judge requests the probe makes at most (fewer when the store already has answers)."""
    cases: int
    """Cases (items, pairs, variants) behind its headline statistic."""
    passable: bool
    """Whether an ideal judge (no bias, no noise) could reach a pass with these cases."""
    min_cases: int | None = None
    """Cases needed for a pass to be possible at all (None when already passable or unknown)."""
    min_items: int | None = None
    """Gold items (of the kind the probe derives from) that would give ``min_cases``."""
    mde: float | None = None
    """Minimum detectable effect: the smallest true effect beyond the tolerance that this n fails
    with 80% power (None when not computed)."""
    reason: str = ""
    """One sentence: the cost, and why a pass is or is not reachable."""
    not_applicable: str | None = None
    """Set when planning found that the probe does not apply after all (e.g. no item of the
    judge's family): the reason; the runner then reports *not applicable* and makes no call."""


class ProbeResult(BaseModel):
    """What one probe found."""

    model_config = ConfigDict(extra="forbid")

    probe: str
    """The probe's registered name."""
    kind: Literal["invariance", "sensitivity", "diagnostic"]
    """Invariance: the verdict should not change; sensitivity: it should; diagnostic: reported only."""
    gated: bool
    """Whether the approval gate requires this probe to pass."""
    applicable: bool = True
    """False when the probe does not apply to this rubric or data (``reason`` says why)."""
    statistic: str
    """What ``estimate`` measures, in words (e.g. "first-slot excess (first − second share)")."""
    estimate: Estimate | None = None
    """The headline statistic with its interval and n."""
    threshold: dict[str, float] = Field(default_factory=dict)
    """The thresholds the decision used (e.g. ``{"max": 0.10, "max_upper": 0.20}``)."""
    headline_limit: str | None = None
    """The key of ``threshold`` that ``estimate``'s point is held to (``max_…``: |value| at most,
    ``min_…``: at least). The gate uses it to tell a significant failure (the whole interval on the
    wrong side of that limit) from one the data cannot settle."""
    alpha: float | None = None
    """The stated false-alarm rate of the decision rule, where it is a test."""
    p_value: float | None = None
    """The p-value of the probe's significance test, where it has one."""
    passed: bool | None = None
    """Pass/fail against the threshold; None when not applicable or undefined."""
    inconclusive: bool = False
    """True when the probe failed only on interval bounds: every point estimate met its
    threshold, so more cases could turn the failure into a pass (the gate reads this as
    inconclusive, not as a bias)."""
    outcome: Outcome | None = None
    """The outcome (see :data:`Outcome`); derived from ``passed``/``inconclusive``/``applicable``
    when a probe does not set it, and then ``passed``/``inconclusive`` are derived from it."""
    tests: list[ProbeTest] = Field(default_factory=list)
    """The hypotheses behind the outcome (one per variant family or component), with p-values
    before and after the battery's Holm adjustment."""
    plan: ProbePlan | None = None
    """The cost and power known before any call."""
    reason: str = ""
    """One sentence with the figures behind the decision."""
    n: int = 0
    """Cases (items or pairs) behind the headline statistic."""
    calls: int = 0
    """Provider requests this probe made (0 when everything came from the cache)."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Further statistics: per payload family, per stratum, the noise floor, ..."""
    stopped: str | None = None
    """Set when a call or cost cap (the run's :class:`~judgecal.budget.Budget`) skipped some of
    this probe's units: which, and why. The outcome is then ``undefined`` — never a pass, and
    never re-decided by :func:`settle` — whatever the cases it did grade show."""

    @model_validator(mode="after")
    def _sync_outcome(self) -> ProbeResult:
        if self.stopped is not None:
            self.outcome = "undefined"
        if self.outcome is None:
            if not self.applicable:
                self.outcome = "not_applicable"
            elif self.passed is True:
                self.outcome = "pass"
            elif self.passed is False:
                self.outcome = "inconclusive" if self.inconclusive else "fail"
            else:
                self.outcome = "undefined"
        else:
            self.passed = {"pass": True, "fail": False}.get(self.outcome)
            self.inconclusive = self.outcome in ("inconclusive", "underpowered")
            if self.outcome == "not_applicable":
                self.applicable = False
        return self

    @property
    def word(self) -> str:
        """The outcome as people read it (``pass``, ``FAIL``, ``inconclusive``, ...)."""
        return OUTCOME_WORDS[self.outcome or "undefined"]


class ProbeReport(BaseModel):
    """Every probe run for one judge."""

    model_config = ConfigDict(extra="forbid")

    judge: str
    """The judge's model string."""
    rubric: str
    """The rubric's name."""
    split: str
    """The gold split the probes derived their cases from."""
    results: list[ProbeResult]
    """One result per probe, in the order run."""
    calls: int
    """Provider requests made by all probes together."""
    not_run: str | None = None
    """Why no probe was run, when none was on purpose (a validation whose calibration gates had
    already rejected the judge: no probe result could change that decision)."""

    alpha: float = BATTERY_ALPHA
    """The battery's family-wise false-fail rate (Holm over the gated tests of the gated probes)."""

    @property
    def passed(self) -> bool:
        """True when every applicable gated probe passed (an undefined, underpowered or
        inconclusive probe is not a pass)."""
        return all(r.outcome == "pass" for r in self.results if r.gated and r.outcome != "not_applicable")

    @property
    def failed(self) -> bool:
        """True when some gated probe failed (what ``judgecal probe``'s exit code 1 means)."""
        return any(r.outcome == "fail" for r in self.results if r.gated)


GradeFn = Callable[..., Awaitable[RunResult]]


@dataclass
class ProbeContext:
    """What a probe gets to work with."""

    rubric: Rubric
    """The rubric the judge grades with."""
    items: list[GoldItem]
    """The gold items of the chosen split (with their human labels)."""
    judge: JudgeConfig
    """The judge under test."""
    grade: GradeFn
    """``await grade(items, judge=None, rubric=None, label="...")`` grades any items (derived
    ones included) through the cached pipeline and returns the :class:`RunResult`; identical
    prompts are answered from the store."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """This probe's thresholds (defaults overridden by the approval policy)."""
    seed: int = 0
    """Seed for anything random the probe does (bootstrap, sampling of variants)."""
    judge_family: str | None = None
    """The judge's model family (configured, or inferred from the model string)."""
    n_resamples: int = 2000
    """Bootstrap resamples."""
    alpha: float = BATTERY_ALPHA
    """The false-fail rate a probe's own tests are decided at (the runner then re-decides them
    with Holm over the whole battery: :func:`settle`)."""
    force: bool = False
    """Run even when the probe's plan says its cases cannot reach a pass."""


@runtime_checkable
class Probe(Protocol):
    """A bias probe. Register a class with these attributes under the ``judgecal.probes``
    entry-point group; judgecal instantiates it without arguments."""

    name: str
    """Registered name (lower-case, ``_`` separated)."""
    description: str
    """One line for ``judgecal probe --list``."""
    gated: bool
    """Whether approval requires it to pass."""
    default_thresholds: dict[str, float]
    """The thresholds used unless the policy overrides them."""

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        """None when the probe can run on this rubric and data, else the reason it cannot."""
        ...

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        """Derive cases, grade them with ``ctx.grade``, compute the statistic, decide."""
        ...

    # Optional: ``plan(rubric, items, thresholds) -> ProbePlan`` — the calls the probe will make
    # and whether its cases can reach a pass at all. When it says not passable, the runner
    # reports ``underpowered`` and makes no call unless forced.


def settle(results: Sequence[ProbeResult], *, alpha: float = BATTERY_ALPHA) -> list[ProbeResult]:
    """Decide the probes of one battery together, by a two-level closed testing procedure:

    1. **Within a probe**, its gated tests (one per variant family or component) are Holm-adjusted
       among themselves, and the probe's own p-value is the smallest of them — the Bonferroni–Holm
       p-value of "every family of this probe is within tolerance" (the intersection hypothesis).
    2. **Across the battery**, Holm's step-down procedure adjusts those probe p-values over the
       gated probes that have tests.

    A probe **fails** when its adjusted p-value is below ``alpha``; each of its tests then shows
    ``p_adjusted`` = the larger of its within-probe and its probe's battery-level adjusted
    p-value, so the families responsible are those below ``alpha``. Otherwise the probe
    **passes** when every gated test's interval lies inside its tolerance (an intersection–union
    test, which needs no adjustment to keep its level), is **undefined** when a gated test's
    estimate is nan, and is **inconclusive** otherwise. The procedure controls the battery's
    family-wise false-fail rate at ``alpha`` whatever the dependence between tests (Holm 1979 on
    valid intersection p-values), and so each probe's alone; unlike Holm over every test pooled,
    a probe with one test is not diluted by another probe's six families. Probes without tests
    (plugins that decide for themselves) keep their outcome; non-gated probes are adjusted among
    their own tests only.

    >>> from judgecal.calibrate.intervals import Estimate
    >>> def t(name, lo, hi, p):
    ...     e = Estimate(value=(lo + hi) / 2, lo=lo, hi=hi, n=100, method="wilson")
    ...     return ProbeTest(name=name, estimate=e, tolerance=0.05, direction="max", p_value=p)
    >>> a = ProbeResult(probe="a", kind="invariance", gated=True, statistic="x",
    ...                 tests=[t("f1", 0.06, 0.2, 0.03), t("f2", -0.02, 0.04, 0.9)])
    >>> b = ProbeResult(probe="b", kind="invariance", gated=True, statistic="x",
    ...                 tests=[t("f1", -0.03, 0.03, 0.99)])
    >>> [r.outcome for r in settle([a, b])]  # a: min(2 × 0.03) = 0.06, × 2 probes: not significant
    ['inconclusive', 'pass']
    """
    from judgecal.probes._stats import holm  # noqa: PLC0415

    def decidable(r: ProbeResult) -> bool:
        return bool(r.tests) and r.outcome not in ("underpowered", "not_applicable") and r.stopped is None

    def within(r: ProbeResult) -> dict[int, float]:
        keys = [
            j
            for j, test in enumerate(r.tests)
            if test.gated and test.p_value is not None and not math.isnan(test.p_value)
        ]
        return dict(zip(keys, holm([r.tests[j].p_value or 0.0 for j in keys]), strict=True))

    out = list(results)
    gated = [i for i, r in enumerate(out) if r.gated and decidable(r)]
    groups = [gated] + [[i] for i, r in enumerate(out) if not r.gated and decidable(r)]
    for group in groups:
        inner = {i: within(out[i]) for i in group}
        tested = [i for i in group if inner[i]]
        battery = dict(zip(tested, holm([min(inner[i].values()) for i in tested]), strict=True))
        for i in group:
            r = out[i]
            level = battery.get(i)
            tests = [
                test.model_copy(
                    update={"p_adjusted": None if j not in inner[i] else max(inner[i][j], level or 0.0)}
                )
                for j, test in enumerate(r.tests)
            ]
            gated_tests = [x for x in tests if x.gated]
            outcome: Outcome
            if not gated_tests or any(math.isnan(x.estimate.value) for x in gated_tests):
                outcome = "undefined"
            elif level is not None and level < alpha:
                outcome = "fail"
            elif all(x.inside for x in gated_tests):
                outcome = "pass"
            else:
                outcome = "inconclusive"
            out[i] = r.model_copy(update={"tests": tests})
            out[i] = ProbeResult.model_validate({**out[i].model_dump(), "outcome": outcome})
    return out


def _load(ep: Any) -> Probe:
    try:
        obj = ep.load()
        probe = obj() if isinstance(obj, type) or not isinstance(obj, Probe) else obj
    except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
        raise ProbePluginError(f"probe plugin {ep.name} = {ep.value} failed to load: {exc}") from exc
    if not isinstance(probe, Probe):
        raise ProbePluginError(f"entry point {ep.name} = {ep.value} does not provide a judgecal Probe")
    return probe


class ProbePluginError(JudgecalError):
    """A registered probe plugin could not be loaded."""


def probe_names() -> list[str]:
    """The names registered under the ``judgecal.probes`` entry-point group (nothing is imported)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def available_probes(names: Sequence[str] | None = None) -> dict[str, Probe]:
    """Registered probes by name (built-ins included: they use the same entry points).

    Only the requested ``names`` are imported, so one broken plugin does not stop the others;
    an unknown name lists the registered ones.
    """
    eps = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    wanted = list(names) if names else sorted(eps)
    unknown = [n for n in wanted if n not in eps]
    if unknown:
        raise NotFoundError(f"unknown probes {unknown}; probes: {', '.join(sorted(eps))}")
    return {name: _load(eps[name]) for name in wanted}


_FAMILIES: list[tuple[str, str]] = [
    (r"gpt|o1|o3|o4|chatgpt|openai|davinci", "openai"),
    (r"claude|anthropic", "anthropic"),
    (r"gemini|gemma|palm|bard|google|vertex", "google"),
    (r"llama|meta", "meta"),
    (r"mistral|mixtral|codestral|ministral", "mistral"),
    (r"qwen", "alibaba"),
    (r"deepseek", "deepseek"),
    (r"command|cohere", "cohere"),
    (r"phi-|phi\d|microsoft", "microsoft"),
    (r"smollm|huggingface", "huggingface"),
    (r"grok|xai", "xai"),
]


def infer_family(model: str) -> str | None:
    """The model family a litellm model string most likely belongs to (None when unknown); a
        simulated judge (``sim/<preset>`` of a preset) belongs to the first family its preset counts as
    its own.

        >>> infer_family("openai/gpt-4o-mini"), infer_family("anthropic/claude-3-5-haiku-latest")
        ('openai', 'anthropic')
        >>> infer_family("ollama/llama3.1"), infer_family("sim/accurate") is None
        ('meta', True)
        >>> infer_family("sim/self-preferring")
        'openai'
    """
    if model.startswith("sim/"):
        from judgecal.simulate import PRESETS  # noqa: PLC0415

        preset = PRESETS.get(model.removeprefix("sim/"))
        if preset is not None:
            return preset.self_families[0] if preset.self_families else None
    name = model.lower().split("/", 1)[-1] if "/" in model else model.lower()
    for pattern, family in _FAMILIES:
        if re.search(pattern, name):
            return family
    return None


def plan_probes(
    rubric: Rubric,
    gold: GoldSet,
    *,
    names: Sequence[str] | None = None,
    split: Literal["dev", "test", "all"] = "test",
    thresholds: dict[str, dict[str, float]] | None = None,
    judge_family: str | None = None,
) -> dict[str, ProbePlan | str | None]:
    """What each probe would cost and whether it could pass, without a call: probe name → its
    :class:`ProbePlan`, the reason it does not apply (a string), or None when the probe has no
    ``plan``."""
    items = gold.select(split)
    out: dict[str, ProbePlan | str | None] = {}
    for name, probe in available_probes(names).items():
        why_not = probe.applies(rubric, items)
        if why_not:
            out[name] = why_not
            continue
        merged = {**probe.default_thresholds, **(thresholds or {}).get(name, {})}
        out[name] = _plan(probe, rubric, items, merged, judge_family)
    return out


def _plan(
    probe: Probe, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float], family: str | None
) -> ProbePlan | None:
    """The probe's plan, or None when it has no ``plan``; ``judge_family`` is passed to a
    ``plan`` that takes it (self-preference counts the judge's own family's items)."""
    import inspect  # noqa: PLC0415

    planner = getattr(probe, "plan", None)
    if not callable(planner):
        return None
    if "judge_family" in inspect.signature(planner).parameters:
        return cast(ProbePlan, planner(rubric, items, thresholds, judge_family=family))
    return cast(ProbePlan, planner(rubric, items, thresholds))


def _without_calls(
    name: str,
    probe: Probe,
    rubric: Rubric,
    items: Sequence[GoldItem],
    thresholds: dict[str, float],
    family: str | None,
    *,
    force: bool,
) -> tuple[ProbePlan | None, ProbeResult | None]:
    """The probe's plan, and its result when it makes no call at all (not applicable, or
    underpowered and not forced); None for the result when the probe is to run."""
    why_not = probe.applies(rubric, items)
    if why_not:
        return None, ProbeResult(
            probe=name,
            kind="diagnostic",
            gated=probe.gated,
            applicable=False,
            statistic="-",
            reason=why_not,
        )
    plan = _plan(probe, rubric, items, thresholds, family)
    if plan is not None and plan.not_applicable:
        return plan, ProbeResult(
            probe=name,
            kind="diagnostic",
            gated=probe.gated,
            statistic="-",
            outcome="not_applicable",
            plan=plan,
            reason=plan.not_applicable,
        )
    if plan is not None and not plan.passable and not force:
        needs = f"needs ≥ {plan.min_items} items" if plan.min_items else "more cases"
        return plan, ProbeResult(
            probe=name,
            kind="diagnostic",
            gated=probe.gated,
            statistic="-",
            outcome="underpowered",
            plan=plan,
            reason=f"underpowered: {needs} — {plan.reason} (no call made; force to run it anyway)",
        )
    return plan, None


GradeBatch = Callable[..., Awaitable[RunResult]]
"""``await grade_batch(rubric, gold, judge, *, limits, stage)``: how the runner grades one batch of
a probe's items (default :func:`judgecal.judge.agrade` through the completer; the dry run of
:mod:`judgecal.plan` counts the calls instead)."""


async def arun_probes(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    completer: Any,
    *,
    store: Any,
    names: Sequence[str] | None = None,
    split: Literal["dev", "test", "all"] = "test",
    limits: Limits | None = None,
    thresholds: dict[str, dict[str, float]] | None = None,
    judge_family: str | None = None,
    seed: int = 0,
    n_resamples: int = 2000,
    on_derived: Callable[[list[GoldItem]], None] | None = None,
    force: bool = False,
    alpha: float = BATTERY_ALPHA,
    budget: Budget | None = None,
    grade_batch: GradeBatch | None = None,
) -> ProbeReport:
    """Run probes (all applicable ones by default) for one judge on one split of a gold set.

    Each probe's ``plan`` (when it has one) is read first: a probe whose cases cannot reach a
    pass is reported ``underpowered`` without a call unless ``force``. The outcomes are then
    decided together (:func:`settle`: Holm over the battery's gated tests at ``alpha``).

    ``limits.max_calls`` and ``limits.max_cost`` hold for the whole battery, not for each batch:
    every batch is given what is left of ``budget`` (default: a fresh one from ``limits``; a
    validation passes the one its grading already drew on). A probe a cap cut short is reported
    ``undefined`` with :attr:`ProbeResult.stopped` set.

    ``on_derived`` sees every batch of items before it is graded (the simulated judge uses it to
    learn the truth of variants whose human label differs from their source's). ``grade_batch``
    replaces the grading of a batch (the dry run uses it; see :data:`GradeBatch`).
    """
    probes = available_probes(names)
    chosen = list(probes)
    items = gold.select(split)
    calls = 0
    budget = budget if budget is not None else Budget.of(limits)
    current: dict[str, str] = {"stage": ""}

    async def default_batch(
        rubric: Rubric, gold: GoldSet, judge: JudgeConfig, *, limits: Limits | None, stage: str
    ) -> RunResult:
        return await agrade(
            rubric, gold, judge, completer, store=store, split="all", limits=limits, kind="probe"
        )

    batch = grade_batch or default_batch

    async def grade(
        derived: list[GoldItem],
        *,
        judge: JudgeConfig | None = None,
        rubric: Rubric | None = None,
        label: str = "",
    ) -> RunResult:
        nonlocal calls
        if on_derived is not None:
            on_derived(derived)
        derived_gold = GoldSet(
            name=f"{gold.name}~{label}" if label else gold.name,
            path=gold.path,
            file_hash=gold.file_hash,
            items=derived,
            splits=dict.fromkeys((it.id for it in derived), "test"),
        )
        result = await batch(
            rubric or rubric_,
            derived_gold,
            judge or judge_,
            limits=budget.limits(limits),
            stage=current["stage"],
        )
        calls += result.n_calls
        budget.charge(f"{current['stage']} ({label or 'batch'})", result)
        return result

    rubric_, judge_ = rubric, judge
    family = judge_family or infer_family(judge.model)
    results: list[ProbeResult] = []
    for name in chosen:
        probe = probes[name]
        merged = {**probe.default_thresholds, **(thresholds or {}).get(name, {})}
        plan, without = _without_calls(name, probe, rubric, items, merged, family, force=force)
        if without is not None:
            results.append(without)
            continue
        before = calls
        current["stage"] = f"probe:{name}"
        stops_before = len(budget.stopped)
        ctx = ProbeContext(
            rubric=rubric,
            items=items,
            judge=judge,
            grade=grade,
            thresholds=merged,
            seed=seed,
            judge_family=family,
            n_resamples=n_resamples,
            alpha=alpha,
            force=force,
        )
        result = await probe.run(ctx)
        update: dict[str, Any] = {"calls": calls - before}
        if plan is not None and result.plan is None:
            update["plan"] = plan
        cut = budget.stopped[stops_before:]
        if cut:
            why = budget.reason()
            update["stopped"] = why
            update["outcome"] = "undefined"
            update["reason"] = f"not decided: a cap skipped some of its units ({why})" + (
                f"; on the units it graded: {result.reason}" if result.reason else ""
            )
            result = ProbeResult.model_validate({**result.model_dump(), **update})
        else:
            result = result.model_copy(update=update)
        results.append(result)
    return ProbeReport(
        judge=judge.model,
        rubric=rubric.name,
        split=split,
        results=settle(results, alpha=alpha),
        calls=calls,
        alpha=alpha,
    )


def run_probes(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    *,
    store: Any = None,
    api_base: str | None = None,
    api_key: str | None = None,
    preflight: bool = True,
    **options: Any,
) -> ProbeReport:
    """Synchronous :func:`arun_probes` that also resolves the model string (``sim/...`` included).

    ``preflight``: first check with one tiny call that the judge answers (:mod:`judgecal.preflight`;
    skipped when every unit of the battery would come from the cache, :func:`judgecal.plan.plan_probe`);
    a fatal failure raises :class:`~judgecal.errors.ProviderError` with nothing stored. With
    ``limits.max_cost`` set, a judge whose price cannot be known is refused before any call
    (:func:`judgecal.budget.require_known_price`, :class:`~judgecal.errors.ConfigError`).

    A simulated judge is taught the truth of the items the probes derive (:func:`_teach_sim`):
    the one ``sim/<preset>`` starts in this process, and equally one served by ``judgecal
    simulate serve`` at a loopback ``api_base``, so both give the same verdicts."""
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415
    from judgecal.llm import open_completer  # noqa: PLC0415
    from judgecal.preflight import apreflight_run  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    available_probes(options.get("names"))  # unknown or broken probes fail before any server starts
    store = store or Store()
    limits = options.get("limits")
    capped = limits is not None and limits.max_cost is not None
    needed = _calls_needed(rubric, gold, judge, store, options) if preflight or capped else 0
    sim_items = sim_items_from_gold(rubric, gold.items) if judge.model.startswith("sim/") else None
    with open_completer(judge.model, api_base=api_base, api_key=api_key, sim_items=sim_items) as opened:
        teach = _teach_sim(rubric, gold, opened.sim, api_base=api_base)
        if teach is not None:
            options.setdefault("on_derived", teach)

        async def checked() -> ProbeReport:
            await apreflight_run(opened.completer, needed, enabled=preflight, limits=limits)
            return await arun_probes(rubric, gold, judge, opened.completer, store=store, **options)

        return _aio.run(checked())


async def plan_battery(
    ledger: Ledger,
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    names: Sequence[str] | None,
    *,
    thresholds: dict[str, dict[str, float]] | None,
    judge_family: str | None,
    seed: int,
    force: bool,
    split: Literal["dev", "test", "all"] = "test",
    note: str = "",
) -> list[str]:
    """Count each probe's batches into ``ledger`` (one probe at a time, as a validation runs
    them), by running it with :meth:`judgecal._plan.Ledger.batch` as its grader: no call is made.
    Returns the notes of any probe that could not be followed to the end."""
    notes: list[str] = []
    if names is not None and not names:
        return notes  # no probe asked for (``available_probes`` would read that as all of them)
    for name in available_probes(names):
        s = ledger.stage(f"probe:{name}", judge.model, note)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # statistics over no verdict warn; nothing is decided
                report = await arun_probes(
                    rubric,
                    gold,
                    judge,
                    None,
                    store=ledger.store,
                    names=[name],
                    split=split,
                    thresholds=thresholds,
                    judge_family=judge_family,
                    seed=seed,
                    n_resamples=200,
                    force=force,
                    grade_batch=ledger.batch,
                )
        except Exception as exc:  # noqa: BLE001 - a probe that cannot be followed is noted, not fatal
            notes.append(f"probe {name}: counted up to where it stopped without answers ({exc})")
            continue
        r = report.results[0]
        if r.outcome in ("not_applicable", "underpowered"):
            s.note = f"{r.word}: no call" + (f" ({r.reason})" if r.outcome == "not_applicable" else "")
    return notes


def plan_probe(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    *,
    store: Any = None,
    names: Sequence[str] | None = None,
    split: Literal["dev", "test", "all"] = "test",
    thresholds: dict[str, dict[str, float]] | None = None,
    judge_family: str | None = None,
    seed: int = 0,
    force: bool = False,
    preflight: bool = True,
) -> RunPlan:
    """What :func:`judgecal.probes.run_probes` with these options would call and cost (no call)."""
    ledger = Ledger(store)
    notes = _aio.run(
        plan_battery(
            ledger,
            rubric,
            gold,
            judge,
            names,
            thresholds=thresholds,
            judge_family=judge_family,
            seed=seed,
            force=force,
            split=split,
        )
    )
    probes = list(ledger.stages.values())
    stages = [preflight_stage(ledger, judge.model, sum(s.calls for s in probes), preflight), *probes]
    return finish_plan(ledger, "probe", rubric, gold, split, [judge.model], stages, notes)


def _calls_needed(
    rubric: Rubric, gold: GoldSet, judge: JudgeConfig, store: Any, options: dict[str, Any]
) -> int:
    """New provider calls the battery :func:`run_probes` is asked for would make (no call)."""
    keys = ("names", "split", "thresholds", "judge_family", "seed", "force")
    return plan_probe(
        rubric, gold, judge, store=store, preflight=False, **{k: options[k] for k in keys if k in options}
    ).calls


def _teach_sim(
    rubric: Rubric, gold: GoldSet, sim: Any, *, api_base: str | None = None
) -> Callable[[list[GoldItem]], None] | None:
    """What tells a simulated judge the truth of derived items (None when there is no simulator).

    ``sim`` is the simulator judgecal started (``sim/<preset>``, or a
    :class:`~judgecal.simulate.SimCompleter`); when it is None and ``api_base`` is a loopback
    address that answers as judgecal's simulator (:func:`judgecal.simulate.find_simulator`: a
    ``judgecal simulate serve`` process), that one is taught instead, over ``POST
    /v1/judgecal/items`` — first the gold items (those it already knows are skipped), as the
    in-process one is given them when it starts, so the two behave alike.

    A variant is registered when the probe that derived it wrote its own labels (they differ
    from its source's): that says what the right verdict now is — an inserted error turns a pass
    into a fail, and a pair of an answer and its corrupted copy has the clean copy as the right
    side. Without it the simulator would grade the variant as a perturbed copy of its source.
    Variants that keep their source's labels are not registered (the simulator must still see
    padding as padding), except shortened answers (``concise_source``), which it cannot find in
    its known outputs: they are registered with their source's labels."""
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415

    if sim is None:
        from judgecal.simulate import find_simulator  # noqa: PLC0415

        sim = find_simulator(api_base)
        if sim is None:
            return None
        sim.add_items(sim_items_from_gold(rubric, gold.items))

    sources = {item.id: item for item in gold.items}
    known: set[str] = set()

    def changed(it: GoldItem) -> bool:
        source = sources.get(it.metadata.get("source_item", ""))
        if source is None:
            return False
        # a shortened answer (the verbosity probe's concise variant) is not a copy the simulator
        # can find by containment: it is told the item, with its source's labels
        return (
            it.labels != source.labels
            or it.majority() != source.majority()
            or "concise_source" in it.metadata
        )

    def teach(items: list[GoldItem]) -> None:
        new = [it for it in items if it.id not in known and it.majority() is not None and changed(it)]
        if new:
            sim.add_items(sim_items_from_gold(rubric, new))
            known.update(it.id for it in new)

    return teach
