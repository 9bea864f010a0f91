"""Alembic environment: uses the connection handed over by ``api.db.upgrade_schema`` or
``SHOPSPHERE_DATABASE_URL`` (via :class:`api.settings.Settings`)."""

from __future__ import annotations

from alembic import context

from api.db import make_engine
from api.models import Base

target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)  # type: ignore[arg-type]
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conn = context.config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    from api.settings import Settings

    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
