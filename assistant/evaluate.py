"""Score the grammar on a labelled utterance set (``data/assistant/utterances.jsonl``).

Each line: ``{"text": ..., "intent": ..., "slots": {"items": [{"product", "quantity", "unit",
"brand", "exclude"}], "budget_cents": ...}}``. Slots are compared as a set of
``(name, value)`` pairs (``items.0.product = "oat milk"``, ``budget_cents = 1000``; empty and
null values are not slots), giving micro precision, recall and F1; an utterance's *frame* is
right when its intent and every slot are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UtteranceError
from assistant.grammar import Intent, Parsed, parse

__all__ = ["Labelled", "Scores", "load_utterances", "score", "slot_pairs"]


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    intent: str
    slots: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Scores:
    """Accuracy figures over ``n`` utterances (fractions in [0, 1])."""

    n: int
    intent_accuracy: float
    slot_precision: float
    slot_recall: float
    slot_f1: float
    frame_accuracy: float
    errors: tuple[str, ...]


def load_utterances(path: Path) -> list[Labelled]:
    """Read the labelled set.

    Raises:
        UtteranceError: naming the line of a malformed entry or an unknown intent.
    """
    out: list[Labelled] = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, intent, slots = row["text"], row["intent"], row["slots"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UtteranceError(f"{path}:{no}: malformed utterance line ({exc})") from exc
        if intent not in {i.value for i in Intent}:
            raise UtteranceError(f"{path}:{no}: intent {intent!r} is not one of {list(Intent)}")
        out.append(Labelled(text=text, intent=intent, slots=slots))
    return out


def _value(v: object) -> object:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return tuple(sorted(str(x) for x in v))
    return v


def slot_pairs(slots: Mapping[str, object]) -> set[tuple[str, object]]:
    """The ``(name, value)`` pairs of a slot dict (see the module docstring)."""
    pairs: set[tuple[str, object]] = set()
    budget = slots.get("budget_cents")
    if budget is not None:
        pairs.add(("budget_cents", _value(budget)))
    items = slots.get("items") or []
    assert isinstance(items, list)
    for k, item in enumerate(items):
        for name, v in dict(item).items():
            val = _value(v)
            if val is None or val == () or val == "":
                continue
            pairs.add((f"items.{k}.{name}", val))
    return pairs


def score(rows: Iterable[Labelled]) -> Scores:
    """Parse every utterance and compare with its labels."""
    n = hits = frames = tp = n_pred = n_gold = 0
    errors: list[str] = []
    for row in rows:
        n += 1
        got: Parsed = parse(row.text)
        gold = slot_pairs(row.slots)
        pred = slot_pairs(got.slots())
        ok_intent = got.intent.value == row.intent
        hits += ok_intent
        tp += len(gold & pred)
        n_pred += len(pred)
        n_gold += len(gold)
        if ok_intent and gold == pred:
            frames += 1
        else:
            errors.append(
                f"{row.text!r}: intent {got.intent.value} (gold {row.intent}); "
                f"missed {sorted(map(str, gold - pred))}; extra {sorted(map(str, pred - gold))}"
            )
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_gold if n_gold else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(
        n=n,
        intent_accuracy=hits / n if n else 0.0,
        slot_precision=p,
        slot_recall=r,
        slot_f1=f1,
        frame_accuracy=frames / n if n else 0.0,
        errors=tuple(errors),
    )
