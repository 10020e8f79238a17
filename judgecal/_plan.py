"""The dry-run ledger, and the plans of grading runs; :mod:`judgecal.plan` is the public face.

A :class:`Ledger` counts a planned run stage by stage: it renders every prompt a batch would
send, looks the cache keys up in the store exactly as :func:`judgecal.judge.agrade` would (a unit
the store, or an earlier stage of the same run, already answers costs nothing) and prices the
new calls (:func:`judgecal.pricing.price_of`). The plans of a grade (:func:`plan_grade`) and a
comparison (:func:`plan_compare`) are made here; those of a probe battery
(:func:`judgecal.probes.base.plan_probe`) and a validation
(:func:`judgecal.approval.validate.plan_validation`) run the probes with :meth:`Ledger.batch` as
their grader, one layer up. How the figures are estimated: :mod:`judgecal.plan`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from judgecal._model import Strict
from judgecal.pricing import Price, price_of

if TYPE_CHECKING:
    from judgecal.gold import GoldItem, GoldSet
    from judgecal.judge_types import JudgeConfig, Limits, RunResult
    from judgecal.rubric import Rubric
    from judgecal.store import Store

__all__ = [
    "TYPICAL_ANSWER_TOKENS",
    "Ledger",
    "RunPlan",
    "StagePlan",
    "finish_plan",
    "plan_compare",
    "plan_grade",
    "preflight_stage",
    "render_plan",
]

TYPICAL_ANSWER_TOKENS = 120
"""Tokens of a typical verdict (a short reasoning, the label, failure modes) for the cost estimate."""
_PREFLIGHT_PROMPT_TOKENS = 20


class StagePlan(Strict):
    """One stage of a run: the preflight, the grading of a split, or one probe."""

    stage: str
    """``preflight``, ``grading`` (``grading:<judge>`` in a comparison) or ``probe:<name>``."""
    model: str
    """The judge's model string."""
    units: int = 0
    """Units of work the stage grades (items × presentation orders × samples)."""
    cached: int = 0
    """Units answered without a call: from the store, or by an earlier stage of the same run."""
    calls: int = 0
    """New provider calls (units − cached; retries of failed calls not counted)."""
    prompt_tokens: int = 0
    """Estimated prompt tokens of the new calls (characters / 4, plus 4 per message)."""
    completion_tokens: int = 0
    """Answer tokens of the new calls at most (calls × max_tokens)."""
    cost: float | None = 0.0
    """Estimated USD at a typical answer length; None when the price is unknown."""
    cost_max: float | None = 0.0
    """USD at most (every answer ``max_tokens`` long); None when the price is unknown."""
    note: str = ""
    """Why the stage makes no call, or what it depends on."""


class RunPlan(Strict):
    """What a run would call and cost, stage by stage, known before any call."""

    command: Literal["grade", "validate", "probe", "compare"]
    """The run planned."""
    rubric: str
    """The rubric's name."""
    gold: str
    """The gold set's name."""
    split: str
    """The split graded (and probes derive from)."""
    models: list[str]
    """The judges' model strings."""
    stages: list[StagePlan]
    """Every stage, in the order the run makes them."""
    calls: int
    """New provider calls in all (the preflight included)."""
    cost: float | None
    """Estimated USD in all; None when a price needed is unknown."""
    cost_max: float | None
    """USD at most in all; None when a price needed is unknown."""
    prices: list[Price]
    """The price used for each model."""
    notes: list[str] = Field(default_factory=list)
    """How the figures were estimated, and what could change them."""


