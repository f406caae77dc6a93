"""What every benchmark shares: timing, the machine it ran on, a table, a results file."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url(schema: str) -> str | None:
    """A URL for a fresh, empty `schema` on the local PostgreSQL, or None when none answers."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        return f"{POSTGRES}?options=-csearch_path%3D{schema}"
    except Exception:
        return None


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    found = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
             "platform": platform.platform(), "hostname": platform.node()}
    torch = sys.modules.get("torch")  # only when the benchmark itself used torch
    if torch is not None and torch.cuda.is_available():
        found["gpu"] = torch.cuda.get_device_name(0)
    return found


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    """The fastest of `repeat` runs of `fn`, in seconds (the least disturbed measurement)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def report(area: str, rows: list[dict[str, Any]], notes: list[str]) -> Path:
    """Print `rows` as a table and write them, with the machine, to results/<area>.json."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
    for note in notes:
        print(f"- {note}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{area}.json"
    out.write_text(json.dumps({"area": area, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "machine": machine(), "rows": rows, "notes": notes}, indent=2))
    print(f"written to {out}")
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)
