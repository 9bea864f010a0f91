"""Planograms and shelf state: what should be on a shelf bay and what is there now.

Coordinates are *bay units*: pixels of the canonical front-on view of one bay,
:data:`CANON_W` x :data:`CANON_H` (640 x 480). A bay has shelves stacked top to bottom; shelf
``k`` is a product zone ``[top_y, lip_y)`` above a shelf lip ``[lip_y, lip_bottom_y)`` that
carries the price labels. Each shelf holds slots side by side; a slot is one SKU with
``capacity`` facings of ``facing_w`` bay units each. The top 12 % of every product zone is
headroom that no package reaches (vision uses it as the local back-panel reference).

Stock state (:class:`ShelfState`) says, for every facing of every slot, which SKU stands there
(or ``None`` for an empty facing), so a misplaced item is a facing whose SKU is not the slot's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edge_sim.errors import ConfigError

__all__ = [
    "CANON_H",
    "CANON_W",
    "HEADROOM_FRAC",
    "SHAPES",
    "Fixture",
    "Planogram",
    "Shelf",
    "ShelfState",
    "SkuLook",
    "Slot",
    "random_planogram",
    "shelf_state",
    "slot_stock",
]

CANON_W = 640
CANON_H = 480
HEADROOM_FRAC = 0.12
SHAPES = ("box", "bottle", "carton", "can", "jar", "pouch")


@dataclass(frozen=True, slots=True)
class SkuLook:
    """How one SKU's package looks. Colours are BGR 0-255; fractions are of the facing cell."""

    sku: str
    shape: str
    body_bgr: tuple[int, int, int]
    accent_bgr: tuple[int, int, int]
    label_bgr: tuple[int, int, int]
    width_frac: float
    height_frac: float
    text: str
    price_cents: int

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ConfigError(f"shape {self.shape!r} not one of {SHAPES}")
        if not 0.3 <= self.width_frac <= 1.0:
            raise ConfigError(f"width_frac {self.width_frac} outside [0.3, 1]")
        if not 0.3 <= self.height_frac <= 1.0 - HEADROOM_FRAC:
            raise ConfigError(f"height_frac {self.height_frac} outside [0.3, {1 - HEADROOM_FRAC}]")
        if self.price_cents < 0:
            raise ConfigError(f"price_cents {self.price_cents} is negative")


@dataclass(frozen=True, slots=True)
class Shelf:
    """One shelf: product zone ``[top_y, lip_y)``, lip ``[lip_y, lip_bottom_y)`` (bay units)."""

    top_y: float
    lip_y: float
    lip_bottom_y: float


@dataclass(frozen=True, slots=True)
class Slot:
    """One planogram slot: ``capacity`` facings of ``sku`` from ``x0`` (bay units) on a shelf."""

    shelf: int
    sku: str
    x0: float
    facing_w: float
    capacity: int

    @property
    def x1(self) -> float:
        """Right edge of the slot (bay units)."""
        return self.x0 + self.facing_w * self.capacity


@dataclass(frozen=True, slots=True)
class Fixture:
    """Nominal fixture colours (BGR): back panel and shelf lip, as the store specifies them."""

    back_bgr: tuple[int, int, int]
    lip_bgr: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Planogram:
    """A bay: shelves, slots (shelf by shelf, left to right) and the looks of its SKUs."""

    shelves: tuple[Shelf, ...]
    slots: tuple[Slot, ...]
    looks: dict[str, SkuLook]
    fixture: Fixture

    def __post_init__(self) -> None:
        for i, s in enumerate(self.slots):
            if not 0 <= s.shelf < len(self.shelves):
                raise ConfigError(f"slots[{i}].shelf {s.shelf} outside 0..{len(self.shelves) - 1}")
            if s.sku not in self.looks:
                raise ConfigError(f"slots[{i}].sku {s.sku!r} has no look")
            if s.capacity < 1:
                raise ConfigError(f"slots[{i}].capacity {s.capacity} < 1")
            if s.x0 < 0 or s.x1 > CANON_W + 1e-6:
                raise ConfigError(f"slots[{i}] spans x {s.x0}..{s.x1} outside the bay")

    @property
    def n_facings(self) -> int:
        """Total facings over all slots."""
        return sum(s.capacity for s in self.slots)

    def facing_cells(self) -> np.ndarray:
        """Every facing's cell ``(slot, index, x0, y0, x1, y1)`` in bay units, shape ``(F, 6)``."""
        rows: list[tuple[float, float, float, float, float, float]] = []
        for j, s in enumerate(self.slots):
            sh = self.shelves[s.shelf]
            for i in range(s.capacity):
                x0 = s.x0 + i * s.facing_w
                rows.append((j, i, x0, sh.top_y, x0 + s.facing_w, sh.lip_y))
        return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


@dataclass(frozen=True, slots=True)
class ShelfState:
    """What stands in each facing: ``facings[j][i]`` is a SKU or ``None`` (empty)."""

    facings: tuple[tuple[str | None, ...], ...]

    def count(self, slot: int) -> int:
        """Occupied facings of slot ``slot`` (any SKU)."""
        return sum(f is not None for f in self.facings[slot])


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    # saturated colours in HSV, converted by hand to keep this module free of OpenCV
    h = rng.uniform(0, 6)
    s = rng.uniform(0.45, 1.0)
    v = rng.uniform(0.45, 1.0)
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h) % 6]
    m = v - c
    return (int(255 * (b + m)), int(255 * (g + m)), int(255 * (r + m)))


