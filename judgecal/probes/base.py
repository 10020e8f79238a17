"""The probe protocol, the plugin registry, and the runner that grades derived items through the
cached pipeline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from judgecal.calibrate.intervals import Estimate
from judgecal.errors import JudgecalError, NotFoundError
from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import JudgeConfig, Limits, RunResult, agrade
from judgecal.rubric import Rubric

__all__ = [
    "ENTRY_POINT_GROUP",
    "Probe",
    "ProbeContext",
    "ProbeReport",
    "ProbeResult",
    "available_probes",
    "infer_family",
    "run_probes",
]

ENTRY_POINT_GROUP = "judgecal.probes"


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
    reason: str = ""
    """One sentence with the figures behind the decision."""
    n: int = 0
    """Cases (items or pairs) behind the headline statistic."""
    calls: int = 0
    """Provider requests this probe made (0 when everything came from the cache)."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Further statistics: per payload family, per stratum, the noise floor, ..."""


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

    @property
    def passed(self) -> bool:
        """True when every applicable gated probe passed."""
        return all(r.passed for r in self.results if r.gated and r.applicable and r.passed is not None)


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
    """The model family a litellm model string most likely belongs to (None when unknown).

    >>> infer_family("openai/gpt-4o-mini"), infer_family("anthropic/claude-3-5-haiku-latest")
    ('openai', 'anthropic')
    >>> infer_family("ollama/llama3.1"), infer_family("sim/accurate") is None
    ('meta', True)
    """
    name = model.lower().split("/", 1)[-1] if "/" in model else model.lower()
    for pattern, family in _FAMILIES:
        if re.search(pattern, name):
            return family
    return None


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
) -> ProbeReport:
    """Run probes (all applicable ones by default) for one judge on one split of a gold set.

    ``on_derived`` sees every batch of items before it is graded (the simulated judge uses it to
    learn the truth of variants whose human label differs from their source's).
    """
    probes = available_probes(names)
    chosen = list(probes)
    items = gold.select(split)
    calls = 0

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
        result = await agrade(
            rubric or rubric_,
            derived_gold,
            judge or judge_,
            completer,
            store=store,
            split="all",
            limits=limits,
            kind="probe",
        )
        calls += result.n_calls
        return result

    rubric_, judge_ = rubric, judge
    family = judge_family or infer_family(judge.model)
    results: list[ProbeResult] = []
    for name in chosen:
        probe = probes[name]
        why_not = probe.applies(rubric, items)
        if why_not:
            results.append(
                ProbeResult(
                    probe=name,
                    kind="diagnostic",
                    gated=probe.gated,
                    applicable=False,
                    statistic="-",
                    reason=why_not,
                )
            )
            continue
        before = calls
        ctx = ProbeContext(
            rubric=rubric,
            items=items,
            judge=judge,
            grade=grade,
            thresholds={**probe.default_thresholds, **(thresholds or {}).get(name, {})},
            seed=seed,
            judge_family=family,
            n_resamples=n_resamples,
        )
        result = await probe.run(ctx)
        results.append(result.model_copy(update={"calls": calls - before}))
    return ProbeReport(judge=judge.model, rubric=rubric.name, split=split, results=results, calls=calls)


def run_probes(
    rubric: Rubric,
    gold: GoldSet,
    judge: JudgeConfig,
    *,
    store: Any = None,
    api_base: str | None = None,
    api_key: str | None = None,
    **options: Any,
) -> ProbeReport:
    """Synchronous :func:`arun_probes` that also resolves the model string (``sim/...`` included)."""
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415
    from judgecal.llm import open_completer  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    available_probes(options.get("names"))  # unknown or broken probes fail before any server starts
    store = store or Store()
    sim_items = sim_items_from_gold(rubric, gold.items) if judge.model.startswith("sim/") else None
    with open_completer(judge.model, api_base=api_base, api_key=api_key, sim_items=sim_items) as opened:
        if opened.sim is not None:
            options.setdefault("on_derived", _teach_sim(rubric, gold, opened.sim))
        return asyncio.run(arun_probes(rubric, gold, judge, opened.completer, store=store, **options))


def _teach_sim(rubric: Rubric, gold: GoldSet, sim: Any) -> Callable[[list[GoldItem]], None]:
    """The simulated judge knows the truth of the gold items; a variant whose label differs from
    its source's (an inserted error turns a pass into a fail) must be told too, or the simulator
    would grade it as a padded copy of the original. Variants with the source's label are not
    registered: the simulator must still see padding as padding."""
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415

    source_truth = {item.id: item.majority() for item in gold.items}
    known: set[str] = set()

    def teach(items: list[GoldItem]) -> None:
        new = [
            it
            for it in items
            if it.id not in known
            and it.metadata.get("source_item") in source_truth
            and it.majority() != source_truth[it.metadata["source_item"]]
        ]
        if new:
            sim.add_items(sim_items_from_gold(rubric, new))
            known.update(it.id for it in new)

    return teach
