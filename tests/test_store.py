"""The store: migrations from a blank database, the exact schema, WAL, and other databases."""

from __future__ import annotations

import os

import pytest
from conftest import POSTGRES_SKIP
from sqlalchemy import create_engine, inspect, text

from judgecal.store import Store, _migrate

EXPECTED_COLUMNS = {
    "runs": {
        "id",
        "kind",
        "status",
        "created_at",
        "finished_at",
        "rubric_name",
        "rubric_version",
        "rubric_hash",
        "template_hash",
        "gold_name",
        "gold_path",
        "gold_hash",
        "split",
        "split_hash",
        "model",
        "settings_json",
        "settings_hash",
        "samples",
        "aggregation",
        "orders",
        "n_items",
        "n_units",
        "n_ok",
        "n_invalid",
        "n_error",
        "n_skipped",
        "n_cached",
        "n_calls",
        "cost",
        "error",
        "judgecal_version",
        "worker",
        "heartbeat_at",
    },
    "calls": {
        "id",
        "run_id",
        "cache_key",
        "item_id",
        "item_hash",
        "order",
        "sample_index",
        "model",
        "response_model",
        "settings_hash",
        "rubric_hash",
        "template_hash",
        "prompt_hash",
        "prompt_json",
        "status",
        "label",
        "passed",
        "reasoning",
        "failure_modes_json",
        "invalid_reason",
        "parse_note",
        "raw_response",
        "finish_reason",
        "error",
        "attempts",
        "attempt_errors_json",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "created_at",
    },
    "run_items": {"run_id", "item_id", "order", "sample_index", "call_id", "status", "cached"},
    "comparisons": {"id", "created_at", "rubric_name", "record_json"},
    "approvals": {
        "id",
        "created_at",
        "rubric_name",
        "model",
        "tier",
        "run_id",
        "rubric_hash",
        "template_hash",
        "gold_hash",
        "split_hash",
        "policy_hash",
        "record_json",
        "revoked_at",
        "revoked_reason",
    },
    "jobs": {
        "id",
        "created_at",
        "status",
        "request_json",
        "progress_json",
        "result_json",
        "error_json",
        "started_at",
        "finished_at",
    },
    "idempotency_keys": {
        "scope",
        "key",
        "route",
        "request_hash",
        "status",
        "response_status",
        "response_json",
        "created_at",
        "expires_at",
    },
    "claims": {"cache_key", "run_id", "owner", "expires_at"},
    "label_queues": {
        "id",
        "name",
        "created_at",
        "updated_at",
        "rubric_name",
        "rubric_path",
        "rubric_hash",
        "template_hash",
        "source",
        "for_record",
        "blind",
        "overlap",
        "items_json",
        "annotators_json",
        "admin_token_sha256",
        "plan_json",
    },
    "labels": {
        "queue_id",
        "item_id",
        "annotator",
        "role",
        "status",
        "label",
        "failure_modes_json",
        "note",
        "rubric_hash",
        "item_hash",
        "created_at",
        "updated_at",
    },
}


def _columns(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in EXPECTED_COLUMNS}
    finally:
        engine.dispose()


def _no_drift(engine) -> list[object]:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


def test_blank_database_migrates_to_the_exact_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    store = Store(url)
    assert _columns(url) == EXPECTED_COLUMNS
    assert _migrate.current_revision(store.engine) == _migrate.HEAD
    assert _no_drift(store.engine) == [], "tables.py and the migrations disagree: write a migration"


def test_head_constant_matches_the_migration_scripts():
    assert _migrate.head_revision() == _migrate.HEAD


def test_downgrade_to_blank_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store(url)
    _migrate.downgrade(store.engine, "base")
    assert not inspect(store.engine).has_table("calls")
    _migrate.upgrade(store.engine)
    assert _columns(url) == EXPECTED_COLUMNS


