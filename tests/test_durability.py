"""Every paid answer is kept and every unit is done once (issue 14), checked from the outside:
a real ``judgecal grade`` process against a provider on loopback that logs when each answer left
it, killed with ``kill -9`` or SIGTERM, its database deleted, two processes on one store; and in
process, a store that fills up.

"Lost" below means: the provider finished sending the answer at least :data:`GRACE` seconds
before the kill, and the store has no call with its prompt. Answers sent in the last moments
before a kill were still being read (in flight): a resume buys those again, at most one per
call in flight."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _stub_provider import Reply, StubProvider
from conftest import POSTGRES_SKIP, write_synthetic_gold

from judgecal.prompt import prompt_hash
from judgecal.store import Store

GRACE = 0.5
"""Seconds between an answer leaving the provider and the kill after which it must be stored."""


def _grade_cmd(stub: StubProvider, gold: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "judgecal",
        "grade",
        "support-billing",
        "--judge",
        "openai/stub",
        "--api-base",
        stub.base_url,
        "--gold",
        str(gold),
        "--no-preflight",
        "--quiet",
        *extra,
    ]


def _env(home: Path, **more: str) -> dict[str, str]:
    env = dict(os.environ, JUDGECAL_HOME=str(home), OPENAI_API_KEY="k-test-0123")
    env.pop("DATABASE_URL", None)
    env.update(more)
    return env


def _stored_prompts(store: Store) -> set[str]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT prompt_hash FROM calls WHERE status != 'error'"))}


def _sent_before(stub: StubProvider, moment: float) -> list[str]:
    return [prompt_hash(req.body["messages"]) for t, req, status in stub.sent if status == 200 and t < moment]


def _wait_for(stub: StubProvider, answers: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while len(stub.sent) < answers:
        assert time.monotonic() < end, f"the provider sent only {len(stub.sent)} answers"
        time.sleep(0.01)


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    return write_synthetic_gold(tmp_path / "gold.jsonl", n=120)


def test_kill_9_loses_no_received_answer_and_the_run_shows_interrupted(hermetic, gold, tmp_path):  # type: ignore[no-untyped-def]
    rng = random.Random(14)
    with StubProvider(Reply(delay=0.02)) as stub:
        for _ in range(3):
            proc = subprocess.Popen(
                _grade_cmd(stub, gold, "--concurrency", "4"), env=_env(hermetic), stderr=subprocess.DEVNULL
            )
            _wait_for(stub, len(stub.sent) + rng.randint(5, 25))
            time.sleep(rng.uniform(0, 0.2))
            killed_at = time.time()
            proc.kill()
            proc.wait()
            store = Store()
            try:
                stored = _stored_prompts(store)
                lost = [h for h in _sent_before(stub, killed_at - GRACE) if h not in stored]
                assert lost == []
                runs = store.list_runs()
                assert runs[0].status == "interrupted", runs[0]
                assert "the process running it is gone" in (runs[0].error or "")
            finally:
                store.close()
        finished = subprocess.run(
            _grade_cmd(stub, gold, "--concurrency", "4"), env=_env(hermetic), capture_output=True, text=True
        )
        assert finished.returncode == 0, finished.stderr
        hashes = [prompt_hash(req.body["messages"]) for _t, req, status in stub.sent if status == 200]
        bought_twice = len(hashes) - len(set(hashes))
        assert len(set(hashes)) == 120
        assert bought_twice <= 3 * 4  # at most the calls in flight at each kill


def test_sigterm_stops_like_ctrl_c(hermetic, gold):  # type: ignore[no-untyped-def]
    with StubProvider(Reply(delay=0.05)) as stub:
        proc = subprocess.Popen(
            _grade_cmd(stub, gold, "--concurrency", "2"),
            env=_env(hermetic),
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(stub, 10)
        stopped_at = time.time()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "terminated" in err and "interrupted" in err
        store = Store()
        try:
            run = store.list_runs()[0]
            assert run.status == "interrupted"
            stored = _stored_prompts(store)
            # after SIGTERM nothing new is sent, and every answer that arrived is stored
            assert [h for h in _sent_before(stub, stopped_at + 5) if h not in stored] == []
            assert 10 <= len(stored) < 120
        finally:
            store.close()


def test_calibrate_on_an_interrupted_run_says_it_is_incomplete(hermetic, gold):  # type: ignore[no-untyped-def]
    with StubProvider(Reply(delay=0.05)) as stub:
        proc = subprocess.Popen(
            _grade_cmd(stub, gold, "--concurrency", "2"), env=_env(hermetic), stderr=subprocess.DEVNULL
        )
        _wait_for(stub, 10)
        proc.kill()
        proc.wait()
    store = Store()
    run_id = store.list_runs()[0].id
    store.close()
    done = subprocess.run(
        [sys.executable, "-m", "judgecal", "calibrate", run_id[:12]],
        env=_env(hermetic),
        capture_output=True,
        text=True,
    )
    text = done.stdout + done.stderr
    assert "was interrupted before it finished" in text, text
    assert "failed or skipped calls" not in text


def _fresh_postgres() -> str:
    import uuid

    from sqlalchemy import create_engine, text

    base = os.environ["JUDGECAL_TEST_POSTGRES_URL"]
    name = "jc_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_processes_on_one_store_make_each_call_once(hermetic, gold, database):  # type: ignore[no-untyped-def]
    """Both start at once on a fresh store (so both migrate it too), on the same items."""
    import json

    more = {}
    if database == "postgresql":
        if not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"):
            pytest.skip(POSTGRES_SKIP)
        more["DATABASE_URL"] = _fresh_postgres()
    with StubProvider(Reply(delay=0.01)) as stub:
        procs = [
            subprocess.Popen(
                _grade_cmd(stub, gold, "--concurrency", "8", "--json"),
                env=_env(hermetic, **more),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [e for _o, e in outs]
        hashes = [prompt_hash(req.body["messages"]) for req in stub.requests]
    assert len(hashes) == len(set(hashes)) == 120
    results = [json.loads(o) for o, _e in outs]
    assert all(r["n_ok"] == 120 and r["status"] == "completed" for r in results)
    assert sum(r["n_calls"] for r in results) == 120
    # the two runs agree item by item
    assert [i["label"] for i in results[0]["items"]] == [i["label"] for i in results[1]["items"]]


def test_a_deleted_database_stops_the_run_with_exit_3(hermetic, gold):  # type: ignore[no-untyped-def]
    with StubProvider(Reply(delay=0.05)) as stub:
        proc = subprocess.Popen(
            _grade_cmd(stub, gold, "--concurrency", "2"),
            env=_env(hermetic),
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(stub, 6)
        for suffix in ("", "-wal", "-shm"):
            (hermetic / f"judgecal.db{suffix}").unlink(missing_ok=True)
        _out, err = proc.communicate(timeout=60)
        sent = len(stub.sent)
    assert proc.returncode == 3, err
    assert "was deleted" in err and "gone with it" in err
    assert sent < 120  # it stopped sending


def test_a_full_store_stops_the_run_and_says_what_was_saved(hermetic, tmp_path):  # type: ignore[no-untyped-def]
    import asyncio

    from sqlalchemy import event

    from judgecal.execute import StoreFailed
    from judgecal.gold import load_gold
    from judgecal.judge import JudgeConfig, Limits, agrade
    from judgecal.llm import LiteLLMCompleter
    from judgecal.rubric import find_rubric

    rubric = find_rubric("support-billing")
    gold = load_gold(write_synthetic_gold(tmp_path / "g.jsonl", n=200), rubric)
    store = Store(f"sqlite:///{tmp_path / 'small.db'}")
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    limit = int(pages) + 40  # room for a few dozen answers, then SQLITE_FULL

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count={limit}")

    store.engine.dispose()
    with StubProvider(Reply(delay=0.01)) as stub:
        completer = LiteLLMCompleter("openai/stub", api_base=stub.base_url, api_key="k-test-0123")
        with pytest.raises(StoreFailed) as caught:
            asyncio.run(
                agrade(
                    rubric,
                    gold,
                    JudgeConfig(model="openai/stub"),
                    completer,
                    store=store,
                    limits=Limits(concurrency=4),
                )
            )
        sent = len(stub.sent)
    message = str(caught.value)
    assert "full" in message and "saved:" in message and "not saved:" in message, message
    assert sent < 200
    assert store.list_runs()[0].status in ("failed", "running")
