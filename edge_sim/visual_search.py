"""Visual shopping: match a shopper's photo (or a shelf crop) to catalog products.

Classical features only (OpenCV, nothing downloaded): every catalog image is described once by
RootSIFT keypoints (SIFT descriptors, L1-normalised, square-rooted) and an HSV colour
histogram. A query is matched against every product at once:

1. **Descriptor matching**: one matrix product of the query's descriptors against all catalog
   descriptors (RootSIFT vectors have unit L2 norm, so ``|a - b|^2 = 2 - 2 a.b``), then Lowe's
   ratio test *per product* (best vs second-best neighbour inside that product's descriptors).
2. **Geometric verification**: for the ``verify`` products with the most ratio-test matches, a
   RANSAC homography (catalog image -> photo); its inlier count is the evidence that the same
   printed package is in the photo, whatever the clutter around it.
3. **Score** = inliers + ``colour_weight`` x histogram intersection (0..1). The colour term only
   orders products that no geometry separates (a blurred or tiny package).

A :class:`VisualIndex` answers :meth:`VisualIndex.search` (ranked SKUs) and, for shelf vision,
:meth:`VisualIndex.verify_slot` (does this slot's crop show its planogram SKU?).

Images are BGR ``uint8`` arrays (OpenCV's convention). Errors derive from
:class:`edge_sim.errors.EdgeSimError`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_sim.errors import EdgeSimError
from edge_sim.vision import ShelfVision

__all__ = [
    "GroceryPhoto",
    "ImageError",
    "SlotCheck",
    "VisualIndex",
    "VisualMatch",
    "check_shelf",
    "decode_image",
    "grocery_catalog",
    "grocery_photos",
    "load_catalog_dir",
    "slot_crops",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MAX_IMAGE_SIDE_PX = 4096
"""Larger uploads are refused (memory and time bound on the API path)."""
MIN_IMAGE_SIDE_PX = 16
WORK_SIDE_PX = 400
"""Queries are resized so that their longer side is at most this many pixels."""
MAX_QUERY_UPSCALE = 4.0
ICONIC_SUFFIX = "_Iconic"
CATALOG_UPSCALE = 2.0
"""Catalog (iconic) images are small web thumbnails; upscaling them gives SIFT finer scales that
match packages filling a phone photo."""


class ImageError(EdgeSimError, ValueError):
    """An image could not be decoded or has an unusable size (the message names it)."""


@dataclass(frozen=True, slots=True)
class VisualMatch:
    """One ranked product for a query image.

    ``score`` = ``inliers`` + colour weight x ``colour`` (higher is better); ``matches`` are the
    ratio-test matches before geometric verification; ``inliers`` those a RANSAC homography
    keeps (0 when the product was not verified); ``colour`` the HSV histogram intersection.
    """

    sku: str
    score: float
    inliers: int
    matches: int
    colour: float


@dataclass(frozen=True, slots=True)
class SlotCheck:
    """The outcome of checking a shelf slot's crop against its planogram SKU.

    ``ok`` is true when the expected SKU's verified inliers reach ``min_inliers`` and no other
    product beats it; ``best_sku`` is the top match (possibly another product: a misplaced
    item); ``expected_inliers`` the evidence for the planogram SKU.
    """

    expected_sku: str
    ok: bool
    best_sku: str | None
    expected_inliers: int
    best_inliers: int


@dataclass(slots=True)
class _Features:
    points: np.ndarray  # (n, 2) float32 pixel positions
    desc: np.ndarray  # (n, 128) float32 RootSIFT
    hist: np.ndarray  # (H*S,) float32, sums to 1


def decode_image(data: bytes) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, ...) into a BGR ``uint8`` array.

    Raises:
        ImageError: empty or undecodable bytes, or a side outside
            ``[MIN_IMAGE_SIDE_PX, MAX_IMAGE_SIDE_PX]``.
    """
    if not data:
        raise ImageError("image is empty (0 bytes)")
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        raise ImageError(f"image of {len(data)} bytes is not a decodable JPEG/PNG/BMP/WebP")
    _check_size(img)
    return img


