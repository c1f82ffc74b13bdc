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

import numpy as np

from ..catalogue import STATISTICS
from ..files import atomic_write_bytes, open_append, read_bytes
from .rundir import METRICS, TENSORBOARD


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class MetricsLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._f = open_append(self.path, self.path.parent)  # the run's own file: never through a link or a FIFO

    def write(self, record: dict) -> None:
        self._f.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._f.flush()

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class NullLog:
    """The log of a process that does not write (ranks other than 0 of a distributed run)."""

    def write(self, record: dict) -> None:
        pass

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


def _number(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def well_formed(record) -> bool:
    """Whether a decoded line is a record minimax could have written: an object with an integer step >= 0,
    whose values are numbers or null (an event record's ``event`` and its notes may be text)."""
    if not isinstance(record, dict):
        return False
    step = record.get("step")
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        return False
    if "event" in record:
        return isinstance(record["event"], str)
    return all(_number(v) for v in record.values())


def read_metrics(path: Path, skipped: list[int] | None = None) -> list[dict]:
    """All complete, well-formed records of a metrics log (:func:`well_formed`); a torn last line from a crash,
    undecodable bytes or an edited line are skipped, their line numbers appended to ``skipped``."""
    out = []
    try:
        lines = read_bytes(path, "the metrics log").splitlines()
    except FileNotFoundError:
        return out
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError; deep nesting recurses)
            record = None
        if well_formed(record):
            out.append(record)
        elif skipped is not None and line.strip():
            skipped.append(number)
    return out


def truncate_metrics(path: Path, step: int, steered: int = 0) -> None:
    """Keep only the records with ``step <= step`` and, of the steering events, the first ``steered`` (those the
    checkpoint of ``step`` had taken: a later one at the same step is replayed), rewritten atomically."""
    path = Path(path)
    if not path.exists():
        return
    keep, seen = [], 0
    for r in read_metrics(path):
        if r.get("event") == "steer":
            seen += 1
            if seen > steered:
                continue
        if r.get("step", 0) <= step:
            keep.append(r)
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in keep).encode(), inside=path.parent)


def game_records(run_dir: Path, skipped: list[int] | None = None) -> list[dict]:
    """The records of the game in a run's metrics log (every game logs d_loss; evaluation records do not)."""
    return [r for r in read_metrics(Path(run_dir) / METRICS, skipped) if "d_loss" in r]


class TensorBoardLog:
    """The same records as scalars in TensorBoard (``RUN/tensorboard``), plus samples as images.

    Used only when the ``tensorboard`` package is installed and ``--tensorboard`` is not 'off'.
    On resume, events after the checkpoint's step are purged so the curves stay continuous.
    """

    SCALARS = {tag: key for key, (_, tag) in STATISTICS.items()}  # (minimax.catalogue)

    def __init__(self, run_dir: Path, start_step: int):
        from torch.utils.tensorboard import SummaryWriter  # an optional dependency (the dev extra)

        self.writer = SummaryWriter(str(Path(run_dir) / TENSORBOARD), purge_step=start_step + 1)

    @classmethod
    def open(cls, mode: str, run_dir: Path, start_step: int) -> "TensorBoardLog | None":
        if mode == "off":
            return None
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            return None
        return cls(run_dir, start_step)

    def write(self, record: dict) -> None:
        for tag, key in self.SCALARS.items():
            v = record.get(key)
            if v is not None and math.isfinite(v):
                self.writer.add_scalar(tag, v, record["step"])

    def samples(self, step: int, x) -> None:
        """Images [n, C, H, W] in [0, 1] as a grid; 1-D/2-D samples as a scatter/histogram figure."""
        if x.ndim == 4:
            self.writer.add_images("samples", np.clip(x, 0, 1), step)
            return
        import matplotlib.pyplot as plt  # only when TensorBoard is on: it is not imported by a plain run

        fig, ax = plt.subplots(figsize=(4, 4))
        if x.shape[1] == 2:
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5)
            ax.set_aspect("equal")
        else:
            ax.hist(x[:, 0], bins=60)
        self.writer.add_figure("samples", fig, step)

    def text(self, tag: str, text: str, step: int) -> None:
        """A line of text (the health monitor's findings)."""
        self.writer.add_text(tag, text, step)

    def close(self) -> None:
        self.writer.close()
