"""Reading scenario YAML: syntax errors with line and column, duplicate keys, line lookup.

The loader is PyYAML's safe loader with two YAML 1.1 surprises turned off: dates stay text
(the schema parses them, so ``2026-13-01`` is a message, not a crash) and only
``true``/``false`` are booleans (``no`` stays the text ``'no'``).

Hostile or broken files are refused before anything is built from them: files over
``MAX_YAML_BYTES``, NUL bytes and invalid UTF-8 (with line and column), nesting deeper than
``MAX_YAML_DEPTH``, recursive aliases, and alias "bombs" whose expansion exceeds
``MAX_YAML_NODES`` values (counted on the node graph, so the check itself is linear).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from scenarios.errors import PathPart, Problem, ScenarioError, format_path
from scenarios.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

__all__ = ["read_yaml"]

LineOf = Callable[[Sequence[PathPart]], int | None]


class _Loader(yaml.SafeLoader):
    """Safe loader without timestamp resolution, with YAML 1.2 booleans and a depth limit."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nesting deeper than {MAX_YAML_DEPTH} levels (allowed: <= {MAX_YAML_DEPTH})",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call, unused-ignore]
        finally:
            self._depth -= 1


class _TooBigError(Exception):
    def __init__(self, message: str, node: yaml.Node) -> None:
        super().__init__(message)
        self.node = node


def _expanded_size(root: yaml.Node) -> int:
    """Values in the document with aliases expanded; raises :class:`_TooBigError` past the limits.

    Memoised per node, so a chain of aliases doubling at each level costs one visit per node.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, level: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _TooBigError(
                "the YAML has a recursive alias (allowed: aliases to finished values)", node
            )
        if level > 2 * MAX_YAML_DEPTH:
            raise _TooBigError(
                f"the YAML has aliases nesting deeper than {2 * MAX_YAML_DEPTH} levels "
                f"(allowed: <= {2 * MAX_YAML_DEPTH})",
                node,
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, level + 1) + size(v, level + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, level + 1)
        active.discard(key)
        if total > MAX_YAML_NODES:
            raise _TooBigError(
                f"the YAML expands to more than {MAX_YAML_NODES} values through aliases "
                f"(allowed: <= {MAX_YAML_NODES})",
                node,
            )
        sizes[key] = total
        return total

    return size(root, 0)


def _bad_bytes(raw: bytes) -> Problem | None:
    """A NUL byte or invalid UTF-8, with its line and column; None if the text is fine."""
    at = raw.find(b"\x00")
    what = "a NUL byte"
    if at < 0:
        try:
            raw.decode("utf-8")
            return None
        except UnicodeDecodeError as exc:
            at, what = exc.start, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})"
    line = raw.count(b"\n", 0, at) + 1
    column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
    return Problem("", f"{what} at line {line}, column {column} (allowed: UTF-8 text)", line)


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 floats: ``1e30`` and ``5E-3`` are numbers (YAML 1.1 reads them as text, which
# would slip a huge order-up-to level past every numeric bound as a string).
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _line_finder(root: yaml.Node | None) -> LineOf:
    def line_of(path: Sequence[PathPart]) -> int | None:
        node = root
        best: int | None = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        node = value
                        # a key's value may start on the next line; the key's line reads better
                        best = key.start_mark.line + 1
                        break
                else:
                    return best
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and part < len(node.value)
            ):
                node = node.value[part]
                best = node.start_mark.line + 1
            else:
                return best
        return best

    return line_of


def _duplicate_keys(node: yaml.Node | None, path: list[PathPart]) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            line = key.start_mark.line + 1
            if name in seen:
                problems.append(
                    Problem(
                        format_path([*path, name]),
                        f"duplicate key {name!r} (first at line {seen[name]}; allowed: each key "
                        "once)",
                        line,
                    )
                )
            else:
                seen[name] = line
            problems += _duplicate_keys(value, [*path, name])
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, [*path, i])
    return problems


def read_yaml(path: str | Path) -> tuple[Any, LineOf]:
    """Parse a YAML file; return the data and a function from a path to its line (1-based).

    Raises:
        ScenarioError: the file cannot be read, is not valid YAML (with line and column),
            or repeats a key in a mapping.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError([Problem("", f"file not found: {source}")], source) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem("", f"cannot read the file: {exc}")], source) from None
    if len(raw) > MAX_YAML_BYTES:
        raise ScenarioError(
            [Problem("", f"the file is larger than {MAX_YAML_BYTES} bytes (allowed: smaller)")],
            source,
        )
    bad_bytes = _bad_bytes(raw)
    if bad_bytes is not None:
        raise ScenarioError([bad_bytes], source)
    loader = _Loader(raw.decode("utf-8"))
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node)
        problems = _duplicate_keys(node, [])
        if problems:
            raise ScenarioError(problems, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        line = mark.line + 1 if mark else None
        raise ScenarioError(
            [Problem("", f"YAML syntax error at {where}: {what}", line)], source
        ) from None
    except _TooBigError as exc:
        line = exc.node.start_mark.line + 1
        raise ScenarioError([Problem("", str(exc), line)], source) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("", f"YAML error: {exc}")], source) from None
    except RecursionError:  # pragma: no cover - the depth limits above come first
        raise ScenarioError(
            [Problem("", f"nesting too deep (allowed: <= {MAX_YAML_DEPTH} levels)")], source
        ) from None
    finally:
        loader.dispose()
    if data is None:
        raise ScenarioError(
            [Problem("", "the file is empty (allowed: a mapping of sections)")], source
        )
    return data, _line_finder(node)
