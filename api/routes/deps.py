"""Dependencies shared by the routes (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Path, Request, Response
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool

from api.guard import principal_of
from api.schemas import MAX_ID
from api.services.auth import Authenticator
from api.services.context import Principal, ServiceContext
from api.services.idempotency import run_idempotent

R = TypeVar("R")


async def get_context(request: Request) -> ServiceContext:
    # async: FastAPI runs sync dependencies in the thread pool, one hop per request for nothing
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_principal(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller; a cached key is resolved on the event loop, a cache miss in the thread pool."""
    who = principal_of(request.scope)  # already authenticated by the guard (requests with a body)
    if who is not None:
        return who
    token = x_api_key
    if token is None and authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    auth: Authenticator = request.app.state.auth
    cached = auth.cached(token)
    if cached is not None:
        return cached
    return await run_in_threadpool(auth.authenticate, token)


CtxDep = Annotated[ServiceContext, Depends(get_context)]
WhoDep = Annotated[Principal, Depends(get_principal)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def json_response(model: BaseModel, status_code: int = 200, raw: bytes | None = None) -> Response:
    """Serialise a schema once (hot routes skip FastAPI's re-validation of the return value);
    ``raw``: its JSON, already rendered by the service, sent as is."""
    return Response(
        content=raw if raw is not None else model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
    )


def idem(
    ctx: ServiceContext,
    who: Principal,
    key: str | None,
    scope: str,
    body: object,
    adapter: TypeAdapter[R],
    fn: Callable[[], R],
) -> R:
    """Honour ``Idempotency-Key`` for an unsafe POST (see api.services.idempotency)."""
    return run_idempotent(ctx, who, key, scope, body, adapter, fn)
