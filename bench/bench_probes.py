"""Benchmark: the error rates of every bias probe, measured by simulation with known truth.

    python bench/bench_probes.py                      # every scenario, 50 seeds per setting
    python bench/bench_probes.py --probe injection --seeds 200 --jobs 2
    python bench/bench_probes.py --json bench-probes.json

For each scenario (``bench/probe_scenarios/*.py``: a probe, a rubric, a gold set, simulated judges
of known bias), and each seed, the probe runs once against a fresh simulated judge through the same
runner as ``judgecal probe`` (in-process simulator, a throw-away store). Printed per scenario:

- **false-fail rate**: the share of runs in which an *unbiased* judge of accuracy 0.75 / 0.85 /
  0.92 / 1.0 is failed by the probe (target ≤ 0.05), beside its pass rate (how often the probe can
  say "no bias" for it);
- **power**: the share of runs failed at each of three bias effects, beside the pass rate there;
- **coverage**: the share of runs whose 95% interval of the headline estimate contains the true
  value of the estimand (over the unbiased and biased runs that have an interval; target ≈ 0.95);
- **calls per gold item**: provider requests of one run divided by the split's items.

A rate is printed with its Wilson 95% interval over the seeds. It is a benchmark, not a test:
it prints figures and exits 0. Figures depend on the machine only through time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench._probe_bench import ACCURACIES, Scenario, run_once  # noqa: E402
from judgecal.calibrate.intervals import wilson_interval  # noqa: E402


def load_scenarios(only: list[str] | None) -> list[Scenario]:
    import bench.probe_scenarios as pkg  # noqa: PLC0415

    out: list[Scenario] = []
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        scenarios = getattr(importlib.import_module(f"bench.probe_scenarios.{mod.name}"), "SCENARIOS", [])
        out.extend(s for s in scenarios if not only or s.probe in only)
    return out


def _job(args: tuple[int, str, float, int]) -> dict[str, Any]:
    index, kind, param, seed = args
    scenario = _SCENARIOS[index]
    profile = scenario.unbiased(param, seed) if kind == "unbiased" else scenario.biased(param, seed)
    out = run_once(scenario, profile, seed)
    truth = scenario.true_effect(profile) if scenario.true_effect else None
    covered = None
    if truth is not None and out.lo is not None and out.hi is not None and not math.isnan(truth):
        covered = out.lo - 1e-12 <= truth <= out.hi + 1e-12
    return {
        "scenario": index,
        "kind": kind,
        "param": param,
        "seed": seed,
        "outcome": out.outcome,
        "estimate": out.estimate,
        "truth": truth,
        "covered": covered,
        "calls": out.calls,
        "gold_items": out.gold_items,
    }


_SCENARIOS: list[Scenario] = []


def _init(only: list[str] | None) -> None:
    _SCENARIOS[:] = load_scenarios(only)


def _rate(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    lo, hi = wilson_interval(k, n)
    return f"{k / n:.3f} [{lo:.2f}, {hi:.2f}]"


def summarize(scenarios: list[Scenario], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for i, sc in enumerate(scenarios):
        mine = [r for r in rows if r["scenario"] == i]
        entry: dict[str, Any] = {"scenario": sc.name, "probe": sc.probe, "rubric": sc.rubric, "settings": []}
        for kind, params in (("unbiased", ACCURACIES), ("biased", sc.effects)):
            for p in params:
                runs = [r for r in mine if r["kind"] == kind and r["param"] == p]
                n = len(runs)
                count = {o: sum(r["outcome"] == o for r in runs) for o in {r["outcome"] for r in runs}}
                entry["settings"].append({"kind": kind, "param": p, "runs": n, "outcomes": count})
        cov = [r["covered"] for r in mine if r["covered"] is not None]
        entry["coverage"] = {"covered": sum(cov), "runs": len(cov)}
        calls = [r["calls"] / r["gold_items"] for r in mine if r["gold_items"]]
        entry["calls_per_gold_item"] = sum(calls) / len(calls) if calls else None
        entry["gold_items"] = mine[0]["gold_items"] if mine else None
        table.append(entry)
    return table


def render(table: list[dict[str, Any]], seeds: int, seconds: float) -> str:
    lines = [f"bench_probes: {seeds} seeds per setting, {seconds:.0f} s", ""]
    for entry in table:
        lines.append(f"== {entry['scenario']}  ({entry['gold_items']} gold items in the split)")
        lines.append(f"   {'judge':<22} {'runs':>4}  {'fail rate [95% CI]':<22} {'pass rate':<22} other")
        for s in entry["settings"]:
            n, c = s["runs"], s["outcomes"]
            who = (
                f"unbiased acc {s['param']:g}" if s["kind"] == "unbiased" else f"biased effect {s['param']:g}"
            )
            other = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k not in ("pass", "fail"))
            fails, passes = _rate(c.get("fail", 0), n), _rate(c.get("pass", 0), n)
            lines.append(f"   {who:<22} {n:>4}  {fails:<22} {passes:<22} {other}")
        cov = entry["coverage"]
        lines.append(f"   coverage of the 95% interval: {_rate(cov['covered'], cov['runs'])}")
        cpi = entry["calls_per_gold_item"]
        lines.append(
            f"   calls per gold item: {cpi:.2f}" if cpi is not None else "   calls per gold item: n/a"
        )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="runs per setting (default 50)")
    parser.add_argument("--probe", action="append", help="only this probe (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    scenarios = load_scenarios(args.probe)
    if not scenarios:
        sys.exit("no scenario found (bench/probe_scenarios/*.py define SCENARIOS)")
    jobs = [
        (i, kind, p, seed)
        for i, sc in enumerate(scenarios)
        for kind, params in (("unbiased", ACCURACIES), ("biased", sc.effects))
        for p in params
        for seed in range(args.seeds)
    ]
    start = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(args.probe,)) as pool:
            rows = list(pool.map(_job, jobs, chunksize=8))
    else:
        _init(args.probe)
        rows = [_job(j) for j in jobs]
    seconds = time.perf_counter() - start
    table = summarize(scenarios, rows)
    print(render(table, args.seeds, seconds))
    if args.json:
        args.json.write_text(json.dumps({"seeds": args.seeds, "table": table, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
