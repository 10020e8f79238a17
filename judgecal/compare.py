"""Swapping judges: several judges on the same gold items, side by side, and "can B replace A?".

Each judge is graded through the cached pipeline on the same split. For every ordered pair
(A incumbent, B candidate) the difference Δ = m(B) − m(A) of an agreement measure with the human
majority (Cohen's κ by default, or percent agreement; invalid verdicts count as disagreements,
METHODS.md G1) gets a **paired** percentile bootstrap — the same resampled items for both judges,
seeded — and a one-sided non-inferiority test at level α = 1 − confidence: B may replace A when
the lower end of the two-sided (1 − 2α) interval is above −margin. B is *superior* when it is
above 0, and the two are *interchangeable* when the whole interval lies within ±margin. The margin
comes from the approval policy (``compare.margin``, default 0.05). Percent agreement also gets an
exact McNemar test on the discordant items as a cross-check.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judgecal._model import NanFloat
from judgecal.calibrate import agreement as ag

__all__ = ["Comparison", "JudgeSummary", "PairVerdict", "compare_judges", "paired_difference"]


class JudgeSummary(BaseModel):
    """One judge's figures on the compared items."""

    model_config = ConfigDict(extra="forbid")

    model: str
    """The judge's model string."""
    run_id: str
    """Its grading run."""
    n: int
    """Items with a human majority and a verdict (ok or invalid)."""
    percent_agreement: NanFloat
    """Share of those items where the judge equals the human majority."""
    cohen_kappa: NanFloat
    """Cohen's κ against the human majority (invalid as its own category)."""
    tpr: float | None = None
    """Binary: P(pass | human pass)."""
    tnr: float | None = None
    """Binary: P(fail | human fail)."""
    invalid_rate: NanFloat
    """Share of verdicts that were invalid."""
    cost: float | None
    """USD spent on new calls by the grading run (None: unknown price)."""
    calls: int
    """Provider requests made (0 when everything came from the store)."""
    latency_ms: dict[str, float | None]
    """p50/p95/p99 of the new calls."""


class PairVerdict(BaseModel):
    """Can ``candidate`` replace ``incumbent``?"""

    model_config = ConfigDict(extra="forbid")

    incumbent: str
    """Judge A."""
    candidate: str
    """Judge B."""
    metric: str
    """The agreement measure compared."""
    delta: float
    """m(B) − m(A) on the same items."""
    lo: float
    """Lower end of the two-sided (1 − 2α) paired-bootstrap interval of Δ (the one-sided bound)."""
    hi: float
    """Upper end."""
    margin: float
    """Non-inferiority margin."""
    non_inferior: bool
    """lo > −margin: B may replace A."""
    superior: bool
    """lo > 0: B agrees with humans better than A."""
    interchangeable: bool
    """−margin < lo and hi < margin: equal within the margin either way."""
    mcnemar_p: float
    """Exact McNemar p-value on the items where exactly one judge agrees with the humans."""
    discordant: dict[str, int]
    """Items only A got right (``a_only``) and only B got right (``b_only``)."""
    answer: str
    """The answer in one sentence."""


class Comparison(BaseModel):
    """Several judges on the same items."""

    model_config = ConfigDict(extra="forbid")

    rubric: str
    """The rubric."""
    gold: str
    """The gold set."""
    split: str
    """The split compared."""
    n_items: int
    """Items every judge has a verdict on (and a human majority)."""
    confidence: float
    """One-sided confidence of the non-inferiority bound."""
    n_resamples: int
    """Bootstrap resamples."""
    judges: list[JudgeSummary]
    """Per judge, in the order given (the first is the incumbent)."""
    pairs: list[PairVerdict] = Field(default_factory=list)
    """Every ordered pair."""


def _kappa_rows(human: np.ndarray, judge: np.ndarray, k: int) -> float:
    cm = np.bincount(human * k + judge, minlength=k * k).reshape(k, k)
    return float(ag.kappa_from_confusion(cm))


