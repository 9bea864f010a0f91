"""A small grocery catalog for trying the assistant in-process (``shopsphere assist``) and for
its tests: 28 SKUs with sizes in their names, one store holding 20 of each."""

from __future__ import annotations

from api.client.base import CommerceClient
from api.schemas import LocationCreate, LocationKind, ReceiptCreate, SkuImportRow, StockLine

__all__ = ["DEMO_LOCATION", "DEMO_SKUS", "seed_demo"]

DEMO_LOCATION = "STORE-DEMO"

# (sku, name, category, list price cents, description)
DEMO_SKUS: tuple[tuple[str, str, str, int, str], ...] = (
    ("MLK-OAT-1L", "Oatly Oat Milk 1 L", "MILK", 219, "oat drink, calcium enriched"),
    ("MLK-OAT-BAR", "Oatly Oat Milk Barista 1 L", "MILK", 259, "oat drink for coffee"),
    ("MLK-SOY-1L", "Alpro Soy Milk 1 L", "MILK", 199, "soya drink"),
    ("MLK-SOY-VAN", "Alpro Soy Milk Vanilla 1 L", "MILK", 229, "vanilla soya drink"),
    ("MLK-STD-1L", "Arla Standard Milk 1 L", "MILK", 129, "whole milk 3 %"),
    ("MLK-ECO-15", "Garant Ecological Milk 1.5 L", "MILK", 189, "organic medium fat milk"),
    ("MLK-LF-1L", "Valio Lactose-free Milk 1 L", "MILK", 179, "lactose free milk drink"),
    ("JCE-ORA-1L", "Bravo Orange Juice 1 L", "JUICE", 249, "orange juice with pulp"),
    ("JCE-ORA-TRP", "Tropicana Orange Juice 1 L", "JUICE", 329, "orange juice, no pulp"),
    ("JCE-APP-1L", "Tropicana Apple Juice 1 L", "JUICE", 299, "pressed apple juice"),
    ("YOG-OAT-1K", "Oatly Natural Oatghurt 1 kg", "YOGHURT", 289, "fermented oat base"),
    ("YOG-NAT-1K", "Arla Natural Yoghurt 1 kg", "YOGHURT", 239, "mild yoghurt"),
    ("YOG-STR-1K", "Arla Strawberry Yoghurt 1 kg", "YOGHURT", 259, "yoghurt with strawberry"),
    ("YOG-SOY-BB", "Alpro Blueberry Soyghurt 500 g", "YOGHURT", 189, "soy yoghurt, blueberry"),
    ("BRK-CFL-500", "Kellogg's Corn Flakes Cereal 500 g", "BREAKFAST", 349, "breakfast cereal"),
    ("BRK-OAT-1K", "Quaker Rolled Oats Porridge 1 kg", "BREAKFAST", 229, "oats for porridge"),
    ("BRK-MUE-750", "Fruit Muesli 750 g", "BREAKFAST", 399, "muesli with raisins and nuts"),
    ("BRK-GRA-500", "Honey Granola 500 g", "BREAKFAST", 429, "crunchy granola with honey"),
    ("BRD-WHL-500", "Wholegrain Bread Loaf 500 g", "BREAD", 249, "sliced wholegrain bread"),
    ("BRD-RYE-400", "Rye Bread 400 g", "BREAD", 219, "dark rye bread"),
    ("SPR-JAM-400", "Strawberry Jam 400 g", "SPREADS", 279, "jam with 50 % fruit"),
    ("SPR-BUT-500", "Arla Butter 500 g", "SPREADS", 449, "salted butter"),
    ("EGG-6", "Free Range Eggs 6 pack", "EGGS", 289, "six eggs"),
    ("EGG-12", "Free Range Eggs 12 pack", "EGGS", 529, "twelve eggs"),
    ("CFE-BEA-500", "Zoegas Coffee Beans 500 g", "COFFEE", 699, "dark roast coffee beans"),
    ("CFE-DEC-500", "Zoegas Decaf Coffee Beans 500 g", "COFFEE", 749, "decaf coffee beans"),
    ("FRT-BAN-1K", "Bananas 1 kg", "FRUIT", 199, "loose bananas"),
    ("FRT-APP-1K", "Apples 1 kg", "FRUIT", 259, "red apples"),
)


def seed_demo(client: CommerceClient, location: str = DEMO_LOCATION, units: int = 20) -> None:
    """Import :data:`DEMO_SKUS`, create the store ``location`` and receive ``units`` of each.

    Raises:
        CommerceError: the API refused a call (e.g. the key may not import SKUs).
    """
    client.import_skus(
        [
            SkuImportRow(
                sku=sku,
                product=sku,
                name=name,
                category=cat,
                description=desc,
                cost_cents=price // 2,
                list_price_cents=price,
            )
            for sku, name, cat, price, desc in DEMO_SKUS
        ]
    )
    client.create_location(
        LocationCreate(
            code=location, kind=LocationKind.STORE, name="Demo store", lat=59.3, lon=18.1
        )
    )
    client.receive(
        ReceiptCreate(
            location=location, lines=[StockLine(sku=s[0], quantity=units) for s in DEMO_SKUS]
        )
    )
