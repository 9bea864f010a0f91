"""search: weighted full-text vectors, vocabulary, synonyms, embeddings; product content versions

PostgreSQL: ``skus.search_tsv`` becomes a weighted vector (name A, attribute values C,
description D), a name-only vector ``search_tsv_name`` is added (both GIN indexed), and
pg_trgm (when the server ships it) indexes the vocabulary for typo correction. SQLite: the FTS5
table ``sku_fts`` gains the attributes column. Both: a partial index on available stock.

Revision ID: 0009
Revises: 0008
"""

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WEIGHTED = (
    "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(attributes, '')), 'C') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'D')"
)
# Default synonym groups (each word or phrase matches every other one of its group).
_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("soda", "soft drink", "pop", "fizzy drink"),
    ("sneakers", "trainers", "running shoes"),
    ("tv", "television"),
    ("couch", "sofa"),
    ("laptop", "notebook computer"),
    ("cellphone", "mobile phone", "smartphone"),
    ("aubergine", "eggplant"),
    ("courgette", "zucchini"),
    ("crisps", "chips"),
    ("biscuits", "cookies"),
    ("pants", "trousers"),
    ("jumper", "sweater", "pullover"),
    ("nappies", "diapers"),
    ("yoghurt", "yogurt"),
    ("detergent", "washing powder"),
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "search_vocab",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("df", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("word"),
    )
    op.create_table(
        "search_synonyms",
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("synonym", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("term", "synonym"),
    )
    op.create_table(
        "search_meta",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sku_embeddings",
        sa.Column("sku_id", _ID, nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("sku_id"),
    )
    op.create_index("ix_sku_embeddings_model", "sku_embeddings", ["model", "sku_id"])
    op.create_table(
        "product_contents",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("images", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id", "version"),
    )
    op.create_index(
        "ix_stock_available",
        "stock",
        ["location_id", "sku_id"],
        postgresql_where=sa.text("on_hand > reserved"),
        sqlite_where=sa.text("on_hand > reserved"),
    )
    _create_text_search(dialect)
    _seed(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_text_search(dialect)
    op.drop_index("ix_stock_available", table_name="stock")
    op.drop_table("product_contents")
    op.drop_index("ix_sku_embeddings_model", table_name="sku_embeddings")
    op.drop_table("sku_embeddings")
    op.drop_table("search_meta")
    op.drop_table("search_synonyms")
    op.drop_table("search_vocab")


def _create_text_search(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_skus_search")
        op.execute("ALTER TABLE skus DROP COLUMN IF EXISTS search_tsv")
        op.execute(
            "ALTER TABLE skus ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
            f"({_WEIGHTED}) STORED"
        )
        op.execute(
            "ALTER TABLE skus ADD COLUMN search_tsv_name tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(name, ''))) STORED"
        )
        # fastupdate off: no pending list to scan linearly after bulk imports
        op.execute(
            "CREATE INDEX ix_skus_search ON skus USING gin (search_tsv) WITH (fastupdate = off)"
        )
        op.execute(
            "CREATE INDEX ix_skus_search_name ON skus USING gin (search_tsv_name) "
            "WITH (fastupdate = off)"
        )
        schema = _trgm_schema()
        if schema is not None:
            op.execute(
                "CREATE INDEX ix_skus_search_vocab_trgm ON search_vocab "
                f'USING gin (word "{schema}".gin_trgm_ops)'
            )
    elif dialect == "sqlite":
        for trig in ("skus_fts_ai", "skus_fts_ad", "skus_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS sku_fts")
        _sqlite_fts(("name", "description", "attributes"))


def _drop_text_search(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_skus_search_vocab_trgm")
        op.execute("DROP INDEX IF EXISTS ix_skus_search_name")
        op.execute("DROP INDEX IF EXISTS ix_skus_search")
        op.execute("ALTER TABLE skus DROP COLUMN IF EXISTS search_tsv_name")
        op.execute("ALTER TABLE skus DROP COLUMN IF EXISTS search_tsv")
        op.execute(
            "ALTER TABLE skus ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(name, '') || ' ' || "
            "coalesce(description, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_skus_search ON skus USING gin (search_tsv)")
    elif dialect == "sqlite":
        for trig in ("skus_fts_ai", "skus_fts_ad", "skus_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS sku_fts")
        _sqlite_fts(("name", "description"))


def _sqlite_fts(cols: tuple[str, ...]) -> None:
    names = ", ".join(cols)
    new = ", ".join("new." + c for c in cols)
    old = ", ".join("old." + c for c in cols)
    op.execute(
        f"CREATE VIRTUAL TABLE sku_fts USING fts5({names}, content='skus', "
        "content_rowid='id', tokenize='porter unicode61')"
    )
    op.execute(
        "CREATE TRIGGER skus_fts_ai AFTER INSERT ON skus BEGIN "
        f"INSERT INTO sku_fts(rowid, {names}) VALUES (new.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER skus_fts_ad AFTER DELETE ON skus BEGIN "
        f"INSERT INTO sku_fts(sku_fts, rowid, {names}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER skus_fts_au AFTER UPDATE OF {names} ON skus BEGIN "
        f"INSERT INTO sku_fts(sku_fts, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO sku_fts(rowid, {names}) VALUES (new.id, {new}); END"
    )
    op.execute("INSERT INTO sku_fts(sku_fts) VALUES ('rebuild')")


def _trgm_schema() -> str | None:
    """Schema holding pg_trgm, creating the extension (trusted since PostgreSQL 13) when the
    server has it; None when it cannot be had (search then corrects typos in Python)."""
    bind = op.get_bind()
    found = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    if found is not None:
        return str(found)
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if available is None:
        return None
    sp = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        sp.commit()
    except sa.exc.DBAPIError:
        sp.rollback()
        return None
    found = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    return None if found is None else str(found)


def _seed(dialect: str) -> None:
    bind = op.get_bind()
    pairs = sorted({(a, b) for g in _SYNONYMS for a in g for b in g if a != b})
    bind.execute(
        sa.text("INSERT INTO search_synonyms (term, synonym) VALUES (:t, :s)"),
        [{"t": a, "s": b} for a, b in pairs],
    )
    bind.execute(
        sa.text("INSERT INTO search_meta (key, value) VALUES (:k, 1)"),
        [{"k": k} for k in ("vocab", "synonyms", "embeddings")],
    )
    df: dict[str, int] = {}
    for name, desc, attrs in bind.execute(
        sa.text("SELECT name, description, attributes FROM skus")
    ):
        words: set[str] = set()
        for part in (name or "", desc or "", " ".join(_attr_values(attrs))):
            words.update(w.lower() for w in _WORD.findall(part) if 1 < len(w) <= 64)
        for w in words:
            df[w] = df.get(w, 0) + 1
    if df:
        bind.execute(
            sa.text("INSERT INTO search_vocab (word, df) VALUES (:w, :d)"),
            [{"w": w, "d": d} for w, d in sorted(df.items())],
        )


def _attr_values(raw: str | None) -> list[str]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return []
    return [str(v) for v in data.values()] if isinstance(data, dict) else []
