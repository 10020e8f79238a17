"""Opening a fresh store from many processes (and threads) at once: exactly one of them runs the
migrations, the others wait for it and find the database at head; none of them fails."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_SKIP
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import SingletonThreadPool

from judgecal.store import Store, _migrate

N = 6
TIMEOUT = 120.0
# The children import the judgecal this test imported, whatever the working folder.
SOURCE = str(Path(_migrate.__file__).resolve().parents[2])

# A child: import everything, say it is ready, wait for the go file, open the store. Every call of
# Alembic's upgrade command is reported on stdout, so the test can count who migrated.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import alembic.command
    from judgecal.store import Store

    url, barrier, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    _upgrade = alembic.command.upgrade

    def upgrade(*args, **kwargs):
        print("UPGRADE", flush=True)
        return _upgrade(*args, **kwargs)

    alembic.command.upgrade = upgrade
    (barrier / f"ready-{me}").touch()
    deadline = time.monotonic() + 60
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("never released")
        time.sleep(0.001)
    Store(url).close()
    print("OPENED", flush=True)
    """
)


def _race_processes(url: str, barrier: Path, child: str = CHILD, n: int = N) -> list[tuple[int, str, str]]:
    """Start ``n`` processes that open ``url`` at the same moment; their (code, stdout, stderr)."""
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")]))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", child, url, str(barrier), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(list(barrier.glob("ready-*"))) < n:
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                break  # a child died before the start (its stderr is asserted below)
            time.sleep(0.01)
        (barrier / "go").touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            results.append((p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _assert_one_migrated(results: list[tuple[int, str, str]]) -> None:
    for i, (code, out, err) in enumerate(results):
        assert code == 0, f"process {i} exited {code}:\n{err}"
        assert err.strip() == "", f"process {i} wrote to stderr:\n{err}"
        assert "OPENED" in out, f"process {i} did not open the store:\n{out}"
    upgrades = sum(out.count("UPGRADE") for _, out, _ in results)
    assert upgrades == 1, f"{upgrades} processes ran the migrations, expected exactly one"


def _race_threads(url: str, monkeypatch: pytest.MonkeyPatch, n: int = N) -> None:
    import alembic.command

    calls: list[int] = []
    real = alembic.command.upgrade

    def counting(*args: Any, **kwargs: Any) -> None:
        calls.append(threading.get_ident())
        real(*args, **kwargs)

    monkeypatch.setattr(alembic.command, "upgrade", counting)
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            start.wait(timeout=TIMEOUT)
            Store(url).close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is still opening the store"
    assert errors == []
    assert len(calls) == 1, f"{len(calls)} threads ran the migrations, expected exactly one"


def _assert_at_head(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                _migrate.HEAD
            ]
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
            assert set(inspect(conn).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


# -- SQLite ----------------------------------------------------------------------------------------


def test_processes_opening_a_fresh_sqlite_store_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "judgecal.db"
    url = f"sqlite:///{db}"
    _assert_one_migrated(_race_processes(url, tmp_path / "barrier"))
    _assert_at_head(url)
    leftovers = {p.name for p in folder.iterdir()} - {db.name, db.name + "-wal", db.name + "-shm"}
    assert leftovers == set(), "the migration lock left files behind"


def test_processes_opening_the_default_store_at_once(tmp_path: Path, hermetic: Path) -> None:
    """The default store ($JUDGECAL_HOME/judgecal.db, WAL), home folder not yet created."""
    assert not hermetic.exists()
    url = f"sqlite:///{hermetic / 'judgecal.db'}"
    child = CHILD.replace("Store(url).close()", "store = Store()\nassert store.url == url\nstore.close()")
    results = _race_processes(url, tmp_path / "barrier", child)
    _assert_one_migrated(results)
    _assert_at_head(url)


def test_processes_upgrading_an_old_sqlite_store_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    _migrate.downgrade(store.engine, "0002")
    store.close()
    _assert_one_migrated(_race_processes(url, tmp_path / "barrier"))
    _assert_at_head(url)


def test_threads_opening_a_fresh_sqlite_store_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'threads.db'}"
    _race_threads(url, monkeypatch)
    _assert_at_head(url)


def test_store_at_head_takes_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'head.db'}"
    Store(url).close()

    def no_lock(directory: str) -> Iterator[None]:
        raise AssertionError(f"locked {directory} for a database already at head")

    monkeypatch.setattr(_migrate, "_directory_lock", no_lock)
    Store(url).close()


@pytest.mark.parametrize("existing", [False, True], ids=["missing", "empty"])
def test_a_blank_sqlite_file_is_first_opened_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    """Its first connection switches it to WAL, which two connections must not do at once."""
    from contextlib import contextmanager

    from sqlalchemy import event

    db = tmp_path / "blank.db"
    if existing:
        db.touch()
    events: list[str] = []
    real = _migrate._directory_lock

    @contextmanager
    def recording(directory: str) -> Iterator[None]:
        with real(directory):
            events.append("lock")
            yield
            events.append("unlock")

    monkeypatch.setattr(_migrate, "_directory_lock", recording)
    engine = create_engine(f"sqlite:///{db}")
    event.listen(engine, "connect", lambda *_: events.append("connect"))
    try:
        _migrate.ensure_head(engine)
    finally:
        engine.dispose()
    assert events[0] == "lock" and events[-1] == "unlock" and "connect" in events


def test_in_memory_sqlite_needs_no_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_migrate, "_directory_lock", lambda directory: pytest.fail(f"locked {directory}"))
    store = Store("sqlite://")
    try:
        assert _migrate.current_revision(store.engine) == _migrate.HEAD
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:mem?mode=memory&uri=true", None),
        ("sqlite:///file:/srv/data/j.db?uri=true", "/srv/data/j.db"),
        ("sqlite:////srv/data/j.db", "/srv/data/j.db"),
        ("sqlite:///rel/j.db", "CWD/rel/j.db"),
    ],
)
def test_sqlite_file_of_a_url(url: str, path: str | None) -> None:
    engine = create_engine(url, poolclass=SingletonThreadPool)
    try:
        expected = path.replace("CWD", os.getcwd()) if path else None
        assert _migrate._sqlite_file(engine) == expected
    finally:
        engine.dispose()


