"""ShelfVision: gaps, facings, stock levels and planogram compliance from one shelf frame.

One module for every feed (rendered or real): it sees only a BGR frame, the bay's planogram and
the camera's calibration (installation-time homography and distortion, :class:`Camera`).

Method (classical CV plus a committed 6-weight logistic model, no downloaded weights):

1. *Rectify*: one ``cv2.remap`` with maps precomputed from the calibration turns the frame into
   the front-on bay at ``scale`` pixels per bay unit (0.5: 320 x 240).
2. *Local back-panel reference*: every shelf's product zone has headroom no package reaches
   (:data:`edge_sim.planogram.HEADROOM_FRAC`). Its column means are the colour of the empty back
   panel under *this* frame's lighting at that column, so lighting level, colour cast and
   gradients cancel out of the next step.
3. *Per-pixel evidence*: distance of each zone pixel from its column's reference (relative to
   the reference brightness) and gradient magnitude; one integral image gives every cell's
   region sums at once (vectorised over facings).
4. *Occlusion*: shelf lips are plain strips; a robust quadratic fit of each lip's colour along
   the bay models the lighting, and columns that depart from it (a shopper, a trolley) make the
   cells above and below unobserved; unobserved cells report no decision.
5. *Cell model*: logistic regression on five per-cell features gives P(empty) per facing
   (:class:`CellModel`, trained by :mod:`edge_sim.train` on rendered frames of other seeds).
6. *Aggregation*: runs of empty facings in a slot are gap boxes (projected back to image
   pixels; facings hidden next to a seen gap extend it); counts per slot; out-of-stock /
   low-stock per SKU; for each occupied facing, its appearance (lighting-corrected colour and
   coverage of the upper and lower product region) is matched against how every SKU's package
   would fill that cell (drawn from the SKU's look) to flag misplaced items.

Each output carries a confidence in ``[0, 1]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from edge_sim.camera import Camera
from edge_sim.errors import ConfigError
from edge_sim.planogram import HEADROOM_FRAC, Planogram
from edge_sim.sprites import draw_package

__all__ = [
    "CellModel",
    "GapDetection",
    "MisplacedDetection",
    "ShelfReport",
    "ShelfVision",
    "SkuStatus",
    "SlotReading",
    "cell_features",
]

FEATURES = ("cover", "dist", "grad", "head_grad", "cover_top")


@dataclass(frozen=True, slots=True)
class CellModel:
    """Logistic model ``P(empty) = sigmoid(w . z + b)``, ``z`` standardised ``log(x + 0.02)``
    of the :data:`FEATURES`."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def load_default(cls) -> CellModel:
        """The committed model ``edge_sim/models/cell_model.json``."""
        text = resources.files("edge_sim").joinpath("models/cell_model.json").read_text()
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str) -> CellModel:
        """Parse a model; raises :class:`ConfigError` on a wrong shape."""
        d = json.loads(text)
        n = len(FEATURES)
        if not all(len(d[k]) == n for k in ("weights", "mean", "std")):
            raise ConfigError(f"cell model needs {n} weights, means and stds")
        return cls(tuple(d["weights"]), float(d["bias"]), tuple(d["mean"]), tuple(d["std"]))

    def to_json(self) -> str:
        """Serialise (round-trips through :meth:`from_json`)."""
        return json.dumps(
            {
                "features": list(FEATURES),
                "weights": list(self.weights),
                "bias": self.bias,
                "mean": list(self.mean),
                "std": list(self.std),
            },
            indent=1,
        )

    def p_empty(self, x: np.ndarray) -> np.ndarray:
        """P(empty) for raw features ``(n, 5)`` (the model works on ``log(x + 0.02)``)."""
        z = (np.log(np.asarray(x) + 0.02) - np.asarray(self.mean)) / np.asarray(self.std)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))


@dataclass(frozen=True, slots=True)
class GapDetection:
    """A void: image box ``(x0, y0, x1, y1)`` px, its slot, facings ``[first, last]``."""

    box: tuple[float, float, float, float]
    slot: int
    first: int
    last: int
    confidence: float


@dataclass(frozen=True, slots=True)
class SlotReading:
    """Facings counted in a slot; ``observed`` False when mostly occluded."""

    slot: int
    sku: str
    facings: int
    capacity: int
    observed: bool
    confidence: float


