"""Alembic migrations: they build exactly the models' schema, and go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from api_helpers import fresh_engine
from sqlalchemy import Engine, inspect

from api.db import MIGRATIONS, upgrade_schema
from api.models import Base


def _cfg(conn: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        diffs = compare_metadata(ctx, Base.metadata)
    # the search column / FTS table are migration-only by design
    return [
        d
        for d in diffs
        if "sku_fts" not in str(d) and "search_tsv" not in str(d) and "ix_skus_search" not in str(d)
    ]


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _diffs(engine) == []


def test_downgrade_to_base_and_upgrade_again(backend: str, tmp_path: Path) -> None:
    with fresh_engine(backend, tmp_path) as eng:
        with eng.begin() as conn:
            command.downgrade(_cfg(conn), "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        upgrade_schema(eng)
        assert {"stock", "movements", "orders", "payments", "idempotency_keys"} <= set(
            inspect(eng).get_table_names()
        )
