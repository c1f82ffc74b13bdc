"""Training a GAN, top to bottom: open the run, play Algorithm 1 to ``cfg.steps`` with its records, checkpoints
and signals, then write the summary.

    run = train(TrainConfig(dataset="ring"))          # minimax.train(...) also draws the plots

A run directory holds everything about one run (its layout: :mod:`minimax.run.rundir`).
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from ..algorithm import distributed
from ..algorithm.trainer import Trainer
from ..config import SOURCES, TrainConfig
from ..errors import MinimaxError
from ..files import atomic_write_bytes, json_record
from . import checkpoint as ckpt
from .datacard import write_data_card
from .records import Records
from .rundir import (
    CONFIG,
    METRICS,
    SAMPLES,
    SUMMARY,
    RunLock,
    checkpoint_dir,
    holds_run,
    load_run_config,
    remove_orphans,
    step_of,
)
from .runlog import truncate_metrics
from .setup import build_trainer, check_writable, load_trainer, prepare_run_dir, refuse_existing_run, use_threads
from .signals import SignalFlag
from .snapshots import save_snapshot, snapshot_steps
from .steering import Control, Steering, check_steering_file
from .summary import final_metrics

MAX_ROLLBACKS = 5


class TrainingDiverged(MinimaxError):
    """A loss or parameter became non-finite (after the allowed roll-backs with --on-nan rollback); the last good
    checkpoint is kept."""

    exit_code = 3


class GeneratorCollapsed(MinimaxError):
    """``on_collapse = "stop"``: the health monitor found a persistent generator collapse; the run stopped with a
    checkpoint."""

    exit_code = 4
    kind = "stopped"


@dataclass
class RunResult:
    """A finished (or stopped) run: its directory, its Trainer (players, optimisers, streams) and summary.json."""

    run_dir: Path
    trainer: Trainer
    summary: dict


def train_run(cfg: TrainConfig | None = None, resume: str | Path | None = None, steps: int | None = None,
              progress: bool | str | None = None, threads: int | None = None,
              on_collapse: str | None = None, data_dir: str | Path | None = None,
              control: Control | None = None) -> RunResult:
    """Train a GAN with Algorithm 1 and return the run. ``resume`` continues a run directory (``data_dir``: its
    training data from a new folder, checked against its data card). ``threads``: this
    process's CPU threads (:func:`~minimax.run.setup.use_threads`; None: as set, or as the resumed run had).
    ``control``: the live page's commands, taken between iterations (:mod:`minimax.run.steering`; one process only).

    Under torch.distributed (see :mod:`minimax.algorithm.distributed`) every process calls this; rank 0 alone
    writes the run directory, and the others return an empty summary."""
    if control is not None and distributed.current().active:
        raise MinimaxError("a live, steerable run is one process: leave out --nproc (or torchrun) with --live")
    with _open_run(cfg, resume, steps, threads, on_collapse, data_dir) as (trainer, run_dir):
        _play(trainer, run_dir, progress, control)
        return _finish(trainer, run_dir)


def _play(trainer: Trainer, run_dir: Path, progress: bool | str | None, control: Control | None = None) -> None:
    """Algorithm 1 from the game's step to cfg.steps, with the run's records, checkpoints and signals (and the
    steering events, replayed or from the live page, between iterations)."""
    cfg = trainer.cfg
    snaps = snapshot_steps(cfg.steps, cfg.snapshots) if distributed.current().is_main else set()
    records = Records(trainer, run_dir, progress)
    steering = Steering(run_dir, trainer, control, lambda m: records.bar.write(f"minimax: warning: {m}", sys.stderr),
                        lambda: save_snapshot(run_dir, trainer, None))
    if control is not None and control.on_open is not None:
        control.on_open(run_dir)
    rollbacks = 0
    with SignalFlag() as stop:  # from here on SIGINT/SIGTERM only raise a flag, checked every iteration
        try:
            # step 0 is a checkpoint too: a roll-back always has somewhere to go
            if trainer.step == 0:
                ckpt.save_checkpoint(run_dir, trainer, cfg.keep_checkpoints)
            last_good = ckpt.latest_checkpoint(run_dir)
            if trainer.step in snaps:
                save_snapshot(run_dir, trainer, records.tb)
            while trainer.step < cfg.steps:
                # steering between iterations: replayed events, the live page's commands (held while it pauses)
                if steering.active:
                    steering.between_iterations(trainer, records, stop)
                    if stop.should_stop(trainer, True):
                        raise _stop(stop, trainer, run_dir, records)

                # one iteration of Algorithm 1 (the statistics stay on the device except on log steps)
                s = trainer.step + 1
                log_now = s % cfg.log_every == 0 or s == cfg.steps
                ckpt_now = s % cfg.checkpoint_every == 0 or s == cfg.steps
                trainer.iteration(diagnose=log_now)
                records.bar.update(1)

                # divergence: stop, or roll back to the last checkpoint with lower learning rates
                rec = trainer.read_stats() if log_now else None
                bad = _divergence(trainer, rec) if log_now or ckpt_now else None
                if bad is not None:
                    if cfg.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS or last_good is None:
                        raise _diverged(bad, last_good)
                    rollbacks += 1
                    _roll_back(trainer, last_good)
                    records.rolled_back(trainer, bad)
                    continue

                # the metrics record and the health monitor's findings; a persistent collapse stops the run if asked
                collapsed = records.write(trainer, rec) if rec is not None else None
                if log_now and _stop_on_collapse(trainer, collapsed):
                    records.log.sync()
                    last_good = ckpt.save_checkpoint(run_dir, trainer, cfg.keep_checkpoints)
                    what = (f"reported at step {collapsed.step} and held since: {collapsed.measured}"
                            if collapsed else "found by rank 0")
                    raise GeneratorCollapsed(f"at step {trainer.step} (--on-collapse stop): generator collapse, "
                                             f"{what}; checkpoint saved to {last_good}; to train on regardless: "
                                             f"minimax train --resume {run_dir} --on-collapse warn")

                # the checkpoint (the log is synced first: it never lags behind it) and the snapshot
                if ckpt_now:
                    records.log.sync()
                    last_good = ckpt.save_checkpoint(run_dir, trainer, cfg.keep_checkpoints)
                if trainer.step in snaps:
                    save_snapshot(run_dir, trainer, records.tb)

                # a signal: every process stops at the same step with a checkpoint
                if stop.should_stop(trainer, log_now or ckpt_now):
                    raise _stop(stop, trainer, run_dir, records)
        finally:
            records.close()


def _stop(stop: SignalFlag, trainer: Trainer, run_dir: Path, records: Records) -> Exception:
    """A signal arrived: the log synced, a checkpoint, and the exception that ends the run."""
    records.log.sync()
    return stop.interrupted(trainer.step, ckpt.save_checkpoint(run_dir, trainer, trainer.cfg.keep_checkpoints), run_dir)


@contextmanager
def _open_run(cfg: TrainConfig | None, resume: str | Path | None, steps: int | None, threads: int | None,
              on_collapse: str | None = None, data_dir: str | Path | None = None):
    """``with _open_run(...) as (trainer, run_dir)``: a resumed run (its log cut back to the checkpoint, the
    temporary files of a killed write removed) or a new one, its directory locked by rank 0 meanwhile."""
    ctx = distributed.current()
    lock = None
    try:
        if resume is not None:
            run_dir = Path(resume)
            if ctx.is_main:
                load_run_config(run_dir)  # a clear error for a missing or foreign directory first
                lock = RunLock(run_dir)
                check_writable(run_dir, checkpoint_dir(run_dir))
                check_steering_file(run_dir)
                remove_orphans(run_dir)
            trainer = load_trainer(run_dir, steps, resume=True, threads=threads, on_collapse=on_collapse,
                                data_dir=data_dir)
            if ctx.is_main:
                truncate_metrics(run_dir / METRICS, trainer.step, len(trainer.steered))
        else:
            cfg = (cfg or TrainConfig()).validate().check_options_apply()
            fresh = ctx.is_main and not (cfg.out and Path(cfg.out).exists())
            run_dir = prepare_run_dir(cfg.out, cfg.dataset) if ctx.is_main else None
            if ctx.is_main:  # locked, then checked again: of two processes started together, one trains
                lock = RunLock(run_dir)
                refuse_existing_run(run_dir)
            if ctx.active:  # every process writes to rank 0's directory (its default name has a timestamp)
                run_dir = Path(distributed.broadcast_object(str(run_dir) if ctx.is_main else None))
            # data_dir kept absolute, so that sample, eval and export find the data from any folder
            data_dir = cfg.data_dir and str(Path(cfg.data_dir).expanduser().absolute())
            cfg = cfg.replaced(out=str(run_dir), data_dir=data_dir).with_sources(
                {k: cfg.sources[k] for k in ("out", "data_dir")})  # (made absolute, from where they came)
            try:
                use_threads(threads)
                trainer = build_trainer(cfg)
            except BaseException:  # refused before anything was written: leave no folder or lock behind
                if lock is not None:
                    lock.release(remove=fresh or not holds_run(run_dir))
                    lock = None
                if fresh:
                    _remove_if_empty(run_dir)
                raise
        if ctx.is_main:
            record = {**trainer.cfg.to_dict(), SOURCES: trainer.cfg.sources}  # each value and where it came from
            atomic_write_bytes(run_dir / CONFIG, json.dumps(record, indent=2).encode(), inside=run_dir)
            write_data_card(run_dir, trainer.cfg, trainer.data, resumed=resume is not None)
            (run_dir / SAMPLES).mkdir(exist_ok=True)
        yield trainer, run_dir
    finally:
        if lock is not None:
            lock.release()


def _remove_if_empty(run_dir: Path) -> None:
    try:
        run_dir.rmdir()
    except OSError:  # not empty (the user put something there meanwhile): leave it
        pass


def _stop_on_collapse(trainer: Trainer, collapsed) -> bool:
    """Whether to end the run for a collapse (rank 0 decides; every process hears it on a log step)."""
    stop = trainer.cfg.on_collapse == "stop" and collapsed is not None
    return distributed.any_true(stop, trainer.device) if trainer.ctx.active else stop


def _divergence(trainer: Trainer, rec: dict | None) -> int | None:
    """The first step with a non-finite loss, or the current step if a parameter is non-finite."""
    if rec is not None and rec["first_nonfinite_step"] >= 0:
        return rec["first_nonfinite_step"]
    if not parameters_finite(trainer):
        return trainer.step
    return None


def parameters_finite(trainer: Trainer) -> bool:
    return bool(torch.stack([p.isfinite().all() for p in trainer.g_params + trainer.d_params]).all())


def _roll_back(trainer: Trainer, checkpoint: Path) -> None:
    """Reload ``checkpoint`` with the learning rates at half of the lower of the checkpoint's and the
    current ones (so repeated roll-backs compound: ½, ¼, ⅛, ...)."""
    current = trainer.lr_scale
    ckpt.restore_trainer(trainer, *ckpt.read_checkpoint(checkpoint))
    trainer.lr_scale = 0.5 * min(current, trainer.lr_scale)
    trainer.set_learning_rate_scale(trainer.lr_scale)


def _diverged(bad: int, last_good: Path | None) -> TrainingDiverged:
    where = f"{last_good} (step {step_of(last_good)})" if last_good else "none"
    return TrainingDiverged(f"training diverged: non-finite loss or parameter at step {bad}; "
                            f"last good checkpoint: {where}")


def _finish(trainer: Trainer, run_dir: Path) -> RunResult:
    """Rank 0: the final metrics (summary.json)."""
    ctx = distributed.current()
    if not ctx.is_main:
        return RunResult(run_dir, trainer, {"step": trainer.step, "run_dir": str(run_dir)})
    summary = final_metrics(trainer, run_dir)
    summary.update(step=trainer.step, run_dir=str(Path(run_dir).absolute()), processes=ctx.world)  # also on resume
    atomic_write_bytes(run_dir / SUMMARY, json_record(summary), inside=run_dir)  # (reverse KL inf: null, in non_finite)
    return RunResult(run_dir, trainer, summary)
