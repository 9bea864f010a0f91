"""Pydantic TypeAdapters for results stored by the idempotency layer (shared by both doors)."""

from __future__ import annotations

from pydantic import TypeAdapter

from api.schemas import CartRead, MovementRead, OrderRead, PosSaleResult

A_MOVES: TypeAdapter[list[MovementRead]] = TypeAdapter(list[MovementRead])
A_MOVE: TypeAdapter[MovementRead] = TypeAdapter(MovementRead)
A_POS: TypeAdapter[PosSaleResult] = TypeAdapter(PosSaleResult)
A_CART: TypeAdapter[CartRead] = TypeAdapter(CartRead)
A_ORDER: TypeAdapter[OrderRead] = TypeAdapter(OrderRead)
