"""Where a run reports itself while it trains: the metrics log, TensorBoard, the progress bar, and the health
monitor's findings (rank 0 writes; the other processes of a distributed run write nothing)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from ..algorithm import distributed
from .monitor import Finding, HealthMonitor, data_spread, sample_diversity
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


class Records:
    """The run's metrics log, TensorBoard, progress bar and health monitor, opened at the game's step."""

    def __init__(self, game, run_dir: Path, progress: bool | None):
        cfg, self.main, self.run_dir = game.cfg, distributed.current().is_main, run_dir
        self.log = MetricsLog(run_dir / METRICS) if self.main else NullLog()
        self.tb = TensorBoardLog.open(cfg.tensorboard, run_dir, game.step) if self.main else None
        show = (sys.stderr.isatty() if progress is None else progress) and self.main
        self.bar = tqdm(total=cfg.steps, initial=game.step, disable=not show, unit="it", dynamic_ncols=True)
        self.monitor = HealthMonitor(game.objective, cfg.g_loss) if self.main else None
        self.spread = data_spread(game.data) if self.main else None  # the data's, for the diversity of G's samples
        if self.monitor and game.step > 0:  # a resumed run: the monitor catches up on the log (its findings are in it)
            self.monitor.replay(game_records(run_dir))
        self.clock = Clock(game.step)

    def write(self, game, rec: dict) -> Finding | None:
        """One metrics record (with the diversity of G's samples) to the log, TensorBoard and the progress bar,
        then the health monitor's new findings; returns the collapse finding if one just set in."""
        findings = []
        if self.main:
            rec["diversity"] = sample_diversity(game, self.spread)
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
            postfix["health"] = ", ".join(sorted(self.monitor.active)) or "ok"
        self.bar.set_postfix(postfix, refresh=False)
        return self._health(findings)

    def _health(self, findings: list[Finding]) -> Finding | None:
        """The health monitor's new findings: into the log, onto the terminal, into TensorBoard as text."""
        collapse = None
        for f in findings:
            self.log.write(f.to_record())
            self.bar.write(f"minimax: warning: {f.line()}", file=sys.stderr)
            if self.tb:
                self.tb.text("health", f.line(), f.step)
            collapse = f if f.condition == "collapse" else collapse
        return collapse

    def rolled_back(self, game, bad: int) -> None:
        """After a roll-back to ``game.step``: the log cut back to it, the event recorded, the bar moved."""
        self.log.close()
        if self.main:
            truncate_metrics(self.run_dir / METRICS, game.step)
            self.log = MetricsLog(self.run_dir / METRICS)
        self.log.write({"step": game.step, "event": "rollback", "nonfinite_step": bad, "lr_scale": game.lr_scale})
        self.bar.reset(total=game.cfg.steps)
        self.bar.update(game.step)

    def close(self) -> None:
        self.bar.close()
        self.log.close()
        if self.tb:
            self.tb.close()
