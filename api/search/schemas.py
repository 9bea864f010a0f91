"""Request and response models of search extras (facets, synonyms) and product content."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Strict

MAX_IMAGES = 50


class FacetCount(Strict):
    value: str
    count: int


class PriceBand(Strict):
    min_cents: int
    max_cents: int | None  # exclusive; None: no upper bound
    count: int


class SearchInterpretation(Strict):
    """How the query was read: its words, typo corrections made, synonyms added."""

    words: list[str]
    corrections: dict[str, str] = Field(default_factory=dict)
    synonyms: dict[str, list[str]] = Field(default_factory=dict)


class SearchFacets(Strict):
    """Counts over a query's matches; ``exact`` is False when only the bounded candidate set
    (or the first ``FACET_ROWS`` matches) was counted."""

    total: int
    exact: bool
    categories: list[FacetCount] = Field(default_factory=list)
    brands: list[FacetCount] = Field(default_factory=list)
    attributes: dict[str, list[FacetCount]] = Field(default_factory=dict)
    price_bands: list[PriceBand] = Field(default_factory=list)
    in_stock: int | None = None  # available at in_stock_at / rank_at (None: no location)
    interpretation: SearchInterpretation


class SynonymGroups(Strict):
    groups: list[list[str]] = Field(min_length=1, max_length=200)


class SynonymsSet(Strict):
    pairs: int


class EmbeddingRefresh(Strict):
    model: str
    embedded: int  # SKUs (re-)embedded now
    unchanged: int  # SKUs whose text and model had not changed
    seconds: float


class ContentWrite(Strict):
    """A new version of a product's content (replaces the whole content)."""

    description: str = Field(default="", max_length=20000)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=200)
    images: list[str] = Field(default_factory=list, max_length=MAX_IMAGES)


class ContentRead(BaseModel):
    model_config = ConfigDict(frozen=True)
    product: str
    version: int
    description: str
    attributes: dict[str, str]
    images: list[str]
    created_at: datetime
    created_by: str


class ContentVersion(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: int
    created_at: datetime
    created_by: str
