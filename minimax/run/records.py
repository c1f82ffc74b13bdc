"""Where a run reports itself while it trains: the metrics log, TensorBoard, the progress bar, and the health
monitor's findings (rank 0 writes; the other processes of a distributed run write nothing)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from ..algorithm import distributed
from .monitor import WINDOW, Finding, HealthMonitor, Yardstick
from .rundir import METRICS
from .runlog import MetricsLog, NullLog, TensorBoardLog, game_records, truncate_metrics


class Clock:
    """Iterations per second between two log records."""

    def __init__(self, step: int):
        self.time, self.step = time.perf_counter(), step

    def rate(self, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.step) / max(now - self.time, 1e-9)
        self.time, self.step = now, step
        return rate


PROGRESS_SECONDS = 30.0  # a plain progress line this often when the output is not a terminal


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


class ProgressLines:
    """The progress bar's plain-text twin for logs, pipes and schedulers (no terminal): one line every
    ``every`` seconds — step, iterations/s, ETA and the health monitor's state — and one at the end."""

    def __init__(self, total: int, initial: int, every: float | None = None, file=None):
        self.total, self.n, self.file = total, initial, file or sys.stderr
        self.every = PROGRESS_SECONDS if every is None else every
        self.postfix: dict = {}
        self.postfix_step: int | None = None  # the step of the record the numbers come from
        self._last = time.perf_counter()
        self._n_last = initial

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.perf_counter() - self._last >= self.every:
            self._line()

    def _line(self) -> None:
        now = time.perf_counter()
        rate = (self.n - self._n_last) / max(now - self._last, 1e-9)
        eta = _duration((self.total - self.n) / rate) if rate > 0 else "?"
        shown = ", ".join(f"{k} {v}" for k, v in self.postfix.items())
        if shown and self.postfix_step is not None:
            shown = f"at step {self.postfix_step}: {shown}"  # (a record is written every --log-every steps)
        print(f"minimax: step {self.n}/{self.total} ({self.n / max(self.total, 1):.0%}) {rate:.1f} it/s, ETA {eta}"
              + (f"; {shown}" if shown else ""), file=self.file, flush=True)
        self._last, self._n_last = now, self.n

    def set_postfix(self, postfix: dict, refresh: bool = False, step: int | None = None) -> None:
        self.postfix, self.postfix_step = dict(postfix), step

    def write(self, line: str, file=None) -> None:
        print(line, file=file or self.file, flush=True)

    def reset(self, total: int) -> None:
        self.total, self.n = total, 0
        self._n_last, self._last = 0, time.perf_counter()

    def close(self) -> None:
        if self.n == self.total and self.n != self._n_last:  # the last line on a finished run (an error says its own)
            self._line()


def progress_display(progress: bool | str | None, total: int, initial: int, main: bool):
    """The progress display: a tqdm bar (``True``; ``None`` on a terminal), plain lines (``"lines"``; ``None``
    without a terminal), or nothing (``False``, and on every process but rank 0)."""
    if progress is None:
        progress = True if sys.stderr.isatty() else "lines"
    if main and progress == "lines":
        return ProgressLines(total, initial)
    return tqdm(total=total, initial=initial, disable=not (main and progress), unit="it", dynamic_ncols=True)


def loaded(trainer) -> str:
    """The line a run starts with: what it trains on, in words (the data source's describe()), and from where."""
    cfg, data = trainer.cfg, trainer.data
    where = f" from {cfg.data_dir}" if cfg.data_dir else ""
    start = f"; resumed at step {trainer.step:,}" if trainer.step else ""
    return f"minimax: data: {cfg.dataset}{where}: {data.describe()}{start}"


class Records:
    """The run's metrics log, TensorBoard, progress bar and health monitor, opened at the game's step."""

    def __init__(self, trainer, run_dir: Path, progress: bool | str | None):
        cfg, self.main, self.run_dir = trainer.cfg, distributed.current().is_main, run_dir
        self.log = MetricsLog(run_dir / METRICS) if self.main else NullLog()
        self.tb = TensorBoardLog.open(cfg.tensorboard, run_dir, trainer.step) if self.main else None
        if self.main and progress is not False:  # (on stderr, with the progress: stdout keeps the results)
            print(loaded(trainer), file=sys.stderr, flush=True)
        self.bar = progress_display(progress, cfg.steps, trainer.step, self.main)
        self.monitor = HealthMonitor(trainer.objective, cfg.g_loss, cfg.k, cfg.steps) if self.main else None
        self.yardstick = Yardstick(trainer.data) if self.main else None  # the data's scales G's samples are measured by
        if self.monitor and trainer.step > 0:  # a resumed run: the monitor catches up on the log (its findings in it)
            self.monitor.replay(game_records(run_dir))
        self.clock = Clock(trainer.step)

    def write(self, trainer, rec: dict) -> Finding | None:
        """One metrics record (with the diversity of G's samples) to the log, TensorBoard and the progress bar,
        then the health monitor's new findings; returns the collapse finding while it persists
        (:meth:`HealthMonitor.persistent`)."""
        findings = []
        if self.main:
            rec.update(self.yardstick.measure(trainer))
            findings = self.monitor.update(rec)
        rec["steps_per_sec"] = self.clock.rate(rec["step"])
        rec.pop("first_nonfinite_step")
        self.log.write(rec)
        if self.tb:
            self.tb.write(rec)
        shown = {"D_x": rec["d_real"], "D_Gz": rec["d_fake"]}
        shown.update({"V": rec["value"]} if "value" in rec else {"L_D": rec["d_loss"]})  # V̂ where the game has one
        postfix = {k: f"{v:.3f}" for k, v in shown.items()}
        if self.monitor is not None:
            seen = len(self.monitor.records)  # a condition is judged over WINDOW records in a row
            postfix["health"] = ", ".join(sorted(self.monitor.active)) or ("ok" if seen >= WINDOW else
                                                                            f"not judged yet ({seen}/{WINDOW} records)")
        if isinstance(self.bar, ProgressLines):
            self.bar.set_postfix(postfix, refresh=False, step=rec["step"])
        else:
            self.bar.set_postfix(postfix, refresh=False)
        self._health(findings)
        if self.monitor is not None and self.monitor.persistent("collapse"):
            return next(f for f in reversed(self.monitor.findings) if f.condition == "collapse")
        return None

    def _health(self, findings: list[Finding]) -> None:
        """The health monitor's new findings and clearings: into the log, onto the terminal, into TensorBoard."""
        for f in findings:
            self.log.write(f.to_record())
            self.bar.write(f"minimax: {'note' if f.cleared else 'warning'}: {f.line()}", file=sys.stderr)
            if self.tb:
                self.tb.text("health", f.line(), f.step)

    def rolled_back(self, trainer, bad: int) -> None:
        """After a roll-back to ``trainer.step``: the log cut back to it, the event recorded, the bar moved."""
        self.log.close()
        if self.main:
            truncate_metrics(self.run_dir / METRICS, trainer.step, len(trainer.steered))
            self.log = MetricsLog(self.run_dir / METRICS)
        self.log.write({"step": trainer.step, "event": "rollback", "nonfinite_step": bad, "lr_scale": trainer.lr_scale})
        self.bar.reset(total=trainer.cfg.steps)
        self.bar.update(trainer.step)

    def close(self) -> None:
        self.bar.close()
        self.log.close()
        if self.tb:
            self.tb.close()
