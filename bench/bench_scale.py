"""Benchmark: several ``judgecal grade`` processes on one store, and answers kept across kill -9.

    python bench/bench_scale.py                   # 2,000 items: throughput by worker count, 5 kills
    python bench/bench_scale.py --items 500       # a quick check
    python bench/bench_scale.py --kills 0         # throughput only
    python bench/bench_scale.py --no-throughput   # durability only

It is a benchmark, not a test: it prints figures and exits 0 (1 if a row has duplicate provider
calls, lost answers, or a process that did not finish its items). See bench/README.md.

1. **Throughput.** 1, 2 and 4 ``judgecal grade`` processes started at once on the same items and
   one fresh SQLite store (created before the clock starts), each ``--concurrency 32 --quiet
   --no-preflight --json``, against the simulated judge at a low latency (default 5 ms) so that
   one process is CPU-bound. Wall time from the start of the processes to the last exit; CPU is
   the sum of the processes' user+sys time (``os.wait4``), divided by the verdicts (the items).
   With ``--executor ray`` available, also one process with ``--ray-workers`` 1/2/4.
   Duplicates: answers the simulator sent in the row minus distinct prompt hashes (target 0).
2. **Durability.** ``--kills`` times: one ``judgecal grade`` process on a store of its own is
   killed with SIGKILL at a random (seeded) moment after its first answer; then every answer the
   simulator sent more than ``--grace`` seconds before the kill must be in the store's ``calls``
   table (by prompt hash, status other than ``error``). The next run resumes the same store; a
   last run finishes it, and the answers bought twice over all of them are counted.

The simulated judge (``bench_grade.start_sim``: profile ``accurate``, accuracy 0.9, no jitter, no
faults) runs in its own process on the same machine: on a 2-core machine it competes with the
workers for the CPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_grade import MODEL, RUBRIC, SimServer, start_sim
from sqlalchemy import text

from judgecal.gold import load_gold
from judgecal.rubric import find_rubric
from judgecal.store import Store
from judgecal.synthetic import write_gold

CONCURRENCY = 32
WORKERS = (1, 2, 4)


# --------------------------------------------------------------------------------------------
# The simulator's answer log and the store


def answers(sim: SimServer) -> list[dict[str, Any]]:
    """Every chat completion the simulator sent so far, oldest first."""
    with urllib.request.urlopen(f"{sim.base_url}/judgecal/answers", timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read())["answers"]


def stored_prompts(url: str) -> set[str]:
    """Prompt hashes of the store's calls that carry an answer (status != 'error')."""
    store = Store(url)  # opening it also marks runs whose process died as interrupted
    try:
        with store.engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT prompt_hash FROM calls WHERE status != 'error'"))}
    finally:
        store.close()


def run_statuses(url: str) -> list[str]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT status FROM runs ORDER BY created_at"))]
    finally:
        store.close()


def fresh_store(path: Path) -> str:
    url = f"sqlite:///{path}"
    Store(url).close()  # created and migrated outside the timing
    return url


# --------------------------------------------------------------------------------------------
# Worker processes


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    out: Path
    rc: int | None = None
    cpu: float = 0.0  # user + sys of the process (and of any children it reaped)
    ended: float = 0.0

    def poll(self) -> bool:
        """Whether the process has ended (it is reaped here, with its CPU, when it has)."""
        if self.rc is None:
            pid, status, usage = os.wait4(self.popen.pid, os.WNOHANG)
            if pid:
                self._reaped(status, usage)
        return self.rc is not None

    def wait(self, tree: bool = False) -> None:
        """Wait for the end. ``tree``: CPU of the process and all its descendants, sampled
        every 0.1 s with psutil (Ray's raylet and workers), instead of ``os.wait4``'s."""
        if self.rc is not None:
            return
        if not tree:
            _pid, status, usage = os.wait4(self.popen.pid, 0)
            self._reaped(status, usage)
            return
        import psutil

        seen: dict[int, float] = {}
        root = psutil.Process(self.popen.pid)
        while not self.poll():
            try:
                for proc in [root, *root.children(recursive=True)]:
                    t = proc.cpu_times()
                    seen[proc.pid] = max(seen.get(proc.pid, 0.0), t.user + t.system)
            except psutil.Error:
                pass
            time.sleep(0.1)
        self.cpu = sum(seen.values())

    def _reaped(self, status: int, usage: Any) -> None:
        self.ended = time.perf_counter()
        self.rc = os.waitstatus_to_exitcode(status)
        self.popen.returncode = self.rc  # reaped here: keep Popen from waiting again
        self.cpu = usage.ru_utime + usage.ru_stime

    def result(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


@dataclass
class Ctx:
    sim: SimServer
    gold: Path
    tmp: Path
    n: int
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "judgecal",
            "grade",
            RUBRIC,
            "--judge",
            f"openai/{MODEL}",
            "--api-base",
            self.sim.base_url,
            "--gold",
            str(self.gold),
            "--concurrency",
            str(CONCURRENCY),
            "--quiet",
            "--no-preflight",
            "--json",
            *extra,
        ]

    def start(self, url: str, tag: str, *extra: str) -> Proc:
        out = self.tmp / f"{tag}.json"
        env = dict(self.env, DATABASE_URL=url)
        with out.open("wb") as fh:
            popen = subprocess.Popen(
                self.command(*extra), stdout=fh, stderr=subprocess.DEVNULL, env=env, cwd=self.tmp
            )
        return Proc(popen, out)


