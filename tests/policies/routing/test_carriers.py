"""The promise: earliest delivery per carrier from the origins holding the stock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.routing import InvalidProblemError
from policies.routing.carriers import Mode, Origin, promise_options

HAMBURG_DC = Origin("W-NORTH", "warehouse", 53.55, 9.99)
STORE = Origin("S001", "store", 53.56, 10.00)
HOME = (53.60, 10.05)  # ~7 km from both


def at(h: int, m: int = 0) -> datetime:
    return datetime(2026, 6, 2, h, m, tzinfo=UTC)  # a Tuesday


def by_mode(opts):  # type: ignore[no-untyped-def]
    return {o.mode: o for o in opts}


def test_before_the_cut_off_the_van_delivers_today_and_the_parcel_tomorrow() -> None:
    opts = by_mode(promise_options([HAMBURG_DC], *HOME, units=3, now=at(7)))
    van, parcel = opts[Mode.OWN_FLEET], opts[Mode.PARCEL]
    assert van.deliver_from == at(10) and van.deliver_to == at(12)
    assert parcel.deliver_from == datetime(2026, 6, 3, 8, tzinfo=UTC)
    assert Mode.CLICK_AND_COLLECT not in opts  # no store holds the stock
    assert van.cost_cents < parcel.cost_cents and van.co2_g < parcel.co2_g


def test_after_the_cut_off_the_van_goes_tomorrow_and_collect_is_ready_in_two_hours() -> None:
    opts = by_mode(promise_options([HAMBURG_DC, STORE], *HOME, units=3, now=at(11, 30)))
    assert opts[Mode.OWN_FLEET].deliver_from == datetime(2026, 6, 3, 10, tzinfo=UTC)
    assert opts[Mode.CLICK_AND_COLLECT].deliver_from == at(13, 30)
    assert opts[Mode.CLICK_AND_COLLECT].origin == "S001"
    assert Mode.DRONE not in opts  # 3 units > the drone's payload of 2


def test_options_are_sorted_by_earliest_delivery_and_drones_respect_range() -> None:
    opts = promise_options([HAMBURG_DC, STORE], *HOME, units=1, now=at(11, 30))
    assert [o.deliver_from for o in opts] == sorted(o.deliver_from for o in opts)
    assert opts[0].mode is Mode.DRONE
    far = promise_options([STORE], 53.9, 10.5, units=1, now=at(11, 30))
    assert Mode.DRONE not in by_mode(far)  # ~47 km away, range 10 km


def test_late_evening_same_day_modes_roll_to_the_next_morning() -> None:
    opts = by_mode(promise_options([STORE], *HOME, units=1, now=at(19, 45)))
    assert opts[Mode.CLICK_AND_COLLECT].deliver_from == datetime(2026, 6, 3, 10, tzinfo=UTC)


def test_bad_input_names_the_value() -> None:
    with pytest.raises(InvalidProblemError, match="units: 0"):
        promise_options([STORE], *HOME, units=0, now=at(9))
