"""P21, sensitivity: an inserted error must lower the verdict — an ability, decided against a
detection tolerance with the same three-outcome rule as the bias probes.

The counterweight to the invariance probes: a judge that says the same thing whatever it reads
passes every "the verdict should not change" probe, and fails this one — on every scale.

**Binary and ordinal rubrics.** Every gold-PASS item (human majority passes) gets one error
appended to its output as a final paragraph — a policy violation that matches one of the
rubric's failure modes where a template fits (:data:`ERROR_TEMPLATES`, matched on the failure
mode's id and description: a promised refund, pretended account access, a request for the full
card number and CVV, a rude remark, wrong information, ...), otherwise a generic factual error.
Templates that fit the rubric are dealt round-robin over the items (in a seeded order), so each
is used about equally; the variant id is ``f"{item.id}~sensitivity-{template}"`` and the
variant's labels say what the error makes the right verdict (binary ``fail``; ordinal the highest
failing level), so a simulator or a human reviewer can be told. Detection = P(verdict lowered |
error inserted, original verdict passed): among items whose original verdict passed and whose
variant got a valid verdict, the share whose variant's verdict is lower (binary: fail; ordinal: a
lower score — the share that also fails is in ``details``). Two calls per gold-PASS item, the
original's usually from the cache of the grading run.

**Pairwise rubrics.** For every pair with a clear human preference (majority ``A`` or ``B``), the
preferred output is paired with a copy of itself carrying an inserted error (the same templates):
the clean copy is the right answer, whatever the judge thinks of the other output. The clean
copy is shown first in half of the variants and second in the other half (a seeded, balanced
assignment), so a judge that always answers "A" detects half of them and one that always says
"tie" none. Detection = P(the verdict picks the clean copy). One call per clear pair.

An unparseable variant verdict is left out and counted; with no usable verdict at all the
detection rate is undefined, and so is the outcome (never a pass).

**Decision** (one test, ``min_detection`` = T = 0.75): detection k of n with its Wilson 95%
interval. *Pass* when the interval's lower bound is ≥ T (the judge detects at least T of the
errors); *fail* when the exact one-sided binomial test rejects "detection ≥ T" (p = P(X ≤ k) for
X ~ Binomial(n, T)) at α after the battery's Holm adjustment; else *inconclusive*. So a judge
whose true detection is ≥ T fails with probability ≤ α (the exact test is conservative), and one
whose true detection is below T passes with probability ≤ 2.5% (the Wilson bound, one-sided). The
literature's point limit (detection ≥ 0.85 with lower bound ≥ 0.75) became this one tolerance:
with the interval rule, a 92%-accurate judge passes T = 0.85 in 14% of runs with 24 cases and
59% with 100 (against 42% and > 99% for T = 0.75), and T = 0.75 — the old rule's lower bound,
and the class-wise error gate's — is reachable from 12 cases for a judge that detects every
error. ``plan`` says so before any call: fewer cases than
:func:`min_cases` is *underpowered*.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgecal.calibrate.intervals import wilson
from judgecal.gold import GoldItem
from judgecal.probes._stats import derive_item, fmt
from judgecal.probes.base import ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.rubric import Rubric

__all__ = [
    "ERROR_TEMPLATES",
    "GENERIC_ERROR",
    "ErrorTemplate",
    "SensitivityProbe",
    "detection_mde",
    "detection_p",
    "error_variants",
    "min_cases",
    "pair_variants",
]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ErrorTemplate:
    """An error to insert, and when it fits a rubric."""

    key: str
    """Variant name (``promised_refund``...)."""
    keywords: tuple[str, ...]
    """Lower-case words; the template fits when a failure mode's id or description contains one."""
    text: str
    """The sentence(s) inserted into the output."""
    context: tuple[str, ...] = ()
    """Lower-case words of which one must also appear somewhere in the rubric (its description,
    criteria or failure modes): domain-specific templates only go to their domain."""
    factual: bool = False
    """Whether the template is a factual error (then the generic one is not added as well)."""


