"""Verdicts: the answer schema a judge is asked for, and parsing raw answers into verdicts.

An answer that cannot be parsed into the rubric's shape, or a refusal, is a verdict with status
``invalid`` and its raw text kept: it is counted and reported, never turned into a score.

Two invalid reasons are *transient* (:data:`TRANSIENT_REASONS`, :func:`transient_reason`): an
empty answer and one cut at the token limit say nothing about the item — the same request may
well be answered the next time — so they are retried, and never reused from the cache. Every
other reason (prose with no JSON, a refusal, no verdict, a label off the scale) is the model's
own answer to the prompt: it is kept, and cached like a verdict.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from judgecal._rubric_model import Rubric

__all__ = [
    "TRANSIENT_REASONS",
    "ParsedAnswer",
    "Verdict",
    "answer_format",
    "answer_schema",
    "parse_answer",
    "transient_reason",
]

Status = Literal["ok", "invalid", "error", "skipped"]
Label = str | int


class ParsedAnswer(BaseModel):
    """What one raw answer says, or why it says nothing usable."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "invalid"]
    """``ok`` when the answer parsed into the rubric's shape, else ``invalid``."""
    label: Label | None = None
    """The verdict on the rubric's scale (None when invalid)."""
    reasoning: str | None = None
    """The judge's stated reason."""
    failure_modes: list[str] = Field(default_factory=list)
    """Failure-mode ids the judge cited (unknown ids are dropped and noted in ``note``)."""
    invalid_reason: str | None = None
    """Why the answer is invalid: ``empty``, ``refusal``, ``truncated``, ``not_json``,
    ``bad_verdict`` or ``no_verdict`` (``empty`` and ``truncated`` are transient:
    :data:`TRANSIENT_REASONS`)."""
    note: str | None = None
    """Anything tolerated while parsing (e.g. JSON found inside a code fence)."""


class Verdict(BaseModel):
    """One judge verdict on one item (one presentation order, one sample), as stored."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    """The gold item's id."""
    status: Status
    """``ok``: a verdict on the scale; ``invalid``: the judge answered unusably; ``error``: no
    answer after all retries (the error is recorded); ``skipped``: not attempted (a cap)."""
    label: Label | None = None
    """The verdict, in the item's own terms (pairwise verdicts are mapped back to the item's A/B)."""
    passed: bool | None = None
    """Whether ``label`` counts as a pass (binary and ordinal rubrics)."""
    reasoning: str | None = None
    """The judge's stated reason."""
    failure_modes: list[str] = Field(default_factory=list)
    """Failure modes the judge cited."""
    order: Literal["ab", "ba"] | None = None
    """Pairwise: the presentation order (``ba`` = output_b shown first)."""
    sample_index: int = 0
    """Which sample of the item (0-based)."""
    raw: str | None = None
    """The raw answer text."""
    invalid_reason: str | None = None
    """Why an ``invalid`` verdict is invalid."""
    error: str | None = None
    """The last error of an ``error`` verdict."""
    latency_ms: float | None = None
    """Wall time of the call behind this verdict, in ms (a cached verdict keeps its call's)."""
    prompt_tokens: int | None = None
    """Prompt tokens as the provider reported them."""
    completion_tokens: int | None = None
    """Completion tokens as the provider reported them."""
    cost: float | None = None
    """Cost in USD from litellm's cost map; None when the model's price is unknown."""
    cached: bool = False
    """True when this verdict was reused from an earlier identical call (no provider call)."""
    call_id: str | None = None
    """The id of the recorded call behind this verdict."""


