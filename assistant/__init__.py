"""A rule-based shopping assistant over the commerce API (see ``docs/assistant.md``).

``grammar`` turns an utterance into an intent and slots (items with quantity, unit, brand and
exclusions; a budget), ``matching`` ranks catalog SKUs for an item phrase by lexical
embeddings (hashed character n-grams, cosine; no hosted model), and ``agent`` carries the
request out as search and cart calls through :class:`api.client.CommerceClient`, like any other
client. ``evaluate`` scores the parser on ``data/assistant/utterances.jsonl``.

Depends on ``api.client`` and ``api.schemas`` only.
"""

from assistant.agent import Action, Assistant, AssistantReply
from assistant.errors import AssistantError, UtteranceError
from assistant.grammar import Intent, ItemSlot, Parsed, parse

__all__ = [
    "Action",
    "Assistant",
    "AssistantError",
    "AssistantReply",
    "Intent",
    "ItemSlot",
    "Parsed",
    "UtteranceError",
    "parse",
]
