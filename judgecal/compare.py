"""Swapping judges: several judges on the same gold items, side by side, and "can B replace A?".

Every judge is graded through the cached pipeline (runs of kind ``grade``) on the **same** items —
the gold set's test split by default — and calibrated with the calibration report
(:func:`judgecal.calibrate.report.build_report`) restricted to the items every judge answered.
For every ordered pair (A the incumbent, B the candidate) the question "can B replace A?" is a
**paired non-inferiority test** on agreement with the human majority:

- Δ = m(B) − m(A), m = Cohen's κ (quadratic-weighted κ on ordinal rubrics, the measure the
  approval gate G2 reads, ``docs/approval.md``) or percent agreement, computed on the same items.
  Invalid verdicts count as disagreements (the approval policy's G1 rule: unparseable outputs are
  failures of the judge): the extra judge category ``invalid``, or on an ordinal scale the score
  farthest from the human one — exactly as the calibration report's ``invalid_as_disagreement``
  block does, so Δ is the difference of the two reports' figures.
- Its interval comes from a **paired** percentile bootstrap over items (over prompt clusters when
  items share ``metadata.prompt_id``): every resample draws the same items for both judges, so the
  correlation between the two judges' errors — they grade the same items — is kept, which makes
  the interval much narrower than comparing two separate intervals. Same seed, same resamples: they
  are also the resamples behind each judge's own intervals in its report.
- One-sided test at level α = 1 − confidence (0.05): B is **non-inferior** to A ("B can replace
  A") when the lower end of the two-sided (1 − 2α) interval — the one-sided (1 − α) lower bound —
  is above −margin; **superior** when it is above 0; A and B are **interchangeable** when the whole
  interval lies within (−margin, +margin), i.e. each is non-inferior to the other. The margin is
  the approval policy's ``compare.margin`` (0.05 by default).
- For percent agreement the exact McNemar test on the discordant items (items exactly one of
  the two judges got right) is reported beside it as a cross-check of the direction.

References: Wellek (2010), *Testing Statistical Hypotheses of Equivalence and Noninferiority*;
the one-sided-interval form of non-inferiority is the two one-sided tests (TOST) reading of
Schuirmann (1987); McNemar (1947); Efron & Tibshirani (1993) ch. 13 for the percentile bootstrap.
What is compared follows the approval policy's gates G1 and G2 (``docs/approval.md``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from judgecal import _aio
from judgecal.calibrate.intervals import Estimate
from judgecal.calibrate.report import CalibrationReport
from judgecal.comparison import Comparison, Conclusion, JudgeSummary, Metric, PairVerdict

if TYPE_CHECKING:
    from judgecal.gold import GoldSet
    from judgecal.judge import JudgeConfig, Limits, RunResult
    from judgecal.llm import Completer
    from judgecal.rubric import Rubric
    from judgecal.store import Store

__all__ = [
    "Comparison",
    "JudgeSummary",
    "Metric",
    "PairVerdict",
    "acompare_judges",
    "compare_judges",
    "mcnemar_exact",
    "paired_delta",
]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages ``grading:<judge>`` (one per judge), then ``comparing``."""


# --------------------------------------------------------------------------------------------
# the statistics (pure functions over arrays)