def answer_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON schema of a verdict for ``rubric`` (sent as ``response_format``)."""
    scale = rubric.scale
    verdict: dict[str, Any]
    if scale.kind == "ordinal":
        verdict = {"type": "integer", "minimum": 1, "maximum": len(scale.labels)}
    else:
        verdict = {"type": "string", "enum": list(scale.labels)}
    props: dict[str, Any] = {
        "reasoning": {"type": "string", "description": "Brief reasoning, before the verdict."},
        "verdict": verdict,
    }
    required = ["reasoning", "verdict"]
    if scale.kind != "pairwise":
        items: dict[str, Any] = {"type": "string"}
        if rubric.failure_modes:
            items["enum"] = rubric.failure_mode_ids
        props["failure_modes"] = {"type": "array", "items": items}
        required.append("failure_modes")
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-style ``response_format`` that asks for ``schema`` (strict JSON schema)."""
    return {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}


def answer_format(rubric: Rubric) -> str:
    """The instruction every template ends its system message with: how to answer."""
    scale = rubric.scale
    if scale.kind == "binary":
        verdict = '"pass" or "fail"'
    elif scale.kind == "ordinal":
        verdict = f"an integer from 1 to {len(scale.labels)}"
    else:
        verdict = '"A", "B" or "tie"' if scale.allow_tie else '"A" or "B"'
    lines = [
        "Answer with a single JSON object and nothing else, with these keys:",
        '- "reasoning": a brief explanation (a few sentences), written before you decide;',
        f'- "verdict": {verdict};',
    ]
    if scale.kind != "pairwise":
        if rubric.failure_modes:
            ids = ", ".join(rubric.failure_mode_ids)
            lines.append(f'- "failure_modes": a list of the failure modes present (from: {ids}); [] if none.')
        else:
            lines.append('- "failure_modes": a list of short failure descriptions; [] if none.')
    return "\n".join(lines)


_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|sorry,|i can(?:'|no)t|i cannot|i won'?t|i am unable|i'm unable|as an ai)",
    re.IGNORECASE,
)
_LOOSE_VERDICT = re.compile(r'["\']?verdict["\']?\s*[:=]\s*["\']?\[*([A-Za-z]+|\d+)\]*["\']?', re.IGNORECASE)


def _first_json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    stripped = text.strip()
    try:
        value = json.loads(stripped, strict=False)  # llama.cpp grammars allow raw newlines
        return (value, None) if isinstance(value, dict) else (None, None)
    except json.JSONDecodeError:
        pass
    m = _FENCE.search(text)
    if m:
        try:
            value = json.loads(m.group(1), strict=False)
            if isinstance(value, dict):
                return value, "JSON taken from a code fence"
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder(strict=False)
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
            if isinstance(value, dict):
                return value, "JSON taken from surrounding text"
        except json.JSONDecodeError:
            pass
        start = text.find("{", start + 1)
    return None, None


def parse_answer(rubric: Rubric, text: str | None, *, finish_reason: str | None = None) -> ParsedAnswer:
    """Parse a judge's raw answer for ``rubric``.

    Strict JSON first; then JSON inside a code fence or surrounding prose; then a lone
    ``verdict: X`` line. Anything else is ``invalid`` with a reason.

    >>> from judgecal.rubric import find_rubric
    >>> r = find_rubric("support-billing")
    >>> parse_answer(r, '{"reasoning": "ok", "verdict": "PASS", "failure_modes": []}').label
    'pass'
    >>> parse_answer(r, "I'm sorry, I can't help with that.").invalid_reason
    'refusal'
    >>> parse_answer(r, '{"reasoning": "cut', finish_reason="length").invalid_reason
    'truncated'
    >>> parse_answer(r, "  ").invalid_reason
    'empty'

    Empty content is ``empty`` (``refusal`` when ``finish_reason`` is ``content_filter``: the
    provider withheld the answer). When the provider says the answer was cut at the token limit
    (``finish_reason`` ``length``) and it did not parse into a verdict, the reason is
    ``truncated`` whatever else is wrong with it (the reason it would have had is in ``note``):
    a cut answer is not the model's whole answer. A verdict that parsed despite the cut is ``ok``.
    """
    parsed = _parse(rubric, text, finish_reason)
    if finish_reason == "length" and parsed.invalid_reason not in (None, "empty", "truncated"):
        note = "; ".join(
            n for n in (f"cut at the token limit; otherwise {parsed.invalid_reason}", parsed.note) if n
        )
        return ParsedAnswer(status="invalid", invalid_reason="truncated", note=note)
    return parsed