# --------------------------------------------------------------------------------------------
# 1. Throughput


@dataclass
class Row:
    name: str
    wall: float
    cpu: float
    sent: int
    distinct: int
    problems: list[str]

    @property
    def duplicates(self) -> int:
        return self.sent - self.distinct


def throughput_row(ctx: Ctx, name: str, n_procs: int, extra: tuple[str, ...], rep: int) -> Row:
    url = fresh_store(ctx.tmp / f"{name.replace(' ', '-')}-{rep}.db")
    before = len(answers(ctx.sim))
    wall0 = time.perf_counter()
    procs = [ctx.start(url, f"{name.replace(' ', '-')}-{rep}-{i}", *extra) for i in range(n_procs)]
    for p in procs:
        p.wait(tree=bool(extra))
    wall = max(p.ended for p in procs) - wall0
    sent = answers(ctx.sim)[before:]
    problems = []
    for i, p in enumerate(procs):
        res = p.result()
        if p.rc != 0 or res is None:
            problems.append(f"{name}: process {i} exited {p.rc}")
        elif res["n_ok"] + res["n_invalid"] != ctx.n:
            problems.append(f"{name}: process {i} has {res['n_ok'] + res['n_invalid']}/{ctx.n} verdicts")
    missing = ctx.n - len(stored_prompts(url))
    if missing:
        problems.append(f"{name}: {missing} items without a stored answer")
    print(f"  done: {name} in {wall:.1f} s", file=sys.stderr, flush=True)
    return Row(
        name, wall, sum(p.cpu for p in procs), len(sent), len({a["prompt_hash"] for a in sent}), problems
    )


