"""Reading scenario YAML: syntax errors with line and column, duplicate keys, line lookup.

The loader is PyYAML's safe loader with two YAML 1.1 surprises turned off: dates stay text
(the schema parses them, so ``2026-13-01`` is a message, not a crash) and only
``true``/``false`` are booleans (``no`` stays the text ``'no'``).
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scenarios.distributions import fmt_value
from scenarios.errors import PathPart, Problem, ScenarioError, format_path

if TYPE_CHECKING:
    from scenarios.schema import Scenario

__all__ = ["check_policy_names", "read_yaml"]

LineOf = Callable[[Sequence[PathPart]], int | None]


class _Loader(yaml.SafeLoader):
    """Safe loader without timestamp resolution and with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
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
                        f"duplicate key {name!r} (first at line {seen[name]}; allowed: each key once)",
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
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem("", f"file not found: {source}")], source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem("", f"cannot read the file: {exc}")], source) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
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
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("", f"YAML error: {exc}")], source) from None
    finally:
        loader.dispose()
    if data is None:
        raise ScenarioError(
            [Problem("", "the file is empty (allowed: a mapping of sections)")], source
        )
    return data, _line_finder(node)


def check_policy_names(scenario: Scenario) -> list[Problem]:
    """Problems with policy names and parameter names, checked against ``policies.registry``.

    Skipped (no problems) when the registry cannot be imported or has no policies of a kind
    yet. Missing parameters are not checked: the twin may derive them from the scenario.
    """
    try:
        from policies import registry
    except ImportError:
        return []
    problems: list[Problem] = []
    refs = [
        ("replenishment", "replenishment", scenario.policies.replenishment),
        ("replenishment", "warehouse_replenishment", scenario.policies.warehouse_replenishment),
        ("pricing", "pricing", scenario.policies.pricing),
    ]
    for kind, field, ref in refs:
        if ref is None:
            continue
        known = registry.available(kind).get(kind, [])
        if not known:
            continue
        if ref.name not in known:
            close = difflib.get_close_matches(ref.name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                Problem(
                    f"policies.{field}.name",
                    f"{fmt_value(ref.name)} is not a {kind} policy{hint} (allowed: {', '.join(known)})",
                )
            )
            continue
        params = registry.parameters(kind, ref.name)
        factory = registry.get(kind, ref.name)
        open_ended = any(
            p.kind is inspect.Parameter.VAR_KEYWORD
            for p in inspect.signature(factory).parameters.values()
        )
        if open_ended:
            continue
        for key in ref.params:
            if key not in params:
                close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(
                    Problem(
                        f"policies.{field}.params.{key}",
                        f"unknown parameter {key!r} of {kind} policy {ref.name!r}{hint} "
                        f"(allowed: {', '.join(params) or 'none'})",
                    )
                )
    return problems
