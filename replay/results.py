"""Replay results: Parquet, a JSON summary, HDR logs, and a Markdown report with plots.

Files written into the output directory:

* ``requests.parquet``: one row per trace request (:class:`replay.engine.Outcome` fields).
* ``faults.parquet``: the fault windows (action, start_s, end_s, detail).
* ``summary.json``: per-endpoint percentiles from the HDR histograms (corrected: from the
  scheduled time; uncorrected: from the last send), answers by code, 429s, orders
  acknowledged, and the post-run checks when they ran.
* ``hdr/<op>.hdr``: the corrected histograms, base64 HDR encoding (``HdrHistogram.decode``).
* ``report.md`` with ``throughput.png``, ``latency.png`` and ``errors.png``; fault windows are
  shaded on every plot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from replay.engine import ReplayResult

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def histogram_summary(result: ReplayResult) -> dict[str, dict[str, float]]:
    """Per endpoint: count and p50/p90/p99/p99.9/max in milliseconds, corrected and not."""
    out: dict[str, dict[str, float]] = {}
    for op, h in sorted(result.corrected.items()):
        u = result.uncorrected[op]
        row: dict[str, float] = {"count": float(h.get_total_count())}
        for p in PERCENTILES:
            row[f"p{p:g}_ms"] = h.get_value_at_percentile(p) / 1000.0
            row[f"service_p{p:g}_ms"] = u.get_value_at_percentile(p) / 1000.0
        row["max_ms"] = h.get_max_value() / 1000.0
        row["service_max_ms"] = u.get_max_value() / 1000.0
        out[op] = row
    return out


def summarize(result: ReplayResult, checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's headline figures (see the module docstring)."""
    outs = result.outcomes
    codes = Counter(o.code for o in outs)
    by_op: dict[str, Counter[str]] = {}
    for o in outs:
        by_op.setdefault(o.op, Counter())[o.code] += 1
    checkout = [o for o in outs if o.op == "checkout"]
    acked = sorted(o.entity_id for o in checkout if o.status == 201 and o.entity_id is not None)
    span = max((o.end_s for o in outs), default=0.0)
    return {
        "run_id": result.run_id,
        "speed": result.speed,
        "requests": len(outs),
        "wall_s": round(result.wall_s, 3),
        "answered_per_s": round(sum(1 for o in outs if o.status) / span, 1) if span else 0.0,
        "codes": dict(codes.most_common()),
        "codes_by_op": {k: dict(v.most_common()) for k, v in sorted(by_op.items())},
        "responses_429": sum(o.n429 for o in outs),
        "requests_retried": sum(1 for o in outs if o.attempts > 1),
        "checkouts_attempted": len(checkout),
        "waiting_room_admissions": sum(1 for o in outs if o.admitted),
        "waiting_room_sessions": sum(1 for o in outs if o.op == "waiting_room"),
        "orders_acknowledged": len(acked),
        "latency": histogram_summary(result),
        "faults": [asdict(f) for f in result.faults],
        "checks": checks or {},
    }


def acknowledged_orders(result: ReplayResult) -> list[int]:
    """Ids of the orders the API acknowledged (201 on checkout)."""
    return sorted(
        o.entity_id
        for o in result.outcomes
        if o.op == "checkout" and o.status == 201 and o.entity_id is not None
    )