def _check_size(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ImageError(f"image must be BGR uint8 (h, w, 3), got {img.dtype} {img.shape}")
    h, w = img.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE_PX or max(h, w) > MAX_IMAGE_SIDE_PX:
        raise ImageError(
            f"image size {w}x{h} px outside {MIN_IMAGE_SIDE_PX}..{MAX_IMAGE_SIDE_PX} px a side"
        )


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ImageError(f"image file {str(path)!r} missing or unreadable")
    _check_size(img)
    return img


class VisualIndex:
    """Catalog images of products, described once, searchable by photo.

    Args:
        images: SKU -> one or more BGR catalog images of that product.
        ratio: Lowe's ratio-test threshold (best / second-best descriptor distance).
        verify: how many candidate products get a RANSAC homography per query.
        colour_weight: weight of the colour intersection (0..1) against verified inliers.
        max_features: SIFT keypoints kept per catalog image (strongest first).
        query_features: SIFT keypoints kept per query (the matching cost grows with it).

    Raises:
        ImageError: an empty catalog, a SKU without images, or an unusable image.
    """

    def __init__(
        self,
        images: Mapping[str, Sequence[np.ndarray]],
        *,
        ratio: float = 0.8,
        verify: int = 12,
        colour_weight: float = 4.0,
        max_features: int = 1500,
        query_features: int = 1000,
    ) -> None:
        if not images:
            raise ImageError("visual catalog is empty (no SKU images)")
        if not 0.0 < ratio < 1.0:
            raise ImageError(f"ratio {ratio} must lie in (0, 1)")
        if verify < 1:
            raise ImageError(f"verify {verify} must be at least 1")
        self.ratio = ratio
        self.verify = verify
        self.colour_weight = colour_weight
        self._sift = cv2.SIFT_create(nfeatures=max_features)  # type: ignore[attr-defined]
        self._sift_query = cv2.SIFT_create(nfeatures=query_features)  # type: ignore[attr-defined]
        self.skus: list[str] = []
        owners: list[np.ndarray] = []
        points: list[np.ndarray] = []
        descs: list[np.ndarray] = []
        hists: list[np.ndarray] = []
        views: list[int] = []  # product index of each catalog view
        for sku, imgs in images.items():
            if not imgs:
                raise ImageError(f"SKU {sku!r} has no catalog image")
            k = len(self.skus)
            self.skus.append(sku)
            for img in imgs:
                _check_size(img)
                f = self._describe(img, CATALOG_UPSCALE)
                owners.append(np.full(len(f.desc), len(views), dtype=np.int32))
                points.append(f.points)
                descs.append(f.desc)
                hists.append(f.hist)
                views.append(k)
        self._view_product = np.asarray(views, dtype=np.int32)
        self._owner = np.concatenate(owners)
        self._points = np.concatenate(points).astype(np.float32)
        self._desc = np.concatenate(descs).astype(np.float32)
        self._hists = np.stack(hists)
        # descriptors sorted by view already; the slice bounds of each view
        counts = np.bincount(self._owner, minlength=len(views))
        self._bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.skus)

    def _describe(self, img: np.ndarray, scale: float, query: bool = False) -> _Features:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        if scale != 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        sift = self._sift_query if query else self._sift
        kps, desc = sift.detectAndCompute(gray, None)
        if desc is None or len(kps) == 0:
            pts = np.zeros((0, 2), dtype=np.float32)
            desc = np.zeros((0, 128), dtype=np.float32)
        else:
            pts = np.asarray([k.pt for k in kps], dtype=np.float32) / scale
            desc = np.sqrt(desc / (desc.sum(axis=1, keepdims=True) + 1e-7)).astype(np.float32)
        return _Features(pts, desc, _histogram(img))

    def _query_features(self, img: np.ndarray) -> _Features:
        _check_size(img)
        h, w = img.shape[:2]
        # photos are shrunk to the working size; small crops (a shelf slot) are enlarged (x4 at
        # most) so that SIFT sees their print at the scales a catalog image has
        s = min(MAX_QUERY_UPSCALE, WORK_SIDE_PX / max(h, w))
        if s < 1.0:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        elif s > 1.5:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        return self._describe(img, 1.0, query=True)

    def search(self, image: np.ndarray, k: int = 5) -> list[VisualMatch]:
        """The ``k`` best catalog products for a BGR photo, best first.

        Raises:
            ImageError: ``image`` is not BGR uint8 of a usable size, or ``k < 1``.
        """
        if k < 1:
            raise ImageError(f"k {k} must be at least 1")
        ranked = self._rank(self._query_features(image))
        return ranked[:k]

    def _rank(self, q: _Features) -> list[VisualMatch]:
        n_views = len(self._view_product)
        good_count = np.zeros(n_views, dtype=np.int64)
        pairs: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros(0, np.int64), np.zeros(0, np.int64))
        ] * n_views
        if len(q.desc) >= 2 and len(self._desc) >= 2:
            # RootSIFT vectors have unit norm: |a - b|^2 = 2 - 2 a.b, so the two nearest
            # neighbours are the two largest dot products (no distance matrix is formed)
            sim = q.desc @ self._desc.T
            r2 = self.ratio * self.ratio
            for v in range(n_views):
                lo, hi = int(self._bounds[v]), int(self._bounds[v + 1])
                if hi - lo < 2:
                    continue
                block = sim[:, lo:hi]
                two = np.partition(block, hi - lo - 2, axis=1)[:, -2:]
                d_best = np.maximum(2.0 - 2.0 * two[:, 1], 0.0)
                d_second = np.maximum(2.0 - 2.0 * two[:, 0], 0.0)
                qi = np.flatnonzero(d_best < r2 * d_second)
                ti = np.argmax(block[qi], axis=1) + lo
                good_count[v] = qi.size
                pairs[v] = (qi, ti)
        colour = _intersection(q.hist, self._hists)
        inliers = np.zeros(n_views, dtype=np.int64)
        order = np.argsort(-good_count, kind="stable")[: self.verify]
        for v in order.tolist():
            qi, ti = pairs[v]
            if qi.size < 5:
                continue
            src = self._points[ti]
            dst = q.points[qi]
            _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 8.0, maxIters=500, confidence=0.99)
            if mask is not None:
                found = int(mask.sum())
                inliers[v] = found if found >= 5 else 0
        view_score = inliers + self.colour_weight * colour
        best: dict[int, int] = {}
        for v in range(n_views):
            p = int(self._view_product[v])
            if p not in best or view_score[v] > view_score[best[p]]:
                best[p] = v
        out = [
            VisualMatch(
                sku=self.skus[p],
                score=round(float(view_score[v]), 4),
                inliers=int(inliers[v]),
                matches=int(good_count[v]),
                colour=round(float(colour[v]), 4),
            )
            for p, v in best.items()
        ]
        out.sort(key=lambda m: (-m.score, -m.matches, m.sku))
        return out

    def verify_slot(self, crop: np.ndarray, expected_sku: str, min_inliers: int = 8) -> SlotCheck:
        """Check that a shelf slot's crop shows its planogram SKU (a planogram-compliance hook
        for shelf vision: a wrong or missing package fails).

        Raises:
            ImageError: ``expected_sku`` is not in the index, or the crop is unusable.
        """
        if expected_sku not in self.skus:
            raise ImageError(f"expected_sku {expected_sku!r} has no catalog image in the index")
        ranked = self._rank(self._query_features(crop))
        mine = next(m for m in ranked if m.sku == expected_sku)
        top = ranked[0]
        ok = mine.inliers >= min_inliers and (
            top.sku == expected_sku or top.inliers <= mine.inliers
        )
        return SlotCheck(
            expected_sku=expected_sku,
            ok=ok,
            best_sku=top.sku if top.inliers > 0 else None,
            expected_inliers=mine.inliers,
            best_inliers=top.inliers,
        )

    def check_planogram(
        self, crops: Iterable[tuple[str, np.ndarray]], min_inliers: int = 8
    ) -> list[SlotCheck]:
        """:meth:`verify_slot` for each ``(planogram SKU, crop)`` of a bay, in order."""
        return [self.verify_slot(c, sku, min_inliers) for sku, c in crops]


