"""One API key per shopper: deterministic tokens, the bootstrap spec, and key files.

The commerce API has no endpoint that creates keys; keys are stored at server start from
``SHOPSPHERE_BOOTSTRAP_API_KEYS`` (``role:token[:customer_id]``, comma-separated) or with
``shopsphere apikey create``. The replay tool derives every shopper's token from a secret, so a
server it starts gets the spec in its environment, and a server started by someone else gets it
from ``shopsphere replay-trace keys`` (or a JSON key file ``{"staff": tok, "C0001": tok}``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from replay.errors import ReplayError
from replay.trace import STAFF


@dataclass(frozen=True, slots=True)
class KeyBook:
    """Tokens by key name (``staff`` or a shopper id)."""

    tokens: dict[str, str]

    def token(self, name: str) -> str:
        """The token of ``name``.

        Raises:
            ReplayError: no key for that name.
        """
        try:
            return self.tokens[name]
        except KeyError:
            raise ReplayError(f"no API key for {name!r} in the key book") from None

    def bootstrap_spec(self) -> str:
        """``SHOPSPHERE_BOOTSTRAP_API_KEYS`` value storing every key of the book."""
        parts = []
        for name, tok in sorted(self.tokens.items()):
            parts.append(f"staff:{tok}" if name == STAFF else f"customer:{tok}:{name}")
        return ",".join(parts)

    def save(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(self.tokens, option=orjson.OPT_INDENT_2))

    @staticmethod
    def load(path: Path) -> KeyBook:
        """Read a JSON object of name -> token.

        Raises:
            ReplayError: unreadable file or not an object of strings.
        """
        try:
            d = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ReplayError(f"cannot read key file {str(path)!r}: {exc}") from None
        if not isinstance(d, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in d.items()
        ):
            raise ReplayError(f"key file {str(path)!r} must be a JSON object of name -> token")
        return KeyBook(dict(d))


def derive(secret: str, names: Iterable[str]) -> KeyBook:
    """Tokens ``rk_<40 hex>`` derived from ``secret`` for ``staff`` and every name in ``names``.

    Raises:
        ReplayError: an empty secret.
    """
    if not secret:
        raise ReplayError("the key secret must not be empty")
    out = {}
    for name in [STAFF, *names]:
        out[name] = "rk_" + hashlib.sha256(f"{secret}:{name}".encode()).hexdigest()[:40]
    return KeyBook(out)
