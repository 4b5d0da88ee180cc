"""Merge the per-database passes into bench/results/ and print the table.

    python -m bench.report PASS.json [PASS.json ...] [--results DIR] [--strict]

Writes DIR/latest.json and DIR/<UTC timestamp>.json (same content). --strict exits 1 when a
figure misses its target (a normal run only reports it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*argv: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 — fixed git argv
            ["git", *argv],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 10_000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return text


def table(figures: list[dict[str, Any]]) -> str:
    head = ("database", "figure", "value", "unit", "target", "limit", "")
    rows = [head]
    for f in figures:
        target = f.get("target")
        op = "<" if f.get("better") == "lower" else ">="
        mark = {True: "ok", False: "MISS", None: ""}[f.get("met")]
        rows.append(
            (
                f["database"],
                f["name"],
                _fmt(f["value"]),
                f["unit"],
                f"{op} {_fmt(target)}" if target is not None else "-",
                _fmt(f.get("limit")),
                mark,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {2, 4, 5}
    lines = []
    for n, r in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("passes", nargs="+", type=Path)
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--started", help="when the run started (ISO 8601)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args()

    passes = [json.loads(path.read_text()) for path in args.passes]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    figures = [f for one in passes for f in one["figures"]]
    result = {
        "run": {
            "finished_at": now.isoformat(),
            "started_at": args.started,
            "git_commit": os.environ.get("BENCH_GIT_COMMIT") or _git("rev-parse", "HEAD"),
            "git_dirty": bool(_git("status", "--porcelain", "--", "baton")),
            "host": {
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        },
        "databases": {one["meta"]["database"]: one["meta"] for one in passes},
        "figures": figures,
        "missed_targets": [f"{f['database']}:{f['name']}" for f in figures if f["met"] is False],
    }
    args.results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for name in ("latest.json", f"{stamp}.json"):
        tmp = args.results / f"{name}.tmp"
        tmp.write_text(text)
        tmp.replace(args.results / name)

    print()
    print(table(figures))
    print()
    missed = result["missed_targets"]
    met = sum(1 for f in figures if f["met"] is True)
    print(f"{len(figures)} figures; targets met: {met}, missed: {len(missed)}")
    for name in missed:
        print(f"  MISS {name}")
    print(f"results: {args.results / 'latest.json'} and {args.results / (stamp + '.json')}")
    if args.strict and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
