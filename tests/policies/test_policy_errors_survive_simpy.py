"""Policy errors raised inside a SimPy process reach the caller as themselves: SimPy re-raises a
process's failure as ``type(e)(*e.args)``, so the errors' args must rebuild them."""

from __future__ import annotations

from collections.abc import Generator

import pytest
import simpy

from policies.forecasting.errors import ForecastingError
from policies.pricing.types import PricingError


@pytest.mark.parametrize(
    "err",
    [ForecastingError("model", "nope", "unknown model"), PricingError("price", -1, "negative")],
)
def test_an_error_raised_in_a_process_keeps_its_type_fields_and_message(
    err: ForecastingError | PricingError,
) -> None:
    env = simpy.Environment()

    def proc() -> Generator[simpy.Event, None, None]:
        yield env.timeout(1)
        raise err

    env.process(proc())
    with pytest.raises(type(err)) as got:
        env.run()
    assert str(got.value) == str(err)
    assert got.value.field == err.field and got.value.value == err.value
