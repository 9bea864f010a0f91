"""The waiting room for hot SKUs: first in first out, one place per customer however hard a bot
polls, admissions at the configured rate across concurrent bots, and cart lines of a gated SKU
refused without a valid admission token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from replay_helpers import UvicornThread

from api.app import create_app
from api.client.http import HttpClient
from api.settings import Settings
from api.waiting_room import PollPacer, make_token, token_valid
from replay.keys import derive
from replay.seed import seed_catalog

HOT = "WR-HOT"
RATE, BURST = 2.0, 3
PEPPER = "test-pepper-0123456789"
BOTS = [f"bot{i:02d}" for i in range(30)]


def test_admission_tokens_bind_customer_sku_and_expiry() -> None:
    tok = make_token(PEPPER, "c1", "S", exp=1000)
    assert token_valid(PEPPER, tok, "c1", "S", now=999)
    assert not token_valid(PEPPER, tok, "c1", "S", now=1001)  # expired
    assert not token_valid(PEPPER, tok, "c2", "S", now=999)  # someone else's
    assert not token_valid(PEPPER, tok, "c1", "T", now=999)  # another SKU
    assert not token_valid("other-pepper-000000000", tok, "c1", "S", now=999)
    assert not token_valid(PEPPER, "1000.forged", "c1", "S", now=999)
    assert not token_valid(PEPPER, None, "c1", "S", now=0)


@pytest.fixture(scope="module")
def room(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[UvicornThread, dict[str, str]]]:
    book = derive("wr", ["early", "late", *BOTS])
    db: Path = tmp_path_factory.mktemp("wr") / "wr.sqlite"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        auto_create_schema=True,
        sweep_interval_seconds=0,
        api_key_pepper=PEPPER,
        bootstrap_api_keys=book.bootstrap_spec(),
        waiting_room_skus=HOT,
        waiting_room_admit_per_s=RATE,
        waiting_room_burst=BURST,
    )
    with UvicornThread(create_app(settings)) as srv:
        with HttpClient(srv.url, book.token("staff")) as staff:
            catalog = {
                "location": "WR-W",
                "category": "WR-C",
                "skus": [{"sku": HOT, "price_cents": 100, "stock": 100, "hot": True}],
            }
            seed_catalog(staff, catalog)
        yield srv, book.tokens


def _join(url: str, token: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/waiting-room/{HOT}", headers={"X-API-Key": token})


@pytest.mark.slow
def test_room_is_fifo_and_fair_under_hard_polling_bots(
    room: tuple[UvicornThread, dict[str, str]],
) -> None:
    srv, tokens = room
    opened = time.monotonic()
    first = _join(srv.url, tokens["early"]).json()
    assert first["position"] == 0 and first["admitted"]  # within the burst

    paced: dict[str, int] = dict.fromkeys(BOTS, 0)

    async def bots() -> dict[str, list[dict[str, object]]]:
        seen: dict[str, list[dict[str, object]]] = {b: [] for b in BOTS}
        async with httpx.AsyncClient(base_url=srv.url) as c:

            async def bot(name: str) -> None:
                end = time.monotonic() + 1.5
                while time.monotonic() < end:  # polls as fast as it can, ignores Retry-After
                    r = await c.post(f"/v1/waiting-room/{HOT}", headers={"X-API-Key": tokens[name]})
                    if r.status_code == 429:  # polled before its Retry-After: refused, no DB work
                        assert r.json()["details"]["limit"] == "waiting_room_poll", r.text
                        assert int(r.headers["Retry-After"]) >= 1
                        paced[name] += 1
                        continue
                    assert r.status_code == 200, r.text
                    seen[name].append(r.json())

            await asyncio.gather(*(bot(b) for b in BOTS))
        return seen

    seen = asyncio.run(bots())
    elapsed = time.monotonic() - opened
    late = _join(srv.url, tokens["late"]).json()
    # one ticket per customer: polling never changed a bot's ticket or moved it forward
    tickets = {b: {int(str(r["ticket"])) for r in rs} for b, rs in seen.items()}
    assert all(len(t) == 1 for t in tickets.values())
    # a waiting bot is served at most every Retry-After - 0.5 s; the rest of its polls are 429s
    waiting = [b for b, rs in seen.items() if not rs[-1]["admitted"]]
    assert waiting and all(len(seen[b]) <= 5 for b in waiting)
    assert all(len({r["position"] for r in rs}) == 1 for rs in seen.values())  # place never changes
    # first come first served: the customer who joined first is ahead of every bot
    assert first["ticket"] < min(t for ts in tickets.values() for t in ts) < late["ticket"]
    assert late["position"] == 1 + len(BOTS) and not late["admitted"]
    assert int(late["retry_after_s"]) >= 1
    again = _join(srv.url, tokens["late"])  # at once, long before its Retry-After
    assert again.status_code == 429 and again.json()["details"]["limit"] == "waiting_room_poll"
    # admissions flowed at the configured rate, in ticket order (a prefix of the queue)
    admitted = sorted(int(str(rs[-1]["position"])) for rs in seen.values() if rs[-1]["admitted"])
    assert len(admitted) + 1 <= BURST + RATE * elapsed + 1
    assert admitted == list(range(1, 1 + len(admitted)))


@pytest.mark.slow
def test_cart_line_of_a_gated_sku_needs_the_customers_admission_token(
    room: tuple[UvicornThread, dict[str, str]],
) -> None:
    srv, tokens = room
    h = {"X-API-Key": tokens["early"]}
    cart = httpx.post(
        f"{srv.url}/v1/carts", json={"channel": "web", "location": "WR-W"}, headers=h
    ).json()
    line = {"sku": HOT, "quantity": 1}
    r = httpx.put(f"{srv.url}/v1/carts/{cart['id']}/lines", json=line, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "ADMISSION_REQUIRED"
    other = _join(srv.url, tokens["late"]).json()  # another customer's (even missing) token
    bad = {**h, "X-Admission-Token": str(other.get("admission_token") or "1.x")}
    assert (
        httpx.put(f"{srv.url}/v1/carts/{cart['id']}/lines", json=line, headers=bad).status_code
        == 403
    )
    padded = b'{"sku": "%s", "quantity": 1}' % HOT.encode() + b" " * 70_000
    r = httpx.put(
        f"{srv.url}/v1/carts/{cart['id']}/lines",
        content=padded,
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code in (403, 413)  # padding cannot smuggle the gated SKU past the check
    token = _join(srv.url, tokens["early"]).json()["admission_token"]
    ok = {**h, "X-Admission-Token": token}
    r = httpx.put(f"{srv.url}/v1/carts/{cart['id']}/lines", json=line, headers=ok)
    assert r.status_code == 200, r.text
    assert r.json()["lines"][0]["sku"] == HOT


def test_poll_pacer_refuses_polls_before_retry_after_with_half_a_second_of_slack() -> None:
    now = [100.0]
    pacer = PollPacer(clock=lambda: now[0])
    assert pacer.wait_s("c", "S") == 0.0
    pacer.told("c", "S", 3)
    assert pacer.wait_s("c", "S") == pytest.approx(2.5)
    assert pacer.wait_s("c", "T") == 0.0 and pacer.wait_s("d", "S") == 0.0
    now[0] = 102.5
    assert pacer.wait_s("c", "S") == 0.0
    pacer.told("c", "S", None)  # admitted: no pacing any more
    assert pacer.wait_s("c", "S") == 0.0
