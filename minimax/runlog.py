"""The run's metrics log: one JSON object per line (JSONL), append-only.

Non-finite numbers are written as ``null`` so every line is strict JSON.
On resume the log is cut back to the checkpoint's step, so a resumed run's log
is the same as that of a run that was never interrupted.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

METRICS = "metrics.jsonl"


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class MetricsLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._f = open(self.path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._f.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._f.flush()

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def read_metrics(path: Path) -> list[dict]:
    """All complete records of a metrics log (a torn last line from a crash is skipped)."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def truncate_metrics(path: Path, step: int) -> None:
    """Keep only the records with ``step <= step`` (rewritten atomically)."""
    from .checkpoint import atomic_write_bytes

    path = Path(path)
    if not path.exists():
        return
    keep = [r for r in read_metrics(path) if r.get("step", 0) <= step]
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in keep).encode())