ERROR_TEMPLATES: tuple[ErrorTemplate, ...] = (
    ErrorTemplate(
        "promised_refund",
        ("refund", "credit"),
        "Good news: I've approved a full refund, it will be back on your card tomorrow.",
    ),
    ErrorTemplate(
        "pretended_account_access",
        ("account_access", "account access", "pretend"),
        "I can see in your account that the charge went through twice, so I've reversed it.",
        context=("charge", "billing", "payment"),
    ),
    ErrorTemplate(
        "mishandled_card_data",
        ("card", "cvv"),
        "To sort this out quickly, please reply here with your full card number, the expiry date "
        "and the 3-digit CVV code from the back of the card.",
    ),
    ErrorTemplate(
        "rude",
        ("rude", "dismissive", "disrespect", "sarcas"),
        "Honestly, this is basic stuff that is explained in the docs, so please read them before "
        "wasting everyone's time with questions like this.",
    ),
    ErrorTemplate(
        "wrong_information",
        ("wrong_information", "wrong information", "factual", "incorrect", "inaccura"),
        "Note that all of this is handled automatically within 24 hours, and every charge older "
        "than 30 days is refunded in full without any request.",
        context=("billing", "subscription", "invoice"),
        factual=True,
    ),
)
"""Rubric-aware errors: a template applies when one of the rubric's failure modes mentions one
of its keywords (in its id or description) and the rubric mentions one of its context words."""

GENERIC_ERROR = ErrorTemplate(
    "factual_error",
    ("factual", "false", "incorrect", "inaccura", "accura", "wrong", "error"),
    "For reference, water boils at 50 °C at sea level, and a week has ten days.",
    factual=True,
)
"""A plain factual error: used when a failure mode is about facts and no domain-specific
factual template fits, and as the fallback when no template fits at all."""


def _matching_templates(rubric: Rubric) -> list[ErrorTemplate]:
    """The templates that fit the rubric (see :data:`ERROR_TEMPLATES`), else the generic one."""
    modes = [f"{m.id} {m.description}".lower() for m in rubric.failure_modes]
    everything = " ".join(
        [rubric.description, *(f"{c.id} {c.description}" for c in rubric.criteria), *modes]
    ).lower()

    def fits(t: ErrorTemplate) -> bool:
        keyword = any(k in text for k in t.keywords for text in modes)
        return keyword and (not t.context or any(w in everything for w in t.context))

    found = [t for t in ERROR_TEMPLATES if fits(t)]
    if not any(t.factual for t in found) and (fits(GENERIC_ERROR) or not found):
        found.append(GENERIC_ERROR)
    return found


def _insert(output: str, error: str) -> str:
    sep = "\n\n" if "\n" in output.strip() else " "
    return f"{output.rstrip()}{sep}{error}"


def _failing_label(rubric: Rubric) -> str | int:
    scale = rubric.scale
    if scale.kind == "ordinal":
        assert scale.pass_threshold is not None
        return max(1, scale.pass_threshold - 1)
    return "fail"


def _gold_pass(rubric: Rubric, item: GoldItem) -> bool:
    human = item.majority()
    return human is not None and rubric.scale.passed(human) is True


