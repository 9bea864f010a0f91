"""Visual shopping: a shopper's photo in, ranked catalog SKUs out.

The matcher is :class:`edge_sim.visual_search.VisualIndex` (OpenCV RootSIFT + RANSAC + colour;
nothing downloaded). Its catalog images come from a folder (``SHOPSPHERE_VISUAL_CATALOG_DIR``;
``<SKU>.jpg`` files or ``<SKU>/`` folders of views; a ``_Iconic`` suffix is dropped), by default
the grocery set shipped in ``data/grocery/catalog`` (31 products, MIT licence). The index is
built once, on the first request, and shared by the worker's threads.

OpenCV is an optional extra (``vision``): without it, or without a usable catalog folder, the
endpoint answers a typed 503 and the rest of the API is unaffected.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.errors import InvalidInputError, ServiceError

if TYPE_CHECKING:
    from edge_sim.visual_search import VisualIndex

__all__ = [
    "VisualCatalog",
    "VisualMatchRead",
    "VisualSearchResult",
    "VisualSearchUnavailableError",
    "VisualSettings",
    "search_photo",
]

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "data" / "grocery" / "catalog"
MAX_RESULTS = 50


class VisualSearchUnavailableError(ServiceError):
    """OpenCV is not installed or the catalog images could not be loaded (retry won't help
    until the deployment is fixed; the message says which)."""

    code_default = "VISUAL_SEARCH_UNAVAILABLE"
    status_default = 503


class VisualSettings(BaseSettings):
    """Where the catalog images live (``SHOPSPHERE_VISUAL_CATALOG_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="SHOPSPHERE_VISUAL_", extra="ignore")

    catalog_dir: Path = DEFAULT_CATALOG_DIR


class VisualMatchRead(BaseModel):
    """One ranked product: ``score`` = verified inliers + 4 x colour similarity (0..1)."""

    sku: str
    score: float
    inliers: int = Field(description="RANSAC-verified keypoint matches with the catalog image")
    matches: int = Field(description="ratio-test keypoint matches before verification")
    colour: float = Field(description="HSV histogram intersection, 0..1")


class VisualSearchResult(BaseModel):
    """Ranked SKUs for a photo, best first, and how many products the catalog holds."""

    matches: list[VisualMatchRead]
    catalog_size: int


class VisualCatalog:
    """The lazily built visual index of one API process (thread-safe)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else VisualSettings().catalog_dir
        self._index: VisualIndex | None = None
        self._lock = threading.Lock()

    def index(self) -> VisualIndex:
        """The index, built on first use.

        Raises:
            VisualSearchUnavailableError: OpenCV missing or the catalog folder unusable.
        """
        if self._index is not None:
            return self._index
        with self._lock:
            if self._index is None:
                try:
                    from edge_sim.visual_search import EdgeSimError, VisualIndex, load_catalog_dir
                except ImportError as exc:  # the `vision` extra is not installed
                    raise VisualSearchUnavailableError(
                        f"visual search needs OpenCV (pip install 'shopsphere[vision]'): {exc}"
                    ) from exc
                try:
                    self._index = VisualIndex(load_catalog_dir(self.folder))
                except EdgeSimError as exc:
                    raise VisualSearchUnavailableError(f"visual catalog unusable: {exc}") from exc
        return self._index


def search_photo(catalog: VisualCatalog, data: bytes, limit: int) -> VisualSearchResult:
    """Rank the catalog's products for an encoded photo (JPEG, PNG, BMP or WebP).

    Raises:
        InvalidInputError: ``limit`` outside 1..50, or the bytes are not a decodable image of
            16..4096 px a side (422).
        VisualSearchUnavailableError: see :meth:`VisualCatalog.index` (503).
    """
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInputError(
            f"limit {limit} must lie in 1..{MAX_RESULTS}", details={"field": "limit"}
        )
    index = catalog.index()
    from edge_sim.visual_search import ImageError, decode_image

    try:
        matches = index.search(decode_image(data), k=limit)
    except ImageError as exc:
        raise InvalidInputError(str(exc), details={"field": "body", "bytes": len(data)}) from exc
    return VisualSearchResult(
        matches=[
            VisualMatchRead(
                sku=m.sku, score=m.score, inliers=m.inliers, matches=m.matches, colour=m.colour
            )
            for m in matches
        ],
        catalog_size=len(index),
    )
