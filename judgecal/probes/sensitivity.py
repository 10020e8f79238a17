"""P21, sensitivity: an inserted error must lower the verdict.

The counterweight to the invariance probes: a judge that says the same thing whatever it reads
passes every "the verdict should not change" probe, and fails this one.

Cases: every gold-PASS item (human majority passes; binary and ordinal rubrics) gets one error
appended to its output as a final paragraph — a policy violation that matches one of the
rubric's failure modes where a template fits (:data:`ERROR_TEMPLATES`, matched on the failure
mode's id and description: a promised refund, pretended account access, a request for the full
card number and CVV, a rude remark, wrong information, ...), otherwise a generic factual error.
Templates that fit the rubric are assigned round-robin over the items (in a seeded order), so
each is used about equally; the variant id is ``f"{item.id}~sensitivity-{template}"`` and the
variant's labels say what the error makes the right verdict (binary ``fail``; ordinal the highest
failing level), so a simulator or a human reviewer can be told.

**Detection rate** = P(verdict lowered | error inserted, original verdict passed): among items
whose original verdict passed and whose variant got a valid verdict, the share whose variant's
verdict is lower (binary: fail; ordinal: a lower score — the share that also fails is in
``details``). An unparseable variant verdict is left out and counted. Wilson interval.
Pass (METHODS P21): detection ≥ ``min_detection`` (0.85) and Wilson lower bound ≥
``min_detection_lower`` (0.75).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgecal.calibrate.intervals import wilson
from judgecal.gold import GoldItem
from judgecal.probes._stats import Check, decide, derive_item, fmt
from judgecal.probes.base import ProbeContext, ProbeResult
from judgecal.rubric import Rubric

__all__ = ["ERROR_TEMPLATES", "GENERIC_ERROR", "ErrorTemplate", "SensitivityProbe", "error_variants"]


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


class SensitivityProbe:
    """P21: an error inserted into gold-PASS outputs must lower the verdict."""

    name = "sensitivity"
    description = "Sensitivity: an inserted policy or factual error must lower the verdict"
    gated = True
    default_thresholds: dict[str, float] = {"min_detection": 0.85, "min_detection_lower": 0.75}

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if rubric.scale.kind == "pairwise":
            return "sensitivity inserts errors into single outputs (binary and ordinal rubrics)"
        if not any(_gold_pass(rubric, it) for it in items):
            return "no gold-PASS item in the split to insert an error into"
        return None

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        t = {**self.default_thresholds, **ctx.thresholds}
        pairs = error_variants(rubric, ctx.items, seed=ctx.seed)
        originals = [o for o, _ in pairs]
        before = await ctx.grade(originals, label="sensitivity-original")
        after = await ctx.grade([v for _, v in pairs], label="sensitivity")
        before_by = {iv.item_id: iv for iv in before.items}
        after_by = {iv.item_id: iv for iv in after.items}
        ordinal = rubric.scale.kind == "ordinal"
        detected = n = original_not_pass = variant_invalid = now_failing = 0
        per_template: dict[str, list[int]] = {}
        for original, variant in pairs:
            b, a = before_by.get(original.id), after_by.get(variant.id)
            if b is None or b.status != "ok" or not b.passed:
                original_not_pass += 1
                continue
            if a is None or a.status != "ok":
                variant_invalid += 1
                continue
            lowered = int(a.label) < int(b.label) if ordinal else a.label == "fail"  # type: ignore[arg-type]
            n += 1
            detected += lowered
            now_failing += not a.passed
            stats = per_template.setdefault(str(variant.metadata["inserted_error"]), [0, 0])
            stats[0] += lowered
            stats[1] += 1
        est = wilson(detected, n)
        decision = decide(
            [
                Check("detection rate", est.value, ">=", t["min_detection"]),
                Check("detection lower bound", est.lo, ">=", t["min_detection_lower"]),
            ]
        )
        outcome = "pass" if decision.passed else ("undefined" if decision.passed is None else "FAIL")
        reason = (
            f"the verdict was lowered on {detected} of {n} gold-PASS outputs with an inserted error that "
            f"the judge passed without it (detection {fmt(est.value)}, 95% CI {fmt(est.lo)} to "
            f"{fmt(est.hi)}) — {outcome}"
        )
        details: dict[str, Any] = {
            "decision": decision.summary,
            "variants": len(pairs),
            "original_not_passed": original_not_pass,
            "variant_unparseable": variant_invalid,
            "per_template": {
                k: {"detected": v[0], "n": v[1], "rate": v[0] / v[1]} for k, v in sorted(per_template.items())
            },
            "templates": [tpl.key for tpl in _matching_templates(rubric)],
            "run_ids": [before.run_id, after.run_id],
        }
        if ordinal:
            details["now_failing"] = now_failing
        return ProbeResult(
            probe=self.name,
            kind="sensitivity",
            gated=self.gated,
            statistic="detection rate: P(verdict lowered | error inserted, original verdict passed)",
            estimate=est,
            headline_limit="min_detection",
            threshold={"min_detection": t["min_detection"], "min_detection_lower": t["min_detection_lower"]},
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=n,
            details=details,
        )
