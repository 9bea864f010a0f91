"""Locations: stores, warehouses and suppliers with coordinates (degrees WGS84)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from api.errors import ConflictError
from api.models import T
from api.schemas import LocationCreate, LocationKind, LocationRead
from api.services.context import Principal, ServiceContext, require_staff

_LOC = T["locations"]


def create_location(ctx: ServiceContext, who: Principal, body: LocationCreate) -> LocationRead:
    """Raises ForbiddenError (customer) or ConflictError (code taken)."""
    require_staff(who, "creating locations")
    with ctx.uow() as u:
        try:
            u.conn.execute(
                insert(_LOC).values(
                    code=body.code, kind=body.kind.value, name=body.name, lat=body.lat, lon=body.lon
                )
            )
        except IntegrityError as exc:
            raise ConflictError(
                f"location {body.code!r} exists", details={"code": body.code}
            ) from exc
        u.commit()
    return LocationRead(code=body.code, kind=body.kind, name=body.name, lat=body.lat, lon=body.lon)


def list_locations(ctx: ServiceContext, who: Principal) -> list[LocationRead]:
    """All locations ordered by code."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(_LOC).order_by(_LOC.c.code)).all()
        conn.rollback()
    return [
        LocationRead(code=r.code, kind=LocationKind(r.kind), name=r.name, lat=r.lat, lon=r.lon)
        for r in rows
    ]
