"""What the scenario files share: the vocabulary of their generated support-billing items, the
generated gold sets' wrapper, the support-billing item, the pairwise generator with ties, and the
unbiased judge.

Not a scenario file (``bench/bench_probes.py`` skips modules whose name starts with "_"). Every
generator is deterministic in its arguments: the scenario files' gold sets are what they were when
each file held its own copy, item for item.
"""

from __future__ import annotations

import random

from judgecal.gold import GoldItem, GoldSet
from judgecal.simulate import JudgeProfile

TOPICS = ("invoice", "refund", "card", "plan", "seat", "tax", "receipt", "trial")
"""The topics generated items cycle through (also their ``slice``)."""
GOOD = (
    "open Settings → Billing → Invoices to download it",
    "the account Owner can change the plan in Settings → Billing → Plan",
    "refund requests are reviewed by the billing team at billing@ledgerly.example",
    "the new seat is billed pro rata from today until the renewal date",
    "the tax ID goes into Settings → Billing → Company details and shows on future invoices",
)
"""Sentences a gold-PASS support-billing answer is made of."""
BAD = (
    "I have refunded the charge myself and it is surely back on your card today",
    "you qualify for a full refund, which I have already approved",
    "just share your card number here and I will update it for you",
    "billing cannot be changed at all once a plan has started",
)
"""Sentences a gold-FAIL support-billing answer is made of (each breaks the rubric)."""
ANNOTATORS = ("ann1", "ann2", "ann3")
"""The three agreeing annotators of every generated item."""


def generated_gold(name: str, items: list[GoldItem], test: int | None = None) -> GoldSet:
    """A generated gold set named ``name`` (also its file hash): the first ``test`` items in the
    test split and the rest in dev, or every item in the test split when ``test`` is None."""
    return GoldSet(
        name=name,
        path="(generated)",
        file_hash=name,
        items=items,
        splits={it.id: ("test" if test is None or i < test else "dev") for i, it in enumerate(items)},
    )


def sentences(rng: random.Random, pool: tuple[str, ...], k: int) -> str:
    """``k`` distinct sentences of ``pool`` in random order, capitalised, each ending in a full stop."""
    return " ".join(f"{s[0].upper()}{s[1:]}." for s in rng.sample(pool, k))


def support_item(
    item_id: str, i: int, rng: random.Random, label: str, body: str, **metadata: str
) -> GoldItem:
    """Generated support-billing item ``i`` (topic ``TOPICS[i % 8]``, also its ``slice``): a
    question about the topic and the answer ``body``, each with a random case number drawn from
    ``rng``, labelled ``label`` by three agreeing annotators; ``metadata`` added after the slice."""
    topic = TOPICS[i % len(TOPICS)]
    return GoldItem(
        id=item_id,
        inputs={
            "input": f"Question {i} about my {topic} (case {rng.randrange(10**6)}): what now?",
            "output": f"About your {topic} (case {rng.randrange(10**6)}): {body}",
        },
        labels=dict.fromkeys(ANNOTATORS, label),
        metadata={"slice": topic, **metadata},
    )


def tie_pairs(n: int, seed: int, tie_share: float, *, key: str, id_prefix: str) -> list[GoldItem]:
    """``n`` distinct pairwise-preference pairs with three agreeing annotators: ``tie`` for
    ``tie_share`` of them, else a winner on a random side (random stream ``f"{key}-{seed}"``, ids
    ``f"{id_prefix}-{i:04d}"``)."""
    rng = random.Random(f"{key}-{seed}")
    items = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        label = "tie" if rng.random() < tie_share else rng.choice("AB")
        items.append(
            GoldItem(
                id=f"{id_prefix}-{i:04d}",
                inputs={
                    "input": f"Question {i}: how do I handle my {topic} (case {rng.randrange(10**6)})?",
                    "output_a": f"Answer A{i} about the {topic}: steps {rng.randrange(10**6)}.",
                    "output_b": f"Answer B{i} about the {topic}: steps {rng.randrange(10**6)}.",
                },
                labels=dict.fromkeys(ANNOTATORS, label),
                metadata={"slice": topic},
            )
        )
    return items


def unbiased_judge(accuracy: float, seed: int) -> JudgeProfile:
    """A judge without any bias, right with probability ``accuracy``."""
    return JudgeProfile(accuracy=accuracy, seed=seed)