@dataclass(frozen=True, slots=True)
class SkuStatus:
    """Per SKU: facings seen over its slots, out of stock / low stock, with confidence."""

    sku: str
    facings: int
    capacity: int
    out_of_stock: bool
    low_stock: bool
    confidence: float


@dataclass(frozen=True, slots=True)
class MisplacedDetection:
    """A facing holding something that looks like ``looks_like`` rather than the slot's SKU."""

    slot: int
    facing: int
    expected_sku: str
    looks_like: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ShelfReport:
    """Everything :meth:`ShelfVision.analyse` finds in one frame."""

    gaps: tuple[GapDetection, ...]
    slots: tuple[SlotReading, ...]
    skus: tuple[SkuStatus, ...]
    misplaced: tuple[MisplacedDetection, ...]
    p_empty: np.ndarray
    observed: np.ndarray


def _appearance_distance(obs: np.ndarray, sigs: np.ndarray) -> np.ndarray:
    """Distance of facings' appearance ``(..., 8)`` to SKU signatures ``(..., S, 8)``: BGR L1
    over the regions both cover, plus 120 for each region covered by one but not the other (a
    package of another height or width). Returns ``(..., S)``."""
    o = obs[..., None, :]
    d = np.zeros(sigs.shape[:-1])
    for r in (0, 4):
        a = o[..., r + 3] > 0.25
        b = sigs[..., r + 3] > 0.25
        col = np.abs(sigs[..., r : r + 3] - o[..., r : r + 3]).sum(-1)
        d += np.where(a & b, col, 0.0) + np.where(a != b, 120.0, 0.0)
    return d


