"""Units of work: one (item, presentation order, sample) with its rendered prompt and cache key,
and how a stored call becomes a unit's verdict.

A unit's cache key is ``sha256([model, settings_hash, prompt_hash, sample_index])``: the same
key is the same question to the same judge, answered once and reused (:mod:`judgecal.execute`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from judgecal._model import sha256_json
from judgecal.gold import GoldItem
from judgecal.prompt import prompt_hash, render_messages
from judgecal.rubric import Rubric
from judgecal.verdict import Verdict

if TYPE_CHECKING:
    from judgecal.judge_types import JudgeConfig

__all__ = ["Order", "Unit", "build_units", "seed_for", "verdict_from_call"]

Order = Literal["", "ab", "ba"]


@dataclass(slots=True)
class Unit:
    """One unit of work. Plain data: it travels to other processes (Ray workers) as it is."""

    item: GoldItem
    order: Order
    sample_index: int
    messages: list[dict[str, str]]
    prompt_hash: str
    cache_key: str
    verdict: Verdict | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """(item, order, sample): the unit's place in its run."""
        return (self.item.id, self.order, self.sample_index)


_SWAP = {"A": "B", "B": "A", "tie": "tie"}


def _unit_inputs(item: GoldItem, order: Order) -> dict[str, str]:
    if order != "ba":
        return item.inputs
    swapped = dict(item.inputs)
    swapped["output_a"], swapped["output_b"] = item.inputs["output_b"], item.inputs["output_a"]
    return swapped


def build_units(rubric: Rubric, items: list[GoldItem], judge: JudgeConfig) -> list[Unit]:
    """Every (item, order, sample) with its rendered prompt and cache key."""
    if rubric.scale.kind == "pairwise":
        orders: list[Order] = ["ab", "ba"] if judge.orders == "both" else ["ab"]
    else:
        orders = [""]
    settings_hash = judge.settings_hash
    units: list[Unit] = []
    for item in items:
        for order in orders:
            messages = render_messages(rubric, _unit_inputs(item, order))
            p_hash = prompt_hash(messages)
            for i in range(judge.samples):
                key = sha256_json([judge.model, settings_hash, p_hash, i])
                units.append(Unit(item, order, i, messages, p_hash, key))
    return units


def seed_for(judge: JudgeConfig, sample_index: int) -> int | None:
    """The seed sent with sample ``sample_index``."""
    if judge.sampling.seed is not None:
        return judge.sampling.seed + sample_index
    return sample_index if judge.samples > 1 else None


def _label_out(rubric: Rubric, label: str | int | None, order: Order) -> str | int | None:
    if label is None or order != "ba":
        return label
    return _SWAP[str(label)]


def verdict_from_call(rubric: Rubric, unit: Unit, call: Any, cached: bool) -> Verdict:
    """A stored call (a row or its dict) -> the unit's verdict, in the item's own A/B terms."""
    get = call.get if isinstance(call, dict) else lambda k: getattr(call, k)
    label: str | int | None = get("label")
    if label is not None and rubric.scale.kind == "ordinal":
        label = int(label)
    label = _label_out(rubric, label, unit.order)
    return Verdict(
        item_id=unit.item.id,
        status=get("status") or "error",
        label=label,
        passed=rubric.scale.passed(label) if label is not None else None,
        reasoning=get("reasoning"),
        failure_modes=json.loads(get("failure_modes_json") or "[]"),
        order=unit.order or None,
        sample_index=unit.sample_index,
        raw=get("raw_response"),
        invalid_reason=get("invalid_reason"),
        error=get("error"),
        latency_ms=get("latency_ms"),
        prompt_tokens=get("prompt_tokens"),
        completion_tokens=get("completion_tokens"),
        cost=get("cost"),
        cached=cached,
        call_id=get("id"),
    )
