"""The Ray executor (``--executor ray``): a grading run's units spread over a local Ray cluster's
workers, checked from the outside against a provider on loopback that logs every request and
when each answer left it — every unit done exactly once, the same verdicts as a run in one
process, no received answer lost when a Ray worker is killed with SIGKILL, and the CLI path.

Skipped without the ``ray`` extra, unless ``JUDGECAL_REQUIRE_RAY=1`` (CI), which makes a missing
Ray fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("JUDGECAL_REQUIRE_RAY") != "1":
    pytest.importorskip("ray", reason='the Ray executor needs the ray extra: pip install -e ".[ray]"')
import ray  # noqa: E402
from _stub_provider import ANSWER, Reply, StubProvider, StubRequest  # noqa: E402
from conftest import write_synthetic_gold  # noqa: E402
from test_durability import _env, _grade_cmd  # noqa: E402

from judgecal.errors import ConfigError  # noqa: E402
from judgecal.execute import use_executor  # noqa: E402
from judgecal.gold import load_gold  # noqa: E402
from judgecal.judge import JudgeConfig, Limits, RunResult, grade  # noqa: E402
from judgecal.prompt import prompt_hash  # noqa: E402
from judgecal.ray_executor import RayExecutor, split_shard  # noqa: E402
from judgecal.rubric import find_rubric  # noqa: E402
from judgecal.store import Store  # noqa: E402

GRACE = 0.5
"""Seconds between an answer leaving the provider and the kill after which it must be stored."""
FAIL = json.dumps({"reasoning": "Wrong.", "verdict": "fail", "failure_modes": []})


@pytest.fixture(scope="module")
def cluster() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _by_prompt(delay: float) -> Any:
    """A provider whose verdict depends on the prompt (so results can be compared)."""

    def reply(req: StubRequest) -> Reply:
        h = prompt_hash(req.body["messages"])
        return Reply(answer=ANSWER if int(h[-1], 16) % 2 else FAIL, delay=delay)

    return reply


def _grade(stub: StubProvider, gold: Path, db: Path, executor: Any, concurrency: int = 4) -> RunResult:
    rubric = find_rubric("support-billing")
    with use_executor(executor):
        return grade(
            rubric,
            load_gold(gold, rubric),
            JudgeConfig(model="openai/stub"),
            store=Store(f"sqlite:///{db}"),
            api_base=stub.base_url,
            limits=Limits(concurrency=concurrency),
            preflight=False,
        )


def _stored_prompts(db: Path) -> Counter[str]:
    from sqlalchemy import text

    store = Store(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT prompt_hash FROM calls WHERE status != 'error'")).all()
    finally:
        store.close()
    return Counter(r[0] for r in rows)


def _prompts(stub: StubProvider) -> Counter[str]:
    return Counter(prompt_hash(req.body["messages"]) for req in stub.requests)


def test_every_unit_once_and_the_same_verdicts_as_one_process(cluster, hermetic, tmp_path):  # type: ignore[no-untyped-def]
    gold = write_synthetic_gold(tmp_path / "gold.jsonl", n=60)
    with StubProvider(_by_prompt(0.01)) as stub:
        spread = _grade(stub, gold, tmp_path / "ray.db", RayExecutor(workers=2))
        assert stub.count == 60
        assert set(_prompts(stub).values()) == {1}  # each prompt asked once
    with StubProvider(_by_prompt(0.0)) as stub:
        local = _grade(stub, gold, tmp_path / "local.db", None)
    assert spread.status == local.status == "completed"
    assert spread.n_ok == spread.n_units == 60 and spread.n_calls == 60
    assert [(i.item_id, i.label) for i in spread.items] == [(i.item_id, i.label) for i in local.items]
    assert {v.label for v in spread.verdicts} == {"pass", "fail"}
    assert sum(_stored_prompts(tmp_path / "ray.db").values()) == 60
    # the same run again is answered from the store, by the workers: no new request
    with StubProvider(_by_prompt(0.0)) as stub:
        again = _grade(stub, gold, tmp_path / "ray.db", RayExecutor(workers=2))
        assert stub.count == 0 and again.n_cached == 60


def _worker_pids(db: Path) -> set[int]:
    """The pids of the Ray workers holding claims in the store (owners are host:pid:run:shard)."""
    from sqlalchemy import text

    store = Store(f"sqlite:///{db}", migrate=False)
    try:
        with store.engine.connect() as conn:
            owners = conn.execute(text("SELECT DISTINCT owner FROM claims")).scalars().all()
    finally:
        store.close()
    return {int(o.split(":")[1]) for o in owners}


def test_a_killed_ray_worker_loses_no_received_answer(cluster, hermetic, tmp_path):  # type: ignore[no-untyped-def]
    gold = write_synthetic_gold(tmp_path / "gold.jsonl", n=80)
    db = tmp_path / "kill.db"
    result: dict[str, Any] = {}
    with StubProvider(_by_prompt(0.1)) as stub:

        def run() -> None:
            try:
                result["run"] = _grade(stub, gold, db, RayExecutor(workers=2), concurrency=2)
            except BaseException as exc:  # noqa: BLE001 - reported below
                result["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        end = time.monotonic() + 90
        while len(stub.sent) < 12 or not _worker_pids(db):
            assert time.monotonic() < end and thread.is_alive(), result
            time.sleep(0.02)
        victim = min(_worker_pids(db))
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        answered_at_kill = len(stub.sent)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert "error" not in result, result["error"]
        stored = _stored_prompts(db)
        sent = [prompt_hash(req.body["messages"]) for t, req, s in stub.sent if s == 200]
        early = [
            prompt_hash(req.body["messages"]) for t, req, s in stub.sent if s == 200 and t < killed_at - GRACE
        ]
        assert [h for h in early if h not in stored] == []
        assert set(stored) == set(sent)
        assert len(set(sent)) == 80 and answered_at_kill < 70  # killed mid-run
        assert len(sent) - 80 <= 2  # bought again: at most the killed worker's calls in flight
    run_ = result["run"]
    assert run_.status == "completed" and run_.n_ok == 80 and len(run_.verdicts) == 80
    assert Store(f"sqlite:///{db}").get_run(run_.run_id).status == "completed"


def test_cli_grade_with_the_ray_executor(cluster, hermetic, tmp_path):  # type: ignore[no-untyped-def]
    gold = write_synthetic_gold(tmp_path / "gold.jsonl", n=30)
    with StubProvider(_by_prompt(0.0)) as stub:
        done = subprocess.run(
            _grade_cmd(
                stub, gold, "--json", "--executor", "ray", "--ray-address", cluster, "--ray-workers", "2"
            ),
            env=_env(hermetic),
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert done.returncode == 0, done.stderr
        assert stub.count == 30
        assert set(_prompts(stub).values()) == {1}
    out = json.loads(done.stdout)
    assert out["status"] == "completed" and out["n_ok"] == 30 and out["n_calls"] == 30


def test_split_shard_divides_the_caps_and_keeps_twins_together(support) -> None:  # type: ignore[no-untyped-def]
    from judgecal.execute import Shard
    from judgecal.units import build_units

    rubric, gold = support
    judge = JudgeConfig(model="openai/stub", samples=2)
    units = build_units(rubric, gold.items[:5], judge)
    units += build_units(rubric, gold.items[:1], judge)  # the same questions twice
    shard = Shard(rubric, judge, Limits(max_calls=10, max_cost=1.0), "r" * 32, units, owner="x")
    subs = split_shard(shard, 3)
    assert len(subs) == 3
    # 10 distinct keys round-robin: 4, 3, 3 of them; the twins (item 0's two samples) in the first two
    assert [len(s.units) for s in subs] == [5, 4, 3]
    assert sum(s.limits.max_calls or 0 for s in subs) == 10
    assert all(s.limits.max_cost == pytest.approx(1 / 3) for s in subs)
    assert all(not s.heartbeat_run and s.owner == "" for s in subs)
    for sub in subs:  # every unit of a cache key in one sub-shard
        keys = {u.cache_key for u in sub.units}
        assert all(not keys & {u.cache_key for u in other.units} for other in subs if other is not sub)


def test_an_in_memory_database_is_refused(hermetic) -> None:  # type: ignore[no-untyped-def]
    from judgecal.ray_executor import worker_store_url

    with pytest.raises(ConfigError, match="in-memory"):
        worker_store_url(Store("sqlite://"))
    assert worker_store_url(Store("sqlite:///rel.db")) == f"sqlite:///{os.path.abspath('rel.db')}"
