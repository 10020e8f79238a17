"""Scenarios of the rubric-rewording probe.

The simulator (``judgecal.simulate``) has no rewording-sensitive bias, so this file adds one
without touching it: :class:`RubricSensitiveSim` is the in-process simulator whose answer, when
the prompt does *not* show the canonical rubric's criteria (every description, in order), is
raised one step with probability ``rubric_sensitivity`` — binary: pass; ordinal: score + 1;
pairwise: "A" — by a draw of its own, independent of the verdict draw. It reacts to any change
of the criteria text (it compares with the canonical rubric, never with the probe's rewrites).
:class:`RubricSensitiveProfile` carries the two extra fields; ``bench._probe_bench`` builds its
simulator through :func:`sim_completer`, which this module installs (a plain profile still gets a
plain :class:`~judgecal.simulate.SimCompleter`).

The true pooled shift of such a judge is analytic (``judgecal.simulate._decide``): an item's
verdict moves in the probe's direction only from a label one step below it, so per item
Δ_i = s·P(verdict = the label below) — binary: P(fail) = 1 − a on a gold-pass item, a on a
gold-fail item; ordinal: P(score = pass threshold − 1) (a when that is the truth, (1 − a)/2 from
an interior neighbour); pairwise: 1 − P(A) (P(A) = a when A is the truth, else (1 − a)/2 with
ties allowed); an item without a human majority is unknown to the simulator (uniform verdicts).
The estimand is the mean of Δ_i over the split (the same for every rewrite).

Power is measured at s = 0.15, 0.30, 0.50 with accuracy 0.9 (binary true shift ≈ s/2 at any
accuracy when half the items pass).

- **support-billing, the bundled gold set** (51 test items, three rewrites: 153 pairs);
- **helpfulness-ordinal, the bundled gold set** (21 test items; several without a human
  majority, which the simulator grades at random — so even an exact judge is noisy there);
- **pairwise-preference, 60 generated pairs** (a fifth ties): the template ranks the criteria
  ("in order of priority"), so only the paraphrase is used and it needs ≥ 54 pairs.

:func:`synthetic_singles` (a larger generated support-billing set) is for one-off runs
(``LARGE_SCENARIOS``), not in ``SCENARIOS``: at ~4 s a run it would dominate the bench.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import bench._probe_bench as _probe_bench
from bench._probe_bench import Scenario, bundled_gold
from bench.probe_scenarios._gold import ANNOTATORS, TOPICS, generated_gold, tie_pairs, unbiased_judge
from judgecal.gold import GoldItem, GoldSet
from judgecal.rubric import Rubric, find_rubric
from judgecal.simulate import JudgeProfile, SimCompleter, SimItem


class RubricSensitiveProfile(JudgeProfile):
    """A simulated judge that is more lenient when its rubric's criteria are worded otherwise."""

    rubric_sensitivity: float = 0.0
    """P(raising the verdict one step — binary pass, ordinal score + 1, pairwise "A" — when the
    prompt does not show every canonical criterion description in the canonical order)."""
    canonical_criteria: tuple[str, ...] = ()
    """The canonical rubric's criterion descriptions, in order (whitespace-normalised)."""


def canonical_profile(rubric: Rubric, **fields: Any) -> RubricSensitiveProfile:
    """A :class:`RubricSensitiveProfile` whose canonical wording is ``rubric``'s."""
    criteria = tuple(" ".join(c.description.split()) for c in rubric.criteria)
    return RubricSensitiveProfile(canonical_criteria=criteria, **fields)


def _shows_in_order(text: str, criteria: tuple[str, ...]) -> bool:
    flat, at = " ".join(text.split()), 0
    for description in criteria:
        found = flat.find(description, at)
        if found < 0:
            return False
        at = found + len(description)
    return True