class Ledger:
    """Counts the calls of a planned run: the store's cache plus what earlier stages answer."""

    def __init__(self, store: Store | None = None):
        if store is None:
            from judgecal.store import Store  # noqa: PLC0415

            store = Store()
        self.store = store
        self.seen: set[str] = set()
        self.stages: dict[str, StagePlan] = {}
        self.prices: dict[str, Price] = {}

    def price(self, model: str) -> Price:
        if model not in self.prices:
            self.prices[model] = price_of(model)
        return self.prices[model]

    def stage(self, name: str, model: str, note: str = "") -> StagePlan:
        if name not in self.stages:
            self.stages[name] = StagePlan(stage=name, model=model, note=note)
        return self.stages[name]

    def count(self, stage: str, rubric: Rubric, items: list[GoldItem], judge: JudgeConfig) -> None:
        """Add one batch (an ``agrade`` call) to ``stage``: its units, and the calls the cache
        leaves (looked up when the batch starts, as ``agrade`` does)."""
        from judgecal.units import build_units  # noqa: PLC0415

        units = build_units(rubric, items, judge)
        hits = self.store.cached_calls(u.cache_key for u in units)
        new = [u for u in units if u.cache_key not in hits and u.cache_key not in self.seen]
        self.seen.update(u.cache_key for u in units)
        s = self.stage(stage, judge.model)
        price = self.price(judge.model)
        prompt = sum(sum(math.ceil(len(m.get("content") or "") / 4) + 4 for m in u.messages) for u in new)
        typical = len(new) * min(TYPICAL_ANSWER_TOKENS, judge.sampling.max_tokens)
        most = len(new) * judge.sampling.max_tokens
        s.units += len(units)
        s.cached += len(units) - len(new)
        s.calls += len(new)
        s.prompt_tokens += prompt
        s.completion_tokens += most
        s.cost = _add(s.cost, price.cost(prompt, typical))
        s.cost_max = _add(s.cost_max, price.cost(prompt, most))

    async def batch(
        self, rubric: Rubric, gold: GoldSet, judge: JudgeConfig, *, limits: Limits | None, stage: str
    ) -> RunResult:
        """A probe batch, counted and answered with nothing (every unit ``skipped``): the
        ``grade_batch`` of :func:`judgecal.probes.base.arun_probes` in a dry run."""
        from judgecal.judge import RunResult, aggregate_items  # noqa: PLC0415
        from judgecal.verdict import Verdict  # noqa: PLC0415

        items = gold.select("all")
        self.count(stage, rubric, items, judge)
        pairwise_both = rubric.scale.kind == "pairwise" and judge.orders == "both"
        orders: list[str | None] = (
            ["ab", "ba"] if pairwise_both else (["ab"] if rubric.scale.kind == "pairwise" else [None])
        )
        verdicts = [
            Verdict(item_id=it.id, status="skipped", order=o, sample_index=i)  # type: ignore[arg-type]
            for it in items
            for o in orders
            for i in range(judge.samples)
        ]
        return RunResult(
            run_id="dry-run",
            status="completed",
            model=judge.model,
            rubric=rubric.name,
            n_items=len(items),
            n_units=len(verdicts),
            n_ok=0,
            n_invalid=0,
            n_error=0,
            n_skipped=len(verdicts),
            n_cached=0,
            n_calls=0,
            cost=0.0,
            latency_ms={"p50": None, "p95": None, "p99": None},
            wall_s=0.0,
            verdicts=verdicts,
            items=aggregate_items(rubric, judge, items, verdicts),
        )


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def preflight_stage(ledger: Ledger, model: str, calls: int, enabled: bool) -> StagePlan:
    """The preflight stage of a plan whose other stages make ``calls`` new calls."""
    if not enabled:
        return StagePlan(stage="preflight", model=model, note="turned off")
    if calls == 0:
        return StagePlan(stage="preflight", model=model, note="skipped: every unit comes from the cache")
    from judgecal.preflight import MAX_TOKENS  # noqa: PLC0415

    price = ledger.price(model)
    cost = price.cost(_PREFLIGHT_PROMPT_TOKENS, MAX_TOKENS)
    return StagePlan(
        stage="preflight",
        model=model,
        calls=1,
        prompt_tokens=_PREFLIGHT_PROMPT_TOKENS,
        completion_tokens=MAX_TOKENS,
        cost=cost,
        cost_max=cost,
        note="one tiny call: does the model answer with this key? (outside the caps)",
    )