def slot_crops(vision: ShelfVision, frame: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Every planogram slot's product zone cut from a camera frame, front-on: ``(planogram SKU,
    BGR crop)`` in slot order, from :meth:`ShelfVision.rectify` (its ``scale`` px per bay unit;
    build the vision with ``scale=1`` for sharper crops).

    Raises:
        ConfigError: the frame does not match the vision's calibration.
    """
    rect = vision.rectify(frame)
    sc = vision.scale
    h, w = rect.shape[:2]
    out: list[tuple[str, np.ndarray]] = []
    for slot in vision.planogram.slots:
        sh = vision.planogram.shelves[slot.shelf]
        y0, y1 = int(np.floor(sh.top_y * sc)), int(np.ceil(sh.lip_y * sc))
        x0, x1 = int(np.floor(slot.x0 * sc)), int(np.ceil(slot.x1 * sc))
        crop = rect[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
        out.append((slot.sku, np.ascontiguousarray(crop)))
    return out


def check_shelf(
    index: VisualIndex, vision: ShelfVision, frame: np.ndarray, min_inliers: int = 8
) -> list[SlotCheck]:
    """Planogram compliance of one frame: :meth:`VisualIndex.verify_slot` on every slot's crop
    (:func:`slot_crops`); a crop too small to match (under 16 px a side) fails its check.

    Raises:
        ConfigError: the frame does not match the vision's calibration.
        ImageError: a planogram SKU has no catalog image in ``index``.
    """
    out: list[SlotCheck] = []
    for sku, crop in slot_crops(vision, frame):
        if sku not in index.skus:
            raise ImageError(f"planogram SKU {sku!r} has no catalog image in the index")
        if min(crop.shape[:2]) < MIN_IMAGE_SIDE_PX:
            out.append(SlotCheck(sku, False, None, 0, 0))
            continue
        out.append(index.verify_slot(crop, sku, min_inliers))
    return out


def _histogram(img: np.ndarray) -> np.ndarray:
    """HSV hue-saturation histogram (18 x 8 bins), brightness ignored, normalised to sum 1."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1], None, [18, 8], [0, 180, 0, 256]).ravel()
    total = float(h.sum())
    return (h / total if total > 0 else h).astype(np.float32)


