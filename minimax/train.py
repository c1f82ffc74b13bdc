"""Training a GAN, top to bottom: set up the run, play the game, evaluate, plot.

    run = train(TrainConfig(dataset="ring"))          # or: minimax train

A run directory holds everything about one run (its layout: :mod:`minimax.rundir`).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt
from . import distributed
from .config import TrainConfig
from .data import load_dataset
from .errors import MinimaxError
from .game import Game
from .monitor import HealthMonitor
from .players import build_players, make_players, output_range, player_classes
from .resources import check_fits
from .rundir import (
    CONFIG,
    METRICS,
    SAMPLES,
    SUMMARY,
    RunLock,
    holds_run,
    load_run_config,
    remove_orphans,
    snapshot_name,
    step_of,
)
from .runlog import MetricsLog, NullLog, TensorBoardLog, game_records, truncate_metrics

EVAL_SEED_OFFSET = 7919  # evaluation noise is a separate stream from training noise
DIVERSITY_SEED = 104729  # the health monitor's fixed noise batch, another separate stream
MAX_ROLLBACKS = 5
MAX_GRID_CLASSES = 16  # a conditional run's snapshot grid has one row per class up to this many classes


class TrainingDiverged(MinimaxError):
    exit_code = 3


class GeneratorCollapsed(MinimaxError):
    """``on_collapse = "stop"``: the health monitor found the generator collapsed; the run stopped with a checkpoint."""

    exit_code = 4


class Interrupted(MinimaxError):
    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


@dataclass
class RunResult:
    run_dir: Path
    game: Game
    summary: dict


# ----------------------------------------------------------------------------------------------
# set-up
def resolve_device(name: str) -> torch.device:
    """'auto' and 'cuda' mean the current CUDA device (each process's own in a distributed run)."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if name == "auto":
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MinimaxError(f"device {name!r} requested but CUDA is not available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise MinimaxError(f"invalid device {name!r}") from None


def prepare_run_dir(out: str | None, dataset: str) -> Path:
    """The new run's directory, made and checked writable; a directory that already holds a run is refused
    (a new run never overwrites one: remove it yourself, or continue it with --resume)."""
    path = Path(out) if out else Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test.", suffix=".tmp")  # unique: no race
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise MinimaxError(f"cannot write to run directory {path}: {e.strerror or e}") from None
    refuse_existing_run(path)
    return path


def refuse_existing_run(path: Path) -> None:
    if holds_run(path):
        raise MinimaxError(f"{path} already holds a run; continue it with: minimax train --resume {path} "
                           "(or give another --out, or remove that directory)")


def build_game(cfg: TrainConfig) -> Game:
    """Data, players and optimisers for ``cfg``, seeded: same config -> same initial state."""
    cfg.validate()
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # autotuned conv kernels (GPU runs are not bitwise reproducible)
    data = load_dataset(cfg, device, output_range(cfg.model))
    if player_classes(cfg, data):
        name_classes(cfg, data)
    check_fits(lambda: make_players(cfg, data), cfg.latent_dim, cfg.batch_size * cfg.k, device)
    torch.manual_seed(cfg.seed)
    G, D = build_players(cfg, data)
    return Game(cfg, data, G, D, device)


def name_classes(cfg: TrainConfig, data) -> None:
    """Fill in cfg.class_names from the data, or check the names the config holds against the data's (a folder
    whose sub-folders changed since the run was trained would otherwise relabel its classes silently)."""
    names = tuple(data.class_names)
    if cfg.class_names and tuple(cfg.class_names) != names:
        raise MinimaxError(f"the run's classes are {', '.join(cfg.class_names)}; the data in {cfg.data_dir} has "
                           f"{', '.join(names)}"[:400])
    cfg.class_names = names


def load_run(run_dir: str | Path, steps: int | None = None, resume: bool = False,
             checkpoint: str | Path | None = None) -> Game:
    """The Game of a run directory, restored from its latest checkpoint, or from the file ``checkpoint``
    (``steps`` may extend it; ``resume`` to train on, which needs the number of processes the run was trained
    with)."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    if steps is not None:
        cfg.steps = steps
        cfg.validate()
    if checkpoint is not None:
        tensors, meta = ckpt.read_checkpoint(checkpoint)
    else:
        tensors, meta = ckpt.read_latest(run_dir, warn=lambda msg: print(f"minimax: warning: {msg}", file=sys.stderr))
    if steps is not None and steps < meta["step"]:
        raise MinimaxError(f"--steps {steps} is below the step of the run's latest checkpoint ({meta['step']})")
    game = build_game(cfg)
    ckpt.restore_game(game, tensors, meta, resume=resume)
    return game


def snapshot_steps(steps: int, n: int) -> set[int]:
    """n points of training, evenly spaced from the start (step 0) to the end."""
    if n == 1:
        return {steps}
    return {round(i * steps / (n - 1)) for i in range(n)}


class SignalFlag:
    """SIGINT/SIGTERM only set a flag: the step in flight finishes, then the run checkpoints and exits."""

    def __init__(self):
        self.signum: int | None = None
        self._old = {}

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:  # not in the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:  # Ctrl-C twice: stop now, no checkpoint
            raise KeyboardInterrupt
        self.signum = self.signum or signum  # a repeated SIGTERM does not cut the stop checkpoint short

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


# ----------------------------------------------------------------------------------------------
# the run
def train(cfg: TrainConfig | None = None, resume: str | Path | None = None, steps: int | None = None,
          progress: bool | None = None, plots: bool = True) -> RunResult:
    """Train a GAN with Algorithm 1 and return the run. ``resume`` continues a run directory.

    Under torch.distributed (see :mod:`minimax.distributed`) every process calls this; rank 0 alone
    writes the run directory, and the others return an empty summary."""
    with _open_run(cfg, resume, steps) as (game, run_dir):
        return _play(game, run_dir, progress, plots)


def _play(game: Game, run_dir: Path, progress: bool | None, plots: bool) -> RunResult:
    """Algorithm 1 from the game's step to cfg.steps, with the run's records, checkpoints and signals."""
    cfg, main = game.cfg, distributed.current().is_main
    log = MetricsLog(run_dir / METRICS) if main else NullLog()
    tb = TensorBoardLog.open(cfg.tensorboard, run_dir, game.step) if main else None
    snaps = snapshot_steps(cfg.steps, cfg.snapshots) if main else set()
    show = (sys.stderr.isatty() if progress is None else progress) and main
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=game.step, disable=not show, unit="it", dynamic_ncols=True)
    monitor = HealthMonitor(game.objective, cfg.g_loss) if main else None
    spread = data_spread(game.data) if main else None  # the data's, for the diversity of G's samples
    if monitor and game.step > 0:  # a resumed run: the monitor catches up on the log (its findings are in it)
        monitor.replay(game_records(run_dir))
    rollbacks = 0
    with SignalFlag() as stop:  # from here on SIGINT/SIGTERM only raise a flag, checked every iteration
        try:
            if game.step == 0:  # step 0 is a checkpoint too: a roll-back always has somewhere to go
                ckpt.save_checkpoint(run_dir, game, cfg.keep_checkpoints)
            last_good = ckpt.latest_checkpoint(run_dir)
            if game.step in snaps:
                save_snapshot(run_dir, game, tb)
            clock = _Clock(game.step)
            while game.step < cfg.steps:
                # one iteration of Algorithm 1 (statistics stay on the device except on log steps)
                s = game.step + 1
                log_now = s % cfg.log_every == 0 or s == cfg.steps
                ckpt_now = s % cfg.checkpoint_every == 0 or s == cfg.steps
                game.iteration(diagnose=log_now)
                bar.update(1)
                # divergence: stop, or roll back to the last checkpoint with lower learning rates
                rec = game.read_stats() if log_now else None
                bad = _divergence(game, rec) if log_now or ckpt_now else None
                if bad is not None:
                    if cfg.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS or last_good is None:
                        raise _diverged(bad, last_good)
                    rollbacks += 1
                    log = _roll_back(game, run_dir, last_good, log, bad)
                    bar.reset(total=cfg.steps)
                    bar.update(game.step)
                    continue
                # the metrics record and the health monitor's findings, then the checkpoint (the log is synced
                # first: it never lags)
                collapsed = None
                if rec is not None:
                    findings = []
                    if main:
                        rec["diversity"] = sample_diversity(game, spread)
                        findings = monitor.update(rec)
                    _write_record(rec, clock, log, tb, bar, monitor)
                    collapsed = _report_health(findings, log, tb, bar)
                if log_now and _stop_on_collapse(cfg, game, collapsed):
                    log.sync()
                    last_good = ckpt.save_checkpoint(run_dir, game, cfg.keep_checkpoints)
                    raise GeneratorCollapsed(f"stopped at step {game.step} (--on-collapse stop): generator collapse: "
                                             f"{collapsed.measured if collapsed else 'found by rank 0'}; checkpoint "
                                             f"saved to {last_good}")
                if ckpt_now:
                    log.sync()
                    last_good = ckpt.save_checkpoint(run_dir, game, cfg.keep_checkpoints)
                if game.step in snaps:
                    save_snapshot(run_dir, game, tb)
                # a signal: every process stops at the same step with a checkpoint
                if _should_stop(stop, game, log_now or ckpt_now):
                    log.sync()
                    last_good = ckpt.save_checkpoint(run_dir, game, cfg.keep_checkpoints)
                    raise _interrupted(stop.signum or signal.SIGTERM, game.step, last_good, run_dir)
        finally:
            bar.close()
            log.close()
            if tb:
                tb.close()
    return _finish(game, run_dir, plots)


@contextmanager
def _open_run(cfg: TrainConfig | None, resume: str | Path | None, steps: int | None):
    """``with _open_run(...) as (game, run_dir)``: a resumed run (its log cut back to the checkpoint, the
    temporary files of a killed write removed) or a new one, its directory locked by rank 0 meanwhile."""
    ctx = distributed.current()
    lock = None
    try:
        if resume is not None:
            run_dir = Path(resume)
            if ctx.is_main:
                load_run_config(run_dir)  # a clear error for a missing or foreign directory first
                lock = RunLock(run_dir)
                remove_orphans(run_dir)
            game = load_run(run_dir, steps, resume=True)
            if ctx.is_main:
                truncate_metrics(run_dir / METRICS, game.step)
        else:
            cfg = (cfg or TrainConfig()).validate()
            run_dir = prepare_run_dir(cfg.out, cfg.dataset) if ctx.is_main else None
            if ctx.is_main:  # locked, then checked again: of two processes started together, one trains
                lock = RunLock(run_dir)
                refuse_existing_run(run_dir)
            if ctx.active:  # every process writes to rank 0's directory (its default name has a timestamp)
                run_dir = Path(distributed.broadcast_object(str(run_dir) if ctx.is_main else None))
            cfg.out = str(run_dir)
            game = build_game(cfg)
        if ctx.is_main:
            ckpt.atomic_write_bytes(run_dir / CONFIG, json.dumps(game.cfg.to_dict(), indent=2).encode())
            (run_dir / SAMPLES).mkdir(exist_ok=True)
        yield game, run_dir
    finally:
        if lock is not None:
            lock.release()


class _Clock:
    """Iterations per second between two log records."""

    def __init__(self, step: int):
        self.time, self.step = time.perf_counter(), step

    def rate(self, step: int) -> float:
        now = time.perf_counter()
        rate = (step - self.step) / max(now - self.time, 1e-9)
        self.time, self.step = now, step
        return rate


def _write_record(rec: dict, clock: _Clock, log, tb: TensorBoardLog | None, bar, monitor=None) -> None:
    """One metrics record: to the log, to TensorBoard, and D(x), D(G(z)), V̂ and the monitor's verdict on the
    progress bar."""
    rec["steps_per_sec"] = clock.rate(rec["step"])
    rec.pop("first_nonfinite_step")
    log.write(rec)
    if tb:
        tb.write(rec)
    shown = {"D_x": rec["d_real"], "D_Gz": rec["d_fake"]}
    shown.update({"V": rec["value"]} if "value" in rec else {"L_D": rec["d_loss"]})  # V̂ where the game has one
    postfix = {k: f"{v:.3f}" for k, v in shown.items()}
    if monitor is not None:
        postfix["health"] = ", ".join(sorted(monitor.active)) or "ok"
    bar.set_postfix(postfix, refresh=False)


def _report_health(findings: list, log, tb: TensorBoardLog | None, bar):
    """The health monitor's new findings: into the log, onto the terminal, into TensorBoard as text; returns
    the collapse finding if one just set in."""
    collapse = None
    for f in findings:
        log.write(f.to_record())
        bar.write(f"minimax: warning: {f.line()}", file=sys.stderr)
        if tb:
            tb.text("health", f.line(), f.step)
        collapse = f if f.condition == "collapse" else collapse
    return collapse


def _stop_on_collapse(cfg: TrainConfig, game: Game, collapsed) -> bool:
    """Whether to end the run for a collapse (rank 0 decides; every process hears it on a log step)."""
    stop = cfg.on_collapse == "stop" and collapsed is not None
    return distributed.any_true(stop, game.device) if game.ctx.active else stop


def data_spread(data) -> float:
    """The mean pairwise distance of DIVERSITY_SAMPLES data samples (drawn from a stream of their own)."""
    from .monitor import DIVERSITY_SAMPLES, mean_pairwise_distance

    gen = torch.Generator(device=getattr(data, "device", torch.device("cpu"))).manual_seed(DIVERSITY_SEED)
    return mean_pairwise_distance(data.to_data_space(data.sample(DIVERSITY_SAMPLES, gen)))


def sample_diversity(game: Game, spread: float) -> float:
    """Mean pairwise distance of G's samples on a fixed noise batch over the data's ``spread`` (1 for a generator
    as spread out as the data; → 0 as it collapses)."""
    from .monitor import DIVERSITY_SAMPLES, mean_pairwise_distance

    x = game.generate(DIVERSITY_SAMPLES, seed=game.cfg.seed + DIVERSITY_SEED)
    return mean_pairwise_distance(x) / max(spread, 1e-12)


def _divergence(game: Game, rec: dict | None) -> int | None:
    """The first step with a non-finite loss, or the current step if a parameter is non-finite."""
    if rec is not None and rec["first_nonfinite_step"] >= 0:
        return rec["first_nonfinite_step"]
    if not game.parameters_finite():
        return game.step
    return None


def _roll_back(game: Game, run_dir: Path, checkpoint: Path, log, bad: int):
    """Reload ``checkpoint`` with the learning rates at half of the lower of the checkpoint's and the
    current ones (so repeated roll-backs compound: ½, ¼, ⅛, ...), cut the log back to it; returns the log."""
    current = game.lr_scale
    ckpt.restore_game(game, *ckpt.read_checkpoint(checkpoint))
    game.lr_scale = 0.5 * min(current, game.lr_scale)
    game.set_learning_rate_scale(game.lr_scale)
    log.close()
    if distributed.current().is_main:
        truncate_metrics(run_dir / METRICS, game.step)
        log = MetricsLog(run_dir / METRICS)
    log.write({"step": game.step, "event": "rollback", "nonfinite_step": bad, "lr_scale": game.lr_scale})
    return log


def _diverged(bad: int, last_good: Path | None) -> TrainingDiverged:
    where = f"{last_good} (step {step_of(last_good)})" if last_good else "none"
    return TrainingDiverged(f"training diverged: non-finite loss or parameter at step {bad}; "
                            f"last good checkpoint: {where}")


def _should_stop(stop: SignalFlag, game: Game, meeting: bool) -> bool:
    """Whether a signal arrived; with several processes, whether one arrived at any of them (asked
    only on log and checkpoint steps, where the processes meet anyway)."""
    stopping = stop.signum is not None
    if game.ctx.active:
        stopping = meeting and distributed.any_true(stopping, game.device)
    return stopping


def _interrupted(signum: int, step: int, checkpoint: Path, run_dir: Path) -> Interrupted:
    return Interrupted(f"interrupted by {signal.Signals(signum).name} at step {step}; checkpoint saved to "
                       f"{checkpoint}; continue with: minimax train --resume {run_dir}", signum)


def _finish(game: Game, run_dir: Path, plots: bool) -> RunResult:
    """Rank 0: the final metrics (summary.json) and the plots."""
    ctx = distributed.current()
    if not ctx.is_main:
        return RunResult(run_dir, game, {"step": game.step, "run_dir": str(run_dir)})
    summary = evaluate(game, run_dir)
    summary.update(step=game.step, run_dir=str(run_dir), processes=ctx.world)
    ckpt.atomic_write_bytes(run_dir / SUMMARY, json.dumps(summary, indent=2).encode())
    if plots:
        from .plots import plot_run

        plot_run(run_dir)
    return RunResult(run_dir, game, summary)


def save_snapshot(run_dir: Path, game: Game, tb: TensorBoardLog | None = None) -> None:
    """Generated samples at this step (from the fixed evaluation noise) for the plots. A conditional image run
    with K ≤ 16 classes draws K samples of each class in class order (the grid's row r is class r)."""
    n = min(game.cfg.eval_samples, 2500) if len(game.data.shape) == 1 else 64
    classes = None
    if game.conditional:
        k = game.data.n_classes
        if len(game.data.shape) > 1 and k <= MAX_GRID_CLASSES:
            n = k * k
        classes = torch.arange(k).repeat_interleave(k) if n == k * k else torch.arange(n) % k
    x = game.generate(n, seed=game.cfg.seed + EVAL_SEED_OFFSET, classes=classes).cpu().numpy().astype(np.float32)
    np.save(run_dir / SAMPLES / snapshot_name(game.step), x)
    if hasattr(game.data, "centres") and game.data.dim <= 2:  # D's surface (and G's map) for the replay, Figure 1
        from .replay import save_field

        save_field(run_dir, game)
    if tb:
        tb.samples(game.step, x)


def evaluate(game: Game, run_dir: Path) -> dict:
    """Final metrics: for the known mixtures, mode coverage on ``eval_samples`` samples."""
    from .metrics.conditional import class_quality
    from .metrics.modes import mode_metrics

    out: dict = {}
    data = game.data
    if hasattr(data, "centres"):
        n, seed = game.cfg.eval_samples, game.cfg.seed + EVAL_SEED_OFFSET
        x = game.generate(n, seed=seed).cpu()
        out.update(mode_metrics(x, data.centres, data.std))
        out["eval_samples"] = n
        if game.conditional:  # every class equally often: class i % K
            c = torch.arange(n) % data.n_classes
            out.update(class_quality(game.generate(n, seed=seed, classes=c).cpu(), c, data.centres, data.std))
    records = game_records(run_dir)
    if records:
        last = records[-1]
        out.update({f"final_{k}": last[k] for k in ("value", "d_loss", "g_loss", "d_real", "d_fake") if k in last})
    return out