def finish_plan(
    ledger: Ledger,
    command: Literal["grade", "validate", "probe", "compare"],
    rubric: Rubric,
    gold: GoldSet,
    split: str,
    models: list[str],
    stages: list[StagePlan],
    notes: list[str],
) -> RunPlan:
    """The plan of ``stages``: their totals, the prices used and how the figures were estimated."""
    cost: float | None = 0.0
    cost_max: float | None = 0.0
    for s in stages:
        if s.calls:
            cost, cost_max = _add(cost, s.cost), _add(cost_max, s.cost_max)
    prices = [ledger.price(m) for m in dict.fromkeys(models)]
    notes = [
        *notes,
        "calls: units the store cannot answer yet (retries of failed calls would add to them)",
        "cost: prompt tokens estimated as characters / 4; answers of "
        f"{TYPICAL_ANSWER_TOKENS} tokens (estimate) up to max_tokens (at most)",
    ]
    for p in prices:
        if not p.known:
            notes.append(f"{p.model}: unknown price (not in litellm's price map): cost not estimated")
    return RunPlan(
        command=command,
        rubric=rubric.name,
        gold=gold.name,
        split=split,
        models=models,
        stages=stages,
        calls=sum(s.calls for s in stages),
        cost=cost,
        cost_max=cost_max,
        prices=prices,
        notes=notes,
    )


def plan_grade(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    *,
    store: Store | None = None,
    split: Literal["dev", "test", "all"] = "all",
    preflight: bool = True,
) -> RunPlan:
    """What ``grade(rubric, gold, judge, split=split)`` would call and cost (no call)."""
    ledger = Ledger(store)
    ledger.count("grading", rubric, gold.select(split), judge)
    grading = ledger.stages["grading"]
    stages = [preflight_stage(ledger, judge.model, grading.calls, preflight), grading]
    return finish_plan(ledger, "grade", rubric, gold, split, [judge.model], stages, [])


def plan_compare(
    rubric: Rubric,
    gold: GoldSet,
    judges: Sequence[JudgeConfig],
    *,
    store: Store | None = None,
    split: Literal["dev", "test", "all"] = "test",
    preflight: bool = True,
) -> RunPlan:
    """What :func:`judgecal.compare.compare_judges` would call and cost (no call): each judge's
    grading of ``split``, with its own preflight."""
    ledger = Ledger(store)
    stages: list[StagePlan] = []
    models = [j.model for j in judges]
    for i, judge in enumerate(judges):
        name = judge.model if models.count(judge.model) == 1 else f"{judge.model}#{i + 1}"
        ledger.count(f"grading:{name}", rubric, gold.select(split), judge)
        grading = ledger.stages[f"grading:{name}"]
        first = preflight_stage(ledger, judge.model, grading.calls, preflight)
        stages += [first.model_copy(update={"stage": f"preflight:{name}"}), grading]
    return finish_plan(ledger, "compare", rubric, gold, split, models, stages, [])


def _money(cost: float | None, source: str) -> str:
    if cost is None:
        return "unknown price"
    if source.startswith("free"):
        return source
    return f"${cost:.4f}" if cost >= 0.0001 or cost == 0 else f"${cost:.2e}"


def render_plan(plan: RunPlan) -> str:
    """The plan as plain text for a terminal (``--dry-run``)."""
    sources = {p.model: p.source for p in plan.prices}
    free = all(p.source.startswith("free") for p in plan.prices)
    head = f"judgecal {plan.command} --dry-run · {plan.rubric} · {', '.join(dict.fromkeys(plan.models))}"
    lines = [head, f"gold {plan.gold} · split {plan.split} · no call made", ""]
    rows = [("stage", "units", "cached", "calls", "est. cost", "at most", "")]
    for s in plan.stages:
        src = sources.get(s.model, "unknown price")
        rows.append(
            (
                s.stage,
                str(s.units) if s.units else "-",
                str(s.cached) if s.units else "-",
                str(s.calls),
                _money(s.cost, src) if s.calls else "-",
                _money(s.cost_max, src) if s.calls else "-",
                s.note,
            )
        )
    total_src = (
        "free (simulated)" if free and all(p.startswith("free (sim") for p in sources.values()) else ""
    )
    total_src = total_src or ("free (local)" if free else "")
    rows.append(
        (
            "total",
            "",
            "",
            str(plan.calls),
            _money(plan.cost, total_src or "price map"),
            _money(plan.cost_max, total_src or "price map"),
            "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 6)]
        lines.append(("  ".join(cells) + ("  " + r[6] if r[6] else "")).rstrip())
    lines.append("")
    lines.extend(f"- {n}" for n in plan.notes)
    return "\n".join(lines)