def _intersection(h: np.ndarray, hs: np.ndarray) -> np.ndarray:
    return np.minimum(hs, h[None, :]).sum(axis=1)


def load_catalog_dir(folder: Path) -> dict[str, list[np.ndarray]]:
    """Catalog images from a folder: ``<SKU>.<ext>`` files and/or ``<SKU>/`` sub-folders of
    images (several views of one product). A ``_Iconic`` suffix on a file's stem (the grocery
    set's naming) is dropped, so ``Oatly-Oat-Milk_Iconic.jpg`` is SKU ``Oatly-Oat-Milk``.

    Raises:
        ImageError: the folder is missing, holds no image, or an image is unreadable.
    """
    if not folder.is_dir():
        raise ImageError(f"visual catalog folder {str(folder)!r} does not exist")
    out: dict[str, list[np.ndarray]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            views = [_read(f) for f in sorted(p.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
            if views:
                out.setdefault(p.name, []).extend(views)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            stem = p.stem.removesuffix(ICONIC_SUFFIX)
            out.setdefault(stem, []).append(_read(p))
    if not out:
        raise ImageError(f"visual catalog folder {str(folder)!r} holds no image")
    return out


# ---- the shipped grocery set (data/grocery, MIT licence) --------------------------------------


@dataclass(frozen=True, slots=True)
class GroceryPhoto:
    """One in-store photograph of the grocery set and the product it shows."""

    product: str
    coarse: str
    path: Path


def grocery_catalog(root: Path) -> dict[str, list[np.ndarray]]:
    """The 31 products' catalog ("iconic") images under ``root/catalog`` keyed by product name
    (e.g. ``Oatly-Oat-Milk``).

    Raises:
        ImageError: the folder is missing or holds no catalog image.
    """
    folder = root / "catalog"
    files = sorted(folder.glob(f"*{ICONIC_SUFFIX}.jpg")) if folder.is_dir() else []
    if not files:
        raise ImageError(f"no *{ICONIC_SUFFIX}.jpg catalog image under {str(folder)!r}")
    return {f.stem[: -len(ICONIC_SUFFIX)]: [_read(f)] for f in files}


def grocery_photos(root: Path) -> list[GroceryPhoto]:
    """The in-store photos under ``root/shopper/<product>/``, with each product's coarse class
    from ``root/classes_packages.csv``, sorted by path.

    Raises:
        ImageError: the folder or the class table is missing.
    """
    table = root / "classes_packages.csv"
    if not table.is_file():
        raise ImageError(f"class table {str(table)!r} missing")
    coarse: dict[str, str] = {}
    with table.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) >= 3 and not row[0].startswith("Class"):
                coarse[row[0]] = row[2]
    folder = root / "shopper"
    if not folder.is_dir():
        raise ImageError(f"photo folder {str(folder)!r} missing")
    return [
        GroceryPhoto(product=p.parent.name, coarse=coarse.get(p.parent.name, ""), path=p)
        for p in sorted(folder.glob("*/*.jpg"))
    ]
