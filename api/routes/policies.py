"""Policy endpoints: replenishment plans and price quotes (staff and service keys).

``install(app, settings)`` builds the configured policies (refusing to start on a bad name,
bad parameters, or an unvalidated or tampered RL artifact) and adds the routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from api.routes.deps import CtxDep, IdemKey, WhoDep, idem
from api.schemas import PriceQuote, PriceQuoteRequest, ReplenishmentPlan, ReplenishmentPlanRequest
from api.services import policy_serving
from api.services.policy_serving import PolicyServing
from api.settings import Settings

router = APIRouter(prefix="/v1", tags=["policies"])


def get_serving(request: Request) -> PolicyServing:
    serving: PolicyServing = request.app.state.policy_serving
    return serving


ServingDep = Annotated[PolicyServing, Depends(get_serving)]


@router.post("/replenishment/plan")
def plan_replenishment(
    body: ReplenishmentPlanRequest, ctx: CtxDep, who: WhoDep, serving: ServingDep
) -> ReplenishmentPlan:
    """Order quantities for SKUs at a location from the configured (or named) policy.

    A read: nothing is written, so no ``Idempotency-Key`` is needed."""
    return policy_serving.plan_replenishment(ctx, who, body, serving)


@router.post("/pricing/quote", tags=["prices"])
def quote_prices(
    body: PriceQuoteRequest, ctx: CtxDep, who: WhoDep, serving: ServingDep, key: IdemKey = None
) -> PriceQuote:
    """Prices from the configured (or named) pricing policy; ``apply: true`` also writes the
    changed ones (honours ``Idempotency-Key``)."""
    return idem(
        ctx,
        who,
        key,
        "pricing_quote",
        body,
        policy_serving.A_QUOTE,
        lambda: policy_serving.quote_prices(ctx, who, body, serving),
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Build the configured policies into ``app.state.policy_serving`` and add the routes.

    Raises:
        PolicyConfigError: the configured policies cannot be served (message names the setting).
    """
    app.state.policy_serving = PolicyServing.from_settings(settings)
    app.include_router(router)
