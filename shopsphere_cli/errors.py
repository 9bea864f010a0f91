"""The one mapping from errors to what the ``shopsphere`` command prints and its exit status.

Every package has one exception root; a user's mistake surfaces as one of them, and the CLI
prints ``error: <message naming the field and the bad value>`` on stderr and exits with status
2, never a traceback. Commands either raise :func:`fail` for their own checks or run their body
inside :func:`user_errors`; ``shopsphere_cli.main.main`` wraps the whole command as a safety net.

The roots, in the order they are tried (first match wins):

==============================================  ===========================================
``scenarios.errors.ScenarioError``              the problems, one per line, with file:line
``twin.errors.TwinError``, ``RunError``, ``RunDirError``  the message (names the value)
``policies.registry.PolicyError``               the message (all policy errors, RL, forecasting)
``api.client.base.CommerceError``               "the commerce service refused a call: ..."
``api.services.policy_serving.PolicyConfigError``  the message
``httpx.HTTPError``                             "cannot reach the commerce service: ..."
``sqlalchemy.exc.OperationalError``             "cannot use the database: <first line>"
``pydantic.ValidationError``                    "<field>: <message> (value <value>)"
``OSError``                                     "<path>: <reason>"
==============================================  ===========================================

A class is only looked up if its module is already imported: an exception cannot be an instance
of a class that was never loaded, so this module stays cheap to import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

__all__ = ["EXIT_USAGE", "fail", "message_for", "user_errors"]

EXIT_USAGE = 2
"""Exit status for anything the user can fix (bad input, unreachable service)."""


def _plain(exc: BaseException) -> str:
    return str(exc)


def _commerce(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return f"the commerce service refused a call: {text}"


def _http(exc: BaseException) -> str:
    return f"cannot reach the commerce service: {exc}"


def _database(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()
    return f"cannot use the database: {first[0] if first else type(exc).__name__}"


def _validation(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for err in errors()[:5]:
        field = ".".join(str(p) for p in err.get("loc", ())) or "value"
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{field}: {msg} (value {err.get('input')!r})")
    return "; ".join(parts)


def _os(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


# (module, class name, formatter); first match wins, so subclasses come before their bases.
_ROOTS: tuple[tuple[str, str, Callable[[BaseException], str]], ...] = (
    ("scenarios.errors", "ScenarioError", _plain),
    ("twin.errors", "TwinError", _plain),
    ("twin.runner", "RunError", _plain),
    ("twin.reader", "RunDirError", _plain),
    ("policies.registry", "PolicyError", _plain),
    ("api.client.base", "CommerceError", _commerce),
    ("api.services.policy_serving", "PolicyConfigError", _plain),
    ("httpx", "HTTPError", _http),
    ("sqlalchemy.exc", "OperationalError", _database),
    ("sqlalchemy.exc", "ProgrammingError", _database),
    ("pydantic", "ValidationError", _validation),
    ("builtins", "OSError", _os),
)


def message_for(exc: BaseException) -> str | None:
    """The user-facing message for ``exc``, or None if it is not a user's mistake (a bug)."""
    if isinstance(exc, AssertionError):  # e.g. TwinInvariantError: a broken invariant is a bug
        return None
    for module, name, render in _ROOTS:
        mod = sys.modules.get(module)
        cls = getattr(mod, name, None) if mod is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return render(exc)
    return None


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; return the exit (status 2) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=EXIT_USAGE)


@contextmanager
def user_errors(context: str = "") -> Iterator[None]:
    """Turn a package's error root raised inside the block into ``error: ...`` and exit 2.

    ``context`` prefixes the message (``"--kind 'x': "``). Anything unmapped (a bug) propagates.
    """
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        message = message_for(exc)
        if message is None:
            raise
        raise fail(context + message) from None