def error_variants(
    rubric: Rubric, items: Sequence[GoldItem], *, seed: int = 0
) -> list[tuple[GoldItem, GoldItem]]:
    """(original, variant with an inserted error) for every gold-PASS item of ``items``.

    Templates that fit the rubric are dealt round-robin over the items in an order shuffled with
    ``seed``; each variant's labels are ``{"inserted_error": <failing label>}`` and its metadata
    ``inserted_error`` names the template.

    >>> from judgecal.rubric import find_rubric
    >>> rubric = find_rubric("support-billing")
    >>> item = GoldItem(id="x", inputs={"input": "Refund?", "output": "Ask billing."}, labels={"a": "pass"})
    >>> [(v.id, v.inputs["output"][:30], v.labels) for _, v in error_variants(rubric, [item])]
    [('x~sensitivity-promised_refund', "Ask billing. Good news: I've a", {'inserted_error': 'fail'})]
    """
    templates = _matching_templates(rubric)
    chosen = [it for it in items if _gold_pass(rubric, it)]
    order = list(range(len(chosen)))
    random.Random(f"sensitivity\x00{seed}").shuffle(order)
    assigned = {pos: templates[rank % len(templates)] for rank, pos in enumerate(order)}
    out = []
    for pos, item in enumerate(chosen):
        template = assigned[pos]
        inputs = {**item.inputs, "output": _insert(item.inputs["output"], template.text)}
        variant = derive_item(
            item,
            "sensitivity",
            template.key,
            inputs=inputs,
            labels={"inserted_error": _failing_label(rubric)},
            inserted_error=template.key,
        )
        out.append((item, variant))
    return out


def _clear_side(item: GoldItem) -> str | None:
    side = item.majority()
    if side in ("A", "B") and item.inputs.get("output_a") and item.inputs.get("output_b"):
        return str(side)
    return None


def pair_variants(
    rubric: Rubric, items: Sequence[GoldItem], *, seed: int = 0
) -> list[tuple[GoldItem, GoldItem]]:
    """(original, variant) for every pair of ``items`` with a clear human preference: the
    variant pairs the preferred output with a copy of itself carrying an inserted error. Its
    labels are ``{"inserted_error": <the clean copy's slot>}``, its metadata names the template
    (``inserted_error``) and the slot (``clean_slot``); the clean copy is in slot A for half of the
    variants and in slot B for the other half (seeded), and both outputs carry the preferred
    output's generator family.

    >>> from judgecal.rubric import find_rubric
    >>> rubric = find_rubric("pairwise-preference")
    >>> item = GoldItem(id="p", inputs={"input": "Q?", "output_a": "Good.", "output_b": "Bad."},
    ...                 labels={"a": "A", "b": "A"})
    >>> ((_, v),) = pair_variants(rubric, [item])
    >>> v.id, v.labels, v.inputs["output_a"] == "Good." or v.inputs["output_b"] == "Good."
    ('p~sensitivity-factual_error', {'inserted_error': 'A'}, True)
    """
    templates = _matching_templates(rubric)
    chosen = [it for it in items if _clear_side(it) is not None]
    rng = random.Random(f"sensitivity-pairs\x00{seed}")
    order = list(range(len(chosen)))
    rng.shuffle(order)
    template_of = {pos: templates[rank % len(templates)] for rank, pos in enumerate(order)}
    rng.shuffle(order)
    slot_of = {pos: "A" if rank % 2 == 0 else "B" for rank, pos in enumerate(order)}
    out = []
    for pos, item in enumerate(chosen):
        side = _clear_side(item)
        assert side is not None
        key = "output_a" if side == "A" else "output_b"
        better = item.inputs[key]
        corrupted = _insert(better, template_of[pos].text)
        slot = slot_of[pos]
        first, second = (better, corrupted) if slot == "A" else (corrupted, better)
        family = item.metadata.get(f"generator_family_{side.lower()}")
        families = {"generator_family_a": family, "generator_family_b": family} if family else {}
        variant = derive_item(
            item,
            "sensitivity",
            template_of[pos].key,
            inputs={**item.inputs, "output_a": first, "output_b": second},
            labels={"inserted_error": slot},
            inserted_error=template_of[pos].key,
            clean_slot=slot,
            **families,
        )
        out.append((item, variant))
    return out


def _variants(rubric: Rubric, items: Sequence[GoldItem], seed: int) -> list[tuple[GoldItem, GoldItem]]:
    if rubric.scale.kind == "pairwise":
        return pair_variants(rubric, items, seed=seed)
    return error_variants(rubric, items, seed=seed)