def test_a_missing_database_folder_is_not_created(tmp_path: Path) -> None:
    from judgecal.errors import StoreError

    missing = tmp_path / "missing"
    with pytest.raises(StoreError, match="cannot open database"):
        Store(f"sqlite:///{missing / 'j.db'}")
    assert not missing.exists()


def test_postgres_lock_key_is_derived_from_its_name() -> None:
    digest = hashlib.sha256(b"judgecal-migrate").digest()
    assert int.from_bytes(digest[:8], "big", signed=True) == _migrate.MIGRATE_LOCK_KEY


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the server of JUDGECAL_TEST_POSTGRES_URL (dropped afterwards)."""
    base = os.environ["JUDGECAL_TEST_POSTGRES_URL"]
    name = "jc_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_processes_opening_a_fresh_postgres_store_at_once(postgres_url: str, tmp_path: Path) -> None:
    _assert_one_migrated(_race_processes(postgres_url, tmp_path / "barrier"))
    _assert_at_head(postgres_url)


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_processes_upgrading_an_old_postgres_store_at_once(postgres_url: str, tmp_path: Path) -> None:
    store = Store(postgres_url)
    _migrate.downgrade(store.engine, "0002")
    store.close()
    _assert_one_migrated(_race_processes(postgres_url, tmp_path / "barrier"))
    _assert_at_head(postgres_url)


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_threads_opening_a_fresh_postgres_store_at_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _race_threads(postgres_url, monkeypatch)
    _assert_at_head(postgres_url)
