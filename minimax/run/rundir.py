"""The layout of a run directory: every file name, and the step numbers in them, in one place.

    config.json          the configuration used
    data.safetensors     (image data) the data card: shape, map to pixels, class names and labels, a digest of
                         the training set, 32 real images: sampling and reporting need no training images
    metrics.jsonl        V̂, losses, D(x), D(G(z)), gradient norms, every log_every iterations
    checkpoints/         step-XXXXXXXX.safetensors (the last N kept) and the ``latest`` pointer
    samples/             step-XXXXXXXX.npy: samples from fixed noise at several points of training;
                         for image data also grid-XXXXXXXX.png, their image grids; for 1-D and 2-D data
                         field-XXXXXXXX.npz, D on a grid (and, 1-D, the map z -> G(z)) for the replay
    figure1.png          (1-D data) Figure 1 of Goodfellow et al. (2014) drawn from the run
    summary.json         final metrics (modes, high-quality fraction, reverse KL, final V̂, ...)
    losses.png, discriminator.png, gradients.png     the curves of the game
    samples.png          (1-D and 2-D data) the samples over the data density through training
    tensorboard/         TensorBoard events, when the package is installed
    parzen.json, fid.json, kid.json, pr.json, is.json, modes.json, conditional.json: ``minimax eval`` (scores +
                         protocol); report.html: ``minimax report``
    .lock                the lock held (an OS file lock) by the one process that trains into the run

A directory that already holds a run (a config.json, metrics.jsonl or checkpoints/) is never trained into
again except by ``--resume``; the lock refuses a second process while one trains.
"""
from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from .. import registry
from ..config import TrainConfig
from ..errors import MinimaxError
from ..files import writable_file

CONFIG = "config.json"
DATA_CARD = "data.safetensors"  # what using G needs of the training images (minimax.run.datacard)
METRICS = "metrics.jsonl"
STEERING = "steering.jsonl"  # the events of a run steered from its live page (minimax.run.steering)
SUMMARY = "summary.json"
CHECKPOINTS = "checkpoints"
LATEST = "latest"
SAMPLES = "samples"
SAMPLES_PLOT = "samples.png"
FIGURE1 = "figure1.png"
CURVE_PLOTS = ("losses.png", "discriminator.png", "gradients.png")
TENSORBOARD = "tensorboard"
LOCK = ".lock"
EVALUATIONS = tuple(metric.file for metric in registry.metrics().values())  # parzen.json, fid.json, ...
REPORT = "report.html"

_STEP_FILE = re.compile(r"^(?:step|grid|field)-(\d{8,})\.[a-z]+$")
_CHECKPOINT = re.compile(r"^step-\d{8,}\.safetensors$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def snapshot_name(step: int) -> str:
    return f"step-{step:08d}.npy"


def grid_name(step: int) -> str:
    return f"grid-{step:08d}.png"


def field_name(step: int) -> str:
    return f"field-{step:08d}.npz"


def step_of(path: str | Path) -> int | None:
    """The step in a checkpoint, snapshot or grid file name (``step-00001000.safetensors`` -> 1000), else None."""
    m = _STEP_FILE.match(Path(path).name)
    return int(m.group(1)) if m else None


def is_checkpoint(path: str | Path) -> bool:
    """Whether the file name is a checkpoint's (temporary files of an unfinished write are not)."""
    return _CHECKPOINT.match(Path(path).name) is not None


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def snapshot_files(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, file) of the run's sample snapshots, in step order."""
    folder = Path(run_dir) / SAMPLES
    found = [(step_of(p), p) for p in folder.glob("step-*.npy")] if folder.is_dir() else []
    return sorted((s, p) for s, p in found if s is not None)


def field_files(run_dir: str | Path) -> dict[int, Path]:
    """{step: file} of the run's discriminator fields (1-D and 2-D data; see :mod:`minimax.run.snapshots`)."""
    folder = Path(run_dir) / SAMPLES
    found = [(step_of(p), p) for p in folder.glob("field-*.npz")] if folder.is_dir() else []
    return {s: p for s, p in found if s is not None}


def holds_run(run_dir: str | Path) -> bool:
    """Whether the folder already holds (part of) a minimax run."""
    d = Path(run_dir)
    return any((d / name).exists() for name in (CONFIG, METRICS, CHECKPOINTS))


RUN_FILES = frozenset({CONFIG, DATA_CARD, METRICS, STEERING, SUMMARY, CHECKPOINTS, SAMPLES, SAMPLES_PLOT, FIGURE1,
                       *CURVE_PLOTS, TENSORBOARD, LOCK, *EVALUATIONS})


def output_file(path: str | Path, flag: str, owns) -> Path:
    """Where a command may write the output file ``path`` (given by ``flag``): a new path or a regular file (see
    :func:`~minimax.files.writable_file`); inside a run directory only a new file or one of the command's own
    (``owns(name)``), never one of the run's files nor anything in its sub-folders."""
    target = writable_file(path, flag)
    for run in (target.parent, target.parent.parent):
        if not holds_run(run):
            continue
        if run != target.parent:
            raise MinimaxError(f"{flag} {path} is inside run {run}'s {target.parent.name}/ folder; write elsewhere")
        name = target.name
        if name in RUN_FILES or name.startswith(".") or name.endswith(".history.jsonl"):
            raise MinimaxError(f"{flag} {path} is one of run {run}'s own files; write elsewhere")
        if target.exists() and not owns(name):
            raise MinimaxError(f"{flag} {path} exists in run {run} and was not written by this command; give a "
                               "new name")
    return target


def remove_orphans(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files of writes that a killed process never finished (``.NAME.XXXX.tmp``, see
    checkpoint.atomic_write_bytes). Only the lock holder may call this; returns what was removed."""
    gone = []
    for folder in (Path(run_dir), checkpoint_dir(run_dir)):
        for p in folder.glob(".*.tmp") if folder.is_dir() else ():
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


class RunLock:
    """An exclusive OS lock (flock) on ``RUN/.lock`` for as long as a process trains into the run.
    The kernel releases it when the process ends, however it ends (kill -9 included)."""

    def __init__(self, run_dir: str | Path):
        path = self.path = Path(run_dir) / LOCK
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise MinimaxError(f"cannot write to run directory {run_dir}: {e.strerror or e}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise MinimaxError(f"run directory {run_dir} is in use by another minimax process (pid {holder})") \
                from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self, remove: bool = False) -> None:
        """Drop the lock; with ``remove``, delete the lock file first (only for a folder that holds no run: a run
        refused before it wrote anything), while still holding it, so no other process holds a lock on it."""
        if self._fd is not None:
            if remove:
                self.path.unlink(missing_ok=True)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def load_run_config(run_dir: str | Path):
    """The :class:`~minimax.config.TrainConfig` a run directory was trained with (checked like any input)."""
    if not Path(run_dir).is_dir():
        raise MinimaxError(f"run directory {run_dir} does not exist")
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise MinimaxError(f"{run_dir} is not a minimax run directory (no {CONFIG})")
    return TrainConfig.from_file(path)
