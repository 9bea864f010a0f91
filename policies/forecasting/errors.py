"""The forecasting package's one exception type."""

from __future__ import annotations

from typing import Any

from policies.registry import PolicyError


class ForecastingError(PolicyError, ValueError):
    """Bad input to a forecaster or the backtest: names the field and the bad value.

    A :class:`~policies.registry.PolicyError` (the ``policies`` package's root) and a
    ``ValueError``.

    Attributes:
        field: the argument, column or parameter that was wrong.
        value: the offending value (or a short description of it).
    """

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        self.message = f"{field}={value!r}: {problem}"
        super().__init__(field, value, problem)  # args rebuild it (SimPy copies type(e)(*e.args))

    def __str__(self) -> str:
        return self.message
