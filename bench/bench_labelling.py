"""Benchmark: interval coverage on the test split of a labelling queue, by simulation with known truth.

    python bench/bench_labelling.py                       # n_random 60 / 150 / 400, 1,000 replicates each
    python bench/bench_labelling.py --reps 4000 --n-random 150
    python bench/bench_labelling.py --fixed-pool          # one pool for every replicate (design-based)

A queue (:func:`judgecal.labels.sampling.draw_queue`) labels ``n_random`` items drawn at random
from a pool of unlabelled items plus ``n_targeted`` items chosen on purpose: items where two judges
disagree, which is where the judge under test is most often wrong. The drawn items become
:class:`judgecal.gold.GoldItem` objects, :func:`judgecal.gold.assign_splits` splits them, and the
judge's TPR and TNR are estimated on the **test** split with the Wilson 95% interval
(:func:`judgecal.calibrate.intervals.wilson_interval`). The estimand is the judge's rate over the
whole pool, known here because the simulation knows every item's human label.

Pool (a fresh one per replicate unless ``--fixed-pool``; seeded): ``--pool`` items, human "pass" with
probability 0.6; the judge under test has TPR 0.85 and TNR 0.75; a second judge is right 90% of
the time, independently of the first given the human label. Among the items where the two judges
disagree the first judge is wrong about 61% of the time on passes and 75% on fails (against 15% and
25% over the pool), so the targeted items are informative — and a biased sample. With
``--fixed-pool`` every queue targets the same listed items (the disagreements in one fixed order,
less those drawn at random), so the naive rows show one targeted set, not an average over them.

Schemes, on the very same draws:

- **shipped**: targeted items pinned to dev (``metadata.split = "dev"``), random items split by
  ``assign_splits``; the test split holds random items only;
- **naive, unpinned**: targeted items left to ``assign_splits`` like the random ones (about 70% of
  them reach test);
- **naive, test**: targeted items pinned to test.

Printed per scheme and ``n_random``: the share of replicates whose interval covers the pool's
rate (target 0.95) with its Monte Carlo standard error sqrt(c(1 - c)/R), the mean interval width
and the mean number of test items the rate was measured on. A replicate with no test item of a
class has no interval and counts as not covered (reported as ``empty``). It is a benchmark, not a
test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import math
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from judgecal.calibrate.intervals import wilson_interval
from judgecal.gold import GoldItem, assign_splits
from judgecal.labels.sampling import draw_queue

Scheme = Literal["shipped", "unpinned", "test"]
SCHEMES: tuple[Scheme, ...] = ("shipped", "unpinned", "test")
SCHEME_NAMES: dict[Scheme, str] = {
    "shipped": "shipped (targeted -> dev)",
    "unpinned": "naive, targeted unpinned",
    "test": "naive, targeted -> test",
}

PREVALENCE = 0.6
JUDGE_TPR = 0.85
JUDGE_TNR = 0.75
SECOND_JUDGE_ACCURACY = 0.9


@dataclass(frozen=True)
class Pool:
    """A synthetic pool with known truth: per item its id, human label, and both judges' verdicts."""

    ids: list[str]
    human: np.ndarray
    """True where the human label is "pass"."""
    judge: np.ndarray
    """True where the judge under test says "pass"."""
    disagree: list[str]
    """Ids where the judge under test and the second judge differ, in a random (seeded) order."""

    @property
    def tpr(self) -> float:
        """The judge's TPR over the whole pool (the estimand)."""
        return float(self.judge[self.human].mean())

    @property
    def tnr(self) -> float:
        """The judge's TNR over the whole pool (the estimand)."""
        return float((~self.judge[~self.human]).mean())


def make_pool(n: int, seed: int) -> Pool:
    """``n`` items with the module's prevalence and judges; the same seed gives the same pool."""
    rng = np.random.default_rng(seed)
    human = rng.random(n) < PREVALENCE
    judge = np.where(human, rng.random(n) < JUDGE_TPR, rng.random(n) >= JUDGE_TNR)
    second = np.where(rng.random(n) < SECOND_JUDGE_ACCURACY, human, ~human)
    ids = [f"s{seed}-{i:05d}" for i in range(n)]
    disagree = [ids[i] for i in rng.permutation(np.flatnonzero(judge != second))]
    return Pool(ids, human, judge, disagree)


@dataclass(frozen=True)
class Interval:
    k: int
    n: int
    lo: float
    hi: float

    def covers(self, truth: float) -> bool:
        return self.n > 0 and self.lo - 1e-12 <= truth <= self.hi + 1e-12