TRANSIENT_REASONS: frozenset[str] = frozenset({"empty", "truncated"})
"""The ``invalid_reason`` values of a transient answer: retried like a failed call, and an
``invalid`` verdict stored with one of them (after the last retry) is never reused from the
cache. Every other reason is the model's own answer: kept, and cached."""


def transient_reason(text: str | None, finish_reason: str | None, parsed: ParsedAnswer) -> str | None:
    """Why the answer ``text`` (with the provider's ``finish_reason``, parsed into ``parsed`` by
    :func:`parse_answer`) is transient and worth asking for again, or None when it is the model's
    own answer (a verdict, prose, a refusal, a label off the scale).

    - ``"empty"``: no content, or only whitespace (unless the provider's content filter withheld
      it: ``finish_reason`` ``content_filter`` is a refusal, not transient);
    - ``"truncated"``: cut at the token limit as the provider says (``finish_reason``
      ``length``) and not parsed into a verdict.

    The result is one of :data:`TRANSIENT_REASONS` and equals ``parsed.invalid_reason`` for a
    ``parsed`` that :func:`parse_answer` returned for the same text and finish reason.

    >>> from judgecal.rubric import find_rubric
    >>> r = find_rubric("support-billing")
    >>> def check(text, finish="stop"):
    ...     return transient_reason(text, finish, parse_answer(r, text, finish_reason=finish))
    >>> check(""), check('{"reasoning": "cut', "length"), check("I'm sorry, I can't help.")
    ('empty', 'truncated', None)
    """
    if parsed.status == "ok":
        return None
    if text is None or not text.strip():
        return None if finish_reason == "content_filter" else "empty"
    if finish_reason == "length":
        return "truncated"
    return None


def _parse(rubric: Rubric, text: str | None, finish_reason: str | None) -> ParsedAnswer:
    if text is None or not text.strip():
        reason = "refusal" if finish_reason == "content_filter" else "empty"
        return ParsedAnswer(status="invalid", invalid_reason=reason)
    obj, note = _first_json_object(text)
    if obj is None:
        if finish_reason == "length":
            return ParsedAnswer(status="invalid", invalid_reason="truncated")
        if _REFUSAL.search(text):
            return ParsedAnswer(status="invalid", invalid_reason="refusal")
        matches = _LOOSE_VERDICT.findall(text)
        labels = {rubric.scale.normalise(m) for m in matches}
        if len(labels) == 1 and None not in labels:
            label = labels.pop()
            return ParsedAnswer(status="ok", label=label, note="no JSON; verdict read from a 'verdict:' line")
        return ParsedAnswer(status="invalid", invalid_reason="not_json")
    if "verdict" not in obj:
        return ParsedAnswer(status="invalid", invalid_reason="no_verdict")
    label = rubric.scale.normalise(obj["verdict"])
    if label is None:
        return ParsedAnswer(
            status="invalid",
            invalid_reason="bad_verdict",
            note=f"verdict {obj['verdict']!r} is not one of {rubric.scale.labels}",
        )
    reasoning = obj.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else None
    modes_raw = obj.get("failure_modes") or []
    modes: list[str] = []
    dropped: list[str] = []
    if isinstance(modes_raw, list):
        known = set(rubric.failure_mode_ids)
        for m in modes_raw:
            if isinstance(m, str) and (not known or m in known):
                modes.append(m)
            else:
                dropped.append(str(m))
    notes = [n for n in (note, f"unknown failure modes dropped: {dropped}" if dropped else None) if n]
    return ParsedAnswer(
        status="ok", label=label, reasoning=reasoning, failure_modes=modes, note="; ".join(notes) or None
    )
