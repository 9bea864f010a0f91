"""Synthetic flash-sale traces.

At ``t0_s`` a few hot SKUs with limited stock go on sale. Checkout attempts arrive as a
non-homogeneous Poisson process (thinning): ``peak_orders_per_s / multiplier`` before the drop,
rising linearly to ``peak_orders_per_s`` over ``ramp_s`` seconds, held for ``hold_s`` seconds,
then decaying exponentially back (time constant ``hold_s``). Each human session browses the SKU
(probability ``browse_p``), creates a cart, sets one line and checks out after short think
times; a fraction ``abandon_p`` leaves the cart (its reservation holds stock until it expires).
After the drop, a fraction ``bot_fraction`` of the sessions are bots: no think time, hot SKUs
only, and they retry hard. Times are seconds of the trace; ``--speed`` compresses them.

With ``waiting_room``, a session after a hot SKU first joins that SKU's waiting room and polls
it until admitted (``POST /v1/waiting-room/{sku}``, see ``api.waiting_room``), then sends the
admission token with its cart line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from replay.errors import ReplayError
from replay.trace import Trace, TraceRequest


@dataclass(frozen=True, slots=True)
class FlashSaleSpec:
    """Parameters of a flash-sale trace (times in seconds, money in cents)."""

    duration_s: float = 60.0
    t0_s: float = 10.0
    ramp_s: float = 3.0
    hold_s: float = 30.0
    peak_orders_per_s: float = 139.0
    multiplier: float = 10.0
    n_hot: int = 5
    hot_stock: int = 500
    n_regular: int = 50
    regular_stock: int = 100_000
    n_shoppers: int = 3000
    n_bots: int = 40
    bot_fraction: float = 0.2
    abandon_p: float = 0.15
    browse_p: float = 0.5
    hot_p: float = 0.7
    think_s: float = 0.5
    location: str = "FS-W1"
    prefix: str = "FS"
    waiting_room: bool = False

    def validate(self) -> None:
        """Raises ReplayError naming the first field with a bad value."""
        checks = {
            "duration_s": self.duration_s > 0,
            "t0_s": 0 <= self.t0_s <= self.duration_s,
            "ramp_s": self.ramp_s >= 0,
            "hold_s": self.hold_s > 0,
            "peak_orders_per_s": self.peak_orders_per_s > 0,
            "multiplier": self.multiplier >= 1,
            "n_hot": self.n_hot >= 1,
            "hot_stock": self.hot_stock >= 0,
            "n_regular": self.n_regular >= 1,
            "n_shoppers": self.n_shoppers >= 1,
            "n_bots": self.n_bots >= 0,
            "bot_fraction": 0 <= self.bot_fraction < 1
            and (self.n_bots > 0 or not self.bot_fraction),
            "abandon_p": 0 <= self.abandon_p < 1,
            "browse_p": 0 <= self.browse_p <= 1,
            "hot_p": 0 <= self.hot_p <= 1,
            "think_s": self.think_s >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ReplayError(
                    f"flash sale field {name!r} has bad value {getattr(self, name)!r}"
                )

    def orders_rate(self, t: np.ndarray) -> np.ndarray:
        """Checkout attempts per second at trace times ``t`` (seconds)."""
        base = self.peak_orders_per_s / self.multiplier
        peak = self.peak_orders_per_s
        after = t - self.t0_s
        ramp = base + (peak - base) * np.clip(after / max(self.ramp_s, 1e-9), 0.0, 1.0)
        decay_from = self.ramp_s + self.hold_s
        decay = base + (peak - base) * np.exp(-np.maximum(after - decay_from, 0.0) / self.hold_s)
        return np.where(after < 0, base, np.where(after < decay_from, ramp, decay))

    def hot_skus(self) -> list[str]:
        return [f"{self.prefix}-HOT{i:03d}" for i in range(self.n_hot)]

    def regular_skus(self) -> list[str]:
        return [f"{self.prefix}-REG{i:04d}" for i in range(self.n_regular)]

    def catalog(self) -> dict[str, object]:
        """What the seeding step creates: location, category and SKUs with price and stock."""
        skus: list[dict[str, object]] = [
            {"sku": s, "price_cents": 4999 + 100 * i, "stock": self.hot_stock, "hot": True}
            for i, s in enumerate(self.hot_skus())
        ]
        skus += [
            {"sku": s, "price_cents": 499 + 10 * i, "stock": self.regular_stock, "hot": False}
            for i, s in enumerate(self.regular_skus())
        ]
        return {"location": self.location, "category": f"{self.prefix}-CAT", "skus": skus}


def _arrivals(spec: FlashSaleSpec, rng: np.random.Generator) -> np.ndarray:
    """Session start times by thinning a homogeneous process at the session peak rate.

    Sessions arrive faster than checkouts by the abandoning share, so that checkout attempts
    follow :meth:`FlashSaleSpec.orders_rate` (bots, after the drop, never abandon).
    """
    lam_max = spec.peak_orders_per_s / (1 - spec.abandon_p)
    n = rng.poisson(lam_max * spec.duration_s)
    t = np.sort(rng.uniform(0.0, spec.duration_s, size=n))
    human = np.where(t >= spec.t0_s, 1 - spec.bot_fraction, 1.0)
    session_rate = spec.orders_rate(t) / (1 - spec.abandon_p * human)
    keep = rng.uniform(size=n) < session_rate / lam_max
    return t[keep]


def generate(spec: FlashSaleSpec, rng: np.random.Generator) -> Trace:
    """A flash-sale trace; ``meta`` holds the spec and the catalog the seeding step creates.

    Raises:
        ReplayError: a spec field with a bad value.
    """
    spec.validate()
    hot, regular = spec.hot_skus(), spec.regular_skus()
    reqs: list[TraceRequest] = []
    starts = _arrivals(spec, rng)
    n = starts.size
    u = rng.uniform(size=(n, 6))
    for i, t in enumerate(starts.tolist()):
        sid = f"s{i}"
        after = bool(t >= spec.t0_s)
        bot = bool(after and u[i, 0] < spec.bot_fraction)
        if bot:
            who = f"{spec.prefix}-BOT{int(u[i, 1] * spec.n_bots):04d}"
            sku = hot[int(u[i, 2] * len(hot))]
            think = 0.0
        else:
            who = f"{spec.prefix}-C{int(u[i, 1] * spec.n_shoppers):06d}"
            wants_hot = after and u[i, 3] < spec.hot_p
            pool = hot if wants_hot else regular
            sku = pool[int(u[i, 2] * len(pool))]
            think = spec.think_s
        thinks = rng.exponential(think, size=3) if think > 0 else np.zeros(3)
        tt = t
        if not bot and u[i, 4] < spec.browse_p:
            reqs.append(TraceRequest(tt, sid, who, "get_sku", "GET", f"/v1/skus/{sku}"))
            tt += float(thinks[0])
        cart = f"cart:{sid}"
        gate = spec.waiting_room and sku in hot
        if gate:
            reqs.append(
                TraceRequest(
                    tt, sid, who, "waiting_room", "POST", f"/v1/waiting-room/{sku}",
                    sets=f"adm:{sid}", bot=bot, poll=True,
                )
            )  # fmt: skip
        reqs.append(
            TraceRequest(
                tt,
                sid,
                who,
                "create_cart",
                "POST",
                "/v1/carts",
                {"channel": "web", "location": spec.location},
                idem=f"{sid}-cart",
                sets=cart,
                bot=bot,
            )
        )
        tt += float(thinks[1])
        reqs.append(
            TraceRequest(
                tt,
                sid,
                who,
                "set_cart_line",
                "PUT",
                f"/v1/carts/${{{cart}}}/lines",
                {"sku": sku, "quantity": 1},
                bot=bot,
                headers={"X-Admission-Token": "${adm:" + sid + "}"} if gate else None,
            )
        )
        if not bot and u[i, 5] < spec.abandon_p:
            continue
        tt += float(thinks[2])
        reqs.append(
            TraceRequest(
                tt,
                sid,
                who,
                "checkout",
                "POST",
                "/v1/checkout",
                {"cart_id": "${" + cart + "}", "payment_token": "tok_ok"},
                idem=f"{sid}-co",
                sets=f"order:{sid}",
                bot=bot,
            )
        )
    reqs.sort(key=lambda r: r.t)
    meta = {"spec": asdict(spec), "catalog": spec.catalog(), "sessions": int(n)}
    return Trace(reqs, "flash_sale", meta)


def expected_orders(spec: FlashSaleSpec) -> float:
    """Expected checkout attempts over the trace (integral of the rate, by quadrature)."""
    t = np.linspace(0.0, spec.duration_s, 20_001)
    rate = spec.orders_rate(t)
    return float(np.sum((rate[1:] + rate[:-1]) / 2 * np.diff(t)))
