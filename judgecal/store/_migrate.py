"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0006"
"""The newest migration (a test checks it against Alembic's own view of the scripts)."""

MIGRATE_LOCK_KEY = 3043777887839082137
"""The PostgreSQL advisory lock taken while migrating: the first 8 bytes of
``sha256(b"judgecal-migrate")`` as a signed big-endian 64-bit integer (a test checks it)."""


def _config(connection: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config  # noqa: PLC0415 - alembic is imported only when needed

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision(conn)


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def ensure_head(engine: Engine) -> None:
    """Bring the database to :data:`HEAD` (nothing to do when it is there already).

    Safe with any number of concurrent callers, in any number of processes: the upgrade runs
    under a cross-process lock and only when the revision, read again inside the lock, still
    is not :data:`HEAD`. PostgreSQL uses a transaction-scoped advisory lock taken in the
    migrating transaction itself; a SQLite file database an exclusive ``flock`` on the
    database's directory. Other databases are upgraded without a lock.
    """
    dialect = engine.dialect.name
    path = _sqlite_file(engine) if dialect == "sqlite" else None
    # A missing or empty SQLite file cannot be at head; and its first connection switches it to
    # WAL, which fails at once ("database is locked") when another connection does the same at
    # that moment, so such a file is opened only under the lock.
    if not (path is not None and _is_blank(path)) and current_revision(engine) == HEAD:
        return
    if dialect == "postgresql":
        _ensure_head_postgresql(engine)
        return
    if path is not None:
        with _directory_lock(os.path.dirname(path)):
            if current_revision(engine) != HEAD:
                upgrade(engine)
        return
    upgrade(engine)


def _ensure_head_postgresql(engine: Engine) -> None:
    from alembic import command  # noqa: PLC0415

    with engine.connect() as conn:
        # READ COMMITTED (PostgreSQL's default, forced here in case the server defaults to
        # something stricter) so the revision read after the lock wait sees the winner's commit.
        conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK_KEY})
            if _revision(conn) != HEAD:
                command.upgrade(_config(conn), "head")


def _sqlite_file(engine: Engine) -> str | None:
    """The absolute path of a SQLite file database, or None for an in-memory one."""
    url = engine.url
    db = url.database
    if not db or db == ":memory:":
        return None
    if url.query.get("mode") == "memory":
        return None
    if db.startswith("file:"):  # a URI filename (``?uri=true``)
        parts = urlsplit(db)
        if "memory" in parse_qs(parts.query).get("mode", []):
            return None
        db = parts.path
        if not db or db == ":memory:":
            return None
    return os.path.abspath(db)


def _is_blank(path: str) -> bool:
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return True


@contextmanager
def _directory_lock(directory: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` (blocking until it is free).

    The lock is on a descriptor of the directory, not of the database file: closing any
    descriptor of the database file would drop the POSIX locks SQLite holds on it in this
    process. Nothing is created on disk. Where the lock cannot be taken (no ``flock``, the
    directory cannot be opened) this degrades to no lock, which is how it always was."""
    fd: int | None = None
    if sys.platform != "win32":
        import fcntl  # noqa: PLC0415

        try:
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            fd = None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                os.close(fd)
                fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
