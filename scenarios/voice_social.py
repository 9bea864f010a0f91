"""Scenario sections of the voice and social-commerce channels (``customers.voice``,
``customers.social_bursts``); the twin's side is :mod:`twin.voice_social` and
:mod:`twin.channels`.

Voice re-orders: a share of customers (``adoption``) owns a voice assistant and, every
``reorder_interval_days`` on average, says "order my usual": their most frequent basket so far is
ordered online (from their serving warehouse), at hours drawn from ``hourly_profile``.

Social bursts: an influencer post at ``start_day`` (+ ``start_hour``) sends shoppers to one SKU.
Sessions arrive as a non-homogeneous Poisson process whose intensity rises linearly to
``peak_sessions_per_hour`` in ``rise_hours`` and then decays as a power law,
``peak * (1 + u / decay_hours) ** -decay_exponent`` (``u`` hours after the peak), until
``duration_hours`` after the post.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from scenarios.distributions import bad
from scenarios.fields import Code, NonNegative, Positive, Probability, Strict, Text, bounded
from scenarios.limits import MAX_DAYS

__all__ = ["DEFAULT_VOICE_PROFILE", "SocialBurst", "VoiceReorders"]

DEFAULT_VOICE_PROFILE: tuple[float, ...] = (
    0.1, 0.05, 0.05, 0.05, 0.05, 0.2, 1.0, 2.0, 1.5, 0.6, 0.5, 0.5,
    0.6, 0.5, 0.5, 0.6, 0.8, 1.5, 2.5, 3.0, 2.5, 1.5, 0.6, 0.2,
)  # fmt: skip
"""Voice orders per hour, relative: at home, around breakfast and in the evening."""

Hours = Annotated[Positive, bounded(24.0 * MAX_DAYS, "a number of hours")]


class VoiceReorders(Strict):
    """Voice re-orders ("order my usual"), see the module docstring."""

    adoption: Probability = 0.1
    reorder_interval_days: Annotated[Positive, bounded(365.0, "an interval")] = 7.0
    min_history: Annotated[int, Field(ge=1, le=1000)] = 1
    """Baskets a customer must have bought before a voice re-order is possible."""
    hourly_profile: list[Annotated[NonNegative, bounded(1e6, "an hourly weight")]] = Field(
        default_factory=lambda: list(DEFAULT_VOICE_PROFILE), min_length=24, max_length=24
    )
    api_channel: Literal["web", "app"] = "app"
    """API channel the orders are placed on (the voice assistant talks to the app's API)."""

    @model_validator(mode="after")
    def _profile(self) -> VoiceReorders:
        if sum(self.hourly_profile) <= 0:
            raise bad("profile", "hourly_profile is all zero (allowed: some hour > 0)")
        return self


class SocialBurst(Strict):
    """One influencer post and the spike it brings to one SKU, see the module docstring."""

    name: Text = ""
    sku: Code
    """The SKU code as generated (``SKU000001``)."""
    start_day: Annotated[NonNegative, bounded(MAX_DAYS, "a day")]
    start_hour: Annotated[float, Field(ge=0.0, lt=24.0)] = 12.0
    peak_sessions_per_hour: Annotated[Positive, bounded(1e6, "a session rate")]
    rise_hours: Hours = 1.0
    decay_hours: Hours = 2.0
    decay_exponent: Annotated[float, Field(gt=0.0, le=10.0)] = 1.5
    duration_hours: Hours = 72.0
    units_per_session: Annotated[int, Field(ge=1, le=100)] = 1
    api_channel: Literal["web", "app"] = "web"

    @model_validator(mode="after")
    def _window(self) -> SocialBurst:
        if self.duration_hours < self.rise_hours:
            raise bad(
                "window",
                f"duration_hours {self.duration_hours!r} is shorter than rise_hours "
                f"{self.rise_hours!r} (allowed: >= rise_hours)",
            )
        return self