def ray_available() -> bool:
    helptext = subprocess.run(
        [sys.executable, "-m", "judgecal", "grade", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
        check=False,
    ).stdout
    if "--executor" not in helptext:
        return False
    probe = subprocess.run([sys.executable, "-c", "import ray"], capture_output=True, check=False)
    return probe.returncode == 0


def import_cpu() -> float:
    """CPU seconds of starting a process that imports what ``judgecal grade`` needs (litellm)."""
    code = "import judgecal.cli, judgecal.judge, judgecal.llm, litellm"
    p = subprocess.Popen(
        [sys.executable, "-c", code], env=dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    )
    _pid, _status, usage = os.wait4(p.pid, 0)
    p.returncode = 0
    return usage.ru_utime + usage.ru_stime


def throughput(ctx: Ctx, reps: int) -> tuple[list[Row], bool]:
    plan: list[tuple[str, int, tuple[str, ...]]] = [
        (f"{k} process{'es' if k > 1 else ''}", k, ()) for k in WORKERS
    ]
    ray = ray_available()
    if ray:
        plan += [
            (f"ray, {k} worker{'s' if k > 1 else ''}", 1, ("--executor", "ray", "--ray-workers", str(k)))
            for k in WORKERS
        ]
    samples: dict[str, list[Row]] = {name: [] for name, _, _ in plan}
    for rep in range(reps):
        order = plan if rep % 2 == 0 else list(reversed(plan))
        for name, k, extra in order:
            samples[name].append(throughput_row(ctx, name, k, extra, rep))
    rows = []
    for name, _, _ in plan:
        runs = samples[name]
        mid = sorted(runs, key=lambda r: r.wall)[len(runs) // 2]  # the median run by wall time
        worst = max(runs, key=lambda r: r.duplicates)
        cpu = statistics.median(r.cpu for r in runs)
        problems = [p for r in runs for p in r.problems]
        rows.append(Row(name, mid.wall, cpu, worst.sent, worst.distinct, problems))
    return rows, ray


# --------------------------------------------------------------------------------------------
# 2. Durability


@dataclass
class Kill:
    after_s: float  # seconds after the run's first answer
    sent: int
    stored: int
    lost: int  # sent more than grace s before the kill, not stored
    in_flight: int  # sent within grace s before the kill
    in_flight_unsaved: int
    after_kill: int  # logged by the simulator after the kill (already on their way)
    finished: bool  # the process ended before the kill came
    status: str  # the killed run's status when the store is next opened (interrupted: reaped)


def durability(
    ctx: Ctx, kills: int, grace: float, seed: int, rate: float
) -> tuple[list[Kill], int, int, str]:
    rng = random.Random(seed)
    url = fresh_store(ctx.tmp / "durability.db")
    start_index = len(answers(ctx.sim))
    # kill somewhere in the first 1/(kills+1) of the work, so every run has work left
    window = max(0.2, ctx.n / rate / (kills + 1))
    out: list[Kill] = []
    for k in range(kills):
        before = len(answers(ctx.sim))
        requests0 = ctx.sim.requests()
        p = ctx.start(url, f"kill-{k}")
        while ctx.sim.requests() == requests0 and not p.poll():
            time.sleep(0.01)
        delay = rng.uniform(0.0, window)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not p.poll():
            time.sleep(0.005)
        finished = p.poll()
        moment = time.time()
        if not finished:
            os.kill(p.popen.pid, signal.SIGKILL)
        p.wait()  # reaped: its pid is gone, so the next open of the store reaps its run
        time.sleep(0.2)  # let answers the simulator was writing reach its log
        sent = answers(ctx.sim)[before:]
        stored = stored_prompts(url)
        status = run_statuses(url)[-1]
        early = [a for a in sent if a["t"] < moment - grace]
        late = [a for a in sent if moment - grace <= a["t"] <= moment]
        out.append(
            Kill(
                after_s=delay,
                sent=len(sent),
                stored=sum(a["prompt_hash"] in stored for a in sent),
                lost=sum(a["prompt_hash"] not in stored for a in early),
                in_flight=len(late),
                in_flight_unsaved=sum(a["prompt_hash"] not in stored for a in late),
                after_kill=sum(a["t"] > moment for a in sent),
                finished=finished,
                status=status,
            )
        )
        if finished:
            break
    final = ctx.start(url, "resume")
    final.wait()
    res = final.result()
    every = answers(ctx.sim)[start_index:]
    twice = len(every) - len({a["prompt_hash"] for a in every})
    missing = ctx.n - len(stored_prompts(url))
    note = (
        f"resume: exit {final.rc}, {res['n_cached'] if res else '?'} from the store, "
        f"{res['n_calls'] if res else '?'} provider requests; {missing} items without a stored answer"
    )
    return out, twice, missing + (final.rc != 0), note


# --------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--latency-ms", type=float, default=5.0)
    p.add_argument("--reps", type=int, default=1, help="runs per throughput row (the median is reported)")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--grace", type=float, default=0.5, help="seconds before a kill an answer must be stored")
    p.add_argument("--seed", type=int, default=20261201, help="seeds the kill moments")
    p.add_argument("--no-throughput", action="store_true")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come

    print("command: " + shlex.join([Path(sys.executable).name, *sys.argv]))
    print(
        f"machine: cpu_count={os.cpu_count()}  python {platform.python_version()}  "
        f"({platform.platform()})  {time.strftime('%Y-%m-%d')}"
    )
    rubric = find_rubric(RUBRIC)
    tmp = Path(tempfile.mkdtemp(prefix="judgecal-scale-"))
    home = tmp / "home"
    home.mkdir()
    gold_path = write_gold(
        tmp / "gold.jsonl", kind="binary", n=args.items, seed=7, noise=0.05, pleasantries=False
    )
    gold = load_gold(gold_path, rubric)
    sim = start_sim(tmp, rubric, [gold], args.latency_ms)
    env = dict(os.environ, JUDGECAL_HOME=str(home), OPENAI_API_KEY="x", LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop("JUDGECAL_DATABASE_URL", None)
    ctx = Ctx(sim, gold_path, tmp, args.items, env)
    problems: list[str] = []
    try:
        print(
            f"workload: {args.items} binary items ({RUBRIC}, judgecal.synthetic), simulated judge "
            f"'{MODEL}' at {args.latency_ms:g} ms, no jitter, no faults; every process "
            f"--concurrency {CONCURRENCY} --quiet --no-preflight --json; one fresh SQLite store per row"
        )
        print(
            f"note: the simulated judge runs on the same {os.cpu_count()} cores as the workers "
            "(its CPU competes with theirs)"
        )
        rate = 100.0
        if not args.no_throughput:
            startup = import_cpu()
            rows, ray = throughput(ctx, args.reps)
            print()
            print(f"1. throughput ({args.reps} run{'s' if args.reps > 1 else ''} per row, median)")
            header = (
                f"{'workers':<18} {'verdicts/s':>10} {'CPU ms/verdict':>15} {'CPU s':>7} {'wall s':>7} "
                f"{'answers':>8} {'duplicates':>11}"
            )
            print(header)
            print("-" * len(header))
            for r in rows:
                print(
                    f"{r.name:<18} {args.items / r.wall:>10.1f} {1000 * r.cpu / args.items:>15.2f} "
                    f"{r.cpu:>7.2f} {r.wall:>7.2f} {r.sent:>8} {r.duplicates:>11}"
                )
                problems += r.problems
                if r.duplicates:
                    problems.append(f"{r.name}: {r.duplicates} duplicate provider calls")
            if not ray:
                for k in WORKERS:
                    print(f"{f'ray, {k} workers':<18} ray: not installed / not available")
            print(
                "\nCPU: user+sys of the worker processes (os.wait4), process start-up included "
                f"(importing judgecal + litellm alone: {startup:.2f} CPU s per process). "
                "answers: chat completions the simulator sent; duplicates: answers minus distinct "
                "prompt hashes (target 0)."
            )
            rate = args.items / rows[0].wall
        if args.kills:
            kills, twice, bad, note = durability(ctx, args.kills, args.grace, args.seed, rate)
            print()
            print(
                f"2. durability: {len(kills)} runs of one process killed with SIGKILL (seeded {args.seed}), "
                f"each resuming the store of the one before; grace {args.grace:g} s"
            )
            header = (
                f"{'kill':<5} {'at s':>6} {'answers':>8} {'stored':>7} {'lost':>5} {'in flight':>10} "
                f"{'(unsaved)':>10} {'after kill':>11} {'run marked':>12}"
            )
            print(header)
            print("-" * len(header))
            for i, k in enumerate(kills, 1):
                marked = k.status + (" (exited)" if k.finished else "")
                print(
                    f"{i:<5} {k.after_s:>6.2f} {k.sent:>8} {k.stored:>7} {k.lost:>5} {k.in_flight:>10} "
                    f"{k.in_flight_unsaved:>10} {k.after_kill:>11} {marked:>12}"
                )
                if k.lost:
                    problems.append(
                        f"kill {i}: {k.lost} answers sent > {args.grace:g} s before the kill not stored"
                    )
                if k.status == "running":
                    problems.append(f"kill {i}: the killed run is still marked running")
            lost = sum(k.lost for k in kills)
            print(
                f"\nanswers lost per kill (target 0): {lost / max(1, len(kills)):.1f} "
                f"({lost} in {len(kills)} kills)"
            )
            print(
                f"in flight at the kill (sent within {args.grace:g} s before it): "
                f"{statistics.mean(k.in_flight for k in kills):.1f} per kill, of which not stored "
                f"{statistics.mean(k.in_flight_unsaved for k in kills):.1f}"
            )
            print(f"{note}")
            print(f"answers bought twice in total (kills + resume): {twice}")
            print(
                "\nat s: seconds after the run's first provider request; lost: answers sent more than "
                "the grace before the kill whose prompt hash is not in calls (status != 'error'); "
                "after kill: answers the simulator logged after the kill moment (already in its pipeline); "
                "run marked: the killed run's status once the store is opened again (completed: it "
                "had stored every unit before the kill came)."
            )
            if bad:
                problems.append("the resumed run did not finish every item")
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for msg in problems:
        print(f"WARNING: {msg}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
