"""The voucher race on PostgreSQL: 64 concurrent checkouts with a voucher limited to 10 uses
give exactly 10 discounted orders and 54 clean ``VOUCHER_EXHAUSTED`` answers, 20 rounds; the
use counter and the order discount lines agree, and no stock is left reserved by a loser."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import require_pg, seed
from sqlalchemy import text

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import Channel, CheckoutLine, CheckoutRequest, StockQuery
from api.schemas_promo import PromotionCreate
from api.services import promotions
from api.services.context import Principal, ServiceContext

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N_CLIENTS, LIMIT, ROUNDS = 64, 10, 20


@pytest.fixture(scope="module")
def backend() -> str:
    require_pg()
    return "postgres"


def test_64_concurrent_uses_of_a_voucher_limited_to_10_give_exactly_10_twenty_times(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=1, stock=N_CLIENTS * ROUNDS)
    sku = s.skus[0]
    shoppers = [staff.as_principal("customer", f"racer-{i}") for i in range(N_CLIENTS)]
    staff_p = Principal(role="staff", key_id=1)
    pool = ThreadPoolExecutor(max_workers=N_CLIENTS)
    try:
        for rnd in range(ROUNDS):
            code = f"{s.prefix}-R{rnd}"
            pid = promotions.create_promotion(
                env,
                staff_p,
                PromotionCreate(
                    name="race", kind="fixed", code=code, amount_off_cents=100, max_uses=LIMIT
                ),
            ).id
            start = threading.Barrier(N_CLIENTS)

            def use(i: int, code: str = code, start: threading.Barrier = start) -> str:
                req = CheckoutRequest(
                    lines=[CheckoutLine(sku=sku, quantity=1)],
                    location=s.location,
                    channel=Channel.WEB,
                    voucher=code,
                )
                start.wait()
                try:
                    order = shoppers[i].checkout(req)
                except CommerceError as exc:
                    assert exc.status == 409 and exc.details == {
                        "voucher": code,
                        "scope": "total",
                        "limit": LIMIT,
                    }, exc
                    return exc.code
                assert order.discount_cents == 100
                return "order"

            outcomes = Counter(pool.map(use, range(N_CLIENTS)))
            assert outcomes == {"order": LIMIT, "VOUCHER_EXHAUSTED": N_CLIENTS - LIMIT}, (
                rnd,
                outcomes,
            )
            assert promotions.get_promotion(env, staff_p, pid).uses == LIMIT
            with env.engine.connect() as conn:
                lines = conn.execute(
                    text("SELECT count(*) FROM order_discounts WHERE promotion_id = :p"),
                    {"p": pid},
                ).scalar_one()
            assert lines == LIMIT
        [level] = staff.stock_levels(StockQuery(skus=[sku], locations=[s.location]))
        assert level.reserved == LIMIT * ROUNDS  # the paid orders hold theirs; losers none
    finally:
        pool.shutdown()
