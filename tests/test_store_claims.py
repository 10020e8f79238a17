"""Claims in the store (judgecal/store/work.py): a unit another live worker holds is not taken; a
claim whose lease passed, or whose worker on this host is gone, is taken over; an answer stored
meanwhile is reused; a run whose process died is marked interrupted when the store opens."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from judgecal.store import ClaimRow, RunRow, Store
from judgecal.store.work import HOST, gone, owner_id


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_claim_is_held_and_an_expired_or_dead_one_is_taken(tmp_path):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    _run(store, "run0", "elsewhere:4242")
    other = "elsewhere:4242:run0"
    first = store.claim(["a", "b", "c"], run_id="run0", owner=other)
    assert first.claimed == ["a", "b", "c"]
    mine = owner_id("run1")
    got = store.claim(["a", "b", "c", "d"], run_id="run1", owner=mine)
    assert got.claimed == ["d"] and got.held == ["a", "b", "c"]
    # the lease of "a" passed: taken over; "b" still held (another host: only its lease can tell)
    with store.engine.begin() as conn:
        conn.execute(
            update(ClaimRow)
            .where(ClaimRow.cache_key == "a")  # type: ignore[arg-type]
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    got = store.claim(["a", "b"], run_id="run1", owner=mine)
    assert got.claimed == ["a"] and got.held == ["b"]
    # a worker of this host whose process is gone loses its claims at once
    dead = f"{HOST}:{_dead_pid()}:run2"
    assert gone(dead) and not gone(owner_id("x")) and not gone(other)
    store.claim(["e"], run_id="run2", owner=dead)
    assert store.claim(["e"], run_id="run1", owner=mine).claimed == ["e"]
    # the holder's answer arrives: the waiting worker reuses it
    call = _call("b")
    store.write_batch([call], [], owner=other)
    got = store.claim(["b"], run_id="run1", owner=mine)
    assert got.claimed == [] and list(got.answered) == ["b"]


def _call(key: str) -> dict[str, object]:
    return {
        "id": "call-" + key,
        "run_id": "run0",
        "cache_key": key,
        "item_id": "i",
        "item_hash": "h",
        "order": None,
        "sample_index": 0,
        "model": "m",
        "settings_hash": "s",
        "rubric_hash": "r",
        "template_hash": "t",
        "prompt_hash": "p",
        "prompt_json": "[]",
        "status": "ok",
        "label": "pass",
    }


def test_transient_invalid_answers_are_not_reused(tmp_path):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    _run(store, "run0", f"{HOST}:1:x")
    rows = [
        {**_call("k1"), "id": "c1", "status": "invalid", "label": None, "invalid_reason": "empty"},
        {**_call("k2"), "id": "c2", "status": "invalid", "label": None, "invalid_reason": "truncated"},
        {**_call("k3"), "id": "c3", "status": "invalid", "label": None, "invalid_reason": "not_json"},
    ]
    store.write_batch(rows, [])
    assert set(store.cached_calls(["k1", "k2", "k3"])) == {"k3"}


def _run(store: Store, run_id: str, worker: str, beat: datetime | None = None) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(RunRow).values(
                id=run_id,
                rubric_name="r",
                rubric_version="1",
                rubric_hash="h",
                template_hash="h",
                gold_name="g",
                gold_path="g",
                gold_hash="h",
                split="all",
                split_hash="h",
                model="m",
                settings_json="{}",
                settings_hash="h",
                judgecal_version="0",
                worker=worker,
                heartbeat_at=beat or datetime.now(UTC),
                created_at=datetime.now(UTC),
                status="running",
            )
        )


def test_runs_whose_process_died_are_marked_interrupted_when_the_store_opens(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    _run(store, "dead", f"{HOST}:{_dead_pid()}")
    _run(store, "stale", "elsewhere:1", beat=datetime.now(UTC) - timedelta(minutes=5))
    _run(store, "alive", "elsewhere:2")
    _run(store, "me", owner_id("me").rsplit(":", 1)[0])
    store.close()
    again = Store(url)
    status = {r.id: (r.status, r.error or "") for r in again.list_runs()}
    assert status["dead"][0] == "interrupted" and "process running it is gone" in status["dead"][1]
    assert status["stale"][0] == "interrupted" and "heartbeat stopped" in status["stale"][1]
    assert status["alive"][0] == "running" and status["me"][0] == "running"
