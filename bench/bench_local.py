"""Verdicts per second of a local judge (``local/smollm2``) on this machine's CPU, by llama.cpp slots.

    python bench/bench_local.py                        # 16 items, slots 1 and 2, 3 runs each (~3 min)
    python bench/bench_local.py --items 8 --reps 5 --parallel 1 2 4
    python bench/bench_local.py --model gemma3-270m

Needs the ``local`` extra and the model (``judgecal models install smollm2``). For each number of
llama.cpp slots (``n_parallel``) the model is loaded afresh, warmed up with one call per slot on
items outside the measured ones (so every slot holds the rubric's ~1,900-token system prompt in
its prompt cache, as it does after the first call of any real run), then graded ``--reps`` times,
each time on ``--items`` support-billing gold items no run has seen (distinct items, so that
llama.cpp's prompt cache cannot answer a whole prompt from an earlier run) through judgecal's own
``agrade`` with a fresh SQLite store (nothing cached by judgecal either), 8 units in flight. Prints
the load time, the cold first call, and per slot count the median verdicts/s of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from judgecal import local
from judgecal.gold import find_gold
from judgecal.judge import JudgeConfig, Limits, agrade
from judgecal.llm import CallFailed
from judgecal.prompt import render_messages
from judgecal.rubric import find_rubric
from judgecal.store import Store
from judgecal.verdict import answer_schema


async def _warm(completer: local.LocalCompleter, messages: list[list[dict[str, str]]], schema: dict) -> float:
    start = time.perf_counter()
    try:
        await asyncio.gather(
            *(
                completer.complete(m, schema=schema, temperature=0, max_tokens=512, seed=None, timeout=600)
                for m in messages
            )
        )
    except CallFailed as exc:
        sys.exit(f"warm-up call failed: {exc}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2", help="local model name (default smollm2)")
    ap.add_argument("--items", type=int, default=16, help="items per run (default 16)")
    ap.add_argument("--reps", type=int, default=3, help="runs per slot count; the median is reported")
    ap.add_argument("--parallel", type=int, nargs="+", default=[1, 2], help="slot counts (default 1 2)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run")
    args = ap.parse_args()

    rubric = find_rubric("support-billing")
    gold = find_gold("support-billing", rubric)
    schema = answer_schema(rubric)
    need = max(args.parallel) + args.items * args.reps
    if need > len(gold.items):
        sys.exit(f"--items x --reps + max(--parallel) = {need} > the {len(gold.items)} gold items")
    warm_items = gold.items[: max(args.parallel)]
    runs = [
        gold.items[len(warm_items) + r * args.items : len(warm_items) + (r + 1) * args.items]
        for r in range(args.reps)
    ]
    settings0 = local.LocalSettings.from_env()
    path = local.find_model(args.model)
    print(
        f"local/{args.model} ({path.name}), support-billing, {args.items} items x {args.reps} runs per "
        f"slot count, {settings0.threads} threads, ctx {settings0.ctx}/slot, concurrency 8"
    )
    print(
        f"{'slots':>5}  {'load s':>6}  {'cold call s':>11}  {'warm-up s':>9}  {'verdicts/s':>10}  "
        f"{'s/verdict':>9}  {'p50 ms':>7}  {'ok/invalid/error':>16}  runs (verdicts/s)"
    )
    for parallel in args.parallel:
        local.unload_models()  # a fresh model and empty prompt caches for each slot count
        settings = local.LocalSettings(parallel=parallel, ctx=settings0.ctx, threads=settings0.threads)
        start = time.perf_counter()
        completer = local.open_local(args.model, settings)
        completer.load()
        load_s = time.perf_counter() - start
        first = [render_messages(rubric, warm_items[0].inputs)]
        cold = asyncio.run(_warm(completer, first, schema))
        rest = [render_messages(rubric, it.inputs) for it in warm_items[1:parallel]]
        warm = asyncio.run(_warm(completer, rest, schema)) if rest else 0.0
        rates, p50s, counts = [], [], [0, 0, 0]
        for r, items in enumerate(runs):
            subset = gold.model_copy(update={"items": items})
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
                t0 = time.perf_counter()
                result = asyncio.run(
                    agrade(
                        rubric,
                        subset,
                        JudgeConfig(model=f"local/{args.model}"),
                        completer,
                        store=store,
                        limits=Limits(concurrency=8, timeout=600),
                    )
                )
                wall = time.perf_counter() - t0
                store.close()
            rates.append(len(items) / wall)
            p50s.append(result.latency_ms["p50"] or 0.0)
            counts = [counts[0] + result.n_ok, counts[1] + result.n_invalid, counts[2] + result.n_error]
            if args.verbose:
                print(f"      run {r}: {len(items)} items in {wall:.1f} s = {rates[-1]:.3f} verdicts/s")
        med = statistics.median(rates)
        print(
            f"{parallel:>5}  {load_s:>6.2f}  {cold:>11.1f}  {warm:>9.1f}  {med:>10.3f}  {1 / med:>9.2f}  "
            f"{statistics.median(p50s):>7.0f}  {'/'.join(map(str, counts)):>16}  "
            + ", ".join(f"{x:.3f}" for x in rates)
        )
    local.unload_models()


if __name__ == "__main__":
    main()