def split_rates(
    pool: Pool, n_random: int, n_targeted: int, *, seed: int, schemes: Sequence[Scheme] = SCHEMES
) -> dict[Scheme, tuple[Interval, Interval]]:
    """One queue drawn from ``pool``; per scheme, the judge's (TPR, TNR) on the test split."""
    # draw_queue keeps the first n_targeted listed items that it did not draw at random (the random
    # draw depends on the seed and the pool only). Listing the items up to the n_targeted-th undrawn
    # one gives the same queue as listing them all and spares draw_queue's membership test, which
    # rebuilds a set of the pool for every listed item (O(listed x pool): 15 ms here for 500 items).
    drawn = {d.item_id for d in draw_queue(pool.ids, n_random, seed=seed)}
    targeted = _prefix_with(pool.disagree, n_targeted, skip=drawn)
    draws = draw_queue(pool.ids, n_random, seed=seed, targeted=targeted, n_targeted=n_targeted)
    index = {item_id: i for i, item_id in enumerate(pool.ids)}
    rows = [(d.item_id, index[d.item_id], d.selection) for d in draws]
    pinned: dict[Scheme, str | None] = {"shipped": "dev", "unpinned": None, "test": "test"}
    out: dict[Scheme, tuple[Interval, Interval]] = {}
    for scheme in schemes:
        items = []
        for item_id, i, selection in rows:
            split = pinned[scheme] if selection == "targeted" else None
            items.append(
                GoldItem(
                    id=item_id,
                    inputs={"output": f"answer {item_id}"},
                    labels={"h1": "pass" if pool.human[i] else "fail"},
                    metadata={"split": split} if split else {},
                )
            )
        splits = assign_splits(items)
        test = np.array([i for item_id, i, _ in rows if splits[item_id] == "test"], dtype=int)
        human, judge = pool.human[test], pool.judge[test]
        out[scheme] = (
            _wilson(int((judge & human).sum()), int(human.sum())),
            _wilson(int((~judge & ~human).sum()), int((~human).sum())),
        )
    return out


def _prefix_with(ids: Sequence[str], n: int, *, skip: set[str]) -> list[str]:
    """The shortest prefix of ``ids`` holding ``n`` ids not in ``skip`` (all of ``ids`` if fewer)."""
    kept = 0
    for end, item_id in enumerate(ids):
        if kept == n:
            return list(ids[:end])
        kept += item_id not in skip
    return list(ids)


def _wilson(k: int, n: int) -> Interval:
    lo, hi = wilson_interval(k, n)
    return Interval(k, n, lo, hi)


@dataclass
class Tally:
    covered: int = 0
    empty: int = 0
    reps: int = 0
    width: float = 0.0
    n: int = 0

    def add(self, interval: Interval, truth: float) -> None:
        self.reps += 1
        self.n += interval.n
        if interval.n == 0:
            self.empty += 1
            return
        self.covered += interval.covers(truth)
        self.width += interval.hi - interval.lo

    @property
    def coverage(self) -> float:
        return self.covered / self.reps

    @property
    def se(self) -> float:
        c = self.coverage
        return math.sqrt(c * (1.0 - c) / self.reps)


def run_setting(
    n_random: int,
    n_targeted: int,
    reps: int,
    *,
    pool_size: int,
    seed: int,
    fixed_pool: bool = False,
    schemes: Sequence[Scheme] = SCHEMES,
) -> dict[Scheme, tuple[Tally, Tally]]:
    """``reps`` replicates; per scheme, the (TPR, TNR) tallies of test-split Wilson intervals."""
    tallies = {s: (Tally(), Tally()) for s in schemes}
    rng = random.Random(seed)
    pool = make_pool(pool_size, seed) if fixed_pool else None
    for _ in range(reps):
        this = pool if pool is not None else make_pool(pool_size, rng.randrange(2**32))
        rates = split_rates(this, n_random, n_targeted, seed=rng.randrange(2**32), schemes=schemes)
        for scheme, (tpr, tnr) in rates.items():
            tallies[scheme][0].add(tpr, this.tpr)
            tallies[scheme][1].add(tnr, this.tnr)
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=1000, help="replicates per queue size (default 1000)")
    parser.add_argument(
        "--n-random", type=int, action="append", help="random queue size (repeatable; default 60, 150, 400)"
    )
    parser.add_argument("--n-targeted", type=int, default=60, help="targeted items per queue (default 60)")
    parser.add_argument("--pool", type=int, default=2000, help="pool size (default 2000)")
    parser.add_argument("--fixed-pool", action="store_true", help="one pool for every replicate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = args.n_random or [60, 150, 400]

    argv_shown = sys.argv[1:] if argv is None else argv
    print("$ " + shlex.join(["python", "bench/bench_labelling.py", *argv_shown]))
    pool_kind = "one fixed pool" if args.fixed_pool else "a fresh pool per replicate"
    print(
        f"bench_labelling: pool {args.pool} ({pool_kind}), human pass {PREVALENCE}, judge TPR "
        f"{JUDGE_TPR} / TNR {JUDGE_TNR}, second judge accuracy {SECOND_JUDGE_ACCURACY}; "
        f"{args.n_targeted} targeted (disagreement) items per queue; {args.reps} replicates per row; "
        f"seed {args.seed}"
    )
    print("coverage of the test split's Wilson 95% interval of the pool's TPR / TNR (target 0.95)")
    print()
    head = (
        f"{'n_random':>8}  {'scheme':<26} {'rate':<4} {'coverage':>8} {'MC SE':>6} {'width':>6} "
        f"{'test n':>6} {'empty':>5}"
    )
    print(head)
    print("-" * len(head))
    start = time.perf_counter()
    for n_random in sizes:
        tallies = run_setting(
            n_random,
            args.n_targeted,
            args.reps,
            pool_size=args.pool,
            seed=args.seed + n_random,
            fixed_pool=args.fixed_pool,
        )
        for scheme in SCHEMES:
            for rate, t in zip(("TPR", "TNR"), tallies[scheme], strict=True):
                width = t.width / (t.reps - t.empty) if t.reps > t.empty else math.nan
                print(
                    f"{n_random:>8}  {SCHEME_NAMES[scheme]:<26} {rate:<4} {t.coverage:>8.3f} "
                    f"{t.se:>6.3f} {width:>6.3f} {t.n / t.reps:>6.1f} {t.empty:>5}"
                )
        print()
    print(f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
