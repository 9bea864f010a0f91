"""Request bodies added with the outbox, purchase limits and carriers refuse unknown fields
(the project's ``Strict`` base): a misspelt field is a 422, never silently ignored. A redrive
body ``{"id": 3}`` must not redrive every dead letter."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from api.services.carriers import AllocationWeights
from api.services.purchase_limits import PurchaseLimitSet
from api.webhooks_http import RedriveRequest


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (RedriveRequest, {"id": 3}),
        (PurchaseLimitSet, {"max_per_customer": 2, "max_per_custome": 3}),
        (AllocationWeights, {"distanse": 1.0}),
    ],
)
def test_an_unknown_field_is_refused(model: type[BaseModel], body: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model.model_validate(body)