def paired_delta(
    human: Sequence[Any],
    judge_a: Sequence[Any],
    judge_b: Sequence[Any],
    *,
    labels: Sequence[Any] | None = None,
    metric: Metric = "cohen_kappa",
    weights: Literal["linear", "quadratic"] | None = None,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Estimate:
    """Δ = m(B) − m(A), the difference of two judges' agreement with the same human labels, with
    the percentile interval of a **paired** bootstrap.

    ``m`` is Cohen's κ (``weights`` for weighted κ; categories in ``labels`` order) or percent
    agreement. Each resample draws items (or whole ``clusters``) with replacement — the *same*
    items for both judges — and gives one Δ*; the interval is the α and 1 − α percentiles of the
    Δ* (α = 1 − ``confidence``), i.e. two-sided at level 1 − 2α, so ``lo`` is the one-sided
    (1 − α) lower bound that a non-inferiority test reads. The resamples are exactly those of
    :func:`judgecal.calibrate.intervals.bootstrap_indices` with the same ``seed`` (both judges' resampled
    confusion matrices come from :func:`~judgecal.calibrate.intervals.bootstrap_confusions` with that
    seed). Resamples where Δ* is undefined (κ with one category) are dropped and counted in
    ``n_degenerate``. Range: −2 ≤ Δκ ≤ 2, −1 ≤ Δagreement ≤ 1; no items: ``nan`` and no interval.

    For percent agreement Δ = (b − c)/n with b, c the items only B, only A got right; its large-
    sample standard error is √((b + c) − (b − c)²/n)/n (the paired-proportions, McNemar form), which
    the tests check the interval against.

    >>> human = ["pass", "fail"] * 50
    >>> a = ["pass"] * 100                       # right on every pass item, wrong on every fail
    >>> b = list(human[:90]) + ["pass"] * 10     # right on 95 of 100
    >>> est = paired_delta(human, a, b, metric="percent_agreement", n_resamples=500)
    >>> round(est.value, 2), est.confidence, est.lo > 0.35
    (0.45, 0.9, True)
    >>> paired_delta(human, a, a, n_resamples=200).model_dump(include={"value", "lo", "hi"})
    {'value': 0.0, 'lo': 0.0, 'hi': 0.0}
    """
    from judgecal.calibrate import agreement as ag  # noqa: PLC0415
    from judgecal.calibrate.intervals import _cluster_codes, bootstrap_confusions, percentile_estimate  # noqa: PLC0415

    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be between 0.5 and 1 (one-sided), got {confidence!r}")
    (h, a, b), cats = ag.encode_labels(human, judge_a, judge_b, labels=labels)
    k, n = len(cats), int(h.size)
    stat: Callable[[Any], Any]
    if metric == "percent_agreement":
        stat = ag.agreement_from_confusion
    elif metric == "cohen_kappa":
        stat = partial(ag.kappa_from_confusion, weights=weights)
    else:
        raise ValueError(f"metric must be 'cohen_kappa' or 'percent_agreement', got {metric!r}")
    if clusters is not None and len(clusters) != n:
        raise ValueError(f"clusters must give one id per item: {len(clusters)} ids for {n} items")
    full_a = np.bincount(h * k + a, minlength=k * k).reshape(k, k)
    full_b = np.bincount(h * k + b, minlength=k * k).reshape(k, k)
    value = float(stat(full_b)) - float(stat(full_a)) if n else math.nan
    # the same seed and the same clusters: both calls draw the very same resampled items
    boot_a = bootstrap_confusions(h, a, k, clusters=clusters, n_resamples=n_resamples, seed=seed)
    boot_b = bootstrap_confusions(h, b, k, clusters=clusters, n_resamples=n_resamples, seed=seed)
    replicates = np.asarray(stat(boot_b), dtype=np.float64) - np.asarray(stat(boot_a), dtype=np.float64)
    if n == 0:
        replicates = np.full(n_resamples, np.nan)
    n_clusters = None if clusters is None else _cluster_codes(clusters, n)[1]
    return percentile_estimate(
        value,
        replicates,
        n=n,
        confidence=round(2 * confidence - 1, 12),
        n_clusters=n_clusters,
        n_resamples=n_resamples,
    )


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact McNemar test: two-sided binomial p-value of ``a_only`` successes in
    ``a_only + b_only`` trials at p = ½ (1.0 when there are no discordant items).

    >>> round(mcnemar_exact(2, 10), 4)   # 2·P(X ≤ 2), X ~ Bin(12, ½) = 2·79/4096
    0.0386
    >>> mcnemar_exact(0, 0)
    1.0
    """
    from scipy.stats import binomtest  # noqa: PLC0415

    n = a_only + b_only
    return 1.0 if n == 0 else float(binomtest(a_only, n, 0.5).pvalue)


def _conclusion(delta: Estimate, margin: float) -> tuple[Conclusion, bool, bool, bool]:
    if delta.lo is None or delta.hi is None or not math.isfinite(delta.value):
        return "undetermined", False, False, False
    non_inferior, superior = delta.lo > -margin, delta.lo > 0
    interchangeable = non_inferior and delta.hi < margin
    if interchangeable:  # a difference inside the margin is no reason to prefer either
        return "interchangeable", non_inferior, superior, interchangeable
    if superior:
        return "superior", non_inferior, superior, interchangeable
    if non_inferior:
        return "non_inferior", non_inferior, superior, interchangeable
    if delta.hi < -margin:
        return "inferior", non_inferior, superior, interchangeable
    return "not_shown", non_inferior, superior, interchangeable


def _items_needed(delta: Estimate, margin: float) -> int | None:
    """n·((Δ − lo)/(Δ + margin))²: the interval's lower half-width shrinks as 1/√n."""
    if delta.lo is None or not math.isfinite(delta.value) or delta.value <= -margin or delta.lo > -margin:
        return None
    return math.ceil(delta.n * ((delta.value - delta.lo) / (delta.value + margin)) ** 2)


def _answer(b: str, a: str, conclusion: Conclusion, figures: str, needed: int | None, margin: float) -> str:
    if conclusion == "superior":
        return f"{b} can replace {a}: it agrees with the humans better ({figures})"
    if conclusion == "interchangeable":
        return f"{b} and {a} are interchangeable within the margin ±{margin:g} ({figures})"
    if conclusion == "non_inferior":
        return f"{b} can replace {a}: not worse by more than the margin {margin:g} ({figures})"
    if conclusion == "inferior":
        return f"{b} cannot replace {a}: it is worse by more than the margin {margin:g} ({figures})"
    if conclusion == "undetermined":
        return f"{b} vs {a}: undetermined ({figures})"
    more = f"; about {needed} compared items would show it if the difference held" if needed else ""
    return (
        f"not shown that {b} can replace {a}: it may be worse by more than the margin {margin:g} "
        f"({figures}{more})"
    )


# --------------------------------------------------------------------------------------------
# the orchestration


def _policy_compare(policy: Any) -> tuple[float, Metric, float]:
    """The policy's ``compare.margin``, ``compare.metric`` and ``confidence`` (``policy``: a path, a
    ``Policy`` or None for the bundled default)."""
    from judgecal.approval import load_policy  # noqa: PLC0415 - the approval package is heavy

    p = load_policy(policy)
    return p.compare.margin, p.compare.metric, p.confidence


def _names(judges: Sequence[JudgeConfig]) -> list[str]:
    from judgecal.errors import ConfigError  # noqa: PLC0415

    seen: set[str] = set()
    for j in judges:
        key = j.model_dump_json()
        if key in seen:
            raise ConfigError(f"judge {j.model!r} is given twice with the same settings")
        seen.add(key)
    models = [j.model for j in judges]
    return [m if models.count(m) == 1 else f"{m}#{i + 1}" for i, m in enumerate(models)]


def _summary(
    name: str, judge: JudgeConfig, run: RunResult, report: CalibrationReport, left_out: int, kappa_key: str
) -> JudgeSummary:
    from judgecal.judge import latency_percentiles  # noqa: PLC0415

    block = report.agreement["invalid_as_disagreement"]
    kappa = block.weighted_kappa["quadratic"] if kappa_key == "quadratic" else block.cohen_kappa
    answered = [v for v in run.verdicts if v.status in ("ok", "invalid") and not v.error]
    costs = [v.cost for v in answered]
    cost = None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 8)
    return JudgeSummary(
        name=name,
        judge=judge.model_dump(mode="json"),
        run_id=run.run_id,
        n=block.n,
        left_out=left_out,
        percent_agreement=block.percent_agreement,
        kappa=kappa,
        tpr=block.tpr,
        tnr=block.tnr,
        invalid_rate=report.invalid_rate,
        cost=cost,
        cost_per_item=None if cost is None or not run.n_items else cost / run.n_items,
        cost_now=run.cost,
        calls=run.n_calls,
        cached=run.n_cached,
        latency_ms=latency_percentiles([v.latency_ms for v in answered if v.latency_ms is not None], 1),
        calibration=report,
    )


