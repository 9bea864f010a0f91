"""CLI verb of the shopping assistant: ``shopsphere assist "..." [--target URL]``.

Several utterances form one conversation (one cart). Without ``--target`` the assistant talks
to an in-process API on an in-memory SQLite database seeded with the demo catalog
(:mod:`assistant.demo`). A user's mistake prints one message and exits 2, never a traceback.
"""

from __future__ import annotations

import json

import typer

from shopsphere_cli.errors import fail, user_errors


def assist(
    utterances: list[str] = typer.Argument(..., help="What the shopper says (one or more)."),
    target: str | None = typer.Option(
        None, "--target", help="Base URL of the API; in-process demo catalog when absent."
    ),
    api_key: str = typer.Option("dev-customer-key", "--api-key", help="Key for --target."),
    location: str | None = typer.Option(
        None, "--location", help="Store or warehouse code (default: the demo store)."
    ),
    customer: str | None = typer.Option(
        None, "--customer", help="Customer id (staff/service keys; in-process default c-demo)."
    ),
    channel: str = typer.Option("web", "--channel", help="API channel of the cart: web, app."),
    as_json: bool = typer.Option(False, "--json", help="Print the replies as JSON."),
) -> None:
    """Turn natural-language requests into search and cart calls through the commerce API."""
    from api.client.base import CommerceClient
    from api.schemas import Channel
    from assistant.agent import Assistant
    from assistant.demo import DEMO_LOCATION, seed_demo
    from assistant.errors import AssistantError

    try:
        ch = Channel(channel)
    except ValueError:
        raise fail(f"--channel {channel!r} is not one of {[c.value for c in Channel]}") from None
    client: CommerceClient
    cust: str | None
    with user_errors():
        if target is None:
            from api.client.inprocess import InProcessClient

            client = InProcessClient.for_sqlite(role="service")
            seed_demo(client)
            loc = location or DEMO_LOCATION
            cust = customer or "c-demo"
        else:
            from api.client.http import HttpClient

            client = HttpClient(target, api_key=api_key)
            if location is None:
                raise fail("--location is required with --target (a store or warehouse code)")
            loc, cust = location, customer
        bot = Assistant(client, location=loc, channel=ch, customer_id=cust)
        out = []
        for text in utterances:
            try:
                reply = bot.handle(text)
            except AssistantError as exc:
                raise fail(f"utterance {text[:60]!r}: {exc}") from exc
            if as_json:
                out.append(
                    {
                        "text": text,
                        "intent": reply.parsed.intent.value,
                        "slots": reply.parsed.slots(),
                        "actions": [
                            {
                                "kind": a.kind,
                                "item": a.item,
                                "sku": a.sku,
                                "quantity": a.quantity,
                                "unit_price_cents": a.unit_price_cents,
                                "note": a.note,
                            }
                            for a in reply.actions
                        ],
                        "cart_total_cents": None if reply.cart is None else reply.cart.total_cents,
                        "order_id": None if reply.order is None else reply.order.id,
                    }
                )
            else:
                typer.echo(f"> {text}")
                typer.echo(reply.summary())
        if as_json:
            typer.echo(json.dumps(out, indent=2))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("assist")(assist)