class RubricSensitiveSim(SimCompleter):
    """:class:`~judgecal.simulate.SimCompleter` with the rewording-sensitive bias of a
    :class:`RubricSensitiveProfile` applied on top of its answer."""

    async def complete(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        done = await super().complete(messages, **kw)
        profile = self.profile
        s = getattr(profile, "rubric_sensitivity", 0.0)
        if not s or done.text is None:
            return done
        text = "\n".join(m.get("content", "") for m in messages)
        if _shows_in_order(text, profile.canonical_criteria):  # type: ignore[attr-defined]
            return done
        head = (
            f"reword\x00{profile.seed}\x00{self.name}\x00{kw.get('seed')!r}\x00{kw.get('temperature')!r}\x00"
        )
        u = random.Random(hashlib.sha256((head + text).encode()).digest()[:8]).random()
        if u >= s:
            return done
        try:
            answer = json.loads(done.text)
        except ValueError:  # a refusal: nothing to raise
            return done
        verdict = answer.get("verdict")
        props = ((kw.get("schema") or {}).get("properties") or {}).get("verdict") or {}
        if verdict in ("A", "B", "tie"):
            answer["verdict"] = "A"
        elif verdict in ("pass", "fail"):
            answer["verdict"] = "pass"
            answer["failure_modes"] = []
        elif isinstance(verdict, int):
            top = props.get("maximum", max(props.get("enum") or [verdict]))
            answer["verdict"] = min(verdict + 1, int(top))
        return dataclasses.replace(done, text=json.dumps(answer))


def sim_completer(
    profile: JudgeProfile | str = "accurate",
    items: Iterable[SimItem | Mapping[str, Any]] = (),
    *,
    name: str | None = None,
    model: str | None = None,
) -> SimCompleter:
    """The simulator for ``profile``: :class:`RubricSensitiveSim` for a
    :class:`RubricSensitiveProfile`, else the plain one."""
    cls = RubricSensitiveSim if isinstance(profile, RubricSensitiveProfile) else SimCompleter
    return cls(profile, items, name=name, model=model)


# bench._probe_bench builds its simulator by this name; a plain profile is served exactly as before.
_probe_bench.SimCompleter = sim_completer  # type: ignore[assignment,misc]


# --------------------------------------------------------------------------------------------
# Gold sets


@cache
def synthetic_singles(n: int = 240, seed: int = 0) -> GoldSet:
    """``n`` distinct support-billing items, half pass, half fail, three agreeing annotators."""
    rng = random.Random(f"rewording-singles-{seed}")
    items = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        items.append(
            GoldItem(
                id=f"rw-syn-{i:04d}",
                inputs={
                    "input": f"Question {i} about my {topic} (case {rng.randrange(10**6)})?",
                    "output": f"Answer {i} about the {topic} ({rng.randrange(10**6)}).",
                },
                labels=dict.fromkeys(ANNOTATORS, "pass" if i % 2 == 0 else "fail"),
                metadata={"slice": topic},
            )
        )
    return generated_gold(f"rewording-singles-{n}-{seed}", items)


@cache
def synthetic_pairs(n: int = 60, seed: int = 0, tie_share: float = 0.2) -> GoldSet:
    """``n`` distinct pairs, three agreeing annotators: ``tie`` for ``tie_share``, else a random side."""
    items = tie_pairs(n, seed, tie_share, key="rewording-pairs", id_prefix="rw-pair")
    return generated_gold(f"rewording-pairs-{n}-{seed}", items)


# --------------------------------------------------------------------------------------------
# The true shift


def _p_below(rubric: Rubric, truth: Any, a: float) -> float:
    """P(the verdict is the label one step below the probe's direction) before the bias."""
    kind = rubric.scale.kind
    if kind == "binary":
        if truth is None:
            return 0.5
        return 1.0 - a if truth == "pass" else a
    if kind == "ordinal":
        levels = rubric.scale.labels
        assert rubric.scale.pass_threshold is not None
        target = rubric.scale.pass_threshold - 1
        if truth is None:
            return 1.0 / len(levels)
        if truth == target:
            return a
        i = levels.index(truth)
        if 0 < i < len(levels) - 1 and abs(int(truth) - target) == 1:
            return (1.0 - a) / 2.0
        if i == 0 and levels[1] == target or i == len(levels) - 1 and levels[i - 1] == target:
            return 1.0 - a
        return 0.0
    labels = rubric.scale.labels
    if truth not in labels:
        return 1.0 - 1.0 / len(labels)
    p_a = a if truth == "A" else (1.0 - a) / (len(labels) - 1)
    return 1.0 - p_a


def true_shift(rubric_name: str, gold: Callable[[], GoldSet], split: str) -> Callable[[JudgeProfile], float]:
    """The pooled shift's true value for a profile (0 without ``rubric_sensitivity``)."""

    def value(profile: JudgeProfile) -> float:
        s = getattr(profile, "rubric_sensitivity", 0.0)
        if not s:
            return 0.0
        rubric = find_rubric(rubric_name)
        items = gold().select(split)  # type: ignore[arg-type]
        return s * sum(_p_below(rubric, it.majority(), profile.accuracy) for it in items) / len(items)

    return value


def _scenario(rubric_name: str, gold: Callable[[], GoldSet], split: str, label: str) -> Scenario:
    rubric = find_rubric(rubric_name)
    return Scenario(
        probe="rewording",
        rubric=rubric_name,
        gold=gold,
        split=split,
        unbiased=unbiased_judge,
        biased=lambda effect, seed: canonical_profile(
            rubric, accuracy=0.9, rubric_sensitivity=effect, seed=seed
        ),
        effects=[0.15, 0.30, 0.50],
        true_effect=true_shift(rubric_name, gold, split),
        headline="pooled shift",
        label=label,
    )


SCENARIOS: list[Scenario] = [
    _scenario("support-billing", bundled_gold("support-billing"), "test", "rewording / support-billing"),
    _scenario(
        "helpfulness-ordinal", bundled_gold("helpfulness-ordinal"), "test", "rewording / helpfulness-ordinal"
    ),
    _scenario(
        "pairwise-preference", synthetic_pairs, "test", "rewording / pairwise-preference, 60 generated"
    ),
]

LARGE_SCENARIOS: list[Scenario] = [
    _scenario("support-billing", synthetic_singles, "test", "rewording / support-billing, 240 generated"),
]
"""A larger generated set, for power and for noisy judges that can pass (run by hand)."""
