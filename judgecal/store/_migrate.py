"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0004"
"""The newest migration (a test checks it against Alembic's own view of the scripts)."""


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


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
