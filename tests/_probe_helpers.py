"""What the probe tests share: tiny rubrics, synthetic gold sets and probe runs on the in-process
simulated judge (:class:`~judgecal.simulate.SimCompleter`).

Not a test module (pytest collects ``test_*.py`` only); test modules import it by name, as they
import ``conftest``. Every generator is deterministic in its arguments, so a test that calls it
with the same arguments gets the same items it got when it held its own copy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import JudgeConfig, sim_items_from_gold
from judgecal.probes.base import ProbeReport, ProbeResult, arun_probes
from judgecal.rubric import Rubric, load_rubric
from judgecal.simulate import JudgeProfile, SimCompleter, SimItem

WORDS = ("invoice", "plan", "card", "refund", "billing", "team", "settings", "owner", "renewal", "trial")
"""The words synthetic answers are made of."""
ANNOTATORS = ("ana", "ben", "chloe")
"""The three agreeing annotators of the items that have three."""

# --------------------------------------------------------------------------------------------
# Tiny rubrics: short prompts keep a simulated call well under a millisecond


def write_rubric(
    folder: Path, kind: str, description: str = "A tiny rubric for statistical tests."
) -> Rubric:
    """Write and load a one-criterion rubric named after ``folder``: ``kind`` is ``binary``,
    ``ordinal`` (levels 1..5, pass at 4) or ``pairwise`` (ties allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "pairwise":
        scale, inputs, rule, tags = (
            "scale:\n  kind: pairwise\n  allow_tie: true\n",
            "[input, output_a, output_b]",
            "",
            "<output_a>{{ output_a }}</output_a>\n<output_b>{{ output_b }}</output_b>",
        )
    elif kind == "ordinal":
        levels = "".join(f"    {i}: level {i}\n" for i in range(1, 6))
        scale, inputs, rule, tags = (
            f"scale:\n  kind: ordinal\n  levels:\n{levels}  pass_threshold: 4\n",
            "[input, output]",
            "pass_rule: Pass at 4 or 5.\n",
            "<output>{{ output }}</output>",
        )
    else:
        scale, inputs, rule, tags = (
            "scale:\n  kind: binary\n",
            "[input, output]",
            "pass_rule: Pass when the answer is correct.\n",
            "<output>{{ output }}</output>",
        )
    (folder / "rubric.yaml").write_text(
        f"name: {folder.name}\nversion: '1'\ndescription: {description}\n{scale}"
        f"inputs: {inputs}\ncriteria:\n  - id: correct\n    description: The answer is correct.\n{rule}",
        encoding="utf-8",
    )
    (folder / "prompt.j2").write_text(
        "[system]\nGrade it. {{ answer_format }}\n[user]\n<input>{{ input }}</input>\n" + tags + "\n",
        encoding="utf-8",
    )
    return load_rubric(folder)


def write_rubrics(root: Path, prefix: str, kinds: Iterable[str], **kw: Any) -> dict[str, Rubric]:
    """:func:`write_rubric` for each kind, in ``root / f"{prefix}-{kind}"``, by kind."""
    return {kind: write_rubric(root / f"{prefix}-{kind}", kind, **kw) for kind in kinds}


# --------------------------------------------------------------------------------------------
# Synthetic gold sets


def gold_set(
    items: list[GoldItem], name: str = "synthetic", *, path: str = "(memory)", file_hash: str | None = None
) -> GoldSet:
    """A gold set of ``items``, all in the test split (``file_hash`` defaults to the name)."""
    return GoldSet(
        name=name,
        path=path,
        file_hash=name if file_hash is None else file_hash,
        items=items,
        splits=dict.fromkeys((i.id for i in items), "test"),
    )


def named_gold(name: str, items: list[GoldItem]) -> GoldSet:
    """A gold set whose path is its name and whose file hash is zeros, all in the test split."""
    return gold_set(items, name, path=name, file_hash="0" * 64)


def answer_text(rng: random.Random, tag: str, words: int, vocabulary: Sequence[str] = WORDS) -> str:
    """``"Answer <tag>: "`` and ``words`` words drawn from ``vocabulary``, with a full stop."""
    return f"Answer {tag}: {' '.join(rng.choice(vocabulary) for _ in range(words))}."


def tiny_binary_gold(name: str, n: int, *, seed: int, fail_share: float, ask: bool = False) -> GoldSet:
    """``n`` items graded by one annotator, the first ``fail_share`` of them gold-FAIL, answers of 20
    words; ``ask``: each question names a word (drawn before its answer)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        question = f"Question {i}: how do I change my {rng.choice(WORDS)}?" if ask else f"Question {i}?"
        items.append(
            GoldItem(
                id=f"b{i:03d}",
                inputs={"input": question, "output": answer_text(rng, f"b{i}", 20)},
                labels={"ana": "fail" if i < round(n * fail_share) else "pass"},
            )
        )
    return named_gold(name, items)


def tiny_ordinal_gold(
    name: str,
    n: int,
    *,
    seed: int = 0,
    levels: int = 5,
    words: int = 20,
    vocabulary: Sequence[str] = WORDS,
) -> GoldSet:
    """``n`` items scored 1..``levels`` in turn by one annotator, answers of ``words`` words."""
    rng = random.Random(seed)
    items = [
        GoldItem(
            id=f"o{i:03d}",
            inputs={"input": f"Question {i}?", "output": answer_text(rng, f"o{i}", words, vocabulary)},
            labels={"ana": 1 + i % levels},
        )
        for i in range(n)
    ]
    return named_gold(name, items)


def single_items(
    n: int,
    seed: int,
    *,
    key: str,
    question: str,
    answer: str,
    id_prefix: str = "s",
    pass_share: float | None = 0.5,
) -> list[GoldItem]:
    """``n`` single-output items with three agreeing annotators, random stream ``f"{key}{seed}"``:
    pass with probability ``pass_share`` (None: alternately pass and fail, no draw). ``question``
    and ``answer`` are formatted with ``i`` and ``seed``; the answer ends in a random number."""
    rng = random.Random(f"{key}{seed}")
    items = []
    for i in range(n):
        if pass_share is None:
            label = "pass" if i % 2 == 0 else "fail"
        else:
            label = "pass" if rng.random() < pass_share else "fail"
        items.append(
            GoldItem(
                id=f"{id_prefix}{seed}-{i}",
                inputs={
                    "input": question.format(i=i, seed=seed),
                    "output": f"{answer.format(i=i, seed=seed)} ({rng.random():.6f}).",
                },
                labels=dict.fromkeys(ANNOTATORS, label),
            )
        )
    return items


def pair_items(n: int, seed: int, *, key: str, close_share: float | None = None) -> list[GoldItem]:
    """``n`` pairs with a unanimous A or B preference, random stream ``f"{key}{seed}"``; with
    ``close_share``, that share of them (drawn per pair) are 2-1 splits whose majority is tie."""
    rng = random.Random(f"{key}{seed}")
    items = []
    for i in range(n):
        if close_share is not None and rng.random() < close_share:
            labels = {"ana": "tie", "ben": "tie", "chloe": rng.choice("AB")}
        else:
            labels = dict.fromkeys(ANNOTATORS, rng.choice("AB"))
        items.append(
            GoldItem(
                id=f"p{seed}-{i}",
                inputs={
                    "input": f"Question {i} of set {seed}?",
                    "output_a": f"First answer to question {i} of set {seed} ({rng.random():.6f}).",
                    "output_b": f"Second answer to question {i} of set {seed} ({rng.random():.6f}).",
                },
                labels=labels,
            )
        )
    return items


# --------------------------------------------------------------------------------------------
# Probe runs on the in-process simulator


def sim_for(rubric: Rubric, items: Sequence[GoldItem], profile: JudgeProfile, name: str) -> SimCompleter:
    """The in-process simulated judge ``name`` (model ``sim/<name>``) that knows ``items``' truth."""
    return SimCompleter(profile, sim_items_from_gold(rubric, items), name=name)


def run_sim_probes(
    rubric: Rubric,
    gold: GoldSet,
    profile: JudgeProfile,
    names: Sequence[str],
    *,
    store: Any,
    model: str,
    items: Sequence[SimItem] | None = None,
    **options: Any,
) -> tuple[ProbeReport, SimCompleter]:
    """Run probes ``names`` through ``arun_probes`` on the simulated judge ``sim/<model>``, which
    knows the gold items' truth (or only ``items``); ``options`` go to ``arun_probes``."""
    sim = SimCompleter(
        profile, sim_items_from_gold(rubric, gold.items) if items is None else items, name=model
    )
    report = asyncio.run(
        arun_probes(
            rubric, gold, JudgeConfig(model=sim.model), sim, store=store, names=list(names), **options
        )
    )
    return report, sim


async def arun_probe(
    rubric: Rubric,
    gold: GoldSet,
    completer: Any,
    name: str,
    *,
    store: Any,
    judge: JudgeConfig | None = None,
    **options: Any,
) -> tuple[ProbeResult, ProbeReport]:
    """Run the one probe ``name`` through ``arun_probes`` with ``completer`` (judged as ``judge``,
    by default the completer's model); ``options`` go to ``arun_probes``."""
    judge = judge if judge is not None else JudgeConfig(model=completer.model)
    report = await arun_probes(rubric, gold, judge, completer, store=store, names=[name], **options)
    (result,) = report.results
    return result, report


def covers(est: Any, truth: float) -> bool:
    """Whether the interval of ``est`` (an Estimate) holds ``truth`` (to rounding)."""
    return est.lo is not None and est.hi is not None and est.lo - 1e-12 <= truth <= est.hi + 1e-12