async def acompare_judges(
    rubric: Rubric | str,
    gold: GoldSet | str | None,
    judges: Sequence[JudgeConfig | str],
    *,
    store: Store | None = None,
    split: Literal["dev", "test", "all"] = "test",
    margin: float = 0.05,
    metric: Metric = "cohen_kappa",
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    limits: Limits | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    completers: Mapping[str, Completer] | None = None,
    preflight: bool = True,
) -> Comparison:
    """Grade ``judges`` (the first is the incumbent) on the same items of ``gold`` and answer
    "can B replace A?" for every ordered pair (module docstring).

    ``gold`` None: the rubric's own gold set. ``completers`` maps a judge's model string to a
    completer to use instead of resolving it (tests pass in-process simulated judges). Judges are
    graded one after the other through the cache; ``limits`` applies to each. Raises
    :class:`~judgecal.errors.ConfigError` for fewer than two judges or bad options,
    :class:`~judgecal.errors.GoldError` when the split has no item with a human majority, and
    :class:`~judgecal.errors.ProviderError` when a judge cannot be reached at all (no verdict).

    ``preflight``: before any judge grades, each judge that needs a call is checked with one tiny
    call (:mod:`judgecal.preflight`), so a missing key or a wrong model string of the last judge
    stops the comparison before the first judge's calls are paid for.
    """
    from judgecal.calibrate.inputs import input_from_run  # noqa: PLC0415
    from judgecal.calibrate.report import INVALID, _farthest, build_report  # noqa: PLC0415
    from judgecal.errors import ConfigError, GoldError, ProviderError  # noqa: PLC0415
    from judgecal.gold import find_gold  # noqa: PLC0415
    from judgecal.judge import JudgeConfig, agrade, sim_items_from_gold  # noqa: PLC0415
    from judgecal.llm import open_completer  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    rubric_ = find_rubric(rubric) if isinstance(rubric, str) else rubric
    gold_ = find_gold(gold or rubric_.name, rubric_) if gold is None or isinstance(gold, str) else gold
    configs = [JudgeConfig(model=j) if isinstance(j, str) else j for j in judges]
    if len(configs) < 2:
        raise ConfigError(
            "compare needs two or more judges (--judge A --judge B; the first is the incumbent)"
        )
    if not 0 < margin < 1:
        raise ConfigError(f"the margin must be between 0 and 1, got {margin}")
    if not 0.5 < confidence < 1:
        raise ConfigError(f"the confidence must be between 0.5 and 1 (one-sided), got {confidence}")
    if metric not in ("cohen_kappa", "percent_agreement"):
        raise ConfigError(f"metric must be cohen_kappa or percent_agreement, not {metric!r}")
    names = _names(configs)
    items = gold_.select(split)
    if not any(it.majority() is not None for it in items):
        raise GoldError(
            f"no item of the {split} split has a human majority label: nothing to compare with",
            location=gold_.path,
        )
    store = store or Store()

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    from judgecal.budget import require_known_price  # noqa: PLC0415
    from judgecal.plan import plan_grade  # noqa: PLC0415
    from judgecal.preflight import apreflight_run  # noqa: PLC0415

    max_cost = limits.max_cost if limits is not None else None
    for judge in configs:
        calls_needed = 0
        if preflight or max_cost is not None:
            calls_needed = plan_grade(rubric_, gold_, judge, store=store, split=split, preflight=False).calls
        given = (completers or {}).get(judge.model)
        if given is not None:
            await apreflight_run(given, calls_needed, enabled=preflight, limits=limits)
        elif preflight and calls_needed:
            sim_items = sim_items_from_gold(rubric_, gold_.items) if judge.model.startswith("sim/") else None
            with open_completer(
                judge.model, api_base=api_base, api_key=api_key, sim_items=sim_items
            ) as opened:
                await apreflight_run(opened.completer, calls_needed, enabled=True, limits=limits)
        elif calls_needed:  # no completer is opened just to check a price
            require_known_price(judge.model, max_cost, None)

    runs: list[RunResult] = []
    for name, judge in zip(names, configs, strict=True):

        def on_progress(done: int, total: int, name: str = name) -> None:
            report(f"grading:{name}", done, total)

        given = (completers or {}).get(judge.model)
        if given is not None:
            run = await agrade(
                rubric_, gold_, judge, given, store=store, split=split, limits=limits, progress=on_progress
            )
        else:
            sim_items = sim_items_from_gold(rubric_, gold_.items) if judge.model.startswith("sim/") else None
            with open_completer(
                judge.model, api_base=api_base, api_key=api_key, sim_items=sim_items
            ) as opened:
                run = await agrade(
                    rubric_,
                    gold_,
                    judge,
                    opened.completer,
                    store=store,
                    split=split,
                    limits=limits,
                    progress=on_progress,
                )
        if run.n_units and run.n_ok + run.n_invalid == 0:
            why = "a call or cost cap stopped it" if run.n_skipped == run.n_units else "every call failed"
            raise ProviderError(
                f"{name}: no verdict on any item ({why}); see `judgecal runs show {run.run_id[:12]}`"
            )
        runs.append(run)

    report("comparing", 0, 1)
    inputs = [input_from_run(store, run.run_id) for run in runs]
    chosen = [it for it in inputs[0].items if split == "all" or it.split == split]
    with_gold = [it.id for it in chosen if it.gold is not None]
    answered = [
        {it.id for it in inp.items if it.judge_status in ("ok", "invalid") and it.gold is not None}
        for inp in inputs
    ]
    common = [i for i in with_gold if all(i in ids for ids in answered)]
    keep = set(common)
    notes: list[str] = []
    if len(common) < len(with_gold):
        notes.append(
            f"{len(with_gold) - len(common)} items with a human majority lack a verdict from at least one "
            "judge (failed or skipped calls) and are left out for every judge; compare again to fill them in"
        )
    if len(with_gold) < len(chosen):
        notes.append(f"{len(chosen) - len(with_gold)} items have no human majority and are left out")

    scale = inputs[0].scale
    kappa_key = "quadratic" if scale == "ordinal" and metric == "cohen_kappa" else "unweighted"
    reports = []
    records = []
    for inp in inputs:
        same = dataclasses.replace(inp, items=[it for it in inp.items if it.id in keep])
        reports.append(
            build_report(same, split=split, confidence=confidence, n_resamples=n_resamples, seed=seed)
        )
        records.append({it.id: it for it in same.items})
    summaries = [
        _summary(name, judge, run, rep, len([i for i in with_gold if i not in ids]), kappa_key)
        for name, judge, run, rep, ids in zip(names, configs, runs, reports, answered, strict=True)
    ]

    # the pairs: the labels each judge is scored on, invalid as a disagreement (as the report does)
    rows = [records[0][i] for i in common]
    human: list[Any] = [it.gold for it in rows]  # every compared item has a majority
    clusters = [it.cluster or it.id for it in rows] if any(it.cluster for it in rows) else None
    labels: list[Any] = list(inputs[0].labels)

    def scored(recs: dict[str, Any]) -> list[Any]:
        out = []
        for i, h in zip(common, human, strict=True):
            it = recs[i]
            if it.judge_status == "ok":
                out.append(it.judge)
            elif kappa_key == "quadratic":
                out.append(_farthest(h, labels))  # an invalid score is a full miss
            else:
                out.append(INVALID)
        return out

    verdicts = [scored(r) for r in records]
    pair_labels = labels if kappa_key == "quadratic" else [*labels, INVALID]
    right = [[str(v) == str(h) for v, h in zip(vs, human, strict=True)] for vs in verdicts]
    order = [(0, j) for j in range(1, len(configs))] + [(j, 0) for j in range(1, len(configs))]
    order += [(i, j) for i in range(1, len(configs)) for j in range(1, len(configs)) if i != j]
    metric_label = {
        "cohen_kappa": "quadratic-weighted κ" if kappa_key == "quadratic" else "Cohen's κ",
        "percent_agreement": "percent agreement",
    }[metric]
    short = "κ" if metric == "cohen_kappa" else "agreement"
    pairs = []
    for ia, ib in order:
        delta = paired_delta(
            human,
            verdicts[ia],
            verdicts[ib],
            labels=pair_labels,
            metric=metric,
            weights="quadratic" if kappa_key == "quadratic" else None,
            clusters=clusters,
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
        )
        conclusion, non_inferior, superior, interchangeable = _conclusion(delta, margin)
        needed = _items_needed(delta, margin) if conclusion == "not_shown" else None
        a_only = sum(ra and not rb for ra, rb in zip(right[ia], right[ib], strict=True))
        b_only = sum(rb and not ra for ra, rb in zip(right[ia], right[ib], strict=True))
        if delta.lo is None or delta.hi is None:
            figures = f"Δ{short} undefined on {delta.n} items"
        else:
            figures = (
                f"Δ{short} = {delta.value:+.3f}, {delta.confidence:.0%} CI "
                f"[{delta.lo:+.3f}, {delta.hi:+.3f}], n = {delta.n}"
            )
        pairs.append(
            PairVerdict(
                incumbent=names[ia],
                candidate=names[ib],
                metric=metric,
                delta=delta,
                margin=margin,
                non_inferior=non_inferior,
                superior=superior,
                interchangeable=interchangeable,
                conclusion=conclusion,
                items_needed=needed,
                discordant={"a_only": a_only, "b_only": b_only},
                mcnemar_p=mcnemar_exact(a_only, b_only),
                answer=_answer(names[ib], names[ia], conclusion, figures, needed, margin),
            )
        )
    report("comparing", 1, 1)
    comparison = Comparison(
        rubric=rubric_.name,
        gold=gold_.name,
        split=split,
        n_items=len(common),
        metric=metric,
        metric_label=metric_label,
        margin=margin,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        judges=summaries,
        pairs=pairs,
        notes=notes,
    )
    store.save_comparison(comparison)
    return comparison


def compare_judges(
    rubric: Rubric | str,
    gold: GoldSet | str | None,
    judges: Sequence[JudgeConfig | str],
    **options: Any,
) -> Comparison:
    """Synchronous :func:`acompare_judges` (same arguments), e.g.
    ``compare_judges("support-billing", None, ["sim/noisy", "sim/accurate"]).pairs[0].answer``."""
    return _aio.run(acompare_judges(rubric, gold, judges, **options))
