"""Where the client CPU goes per verdict: the bench_grade workload under py-spy.

    pip install py-spy                                  # a sampling profiler (no code changes)
    python bench/profile_grade.py                       # bare AsyncOpenAI, bare litellm, judgecal
    python bench/profile_grade.py --only judgecal --tweak known-model
    python bench/profile_grade.py --raw /tmp/prof       # also keep py-spy's raw stacks per contender

After a warm-up, the script attaches ``py-spy record --gil --nonblocking`` to itself, so only
samples where a thread of this process holds the GIL (runs Python) during the measured runs are
counted, in every thread (litellm runs its synchronous ``completion()`` in the event loop's
default executor). Each sample goes to the category of its innermost "marker" frame (CATEGORIES);
the figures are that share of the process CPU measured (``time.process_time``) over the same runs.
The simulated judge runs in a subprocess and is not sampled.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import asyncio
import collections
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_grade import MODEL, RUBRIC, TWEAKS, apply_tweaks, build_gold, response_format, start_sim

from judgecal.judge import JudgeConfig, Limits, agrade
from judgecal.prompt import render_messages
from judgecal.rubric import find_rubric
from judgecal.store import Store

_COST = "litellm: cost + model-info lookups (completion_cost, get_model_info, fallbacks)"
_LOG = "litellm: success logging (logging worker, async_success_handler, payload)"
_HTTP = "HTTP transport (aiohttp / httpx, sockets)"
_EXEC = "litellm: completion() in the executor (param mapping, provider config)"
_CONV = "litellm: response -> ModelResponse conversion"
_HANDLER = "litellm: openai handler (request transform, client cache, pre/post_call)"

# (path fragment, function name or None for any, category). The innermost matching frame wins.
CATEGORIES: list[tuple[str, str | None, str]] = [
    ("judgecal/judge.py", "agrade", "judgecal: run setup/finish (create_run, aggregate)"),
    ("judgecal/units.py", "build_units", "judgecal: render + hash prompts (jinja2, sha256)"),
    ("judgecal/execute.py", "run_key", "judgecal: unit loop"),
    ("judgecal/execute.py", "claim", "judgecal: claims (cache lookup, claim rows)"),
    ("judgecal/execute.py", "_answer_call", "judgecal: record answer (call dict, json.dumps)"),
    ("judgecal/execute.py", "record_call", "judgecal: record answer (call dict, json.dumps)"),
    ("judgecal/verdict.py", "parse_answer", "judgecal: parse answer"),
    ("judgecal/units.py", "verdict_from_call", "judgecal: Verdict pydantic model"),
    ("judgecal/execute.py", "_commit", "judgecal: SQLite writes (writer thread)"),
    ("judgecal/store/", None, "judgecal: SQLite writes (claims, writer thread)"),
    ("judgecal/llm.py", "complete", "judgecal: LiteLLMCompleter.complete (kwargs, wait_for)"),
    ("litellm/chat_completions/dispatch.py", None, "litellm: @client wrapper_async (setup, hooks)"),
    ("litellm/utils.py", "wrapper_async", "litellm: @client wrapper_async (setup, hooks)"),
    ("litellm/utils.py", "function_setup", "litellm: function_setup (Logging object, kwargs copy)"),
    ("litellm/main.py", "acompletion", "litellm: acompletion (kwargs, provider lookup, executor hop)"),
    ("litellm/utils.py", "wrapper", _EXEC),
    ("litellm/main.py", "completion", _EXEC),
    ("litellm/llms/openai/openai.py", None, _HANDLER),
    ("litellm/litellm_core_utils/logging_utils.py", None, _HANDLER),
    ("litellm/litellm_core_utils/llm_response_utils/convert_dict_to_response.py", None, _CONV),
    (
        "litellm/litellm_core_utils/llm_response_utils/response_metadata.py",
        None,
        "litellm: update_response_metadata (hidden params, timing)",
    ),
    ("litellm/utils.py", "_dispatch_success_logging", _LOG),
    ("litellm/litellm_core_utils/logging_worker.py", None, _LOG),
    ("litellm/litellm_core_utils/litellm_logging.py", "async_success_handler", _LOG),
    ("litellm/litellm_core_utils/litellm_logging.py", "response_cost_calculator", _COST),
    ("litellm/litellm_core_utils/litellm_logging.py", "_record_zero_cost_diagnostic", _COST),
    ("litellm/cost_calculator.py", None, _COST),
    ("litellm/utils.py", "get_model_info", _COST),
    ("litellm/utils.py", "_get_model_info_helper", _COST),
    ("litellm/utils.py", "get_model_info_helper", _COST),
    ("litellm/utils.py", "_first_registered_match", _COST),
    ("litellm/litellm_core_utils/fallback_generalizations.py", None, _COST),
    ("litellm/llms/custom_httpx/", None, _HTTP),
    ("openai/_utils/_transform.py", None, "openai SDK: request params transform (TypedDict walk)"),
    ("openai/_base_client.py", "_build_request", "openai SDK: build request"),
    ("openai/_legacy_response.py", "parse", "openai SDK: parse response (models)"),
    ("openai/_response.py", "parse", "openai SDK: parse response (models)"),
    ("openai/_base_client.py", "_process_response", "openai SDK: parse response (models)"),
    ("httpx/", None, _HTTP),
    ("httpcore/", None, _HTTP),
    ("h11/", None, _HTTP),
    ("anyio/", None, _HTTP),
    ("aiohttp/", None, _HTTP),
    ("asyncio/selector_events.py", None, _HTTP),
    ("bench/profile_grade.py", "one", "benchmark loop (render_messages, json.loads)"),
]
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*):(?P<line>\d+)\)$")


def classify(stack: str) -> str:
    cat = "asyncio event loop + other"
    for raw in stack.split(";"):
        m = _FRAME.match(raw)
        if m is None:
            continue
        func = m["func"].rsplit(".", 1)[-1]
        path = m["file"].replace("\\", "/")
        for fragment, name, c in CATEGORIES:
            if fragment in path and (name is None or func == name):
                cat = c
                break
    return cat


def read_raw(path: Path) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out[classify(stack)] += int(count)
    return out


class Spy:
    def __init__(self, out: Path, rate: int):
        exe = shutil.which("py-spy")
        if exe is None:
            raise SystemExit("py-spy is not installed: pip install py-spy")
        self.out = out
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(os.getpid()),
                "--rate",
                str(rate),
                "--gil",
                "--nonblocking",
                "--full-filenames",
                "-f",
                "raw",
                "-o",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        text, _ = self.proc.communicate(timeout=60)
        return text


async def main_async(args: argparse.Namespace) -> None:
    import litellm
    import openai

    from judgecal.llm import LiteLLMCompleter

    rubric = find_rubric(RUBRIC)
    n = args.items
    names = [c for c in ("openai", "litellm", "judgecal") if not args.only or c in args.only]
    tmp = Path(tempfile.mkdtemp(prefix="judgecal-prof-"))
    golds = {name: [build_gold(rubric, n, f"{name[:2]}{r}") for r in range(args.reps)] for name in names}
    warm = build_gold(rubric, 16, "warm")
    sim = start_sim(tmp, rubric, [g for gs in golds.values() for g in gs] + [warm], args.latency_ms)
    apply_tweaks(args.tweak)
    try:
        url = sim.base_url
        fmt = response_format(rubric)
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
        judge = JudgeConfig(model=f"openai/{MODEL}")
        completer = LiteLLMCompleter(f"openai/{MODEL}", api_base=url, api_key="x")
        limits = Limits(concurrency=args.concurrency)

        async def bare(gold: Any, via_litellm: bool) -> None:
            sem = asyncio.Semaphore(args.concurrency)

            async def one(item: Any) -> None:
                async with sem:
                    messages = render_messages(rubric, item.inputs)
                    if via_litellm:
                        resp = await litellm.acompletion(
                            model=f"openai/{MODEL}",
                            messages=messages,
                            api_base=url,
                            api_key="x",
                            temperature=0.0,
                            max_tokens=512,
                            response_format=fmt,
                            num_retries=0,
                        )
                    else:
                        resp = await client.chat.completions.create(
                            model=MODEL,
                            messages=messages,
                            temperature=0.0,
                            max_tokens=512,
                            response_format=fmt,
                        )
                    json.loads(resp.choices[0].message.content or "{}")

            await asyncio.gather(*(one(it) for it in gold.items))

        async def run(name: str, gold: Any, store: Store | None) -> None:
            if name == "judgecal":
                assert store is not None
                result = await agrade(rubric, gold, judge, completer, store=store, limits=limits)
                assert result.n_ok == len(gold.items)
            else:
                await bare(gold, via_litellm=name == "litellm")

        for name in names:  # warm-up
            await run(name, warm, Store(f"sqlite:///{tmp}/warm-{name}.db"))
        for name in names:
            stores = [
                Store(f"sqlite:///{tmp}/{name}-{r}.db") for r in range(args.reps)
            ]  # migrations: not sampled
            raw = Path(f"{args.raw}-{name}.txt") if args.raw else tmp / f"{name}.txt"
            spy = Spy(raw, args.rate)
            await asyncio.sleep(1.5)  # let py-spy attach
            c0, w0 = time.process_time(), time.perf_counter()
            for r, gold in enumerate(golds[name]):
                await run(name, gold, stores[r])
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            await asyncio.sleep(0.2)
            spy.stop()
            cats = read_raw(raw)
            total = sum(cats.values())
            units = n * args.reps
            label = {
                "openai": "bare AsyncOpenAI loop",
                "litellm": "bare litellm.acompletion loop",
                "judgecal": "judgecal agrade (LiteLLMCompleter)",
            }[name]
            print(
                f"\n== {label}: {units} verdicts, {units / wall:.1f} verdicts/s while sampled, "
                f"process CPU {1000 * cpu / units:.2f} ms/verdict ({total} GIL samples) =="
            )
            for cat, k in cats.most_common():
                share = k / total if total else 0.0
                if share >= 0.003:
                    print(f"  {1000 * cpu * share / units:6.3f} ms  {100 * share:5.1f}%  {cat}")
    finally:
        sim.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=256)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--latency-ms", type=float, default=200.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    p.add_argument("--tweak", action="append", default=[], choices=sorted(TWEAKS))
    p.add_argument("--only", action="append", choices=["openai", "litellm", "judgecal"])
    p.add_argument("--raw", help="keep py-spy's raw stacks as <prefix>-<contender>.txt")
    args = p.parse_args()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
