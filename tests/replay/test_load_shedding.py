"""Load shedding: a worker serving ``max_in_flight`` requests answers the next one at once with
a typed 503 OVERLOADED and Retry-After (no queue grows), serves again as soon as one finishes,
and never sheds the health check."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from api.ratelimit import InFlightLimit


class _Held:
    """An app whose requests finish only when released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.started += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_requests_beyond_the_limit_are_shed_at_once_with_a_typed_503() -> None:
    async def scenario() -> None:
        held = _Held()
        shedder = InFlightLimit(held, max_in_flight=2)  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=shedder)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            first = [asyncio.create_task(c.get("/v1/skus")) for _ in range(2)]
            while held.started < 2:
                await asyncio.sleep(0.001)
            shed = await asyncio.wait_for(c.post("/v1/checkout", json={}), timeout=2)
            assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
            body = orjson.loads(shed.content)
            assert body["code"] == "OVERLOADED"
            assert body["details"] == {"max_in_flight": 2, "retry_after_s": 1}
            health = asyncio.create_task(c.get("/v1/health"))  # never shed
            while held.started < 3:
                await asyncio.sleep(0.001)
            held.release.set()
            assert [r.status_code for r in await asyncio.gather(*first, health)] == [200] * 3
            assert (await c.get("/v1/skus")).status_code == 200  # room again
        assert held.started == 4 and shedder.shed == 1 and shedder.in_flight == 0

    asyncio.run(scenario())


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_in_flight 0"):
        InFlightLimit(_Held(), max_in_flight=0)  # type: ignore[arg-type]
