"""ORM tables of search and product content (migration 0009).

Full-text columns (PostgreSQL weighted ``tsvector`` columns, the SQLite FTS5 table) and the
pg_trgm index are created by the migration only; these classes declare the plain tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base, Id, Stock, UTCDateTime


class SearchVocab(Base):
    """Every lower-cased word of SKU names, descriptions and attribute values, with a document
    frequency (upper bound: updates add, nothing subtracts). Typo correction picks from it."""

    __tablename__ = "search_vocab"
    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    df: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchSynonym(Base):
    """Directed synonym pairs: a query ``term`` (one word or a phrase) also matches ``synonym``.
    Equivalence groups are stored as all ordered pairs."""

    __tablename__ = "search_synonyms"
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    synonym: Mapped[str] = mapped_column(String(100), primary_key=True)


class SearchMeta(Base):
    """Generation counters (``vocab``, ``synonyms``, ``embeddings``) that in-process caches
    compare against to know when to reload."""

    __tablename__ = "search_meta"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SkuEmbedding(Base):
    """One sentence embedding per SKU: little-endian float32 bytes, L2-normalised."""

    __tablename__ = "sku_embeddings"
    __table_args__ = (Index("ix_sku_embeddings_model", "model", "sku_id"),)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str] = mapped_column(String(32))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class ProductContent(Base):
    """Append-only versions of a product's content; the highest version is current."""

    __tablename__ = "product_contents"
    product_id: Mapped[int] = mapped_column(
        Id, ForeignKey("products.id"), primary_key=True, autoincrement=False
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[str] = mapped_column(Text, default="{}")  # JSON object of strings
    images: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of URL strings
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))


# Available stock per location: the ``in_stock_at`` filter and availability ranking probe it.
Index(
    "ix_stock_available",
    Stock.location_id,
    Stock.sku_id,
    postgresql_where=text("on_hand > reserved"),
    sqlite_where=text("on_hand > reserved"),
)
