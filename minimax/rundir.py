"""The layout of a run directory: every file name, and the step numbers in them, in one place.

    config.json          the configuration used
    metrics.jsonl        V̂, losses, D(x), D(G(z)), gradient norms, every log_every iterations
    checkpoints/         step-XXXXXXXX.safetensors (the last N kept) and the ``latest`` pointer
    samples/             step-XXXXXXXX.npy: samples from fixed noise at several points of training;
                         for image data also grid-XXXXXXXX.png, their image grids
    summary.json         final metrics (modes, high-quality fraction, reverse KL, final V̂, ...)
    losses.png, discriminator.png, gradients.png     the curves of the game
    samples.png          (1-D and 2-D data) the samples over the data density through training
    tensorboard/         TensorBoard events, when the package is installed
    parzen.json, fid.json, report.html               written by ``minimax eval`` and ``minimax report``
"""
from __future__ import annotations

import re
from pathlib import Path

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
CHECKPOINTS = "checkpoints"
LATEST = "latest"
SAMPLES = "samples"
SAMPLES_PLOT = "samples.png"
CURVE_PLOTS = ("losses.png", "discriminator.png", "gradients.png")
TENSORBOARD = "tensorboard"
PARZEN = "parzen.json"
FID = "fid.json"
REPORT = "report.html"

_STEP_FILE = re.compile(r"^(?:step|grid)-(\d{8,})\.[a-z]+$")
_CHECKPOINT = re.compile(r"^step-\d{8,}\.safetensors$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.safetensors"


def snapshot_name(step: int) -> str:
    return f"step-{step:08d}.npy"


def grid_name(step: int) -> str:
    return f"grid-{step:08d}.png"


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