def _look(rng: np.random.Generator, sku: str) -> SkuLook:
    shape = str(rng.choice(SHAPES))
    body = _colour(rng)
    accent = _colour(rng)
    label = (255, 255, 255) if rng.random() < 0.5 else _colour(rng)
    wf = {"bottle": (0.5, 0.75), "can": (0.6, 0.85), "jar": (0.65, 0.9)}.get(shape, (0.78, 0.95))
    letters = "ABCDEFGHKLMNPRSTUVXYZ"
    text = "".join(rng.choice(list(letters), size=int(rng.integers(2, 5))))
    return SkuLook(
        sku=sku,
        shape=shape,
        body_bgr=body,
        accent_bgr=accent,
        label_bgr=label,
        width_frac=float(rng.uniform(*wf)),
        height_frac=float(rng.uniform(0.55, 1.0 - HEADROOM_FRAC)),
        text=text,
        price_cents=int(rng.integers(49, 1999)),
    )


def random_planogram(
    rng: np.random.Generator,
    n_shelves: int | None = None,
    sku_prefix: str = "SKU",
) -> Planogram:
    """Draw a bay: 3-5 shelves (or ``n_shelves``), slots of 1-5 facings, one SKU per slot.

    Raises :class:`ConfigError` if ``n_shelves`` is outside 1..8.
    """
    n = int(rng.integers(3, 6)) if n_shelves is None else n_shelves
    if not 1 <= n <= 8:
        raise ConfigError(f"n_shelves {n} outside 1..8")
    top, bottom = float(rng.uniform(6, 20)), CANON_H - float(rng.uniform(4, 14))
    band = (bottom - top) / n
    lip_h = float(np.clip(band * rng.uniform(0.1, 0.14), 9, 20))
    shelves = tuple(
        Shelf(top + k * band, top + (k + 1) * band - lip_h, top + (k + 1) * band) for k in range(n)
    )
    slots: list[Slot] = []
    looks: dict[str, SkuLook] = {}
    margin = float(rng.uniform(6, 16))
    for k in range(n):
        x = margin
        while True:
            fw = float(rng.uniform(30, 64))
            room = int((CANON_W - margin - x) // fw)
            if room < 1:
                break
            cap = min(room, int(rng.integers(1, 6)))
            sku = f"{sku_prefix}-{len(looks):03d}"
            looks[sku] = _look(rng, sku)
            slots.append(Slot(shelf=k, sku=sku, x0=x, facing_w=fw, capacity=cap))
            x += fw * cap
    grey = int(rng.integers(150, 235))
    tint = rng.integers(-12, 13, size=3)
    back = tuple(int(np.clip(grey + t - 90, 20, 200)) for t in tint)
    lip = tuple(int(np.clip(grey + t, 60, 250)) for t in rng.integers(-20, 21, size=3))
    return Planogram(
        shelves=shelves,
        slots=tuple(slots),
        looks=looks,
        fixture=Fixture(back_bgr=(back[0], back[1], back[2]), lip_bgr=(lip[0], lip[1], lip[2])),
    )


def shelf_state(
    planogram: Planogram,
    on_hand: Sequence[int] | np.ndarray,
    rng: np.random.Generator,
    misplace_prob: float = 0.0,
) -> ShelfState:
    """Turn on-hand units per slot into facings: ``min(on_hand, capacity)`` occupied.

    Remaining facings are pulled to the left half the time and scattered otherwise (shoppers
    take from anywhere). Each occupied facing is, with probability ``misplace_prob``, an item of
    another SKU of the bay. Raises :class:`ConfigError` on a wrong length or negative stock.
    """
    stock = np.asarray(on_hand)
    if stock.shape != (len(planogram.slots),):
        raise ConfigError(f"on_hand shape {stock.shape} != ({len(planogram.slots)},)")
    if (stock < 0).any():
        raise ConfigError(f"on_hand has a negative value {int(stock.min())}")
    if not 0.0 <= misplace_prob <= 1.0:
        raise ConfigError(f"misplace_prob {misplace_prob} outside [0, 1]")
    skus = [s.sku for s in planogram.slots]
    out: list[tuple[str | None, ...]] = []
    for j, s in enumerate(planogram.slots):
        k = int(min(stock[j], s.capacity))
        if rng.random() < 0.5:
            filled = np.arange(k)
        else:
            filled = np.sort(rng.choice(s.capacity, size=k, replace=False))
        row: list[str | None] = [None] * s.capacity
        for i in filled:
            row[int(i)] = s.sku
            if len(skus) > 1 and rng.random() < misplace_prob:
                other = skus[int(rng.integers(len(skus)))]
                while other == s.sku:
                    other = skus[int(rng.integers(len(skus)))]
                row[int(i)] = other
        out.append(tuple(row))
    return ShelfState(facings=tuple(out))


def slot_stock(planogram: Planogram, on_hand: Mapping[str, int]) -> np.ndarray:
    """Spread each SKU's shelf units (e.g. the twin's on-hand) over its slots, in order.

    Each slot takes up to its capacity in turn; units beyond all capacities stay off the front
    row (they would be behind it or in the backroom). SKUs missing from ``on_hand`` have 0.
    Raises :class:`ConfigError` on a negative count or a SKU not in the planogram.
    """
    known = {s.sku for s in planogram.slots}
    for sku, n in on_hand.items():
        if sku not in known:
            raise ConfigError(f"on_hand sku {sku!r} has no slot in the planogram")
        if n < 0:
            raise ConfigError(f"on_hand[{sku!r}] {n} is negative")
    left = dict(on_hand)
    out = np.zeros(len(planogram.slots), np.int64)
    for j, s in enumerate(planogram.slots):
        take = min(left.get(s.sku, 0), s.capacity)
        out[j] = take
        left[s.sku] = left.get(s.sku, 0) - take
    return out
