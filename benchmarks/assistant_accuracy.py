"""Shopping-assistant parser accuracy on the written utterance sets.

    PYTHONPATH=. python benchmarks/assistant_accuracy.py [--errors]

``data/assistant/utterances.jsonl`` (118 utterances, written together with the grammar: a
development set) and ``data/assistant/heldout.jsonl`` (30 utterances written after the grammar
was frozen and not used to change it). Prints intent accuracy, slot precision / recall / F1
(micro, over ``(slot, value)`` pairs) and frame accuracy (intent and every slot right), and
the parse time per utterance (median of 5 passes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from assistant.evaluate import load_utterances, score
from assistant.grammar import parse

DATA = Path(__file__).resolve().parents[1] / "data" / "assistant"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--errors", action="store_true", help="list the utterances parsed wrong")
    a = ap.parse_args()
    print("| set | utterances | intent acc | slot P | slot R | slot F1 | frame acc |")
    print("|---|---|---|---|---|---|---|")
    errors: list[str] = []
    for name in ("utterances", "heldout"):
        rows = load_utterances(DATA / f"{name}.jsonl")
        s = score(rows)
        print(
            f"| {name} | {s.n} | {s.intent_accuracy:.3f} | {s.slot_precision:.3f} | "
            f"{s.slot_recall:.3f} | {s.slot_f1:.3f} | {s.frame_accuracy:.3f} |"
        )
        errors.extend(s.errors)
    texts = [r.text for r in load_utterances(DATA / "utterances.jsonl")]
    passes = []
    for _ in range(5):
        t = time.perf_counter()
        for x in texts:
            parse(x)
        passes.append((time.perf_counter() - t) / len(texts))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"parse time: {statistics.median(passes) * 1e6:.0f} us per utterance "
        f"(median of 5 passes; {os.cpu_count()} cores, load average {load:.1f})"
    )
    if a.errors:
        print("\n".join(errors))


if __name__ == "__main__":
    main()