def write_results(
    result: ReplayResult, out_dir: Path, checks: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write every result file into ``out_dir`` (created); returns the summary."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([asdict(o) for o in result.outcomes])
    if df.empty:
        df = pd.DataFrame(columns=["index", "op", "code", "status", "sched_s", "end_s"])
    df["entity_id"] = df.get("entity_id", pd.Series(dtype="Int64")).astype("Int64")
    df.to_parquet(out_dir / "requests.parquet", index=False)
    faults = pd.DataFrame(
        [asdict(f) for f in result.faults], columns=["action", "start_s", "end_s", "detail"]
    )
    faults.to_parquet(out_dir / "faults.parquet", index=False)
    hdr_dir = out_dir / "hdr"
    hdr_dir.mkdir(exist_ok=True)
    for op, h in result.corrected.items():
        (hdr_dir / f"{op}.hdr").write_bytes(h.encode())
    summary = summarize(result, checks)
    (out_dir / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    _plots(df, result, out_dir)
    (out_dir / "report.md").write_text(_markdown(summary))
    return summary


def _shade(ax: Any, result: ReplayResult) -> None:
    for f in result.faults:
        ax.axvspan(f.start_s, max(f.end_s, f.start_s + 0.2), color="red", alpha=0.15)
        ax.text(f.start_s, ax.get_ylim()[1] * 0.95, f.action, fontsize=7, color="darkred")


def _plots(df: Any, result: ReplayResult, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if df.empty:
        return
    sec = np.floor(df["end_s"].astype(float)).astype(int)
    # throughput: answers per second, ok vs not
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ok = df["code"] == "OK"
    ax.plot(sec[ok].value_counts().sort_index(), label="2xx/3xx")
    ax.plot(sec[~ok].value_counts().sort_index(), label="errors")
    ax.set_xlabel("replay time (s)")
    ax.set_ylabel("answers / s")
    ax.legend()
    _shade(ax, result)
    fig.tight_layout()
    fig.savefig(out_dir / "throughput.png", dpi=100)
    plt.close(fig)
    # latency percentiles over time, per scheduled second (corrected)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    answered = df[df["status"] > 0]
    for op in ("checkout", "create_cart"):
        part = answered[answered["op"] == op]
        if part.empty:
            continue
        g = part.groupby(np.floor(part["sched_s"]).astype(int))["latency_ms"]
        ax.plot(g.quantile(0.5), label=f"{op} p50")
        ax.plot(g.quantile(0.99), label=f"{op} p99")
    ax.set_yscale("log")
    ax.set_xlabel("scheduled time (s)")
    ax.set_ylabel("latency from schedule (ms)")
    ax.legend(fontsize=7)
    _shade(ax, result)
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=100)
    plt.close(fig)
    # errors by code over time
    fig, ax = plt.subplots(figsize=(8, 3.5))
    errs = df[~ok]
    for code, part in errs.groupby("code"):
        ax.plot(np.floor(part["end_s"]).astype(int).value_counts().sort_index(), label=str(code))
    ax.set_xlabel("replay time (s)")
    ax.set_ylabel("errors / s")
    if not errs.empty:
        ax.legend(fontsize=7)
    _shade(ax, result)
    fig.tight_layout()
    fig.savefig(out_dir / "errors.png", dpi=100)
    plt.close(fig)


def _markdown(s: dict[str, Any]) -> str:
    lines = [
        f"# Replay {s['run_id']}",
        "",
        f"{s['requests']} requests at speed {s['speed']}x in {s['wall_s']} s wall; "
        f"{s['answered_per_s']} answers/s. Checkouts attempted {s['checkouts_attempted']}, "
        f"orders acknowledged {s['orders_acknowledged']}; 429 answers {s['responses_429']}; "
        f"requests retried {s['requests_retried']}; waiting-room admissions "
        f"{s['waiting_room_admissions']} of {s['waiting_room_sessions']}.",
        "",
        "Latency is measured from each request's scheduled time (open loop, corrected for "
        "coordinated omission); `service` is from the last send, what a closed-loop tool shows.",
        "",
        "| endpoint | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | service p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for op, r in s["latency"].items():
        lines.append(
            f"| {op} | {int(r['count'])} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['p99.9_ms']:.1f} | {r['max_ms']:.1f} | "
            f"{r['service_p99_ms']:.1f} |"
        )
    lines += ["", "## Answers by code", "", "| code | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s["codes"].items()]
    if s["faults"]:
        lines += [
            "",
            "## Fault windows",
            "",
            "| action | start s | end s | detail |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {f['action']} | {f['start_s']:.2f} | {f['end_s']:.2f} | {f['detail']} |"
            for f in s["faults"]
        ]
    if s["checks"]:
        lines += ["", "## Post-run checks", "", "| check | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in s["checks"].items()]
    lines += [
        "",
        "![throughput](throughput.png)",
        "",
        "![latency](latency.png)",
        "",
        "![errors](errors.png)",
        "",
    ]
    return "\n".join(lines)
