"""Errors of the ``scenarios`` package: one root, :class:`ScenarioError`, listing every problem.

A user's mistake in a scenario file is never a traceback. :class:`ScenarioError` carries a list
of :class:`Problem` (path in the file, message, line), and its text reads::

    scenario scenarios/bad.yaml has 2 problems:
      scenarios/bad.yaml:14: world.stores[3].lat: 123.0 is not a latitude (-90..90)
      scenarios/bad.yaml:30: catalog.n_skuz: unknown key 'n_skuz' (did you mean 'n_skus'?)

:func:`problems_from_validation` turns a pydantic ``ValidationError`` into such problems, with
the path written as in the file (``stores[3].lat``; union tags pydantic adds are dropped) and
a message that names the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from scenarios.distributions import fmt_value

__all__ = ["Problem", "ScenarioError", "format_path", "problems_from_validation"]

PathPart = str | int


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a scenario: where (``path``, ``line``) and what (``message``)."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(Exception):
    """A scenario file or object is invalid; ``problems`` lists every problem found.

    The root exception of the ``scenarios`` package. Deliberately not a ``ValueError``, so that
    pydantic lets it through unchanged when a model validator raises it.
    """

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"scenario {self.source}" if self.source else "scenario"
        n = len(self.problems)
        head = f"{where} has {n} problem{'s' if n != 1 else ''}:"
        lines = [head]
        for p in self.problems:
            prefix = ""
            if self.source and p.line is not None:
                prefix = f"{self.source}:{p.line}: "
            elif p.line is not None:
                prefix = f"line {p.line}: "
            lines.append(f"  {prefix}{p}")
        return "\n".join(lines)

    def with_source(
        self, source: str, line_of: Callable[[Sequence[PathPart]], int | None]
    ) -> ScenarioError:
        """A copy naming the file and, where a problem has no line yet, looking it up."""
        fixed = [
            p if p.line is not None else Problem(p.path, p.message, line_of(_parse_path(p.path)))
            for p in self.problems
        ]
        # In file order, so the list reads top to bottom like the file (stable for ties).
        fixed.sort(key=lambda p: p.line if p.line is not None else 0)
        return ScenarioError(fixed, source)


def format_path(parts: Sequence[PathPart]) -> str:
    """``("world", "stores", 3, "lat")`` -> ``world.stores[3].lat``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _parse_path(path: str) -> list[PathPart]:
    """Inverse of :func:`format_path` (for keys without dots or brackets)."""
    parts: list[PathPart] = []
    for chunk in path.split("."):
        if not chunk:
            continue
        name, *indices = chunk.split("[")
        if name:
            parts.append(name)
        for idx in indices:
            parts.append(int(idx.rstrip("]")))
    return parts


# ---- walking the model's types along an error location -----------------------------------
def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the interesting type."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag_of(model: type[BaseModel]) -> str | None:
    for name in ("kind", "mode"):
        field = model.model_fields.get(name)
        if field is not None and get_origin(field.annotation) is Literal:
            return str(get_args(field.annotation)[0])
    return None


def _clean_loc(root: type[BaseModel], loc: Sequence[PathPart]) -> tuple[list[PathPart], Any]:
    """Drop union tags from a pydantic location; also return the type at the last step."""
    tp: Any = root
    out: list[PathPart] = []
    for part in loc:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            members = {(_tag_of(m) if _is_model(m) else None): m for m in get_args(tp)}
            if isinstance(part, str) and part in members:
                tp = members[part]
                continue  # the tag pydantic adds to the location: not a key in the file
            tp = None
            out.append(part)
        elif _is_model(tp):
            out.append(part)
            field = _fields_by_key(tp).get(part) if isinstance(part, str) else None
            tp = field.annotation if field is not None else None
        elif origin in (list, tuple, Sequence):
            out.append(part)
            tp = get_args(tp)[0] if get_args(tp) else None
        elif origin is dict:
            out.append(part)
            tp = get_args(tp)[1] if get_args(tp) else None
        else:
            out.append(part)
            tp = None
    return out, _unwrap(tp) if tp is not None else None


