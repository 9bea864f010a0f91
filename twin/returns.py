"""Returns flowing back: a share of delivered online orders come back through the API's RMA flow.

When the fleet delivers an order, with probability ``rate`` the customer returns part of it:
each unit independently with probability ``unit_share`` (at least one unit). The request comes
``delay_days`` (uniform between ``delay_days_min`` and ``delay_days_max``) after the delivery;
the parcel reaches the order's warehouse ``transit_days`` later; it is inspected
``inspect_days`` after that, each unit fit to sell again with probability ``restock_share``
(perishable SKUs never are); the fit units go back on hand (RMA ``restocked``; ``written_off``
when none is), and the customer is refunded. Every step is one API call
(``create_rma``, ``transition_rma``) with a deterministic ``Idempotency-Key``; the twin's own
stock follows only once the API accepted the step, so the twin and the ledger agree
(returns flow in, unfit units as write-offs).

The knobs come from the scenario's ``returns:`` section (:class:`scenarios.sections.Returns`,
validated there with the field named; :meth:`ReturnsSettings.from_scenario`); ``rate: 0`` turns
returns off. Time unit: days (SimPy time). Money: cents. The draws use their own random stream
(:data:`RETURNS_STREAM`), so turning returns on or off leaves the fleet's draws unchanged. A
commerce door that serves no RMAs (``NotImplementedError``) turns returns off for the run.

KPIs (:meth:`Returns.kpis`, merged into the fleet's): ``returns_requested``,
``returns_refunded`` (RMAs completed), ``returns_units``, ``returns_restocked_units``,
``returns_written_off_units``, ``returns_refund_cents``, ``returns_rate`` (requested /
delivered orders counted by the fleet), ``returns_refused_steps`` (API refusals; 0 expected).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from api.client.base import CommerceError
from api.schemas import StockLine
from api.schemas_fulfilment import RmaCreate, RmaStatus, RmaTransition

if TYPE_CHECKING:
    from twin.ports import FleetHost

logger = logging.getLogger(__name__)

RETURNS_STREAM = 0x2E7A5  # the returns' random stream, derived from the run seed


@dataclass(frozen=True, slots=True)
class ReturnsSettings:
    """Return knobs with their defaults (times in days, shares in [0, 1])."""

    rate: float = 0.05
    unit_share: float = 0.6
    delay_days_min: float = 1.0
    delay_days_max: float = 10.0
    transit_days: float = 2.0
    inspect_days: float = 0.5
    restock_share: float = 0.8

    def __post_init__(self) -> None:
        for name in ("rate", "unit_share", "restock_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"returns.{name}: {v} is not within [0, 1]")
        if not 0.0 <= self.delay_days_min <= self.delay_days_max:
            raise ValueError(
                f"returns.delay_days_min/max: {self.delay_days_min}/{self.delay_days_max} "
                "must satisfy 0 <= min <= max"
            )
        if self.transit_days < 0 or self.inspect_days < 0:
            raise ValueError(
                f"returns.transit_days/inspect_days: {self.transit_days}/{self.inspect_days} < 0"
            )

    @classmethod
    def from_scenario(cls, section: object) -> ReturnsSettings:
        """Defaults, overridden by same-named fields of a scenario section (when it has any)."""
        return cls(
            **{f.name: getattr(section, f.name) for f in fields(cls) if hasattr(section, f.name)}
        )


@dataclass(slots=True)
class ReturnsStats:
    requested: int = 0
    refunded: int = 0
    units: int = 0
    restocked_units: int = 0
    written_off_units: int = 0
    refund_cents: int = 0
    failures: int = 0


class Returns:
    """Draws which delivered orders come back and drives their RMAs (module docstring)."""

    def __init__(
        self,
        twin: FleetHost,
        rng: np.random.Generator,
        settings: ReturnsSettings | None = None,
    ) -> None:
        self.twin = twin
        self.rng = rng
        self.settings = settings or ReturnsSettings()
        self.stats = ReturnsStats()
        self.enabled = self.settings.rate > 0.0
        self._perishable = np.asarray(twin.world.skus.perishable, dtype=bool)

    def delivered(self, row: int, order_id: int, lines: dict[int, int], counted: bool) -> None:
        """The fleet delivered ``order_id`` from warehouse ``row``: maybe start its return."""
        if not self.enabled:
            return
        st = self.settings
        if self.rng.random() >= st.rate:
            return
        back = {
            s: int(self.rng.binomial(q, st.unit_share)) for s, q in sorted(lines.items()) if q > 0
        }
        if not any(back.values()) and lines:
            first = min(s for s, q in lines.items() if q > 0)
            back[first] = 1
        back = {s: q for s, q in back.items() if q > 0}
        if not back:
            return
        delay = float(self.rng.uniform(st.delay_days_min, st.delay_days_max))
        fit = {
            s: 0 if self._perishable[s] else int(self.rng.binomial(q, st.restock_share))
            for s, q in back.items()
        }
        self.twin.env.process(self._flow(row, order_id, back, fit, delay, counted))

    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except NotImplementedError:
            self.enabled = False  # a door without fulfilment (the fake): no returns this run
            logger.info("the commerce client serves no returns; returns are off for this run")
            return None
        except CommerceError as exc:
            self.stats.failures += 1
            logger.warning("return step refused: %s", exc)
            return None

    def _flow(
        self,
        row: int,
        order_id: int,
        back: dict[int, int],
        fit: dict[int, int],
        delay: float,
        counted: bool,
    ) -> Generator[simpy.Event, Any, None]:
        """SimPy process: request, receive, inspect, restock or write off, refund."""
        env, st, cl = self.twin.env, self.settings, self.twin.client
        w = self.twin.world
        yield env.timeout(delay)
        if not self.enabled:
            return
        codes = w.skus.codes
        rma = self._call(
            cl.create_rma,
            order_id,
            RmaCreate(
                lines=[StockLine(sku=codes[s], quantity=q) for s, q in sorted(back.items())],
                reason="twin",
            ),
            idempotency_key=f"twin-rma-{order_id}",
        )
        if rma is None:
            return
        if counted:
            self.stats.requested += 1
            self.stats.units += sum(back.values())
        yield env.timeout(st.transit_days)

        def step(to: RmaStatus, **kw: Any) -> Any:
            return self._call(
                cl.transition_rma,
                rma.id,
                RmaTransition(to=to, **kw),
                idempotency_key=f"twin-rma-{rma.id}-{to.value}",
            )

        if step(RmaStatus.RECEIVED, location=w.location_codes[row]) is None:
            return
        yield env.timeout(st.inspect_days)
        restock = [StockLine(sku=codes[s], quantity=q) for s, q in sorted(fit.items()) if q > 0]
        if step(RmaStatus.INSPECTED, restock=restock) is None:
            return
        done = RmaStatus.RESTOCKED if restock else RmaStatus.WRITTEN_OFF
        if step(done) is None:
            return
        for s, q in sorted(back.items()):
            self.twin.book_return(row, s, fit[s], q - fit[s])
        if counted:
            self.stats.restocked_units += sum(fit.values())
            self.stats.written_off_units += sum(back.values()) - sum(fit.values())
        paid = step(RmaStatus.REFUNDED)
        if paid is not None and counted:
            self.stats.refunded += 1
            self.stats.refund_cents += int(paid.refund_cents)

    def kpis(self, delivered: int) -> dict[str, float]:
        """Return KPIs from the warm-up day on (``delivered``: the fleet's delivered orders)."""
        s = self.stats
        return {
            "returns_requested": float(s.requested),
            "returns_refunded": float(s.refunded),
            "returns_units": float(s.units),
            "returns_restocked_units": float(s.restocked_units),
            "returns_written_off_units": float(s.written_off_units),
            "returns_refund_cents": float(s.refund_cents),
            "returns_rate": s.requested / max(1, delivered),
            "returns_refused_steps": float(s.failures),
        }