def _fit_lighting(values: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Robust quadratic fits of lip colours along x, batched over lips.

    ``values (L, W, 3)``; returns the fitted ``(L, W, 3)`` (three reweighting passes that drop
    columns far from the fit: a shopper, a price label).
    """
    a = np.stack([np.ones_like(xs), xs, xs * xs], -1)  # (W, 3)
    keep = np.ones(values.shape[:2])
    fit = values
    eye = 1e-6 * np.eye(3)
    for _ in range(3):
        wa = a[None] * keep[..., None]
        ata = np.einsum("lwi,wj->lij", wa, a) + eye
        aty = np.einsum("lwi,lwc->lic", wa, values)
        coef = np.linalg.solve(ata, aty)
        fit = np.einsum("wi,lic->lwc", a, coef)
        err = np.abs(values - fit).sum(-1) / (fit.sum(-1) + 30.0)
        thr = np.maximum(0.12, 2.5 * np.median(err, axis=1))
        keep = (err < thr[:, None]).astype(np.float64)
    return fit


class ShelfVision:
    """Analyse frames of one calibrated bay (see the module docstring).

    Arguments: ``planogram``; ``camera`` (calibration); ``model`` (default: the committed
    one); ``scale`` (rectified pixels per bay unit, 0.3-1); ``low_stock_frac`` (a SKU is low when
    at most this fraction of its facings is filled); ``bridge`` (how gap runs treat facings hidden
    by a shopper or the frame edge next to facings seen empty: ``"extend"`` counts them into the
    gap with confidence x 0.8, ``"interior"`` only between seen-empty facings, ``"none"`` splits
    the gap). Raises :class:`ConfigError` on bad values.
    """

    def __init__(
        self,
        planogram: Planogram,
        camera: Camera,
        model: CellModel | None = None,
        scale: float = 0.5,
        low_stock_frac: float = 0.34,
        bridge: str = "extend",
    ) -> None:
        if not 0.3 <= scale <= 1.0:
            raise ConfigError(f"scale {scale} outside [0.3, 1]")
        if not 0.0 <= low_stock_frac < 1.0:
            raise ConfigError(f"low_stock_frac {low_stock_frac} outside [0, 1)")
        self.planogram = planogram
        self.camera = camera
        self.model = model if model is not None else CellModel.load_default()
        self.scale = scale
        self.low_stock_frac = low_stock_frac
        self.occluded_frac = 0.25  # a cell more occluded than this is reported unobserved
        self.misplaced_margin = (
            100.0  # appearance distance (BGR L1 units), see _appearance_distance
        )
        self.misplaced_min = 200.0
        if bridge not in ("none", "interior", "extend"):
            raise ConfigError(f"bridge {bridge!r} not one of none, interior, extend")
        self.bridge = bridge
        self._mx, self._my = camera.bay_to_image_maps(scale)
        self._h, self._w = self._mx.shape
        cells = planogram.facing_cells()
        self._cells = cells
        self._slot_of = cells[:, 0].astype(np.int64)
        self._facing_of = cells[:, 1].astype(np.int64)
        sc = scale
        zh = cells[:, 5] - cells[:, 3]
        cw = cells[:, 4] - cells[:, 2]

        def rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r0 = np.clip(np.floor(a * sc), 0, self._h - 1).astype(np.int64)
            r1 = np.clip(np.ceil(b * sc), 0, self._h).astype(np.int64)
            return r0, np.maximum(r1, r0 + 1)

        def cols(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c0 = np.clip(np.floor(a * sc), 0, self._w - 1).astype(np.int64)
            c1 = np.clip(np.ceil(b * sc), 0, self._w).astype(np.int64)
            return c0, np.maximum(c1, c0 + 1)

        top, lip = cells[:, 3], cells[:, 5]
        self._head_r = rows(top + 0.02 * zh, top + 0.085 * zh)
        self._prod_r = rows(lip - 0.5 * zh, lip - 0.05 * zh)
        self._top_r = rows(top + 0.16 * zh, lip - 0.5 * zh)
        self._cols = cols(cells[:, 2] + 0.2 * cw, cells[:, 4] - 0.2 * cw)
        self._full_cols = cols(cells[:, 2] + 0.05 * cw, cells[:, 4] - 0.05 * cw)
        # per shelf: zone rows and headroom rows; lip strips (bay top, then each shelf's lip,
        # rows above the price labels): shelf k lies between strips k and k + 1
        self._shelf_rows: list[tuple[int, int, int, int]] = []
        first = planogram.shelves[0].top_y
        self._lip_rows = [(int(max(first - 5.0, 0.0) * sc), max(int(np.ceil((first - 1) * sc)), 1))]
        for sh in planogram.shelves:
            zt, zl = sh.top_y, sh.lip_y
            lh = sh.lip_bottom_y - sh.lip_y
            self._shelf_rows.append(
                (
                    int(zt * sc),
                    int(np.ceil(zl * sc)),
                    int(np.floor((zt + 0.02 * (zl - zt)) * sc)),
                    int(np.ceil((zt + 0.085 * (zl - zt)) * sc)),
                )
            )
            r0 = int(np.floor((zl + 0.12 * lh) * sc))
            self._lip_rows.append((r0, max(int(np.ceil((zl + 0.4 * lh) * sc)), r0 + 1)))
        # every facing's box as the camera sees it, for reporting gaps in image pixels
        self._cell_boxes = np.array(
            [self._project_box(c[2], c[3], c[4], c[5]) for c in cells]
        ).reshape(-1, 4)
        self._open_kernel = np.ones((1, max(3, int(50 * scale))), np.uint8)
        self._shelf_of_cell = np.array([planogram.slots[j].shelf for j in self._slot_of])
        self._back = np.asarray(planogram.fixture.back_bgr, np.float64)
        self._sku_names = list(planogram.looks)
        self._natural: dict[str, tuple[float, float]] = {}
        for sl in planogram.slots:
            sh = planogram.shelves[sl.shelf]
            lk = planogram.looks[sl.sku]
            self._natural.setdefault(
                sl.sku, (sl.facing_w * lk.width_frac, (sh.lip_y - sh.top_y) * lk.height_frac)
            )
        # per slot: every SKU's expected signature in that slot's cell (SKUs x 8)
        self._slot_sigs = [
            self._signatures(sl.facing_w, self._zone_h(sl.shelf)) for sl in planogram.slots
        ]
        self._cell_sigs = np.stack([self._slot_sigs[j] for j in self._slot_of])  # (F, S, 8)

    def _zone_h(self, shelf: int) -> float:
        sh = self.planogram.shelves[shelf]
        return sh.lip_y - sh.top_y

    def _signatures(self, cell_w: float, zone_h: float) -> np.ndarray:
        """How each SKU's package fills a ``cell_w x zone_h`` cell (bay units): per SKU the mean
        colour and covered fraction of the upper and of the lower product region (``(S, 8)``),
        from the package drawing alone (what a catalog image gives)."""
        cw, zh = max(int(cell_w), 4), max(int(zh_ := zone_h), 8)
        rows = (
            (int(0.16 * zh_), int(0.5 * zh_)),
            (int(0.5 * zh_), int(0.95 * zh_)),
        )
        c0, c1 = int(0.2 * cw), max(int(0.8 * cw), int(0.2 * cw) + 1)
        out = np.zeros((len(self._sku_names), 8))
        for k, sku in enumerate(self._sku_names):
            w, h = self._natural.get(sku, (cw * 0.8, zh * 0.6))
            w, h = min(w, cw - 1), min(h, zh * (1 - HEADROOM_FRAC))
            img, m = draw_package(self.planogram.looks[sku], int(w), int(h))
            canvas = np.zeros((zh, cw, 3))
            mask = np.zeros((zh, cw), bool)
            ph, pw = m.shape
            x = max((cw - pw) // 2, 0)
            canvas[zh - ph :, x : x + pw][m] = img[m]
            mask[zh - ph :, x : x + pw] = m
            for r, (r0, r1) in enumerate(rows):
                reg = mask[r0:r1, c0:c1]
                frac = float(reg.mean()) if reg.size else 0.0
                col = canvas[r0:r1, c0:c1][reg].mean(0) if reg.any() else self._back
                out[k, 4 * r : 4 * r + 3] = col
                out[k, 4 * r + 3] = frac
        return out

    def rectify(self, frame: np.ndarray) -> np.ndarray:
        """Front-on view of the bay (``scale`` px per bay unit), BGR uint8."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ConfigError(f"frame shape {frame.shape} is not H x W x 3")
        if frame.shape[:2] != (self.camera.height, self.camera.width):
            raise ConfigError(
                f"frame size {frame.shape[1]}x{frame.shape[0]} != calibration "
                f"{self.camera.width}x{self.camera.height}"
            )
        return cv2.remap(frame, self._mx, self._my, cv2.INTER_LINEAR)

    def features(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per facing: features ``(F, 5)``, occluded fraction ``(F,)``, and the appearance
        ``(F, 8)``: lighting-corrected mean colour and covered fraction of the upper and of the
        lower product region."""
        rect = self.rectify(frame)
        f = rect.astype(np.float32)
        h, w = self._h, self._w
        dist = np.zeros((h, w), np.float32)
        head_occ: np.ndarray = np.zeros((len(self.planogram.shelves), w), np.float32)
        both_occ: np.ndarray = np.zeros((len(self.planogram.shelves), w), np.float32)
        xs = np.linspace(-1.0, 1.0, w)
        corr = np.zeros((h, w, 3), np.float32)
        strips = np.stack([f[r0:r1].mean(0) for r0, r1 in self._lip_rows]).astype(np.float64)
        fits = _fit_lighting(strips, xs)
        lip_occ = np.abs(strips - fits).sum(-1) / (fits.sum(-1) + 30.0) > 0.22
        for k, (z0, z1, h0, h1) in enumerate(self._shelf_rows):
            ref = f[h0:h1].mean(0)  # (W, 3) back panel under this frame's light
            ref_b = ref.sum(-1) + 30.0
            dist[z0:z1] = np.abs(f[z0:z1] - ref[None]).sum(-1) / ref_b[None]
            corr[z0:z1] = (self._back / np.maximum(ref, 8.0))[None]
            fit_below, occ_below, occ_above = fits[k + 1], lip_occ[k + 1], lip_occ[k]
            # headroom colour predicted from the lit lip below (ratio estimated on clear columns)
            clear = ~occ_below
            if clear.sum() < 10:
                clear = np.ones(w, bool)
            ratio = np.median(ref[clear] / np.maximum(fit_below[clear], 8.0), axis=0)
            pred = ratio * fit_below
            hdev = np.abs(ref - pred).sum(-1) / (pred.sum(-1) + 30.0)
            head_occ[k] = hdev > 0.2
            both_occ[k] = occ_below & occ_above
        # shoppers are wide; price labels and stray pixels are not: drop runs under 50 bay units
        head_occ = cv2.morphologyEx(head_occ, cv2.MORPH_OPEN, self._open_kernel)
        both_occ = cv2.morphologyEx(both_occ, cv2.MORPH_OPEN, self._open_kernel)
        gray = cv2.cvtColor(rect, cv2.COLOR_BGR2GRAY)
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
        grad = (np.abs(gx) + np.abs(gy)) / (gray.astype(np.float32) + 20.0)
        stack = np.dstack([dist, (dist > 0.3).astype(np.float32), grad])
        ii = cv2.integral(stack)  # (H+1, W+1, 3) float64

        def box_mean(
            r: tuple[np.ndarray, np.ndarray], c: tuple[np.ndarray, np.ndarray]
        ) -> np.ndarray:
            r0, r1 = r
            c0, c1 = c
            s = ii[r1, c1] - ii[r0, c1] - ii[r1, c0] + ii[r0, c0]
            return s / ((r1 - r0) * (c1 - c0))[:, None]

        prod = box_mean(self._prod_r, self._cols)
        head = box_mean(self._head_r, self._cols)
        upper = box_mean(self._top_r, self._cols)
        feats = np.stack([prod[:, 1], prod[:, 0], prod[:, 2], head[:, 2], upper[:, 1]], -1)
        c0, c1 = self._full_cols
        occ = np.zeros(len(c0))
        for cols in (head_occ, both_occ):
            oc = np.concatenate([np.zeros((len(cols), 1), np.float32), np.cumsum(cols, 1)], 1)
            sh = self._shelf_of_cell
            occ = np.maximum(occ, (oc[sh, c1] - oc[sh, c0]) / (c1 - c0))
        # lighting-corrected mean colour of the product region, for SKU matching
        fg = (dist > 0.3).astype(np.float32)
        cf = np.dstack([f * corr * fg[..., None], fg])
        ci = cv2.integral(cf)
        c0, c1 = self._cols
        parts = []
        for r0, r1 in (self._top_r, self._prod_r):
            s = ci[r1, c1] - ci[r0, c1] - ci[r1, c0] + ci[r0, c0]
            parts.append(s[:, :3] / np.maximum(s[:, 3:4], 1.0))
            parts.append((s[:, 3] / ((r1 - r0) * (c1 - c0)))[:, None])
        colour = np.hstack(parts)  # upper BGR, upper cover, lower BGR, lower cover
        return feats, occ, colour

    def analyse(self, frame: np.ndarray) -> ShelfReport:
        """Gaps, facings per slot, SKU stock status and misplaced items in ``frame``.

        Raises :class:`ConfigError` if the frame's size does not match the calibration.
        """
        feats, occ, colour = self.features(frame)
        p = self.model.p_empty(feats)
        observed = occ < self.occluded_frac
        dists = _appearance_distance(colour, self._cell_sigs)  # (F, S)
        empty = p > 0.5
        p_obj = self.planogram
        gaps: list[GapDetection] = []
        readings: list[SlotReading] = []
        start = 0
        sku_fac: dict[str, list[float]] = {}
        misplaced: list[MisplacedDetection] = []
        for j, s in enumerate(p_obj.slots):
            idx = slice(start, start + s.capacity)
            start += s.capacity
            e, ob, pj = empty[idx], observed[idx], p[idx]
            conf_cells = np.where(e, pj, 1 - pj)
            n_obs = int(ob.sum())
            readings.append(
                SlotReading(
                    slot=j,
                    sku=s.sku,
                    facings=int((~e & ob).sum()) + int((~ob).sum()),
                    capacity=s.capacity,
                    observed=n_obs == s.capacity,
                    confidence=float(np.prod(conf_cells[ob])) if n_obs else 0.0,
                )
            )
            agg = sku_fac.setdefault(s.sku, [0.0, 0.0, 1.0])
            agg[0] += float((~e & ob).sum() + (~ob).sum())
            agg[1] += s.capacity
            agg[2] *= float(np.prod(conf_cells[ob])) if n_obs else 0.5
            for i, k, bridged in self._runs(e & ob, ~ob):
                cb = self._cell_boxes[idx.start + i : idx.start + k + 1]
                seen = (e & ob)[i : k + 1]
                conf = float(pj[i : k + 1][seen].min()) * (0.8 if bridged else 1.0)
                gaps.append(
                    GapDetection(
                        box=(
                            float(cb[:, 0].min()),
                            float(cb[:, 1].min()),
                            float(cb[:, 2].max()),
                            float(cb[:, 3].max()),
                        ),
                        slot=j,
                        first=i,
                        last=k,
                        confidence=conf,
                    )
                )
            home = self._sku_names.index(s.sku)
            for i in range(s.capacity):
                cell = idx.start + i
                if e[i] or not ob[i]:
                    continue
                d = dists[cell]
                best = int(np.argmin(d))
                margin = float(d[home] - d[best])
                # colour signatures of similar packages overlap: flag only clear departures
                if best != home and margin > self.misplaced_margin and d[home] > self.misplaced_min:
                    misplaced.append(
                        MisplacedDetection(
                            slot=j,
                            facing=i,
                            expected_sku=s.sku,
                            looks_like=self._sku_names[best],
                            confidence=float(np.clip(1 - np.exp(-(d[home] - 150.0) / 100.0), 0, 1)),
                        )
                    )
        skus = tuple(
            SkuStatus(
                sku=k,
                facings=int(v[0]),
                capacity=int(v[1]),
                out_of_stock=v[0] == 0,
                low_stock=0 < v[0] <= self.low_stock_frac * v[1],
                confidence=float(v[2]),
            )
            for k, v in sku_fac.items()
        )
        return ShelfReport(
            gaps=tuple(gaps),
            slots=tuple(readings),
            skus=skus,
            misplaced=tuple(misplaced),
            p_empty=p,
            observed=observed,
        )

    def _runs(self, empty: np.ndarray, hidden: np.ndarray) -> list[tuple[int, int, bool]]:
        """Gap runs in one slot: ``(first, last, bridged)``.

        A run is a maximal stretch of facings each empty or hidden that holds at least one
        facing seen empty. Hidden facings between seen-empty ones belong to the gap (a shopper
        in front of the middle of a gap); with ``bridge == "extend"`` hidden facings at the ends
        do too. ``bridged`` says a hidden facing was included.
        """
        out: list[tuple[int, int, bool]] = []
        n = len(empty)
        i = 0
        while i < n:
            if not (empty[i] or hidden[i]):
                i += 1
                continue
            k = i
            while k + 1 < n and (empty[k + 1] or hidden[k + 1]):
                k += 1
            seen = np.flatnonzero(empty[i : k + 1]) + i
            if len(seen):
                a, b = (i, k) if self.bridge == "extend" else (int(seen[0]), int(seen[-1]))
                if self.bridge == "none":
                    # split at hidden facings
                    start = None
                    for t in range(a, b + 2):
                        if t <= b and empty[t]:
                            start = t if start is None else start
                        elif start is not None:
                            out.append((start, t - 1, False))
                            start = None
                else:
                    out.append((a, b, bool(hidden[a : b + 1].any())))
            i = k + 1
        return out

    def _project_box(
        self, x0: float, y0: float, x1: float, y1: float
    ) -> tuple[float, float, float, float]:
        t = np.linspace(0.0, 1.0, 6)
        pts = np.concatenate(
            [
                np.stack([x0 + (x1 - x0) * t, np.full(6, y0)], -1),
                np.stack([np.full(6, x1), y0 + (y1 - y0) * t], -1),
                np.stack([x0 + (x1 - x0) * t, np.full(6, y1)], -1),
                np.stack([np.full(6, x0), y0 + (y1 - y0) * t], -1),
            ]
        )
        q = self.camera.project(pts)
        w, h = self.camera.width - 1.0, self.camera.height - 1.0
        lo, hi = q.min(0), q.max(0)
        return (max(lo[0], 0.0), max(lo[1], 0.0), min(hi[0], w), min(hi[1], h))


def cell_features(vision: ShelfVision, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training helper: the features ``(F, 5)`` and occluded fraction ``(F,)`` of a frame."""
    feats, occ, _ = vision.features(frame)
    return feats, occ


_ = HEADROOM_FRAC  # documented dependency: headroom rows lie inside the guaranteed headroom