def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key written in the file (the alias where there is one)."""
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def _allowed_keys(root: type[BaseModel], parent_loc: Sequence[PathPart]) -> list[str]:
    _, tp = _clean_loc(root, parent_loc)
    if _is_model(tp):
        return list(_fields_by_key(tp))
    return []


# ---- messages ------------------------------------------------------------------------------
def _range_message(err: Any) -> str:
    ctx = err.get("ctx", {})
    value = fmt_value(err.get("input"))
    bounds = {
        "greater_than": f"> {ctx.get('gt')}",
        "greater_than_equal": f">= {ctx.get('ge')}",
        "less_than": f"< {ctx.get('lt')}",
        "less_than_equal": f"<= {ctx.get('le')}",
    }[err["type"]]
    return f"{value} is out of range (allowed: {bounds})"


def _message(err: Any, root: type[BaseModel], clean: list[PathPart]) -> tuple[list[PathPart], str]:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx", {}) or {}
    shown = fmt_value(value)
    if kind == "extra_forbidden":
        key = clean[-1]
        allowed = _allowed_keys(root, err["loc"][:-1])
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return clean, f"unknown key {str(key)!r}{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return clean, "missing (required)"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return clean, _range_message(err)
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        tag_key = str(ctx.get("discriminator", "kind")).strip("'")
        return [
            *clean,
            tag_key,
        ], f"{fmt_value(ctx.get('tag'))} is not a known {tag_key} (allowed: {tags})"
    if kind == "union_tag_not_found":
        # The tag key is absent; pydantic's ctx names it ("kind" or "mode").
        tag = str(ctx.get("discriminator", "kind")).strip("'")
        _, tp = _clean_loc(root, err["loc"])
        tags = ""
        if tp is not None and get_origin(tp) in (Union, types.UnionType):
            tags = ", ".join(t for t in (_tag_of(m) for m in get_args(tp) if _is_model(m)) if t)
        return [
            *clean,
            tag,
        ], f"missing (required; allowed: {tags})" if tags else "missing (required)"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return clean, f"{shown} is not allowed (allowed: {expected.replace(' or ', ', ')})"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return clean, f"{shown} is not a number"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return clean, f"{shown} is not an integer"
    if kind in ("bool_type", "bool_parsing"):
        return clean, f"{shown} is not true or false"
    if kind in ("string_type",):
        return clean, f"{shown} is not text"
    if kind in ("list_type", "tuple_type"):
        return clean, f"{shown} is not a list"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return clean, f"{shown} is not a mapping (key: value)"
    if kind in ("too_short", "too_long"):
        n = ctx.get("actual_length")
        if kind == "too_short":
            return clean, f"{n} items are too few (allowed: at least {ctx.get('min_length')})"
        return clean, f"{n} items are too many (allowed: at most {ctx.get('max_length')})"
    if kind == "string_pattern_mismatch":
        if "http" in str(ctx.get("pattern", "")):
            return (
                clean,
                f"{shown} is not an http(s) URL (allowed: http://host[:port][/path] or "
                "https://...)",
            )
        return clean, f"{shown} is not a code (allowed: letters, digits and _ . : -)"
    if kind == "string_too_short":
        return clean, f"{shown} is too short (allowed: at least {ctx.get('min_length')} characters)"
    if kind == "string_too_long":
        return (
            clean,
            f"text of {len(str(value))} characters is too long (allowed: at most "
            f"{ctx.get('max_length')})",
        )
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return clean, f"{shown} is not a date (allowed: YYYY-MM-DD)"
    # Our own PydanticCustomError messages are already in the house format.
    return clean, str(err.get("msg", kind))


def problems_from_validation(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One :class:`Problem` per pydantic error, path as in the file, message per house format."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        clean, _ = _clean_loc(root, err["loc"])
        clean, message = _message(err, root, clean)
        key = (format_path(clean), message)
        if key not in seen:  # a union can report the same problem twice
            seen.add(key)
            problems.append(Problem(key[0], message))
    return problems