def paired_difference(
    human: list[Any],
    judge_a: list[Any],
    judge_b: list[Any],
    *,
    metric: Literal["cohen_kappa", "percent_agreement"] = "cohen_kappa",
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Δ = m(B) − m(A) and the two-sided (2·confidence − 1) percentile interval of a paired
    bootstrap over items (both judges scored on the same resampled items).

    >>> h = ["p", "f"] * 50
    >>> d, lo, hi = paired_difference(h, h, h, metric="percent_agreement", n_resamples=200)
    >>> (d, lo, hi)
    (0.0, 0.0, 0.0)
    """
    labels = sorted({*map(str, human), *map(str, judge_a), *map(str, judge_b)})
    code = {lab: i for i, lab in enumerate(labels)}
    h = np.array([code[str(x)] for x in human])
    a = np.array([code[str(x)] for x in judge_a])
    b = np.array([code[str(x)] for x in judge_b])
    k, n = len(labels), len(h)

    def m(idx: np.ndarray, j: np.ndarray) -> float:
        if metric == "percent_agreement":
            return float(np.mean(h[idx] == j[idx]))
        return _kappa_rows(h[idx], j[idx], k)

    full = np.arange(n)
    delta = m(full, b) - m(full, a)
    rng = np.random.default_rng(seed)
    draws = np.array([m(i, b) - m(i, a) for i in (rng.integers(0, n, n) for _ in range(n_resamples))])
    draws = draws[~np.isnan(draws)]
    tail = (1.0 - confidence) * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return delta, float(lo), float(hi)


def _mcnemar(a_only: int, b_only: int) -> float:
    from scipy.stats import binomtest  # noqa: PLC0415

    n = a_only + b_only
    return 1.0 if n == 0 else float(binomtest(a_only, n, 0.5).pvalue)


def compare_judges(
    rubric: Any,
    gold: Any,
    judges: list[Any],
    *,
    store: Any = None,
    split: Literal["dev", "test", "all"] = "test",
    margin: float = 0.05,
    metric: Literal["cohen_kappa", "percent_agreement"] = "cohen_kappa",
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    limits: Any = None,
    api_base: str | None = None,
) -> Comparison:
    """Grade ``judges`` (JudgeConfigs; the first is the incumbent) on the same items and compare
    every ordered pair (module docstring)."""
    from judgecal.judge import grade  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    if len(judges) < 2:
        from judgecal.errors import ConfigError  # noqa: PLC0415

        raise ConfigError("compare needs two or more judges (--judge A --judge B)")
    store = store or Store()
    runs = [
        grade(rubric, gold, j, store=store, split=split, limits=limits, api_base=api_base) for j in judges
    ]
    # the items every judge answered (ok or invalid) that have a human majority
    verdict_of: list[dict[str, Any]] = []
    for run in runs:
        verdict_of.append(
            {
                iv.item_id: (iv.label if iv.status == "ok" else "invalid")
                for iv in run.items
                if iv.status in ("ok", "invalid")
            }
        )
    human = {it.id: it.majority() for it in gold.select(split) if it.majority() is not None}
    common = [i for i in human if all(i in v for v in verdict_of)]
    hs = [human[i] for i in common]
    summaries = []
    for j, run, v in zip(judges, runs, verdict_of, strict=True):
        js = [v[i] for i in common]
        agree = [str(x) == str(y) for x, y in zip(hs, js, strict=True)]
        labels = sorted({*map(str, hs), *map(str, js)})
        kappa = (
            ag.cohen_kappa([str(x) for x in hs], [str(x) for x in js], labels=labels) if common else math.nan
        )
        tpr = tnr = None
        if rubric.scale.kind == "binary":
            pos = [a for a, h in zip(agree, hs, strict=True) if h == "pass"]
            neg = [a for a, h in zip(agree, hs, strict=True) if h == "fail"]
            tpr = sum(pos) / len(pos) if pos else None
            tnr = sum(neg) / len(neg) if neg else None
        summaries.append(
            JudgeSummary(
                model=j.model,
                run_id=run.run_id,
                n=len(common),
                percent_agreement=sum(agree) / len(agree) if agree else math.nan,
                cohen_kappa=kappa,
                tpr=tpr,
                tnr=tnr,
                invalid_rate=sum(1 for x in js if x == "invalid") / len(js) if js else math.nan,
                cost=run.cost,
                calls=run.n_calls,
                latency_ms=run.latency_ms,
            )
        )
    pairs = []
    for ia, a in enumerate(judges):
        for ib, b in enumerate(judges):
            if ia == ib:
                continue
            ja = [verdict_of[ia][i] for i in common]
            jb = [verdict_of[ib][i] for i in common]
            delta, lo, hi = paired_difference(
                hs, ja, jb, metric=metric, confidence=confidence, n_resamples=n_resamples, seed=seed
            )
            a_only = sum(str(x) == str(h) and str(y) != str(h) for h, x, y in zip(hs, ja, jb, strict=True))
            b_only = sum(str(y) == str(h) and str(x) != str(h) for h, x, y in zip(hs, ja, jb, strict=True))
            non_inferior, superior = lo > -margin, lo > 0
            interchangeable = lo > -margin and hi < margin
            name = "κ" if metric == "cohen_kappa" else "agreement"
            figures = (
                f"Δ{name} = {delta:+.3f}, {2 * confidence - 1:.0%} CI [{lo:+.3f}, {hi:+.3f}], margin {margin}"
            )
            if superior:
                answer = f"{b.model} can replace {a.model}: it agrees with humans better ({figures})"
            elif interchangeable:
                answer = f"{b.model} and {a.model} are interchangeable within the margin ({figures})"
            elif non_inferior:
                answer = f"{b.model} can replace {a.model}: not worse by more than the margin ({figures})"
            else:
                answer = (
                    f"{b.model} cannot replace {a.model}: it may be worse by more than the margin ({figures})"
                )
            pairs.append(
                PairVerdict(
                    incumbent=a.model,
                    candidate=b.model,
                    metric=metric,
                    delta=delta,
                    lo=lo,
                    hi=hi,
                    margin=margin,
                    non_inferior=non_inferior,
                    superior=superior,
                    interchangeable=interchangeable,
                    mcnemar_p=_mcnemar(a_only, b_only),
                    discordant={"a_only": a_only, "b_only": b_only},
                    answer=answer,
                )
            )
    return Comparison(
        rubric=rubric.name,
        gold=gold.name,
        split=split,
        n_items=len(common),
        confidence=confidence,
        n_resamples=n_resamples,
        judges=summaries,
        pairs=pairs,
    )
