"""Replay traces: the native format (version 1) and the conversion of the twin's ``traffic.jsonl``.

A native trace is JSON lines. The first line is a header::

    {"format": "shopsphere-replay", "version": 1, "source": "flash_sale", "meta": {...}}

and every other line is one request (see :class:`TraceRequest`)::

    {"t": 12.5, "session": "s17", "key": "C0000017", "op": "checkout", "method": "POST",
     "path": "/v1/checkout", "body": {"cart_id": "${cart:s17}"}, "idem": "s17-co",
     "sets": "order:s17", "bot": false}

``t`` is seconds from the start of the trace (before time compression). Requests of one
``session`` run in order; sessions are independent. ``${name}`` in the path, or as a whole string
value in the body, is replaced by the ``id`` that the request with ``"sets": name`` received;
a request whose reference was never set (its creator failed) is skipped and counted as
``DEPENDENCY_FAILED``. ``key`` names whose API key is used: ``"staff"`` or a shopper id.
The session named ``"setup"`` runs to completion before the schedule's clock starts.

The twin's ``traffic.jsonl`` (one line per commerce call: ``timestamp``, ``method``, ``path``,
``body``, ``status``, ``latency_ms``, optional ``idempotency_key``; no header) is read by
:func:`from_twin_traffic`. Cart and order ids there are the ids the twin's fresh database gave;
they are recovered as the ordinal of the successful ``POST /v1/carts`` and ``POST
/v1/checkout`` calls (ids are dense from 1 on a fresh database), and become references.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from replay.errors import TraceFormatError

FORMAT = "shopsphere-replay"
VERSION = 1
STAFF = "staff"
SETUP = "setup"
"""Session run to completion before the schedule starts (catalog, locations, stock)."""
_REF = re.compile(r"\$\{([^}]+)\}")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class TraceRequest:
    """One request of a trace.

    Attributes:
        t: scheduled start, seconds from the trace start (before ``--speed`` compression).
        session: requests with the same session run in trace order.
        key: ``"staff"`` or the shopper id whose API key sends the request.
        op: the endpoint label histograms are kept under (``checkout``, ``create_cart``...).
        method: HTTP method.
        path: URL path, may hold ``${ref}`` placeholders.
        body: JSON body (may hold ``"${ref}"`` values) or None.
        idem: idempotency suffix (the tool prefixes the run id); None: derived from the index.
        sets: reference name under which the answer's ``id`` is kept, or None.
        bot: the sender retries hard (no backoff, ignores ``Retry-After``).
        headers: extra request headers (values may be ``${ref}``), e.g. an admission token.
        poll: repeat the request until its answer says ``"admitted": true`` (a waiting room);
            the answer's ``admission_token`` is what ``sets`` keeps.
    """

    t: float
    session: str
    key: str
    op: str
    method: str
    path: str
    body: Any = None
    idem: str | None = None
    sets: str | None = None
    bot: bool = False
    headers: dict[str, str] | None = None
    poll: bool = False

    @property
    def unsafe(self) -> bool:
        return self.method in _UNSAFE

    def needs(self) -> list[str]:
        """Reference names this request waits for."""
        found = _REF.findall(self.path)
        found.extend(_body_refs(self.body))
        found.extend(_body_refs(self.headers))
        return found

    def to_json(self) -> dict[str, object]:
        return {
            "t": round(self.t, 6),
            "session": self.session,
            "key": self.key,
            "op": self.op,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "idem": self.idem,
            "sets": self.sets,
            "bot": bool(self.bot),
            **({"headers": self.headers} if self.headers else {}),
            **({"poll": True} if self.poll else {}),
        }


def _body_refs(body: Any) -> list[str]:
    if isinstance(body, str):
        m = _REF.fullmatch(body)
        return [m.group(1)] if m else []
    if isinstance(body, dict):
        return [r for v in body.values() for r in _body_refs(v)]
    if isinstance(body, list):
        return [r for v in body for r in _body_refs(v)]
    return []


def resolve(req: TraceRequest, refs: dict[str, int | str]) -> tuple[str, Any]:
    """The path and body of ``req`` with every ``${ref}`` replaced by its value.

    Raises:
        KeyError: a reference missing from ``refs``.
    """

    def sub_body(v: Any) -> Any:
        if isinstance(v, str):
            m = _REF.fullmatch(v)
            return refs[m.group(1)] if m else v
        if isinstance(v, dict):
            return {k: sub_body(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub_body(x) for x in v]
        return v

    path = _REF.sub(lambda m: str(refs[m.group(1)]), req.path)
    return path, sub_body(req.body)


def resolve_headers(req: TraceRequest, refs: dict[str, int | str]) -> dict[str, str]:
    """``req.headers`` with ``${ref}`` values replaced (empty when it has none).

    Raises:
        KeyError: a reference missing from ``refs``.
    """
    return {k: _REF.sub(lambda m: str(refs[m.group(1)]), v) for k, v in (req.headers or {}).items()}


@dataclass(slots=True)
class Trace:
    """A header (``source``, ``meta``) and requests sorted by scheduled time."""

    requests: list[TraceRequest]
    source: str = "unknown"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.requests[-1].t if self.requests else 0.0

    def window(self, duration_s: float | None, speed: float = 1.0) -> Trace:
        """The requests scheduled within ``duration_s`` seconds of replay time at ``speed``."""
        if duration_s is None:
            return self
        limit = duration_s * speed
        return Trace([r for r in self.requests if r.t <= limit], self.source, dict(self.meta))

    def shoppers(self) -> list[str]:
        """Every non-staff key, sorted."""
        return sorted({r.key for r in self.requests if r.key != STAFF})

    def save(self, path: Path) -> None:
        """Write the native format (header line, then one line per request)."""
        with path.open("wb") as f:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "source": self.source,
                "meta": self.meta,
            }
            f.write(orjson.dumps(header) + b"\n")
            for r in self.requests:
                f.write(orjson.dumps(r.to_json()) + b"\n")


def _field(d: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in d:
        raise TraceFormatError(f"{where}: missing field {name!r}")
    v = d[name]
    if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
        raise TraceFormatError(f"{where}: field {name!r} has bad value {v!r}")
    return v


def _native_request(d: dict[str, Any], where: str) -> TraceRequest:
    t = float(_field(d, "t", (int, float), where))
    if t < 0:
        raise TraceFormatError(f"{where}: field 't' has bad value {t!r} (negative)")
    method = str(_field(d, "method", str, where)).upper()
    path = _field(d, "path", str, where)
    if not path.startswith("/"):
        raise TraceFormatError(f"{where}: field 'path' has bad value {path!r}")
    return TraceRequest(
        t=t,
        session=str(_field(d, "session", str, where)),
        key=str(_field(d, "key", str, where)),
        op=str(d.get("op") or _op_of(method, path)),
        method=method,
        path=path,
        body=d.get("body"),
        idem=d.get("idem"),
        sets=d.get("sets"),
        bot=bool(d.get("bot", False)),
        headers=d.get("headers") or None,
        poll=bool(d.get("poll", False)),
    )


def _lines(f: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, raw in enumerate(f, start=1):
        if not raw.strip():
            continue
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TraceFormatError(f"{name}:{i}: not JSON ({exc})") from None
        if not isinstance(d, dict):
            raise TraceFormatError(f"{name}:{i}: a line must be a JSON object, got {d!r:.60}")
        yield i, d


def load(path: Path) -> Trace:
    """Read a native trace or a twin ``traffic.jsonl`` (recognised by its first line).

    Raises:
        TraceFormatError: unreadable file, unknown version, or a bad line (named with its number).
    """
    try:
        f = path.open("rb")
    except OSError as exc:
        raise TraceFormatError(f"cannot read trace {str(path)!r}: {exc.strerror}") from None
    with f:
        rows = list(_lines(f, str(path)))
    if not rows:
        raise TraceFormatError(f"trace {str(path)!r} is empty")
    first = rows[0][1]
    if first.get("format") == FORMAT:
        if first.get("version") != VERSION:
            raise TraceFormatError(
                f"{path}:1: field 'version' has bad value {first.get('version')!r} "
                f"(this tool reads version {VERSION})"
            )
        reqs = [_native_request(d, f"{path}:{i}") for i, d in rows[1:]]
        reqs.sort(key=lambda r: r.t)
        return Trace(reqs, str(first.get("source", "unknown")), dict(first.get("meta") or {}))
    if "timestamp" in first:
        return from_twin_traffic((d for _, d in rows), name=str(path))
    raise TraceFormatError(
        f"{path}:1: neither a {FORMAT} header nor a twin traffic line (no 'timestamp')"
    )


_ID = re.compile(r"^/v1/(carts|orders)/(\d+)(/.*)?$")


def _op_of(method: str, path: str) -> str:
    """A stable endpoint label: ``POST /v1/carts/7/lines`` -> ``post_carts_lines``."""
    parts = [p for p in path.split("?")[0].split("/") if p and p != "v1"]
    parts = [p for p in parts if not p.isdigit() and not p.startswith("$")]
    return "_".join([method.lower(), *parts]).replace("-", "_")


_OPS = {
    ("POST", "/v1/carts"): "create_cart",
    ("POST", "/v1/checkout"): "checkout",
    ("GET", "/v1/search"): "search",
}


def from_twin_traffic(lines: Iterable[dict[str, Any]], *, name: str = "traffic") -> Trace:
    """Convert the twin's recorder lines into a trace (see the module docstring).

    Carts become sessions of the shopper who owns them (the ``customer_id`` of the create,
    removed from the body since a customer key always uses its own); everything else is sent
    with the staff key, setup and operations in one ordered ``staff`` session and each order's
    transitions in a session of their own.

    Raises:
        TraceFormatError: a line without a parseable ``timestamp``, ``method`` or ``path``.
    """
    out: list[TraceRequest] = []
    t0: datetime | None = None
    owner: dict[str, str] = {}
    carts = orders = 0
    for i, d in enumerate(lines, start=1):
        where = f"{name}:{i}"
        try:
            ts = datetime.fromisoformat(_field(d, "timestamp", str, where))
        except ValueError:
            raise TraceFormatError(
                f"{where}: field 'timestamp' has bad value {d['timestamp']!r}"
            ) from None
        t0 = t0 or ts
        t = (ts - t0).total_seconds()
        method = str(_field(d, "method", str, where)).upper()
        path = str(_field(d, "path", str, where))
        body = d.get("body")
        status = int(d.get("status", 200))
        ok = 200 <= status < 300
        idem = d.get("idempotency_key")
        op = _OPS.get((method, path)) or _op_of(method, path)
        m = _ID.match(path)
        if method == "POST" and path == "/v1/carts" and isinstance(body, dict):
            shopper = str(body.get("customer_id") or STAFF)
            body = {k: v for k, v in body.items() if k != "customer_id"}
            carts += ok
            ref = f"cart:{carts}"
            sets = ref if ok else None
            session = ref if ok else f"cart-failed:{i}"
            owner[ref] = shopper
            out.append(TraceRequest(t, session, shopper, op, method, path, body, idem, sets))
        elif method == "POST" and path == "/v1/checkout" and isinstance(body, dict):
            ref = f"cart:{body.get('cart_id')}"
            orders += ok
            body = {**body, "cart_id": "${" + ref + "}"}
            sets = f"order:{orders}" if ok else None
            shopper = owner.get(ref, STAFF)
            out.append(TraceRequest(t, ref, shopper, op, method, path, body, idem, sets))
        elif m is not None:
            kind, rid, rest = m.group(1), m.group(2), m.group(3) or ""
            ref = f"{kind[:-1]}:{rid}"
            shopper = owner.get(ref, STAFF)
            new_path = f"/v1/{kind}/${{{ref}}}{rest}"
            out.append(TraceRequest(t, ref, shopper, op, method, new_path, body, idem))
        else:
            # the set-up calls at the first instant (before any shopper) run before the clock
            session = SETUP if t == 0 and all(r.key == STAFF for r in out) else STAFF
            out.append(TraceRequest(t, session, STAFF, op, method, path, body, idem))
    out = [replace(r, idem=r.idem or None) for r in out]
    return Trace(out, "twin", {"converted_from": name, "carts": carts, "orders": orders})
