"""Which pool items a decision-driven queue labels, and with what probability.

Honest estimates need the test split to stay a random sample of the items the judge will grade.
So a queue draws its decision items by simple random sampling without replacement from the pool
(each pool item has inclusion probability n / N, recorded on the item), and the export leaves
their split to the gold set's usual stratified hash (:func:`judgecal.gold.assign_splits`), which
depends on ids only and not on anything the judge or a person said. Items chosen *on purpose* —
where two judges disagree, where a judge is unsure — are useful for finding failure modes but
would bias every rate measured on them, so they are pinned to the **dev** split
(``metadata.split = "dev"``) and never reach the decision. This is the scheme
``tests/test_labels_sampling.py`` checks by simulation (interval coverage on the test split).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Draw", "draw_queue", "size_for_needs"]


@dataclass(frozen=True)
class Draw:
    item_id: str
    selection: str
    """``random`` or ``targeted``."""
    inclusion_probability: float | None
    """``random``: n / N; ``targeted``: None (chosen on purpose, pinned to dev)."""


def size_for_needs(
    needed_total: int | None, needed_per_class: Mapping[str, int], class_shares: Mapping[str, float]
) -> int:
    """How many random pool items to label so that each class's need is met in expectation:
    ``max(needed_total, max_c ceil(need_c / share_c))``, with ``share_c`` the class's share among
    the gold set's labelled items (a class never seen counts as unknown: its need alone)."""
    n = needed_total or 0
    for label, need in needed_per_class.items():
        share = class_shares.get(label, 0.0)
        # round first: 21 / 0.35 is 60.00000000000001 in floating point, and ceil would make it 61
        n = max(n, math.ceil(round(need / share, 9)) if share > 0 else need)
    return n


def draw_queue(
    pool: Sequence[str],
    n_random: int,
    *,
    seed: int,
    targeted: Sequence[str] = (),
    n_targeted: int = 0,
) -> list[Draw]:
    """Draw ``n_random`` items uniformly without replacement from ``pool`` and, from the items
    ``targeted`` names that were not drawn, the first ``n_targeted``. Same seed, same draw."""
    ids = list(dict.fromkeys(pool))
    if n_random < 0 or n_targeted < 0:
        raise ValueError("sizes must be >= 0")
    n_random = min(n_random, len(ids))
    rng = random.Random(seed)
    drawn = rng.sample(ids, n_random)
    p = n_random / len(ids) if ids else 0.0
    out = [Draw(i, "random", p) for i in drawn]
    taken = set(drawn)
    in_pool = set(ids)
    extra = [i for i in dict.fromkeys(targeted) if i not in taken and i in in_pool][:n_targeted]
    out += [Draw(i, "targeted", None) for i in extra]
    return out