def test_sqlite_runs_in_wal_mode(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_default_database_lives_in_the_home_folder(hermetic):
    store = Store()
    assert store.url == f"sqlite:///{hermetic / 'judgecal.db'}"
    assert (hermetic / "judgecal.db").exists()


def test_database_url_selects_another_database(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{other}")
    Store()
    assert other.exists()


def test_unknown_run_id_is_a_clear_error(store):
    from judgecal.errors import NotFoundError

    with pytest.raises(NotFoundError, match="matches no run"):
        store.get_run("abc")


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_postgres_from_blank(support, sim_server):
    """A real PostgreSQL (started by .ci/run): migrate a fresh database, grade, reuse the cache."""
    import asyncio
    import uuid

    from judgecal.judge import JudgeConfig, agrade, sim_items_from_gold
    from judgecal.llm import LiteLLMCompleter
    from judgecal.simulate import JudgeProfile

    base = os.environ["JUDGECAL_TEST_POSTGRES_URL"]
    name = "jc_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name
    store = Store(url)
    try:
        assert _columns(url) == EXPECTED_COLUMNS
        assert _no_drift(store.engine) == []
        rubric, gold = support
        sim = sim_server(profiles={"judge": JudgeProfile()}, items=sim_items_from_gold(rubric, gold.items))
        completer = LiteLLMCompleter("openai/judge", api_base=sim.base_url, api_key="x")
        first = asyncio.run(agrade(rubric, gold, JudgeConfig(model="openai/judge"), completer, store=store))
        assert first.n_ok == len(gold.items)
        sim.reset_stats()
        second = asyncio.run(agrade(rubric, gold, JudgeConfig(model="openai/judge"), completer, store=store))
        assert second.n_cached == len(gold.items) and sim.stats()["requests"] == 0
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def _jobs_and_keys(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from judgecal.store import IdempotencyRow, JobRow

    base = datetime.now(UTC)
    for i, status in enumerate(("succeeded", "running", "queued", "failed")):
        store.create_job(
            JobRow(id=f"{i:032x}", created_at=base + timedelta(seconds=i), status=status, request_json="{}")
        )
    assert [j.id for j in store.list_jobs(limit=2, offset=1)] == [f"{2:032x}", f"{1:032x}"]
    assert store.count_jobs() == {"succeeded": 1, "running": 1, "queued": 1, "failed": 1}
    assert sorted(store.interrupt_jobs({"queued": '{"q": 1}', "running": '{"r": 1}'})) == [
        f"{1:032x}",
        f"{2:032x}",
    ]
    assert store.get_job(f"{1:032x}").error_json == '{"r": 1}'  # type: ignore[union-attr]
    store.prune_jobs(keep=2)
    assert [j.id for j in store.list_jobs()] == [f"{3:032x}", f"{2:032x}"]

    row = IdempotencyRow(
        scope="s", key="k", route="/r", request_hash="h", expires_at=base + timedelta(hours=1)
    )
    assert store.claim_idempotency_key(row) is None
    taken = store.claim_idempotency_key(row.model_copy(update={"request_hash": "other"}))
    assert taken is not None and taken.request_hash == "h" and taken.status == "in_progress"
    store.complete_idempotency_key("s", "k", 202, '{"job_id": "x"}')
    done = store.claim_idempotency_key(row)
    assert done is not None and (done.status, done.response_status) == ("done", 202)
    expired = row.model_copy(update={"key": "old", "expires_at": base - timedelta(seconds=1)})
    assert store.claim_idempotency_key(expired) is None
    assert store.claim_idempotency_key(expired.model_copy(update={"expires_at": row.expires_at})) is None
    store.release_idempotency_key("s", "k")
    assert store.claim_idempotency_key(row) is None


def test_jobs_and_idempotency_keys(store: Store) -> None:
    _jobs_and_keys(store)


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_jobs_and_idempotency_keys_on_postgres() -> None:
    import uuid

    base = os.environ["JUDGECAL_TEST_POSTGRES_URL"]
    name = "jc_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    store = Store(base.rsplit("/", 1)[0] + "/" + name)
    try:
        _jobs_and_keys(store)
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