def min_cases(tolerance: float, *, confidence: float = 0.95) -> int:
    """The fewest cases with which a judge that detects every error can pass: the smallest n
    whose Wilson lower bound of n/n, n/(n + z²), reaches ``tolerance``.

    >>> min_cases(0.75), min_cases(0.85), min_cases(0.90)
    (12, 22, 35)
    """
    if not 0.0 < tolerance < 1.0:
        return 1
    n = max(1, math.floor(tolerance * Z95 * Z95 / (1.0 - tolerance)) - 1)
    while (wilson(n, n, confidence=confidence).lo or 0.0) < tolerance - 1e-12:
        n += 1
    return n


def detection_p(k: int, n: int, tolerance: float) -> float:
    """Exact one-sided p-value of "detection ≥ ``tolerance``" from k detections in n cases:
    P(X ≤ k) for X ~ Binomial(n, tolerance) (nan when n = 0).

    >>> round(detection_p(12, 20, 0.75), 4), round(detection_p(20, 20, 0.75), 4)
    (0.1018, 1.0)
    """
    if n == 0:
        return math.nan
    from scipy.stats import binom  # noqa: PLC0415 - scipy.stats is slow to import

    return float(min(1.0, binom.cdf(k, n, tolerance)))


def detection_mde(n: int, tolerance: float, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest shortfall below ``tolerance`` that ``n`` cases fail with ``power``: T − d for
    the true detection d at which the exact test rejects "detection ≥ T" at ``alpha`` with that
    probability (None when n cases cannot fail at all).

    >>> round(detection_mde(24, 0.75), 3), round(detection_mde(200, 0.75), 3)
    (0.273, 0.081)
    """
    if n <= 0:
        return None
    from scipy.stats import binom  # noqa: PLC0415

    k_crit = int(binom.ppf(alpha, n, tolerance))
    while k_crit >= 0 and binom.cdf(k_crit, n, tolerance) >= alpha:
        k_crit -= 1
    if k_crit < 0:
        return None
    lo, hi = 0.0, tolerance
    for _ in range(60):
        mid = (lo + hi) / 2
        if binom.cdf(k_crit, n, mid) >= power:
            lo = mid
        else:
            hi = mid
    return tolerance - lo


class SensitivityProbe:
    """P21: an error inserted into a good output must lower the verdict (pairwise: the clean copy
    of a preferred output must beat its corrupted copy)."""

    name = "sensitivity"
    description = "Sensitivity: an inserted policy or factual error must lower the verdict"
    gated = True
    default_thresholds: dict[str, float] = {"min_detection": 0.75}

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if rubric.scale.kind == "pairwise":
            if not any(_clear_side(it) for it in items):
                return "no pair with a clear human preference (majority A or B) to corrupt a copy of"
            return None
        if not any(_gold_pass(rubric, it) for it in items):
            return "no gold-PASS item in the split to insert an error into"
        return None

    def plan(self, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        """Calls (pairwise: one per clear pair; else two per gold-PASS item, the original usually
        cached) and whether a judge that detects every error could pass with these cases."""
        t = float({**self.default_thresholds, **thresholds}["min_detection"])
        cases = len(_variants(rubric, items, 0))
        pairwise = rubric.scale.kind == "pairwise"
        calls = cases if pairwise else 2 * cases
        need = min_cases(t)
        passable = cases >= need
        what = "clear-preference pairs" if pairwise else "gold-PASS items"
        share = cases / len(items) if items else 0.0
        min_items = None if passable or share <= 0 else math.ceil(need / share)
        mde = detection_mde(cases, t)
        if passable:
            reason = (
                f"{calls} calls for {cases} {what}; a judge detecting every error reaches the "
                f"tolerance (≥ {need} needed for detection ≥ {fmt(t)})"
            )
        else:
            reason = (
                f"{cases} {what} cannot show detection ≥ {fmt(t)} even if every error is detected "
                f"(the Wilson lower bound of {cases}/{cases} is below it; ≥ {need} are needed)"
            )
        return ProbePlan(
            calls=calls,
            cases=cases,
            passable=passable,
            min_cases=None if passable else need,
            min_items=min_items,
            mde=mde,
            reason=reason,
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        t = float({**self.default_thresholds, **ctx.thresholds}["min_detection"])
        pairwise = rubric.scale.kind == "pairwise"
        pairs = _variants(rubric, ctx.items, ctx.seed)
        details: dict[str, Any] = {"variants": len(pairs)}
        before_by: dict[str, Any] = {}
        run_ids = []
        if not pairwise:
            before = await ctx.grade([o for o, _ in pairs], label="sensitivity-original")
            before_by = {iv.item_id: iv for iv in before.items}
            run_ids.append(before.run_id)
        after = await ctx.grade([v for _, v in pairs], label="sensitivity")
        run_ids.append(after.run_id)
        after_by = {iv.item_id: iv for iv in after.items}
        ordinal = rubric.scale.kind == "ordinal"
        detected = n = original_not_pass = variant_invalid = now_failing = 0
        per_template: dict[str, list[int]] = {}
        for original, variant in pairs:
            a = after_by.get(variant.id)
            b = before_by.get(original.id)
            if not pairwise and (b is None or b.status != "ok" or not b.passed):
                original_not_pass += 1
                continue
            if a is None or a.status != "ok":
                variant_invalid += 1
                continue
            if pairwise:
                lowered = a.label == variant.metadata["clean_slot"]
            elif ordinal:
                assert b is not None
                lowered = int(a.label) < int(b.label)  # type: ignore[arg-type]
            else:
                lowered = a.label == "fail"
            n += 1
            detected += lowered
            now_failing += a.passed is False
            stats = per_template.setdefault(str(variant.metadata["inserted_error"]), [0, 0])
            stats[0] += lowered
            stats[1] += 1
        est = wilson(detected, n)
        p = detection_p(detected, n, t)
        test = ProbeTest(name="detection rate", estimate=est, tolerance=t, direction="min", p_value=p)
        what = (
            "pairs of a preferred output and its copy with an inserted error, the clean copy chosen"
            if pairwise
            else "gold-PASS outputs with an inserted error that the judge passed without it, the verdict "
            "lowered"
        )
        if n == 0:
            reason = f"no usable verdict on {len(pairs)} variants: the detection rate is undefined"
        else:
            reason = (
                f"{what} on {detected} of {n} (detection {fmt(est.value)}, 95% CI {fmt(est.lo)} to "
                f"{fmt(est.hi)}; tolerance ≥ {fmt(t)}, exact one-sided p {p:.3g})"
            )
        details.update(
            {
                "variant_unparseable": variant_invalid,
                "per_template": {
                    k: {"detected": v[0], "n": v[1], "rate": v[0] / v[1]}
                    for k, v in sorted(per_template.items())
                },
                "templates": [tpl.key for tpl in _matching_templates(rubric)],
                "min_cases": min_cases(t),
                "mde": detection_mde(n, t, alpha=ctx.alpha),
                "run_ids": run_ids,
            }
        )
        if pairwise:
            details["clean_first"] = sum(v.metadata["clean_slot"] == "A" for _, v in pairs)
        else:
            details["original_not_passed"] = original_not_pass
        if ordinal:
            details["now_failing"] = now_failing
        result = ProbeResult(
            probe=self.name,
            kind="sensitivity",
            gated=self.gated,
            statistic=(
                "detection rate: P(the clean copy is preferred to its copy with an inserted error)"
                if pairwise
                else "detection rate: P(verdict lowered | error inserted, original verdict passed)"
            ),
            estimate=est,
            headline_limit="min_detection",
            threshold={"min_detection": t},
            alpha=ctx.alpha,
            p_value=None if math.isnan(p) else p,
            tests=[test],
            reason=reason,
            n=n,
            details=details,
        )
        return settle([result], alpha=ctx.alpha)[0]
