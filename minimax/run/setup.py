"""Setting a run up: its device, its directory, and the Trainer of Algorithm 1 built (or restored) from a config.

    trainer = build_trainer(TrainConfig(dataset="grid"))   # data, players and optimisers, seeded
    trainer = load_trainer("runs/grid", resume=True)        # the whole Trainer of a run, to train on

Only training restores a whole Trainer (optimisers, random streams, statistics); sampling, evaluation and the
report load the players alone (:func:`minimax.run.trained.load_trained`).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from .. import registry
from ..algorithm import speed
from ..algorithm.trainer import Trainer
from ..config import TrainConfig
from ..data import load_dataset
from ..errors import MinimaxError
from ..players import build_players, output_range, player_architectures, player_classes
from . import checkpoint as ckpt
from .datacard import check_moved_data
from .resources import check_fits
from .rundir import CONFIG, holds_run, load_run_config


def why_no_cuda() -> str:
    """Why torch offers no CUDA device here, in words."""
    if torch.version.cuda is None:
        return (f"the installed torch {torch.__version__} is a CPU build (install a CUDA build of torch for a GPU, "
                "e.g. without the CPU constraint)")
    return f"torch {torch.__version__} is built for CUDA {torch.version.cuda} but sees no GPU on this machine"


def resolve_device(name: str) -> torch.device:
    """'auto' and 'cuda' mean the current CUDA device (each process's own in a distributed run)."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if name == "auto":
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MinimaxError(f"device {name!r} requested but CUDA is not available: {why_no_cuda()}")
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
    except OSError as e:
        raise MinimaxError(f"cannot write to run directory {path}: {e.strerror or e}") from None
    check_writable(path)
    refuse_existing_run(path)
    return path


def check_writable(*folders: Path) -> None:
    """A file can be made in each folder that exists (a probe, removed at once), else a one-line error before any
    training: a resumed run whose checkpoints/ is not yours fails here, not at its first checkpoint."""
    for folder in folders:
        if not folder.is_dir():
            continue
        try:
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.", suffix=".tmp")  # unique: no race
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise MinimaxError(f"cannot write to run directory {folder}: {e.strerror or e}") from None


def refuse_existing_run(path: Path) -> None:
    if holds_run(path):
        raise MinimaxError(f"{path} already holds a run; continue it with: minimax train --resume {path} "
                           "(or give another --out, or remove that directory)")


def load_data(cfg: TrainConfig, device: torch.device):
    """(the run's training data on ``device``, scaled to its generator's output range; the config with a
    conditional run's class names filled in from the data, or checked against it)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # autotuned conv kernels (GPU runs are not bitwise reproducible)
    data = load_dataset(cfg, device, output_range(cfg.model))
    if player_classes(cfg, data):
        cfg = cfg.replaced(class_names=class_names(cfg, data))
    return data, cfg


def build_trainer(cfg: TrainConfig) -> Trainer:
    """Data, players and optimisers for ``cfg``, seeded: same config -> same initial state."""
    cfg.validate()
    device = resolve_device(cfg.device)
    data, cfg = load_data(cfg, device)
    if cfg.amp == "bf16" and not speed.native_bf16(device):
        print(f"minimax: warning: --amp bf16 on a {device.type} without native bf16 (no AVX512-BF16 or AMX): "
              "torch emulates it, slower than fp32; --amp off trains faster here", file=sys.stderr)
    check_fits(lambda: player_architectures(cfg, data), cfg.latent_dim, cfg.batch_size, device, cfg.k, cfg.pack)
    torch.manual_seed(cfg.seed)
    G, D = build_players(cfg, data)
    check_batch_norm(cfg, G, D)
    return Trainer(cfg, data, G, D, device)


def check_batch_norm(cfg: TrainConfig, G, D) -> None:
    """Batch normalisation in training needs two or more samples (packs, for a packed D) per forward pass."""
    for name, module, per_forward in (("generator", G, cfg.batch_size),
                                      ("discriminator", D, cfg.batch_size // cfg.pack)):
        if per_forward < 2 and speed.couples_batch(module):
            unit = "packs" if name == "discriminator" and cfg.pack > 1 else "samples"
            raise MinimaxError(f"the {name} uses batch normalisation, which needs at least 2 {unit} per minibatch; "
                               f"--batch-size {cfg.batch_size} gives {per_forward}")


def class_names(cfg: TrainConfig, data) -> tuple[str, ...]:
    """The data's class names, checked against those the config holds (a folder whose sub-folders changed since
    the run was trained would otherwise relabel its classes silently)."""
    names = tuple(data.class_names)
    if cfg.class_names and tuple(cfg.class_names) != names:
        raise MinimaxError(f"the run's classes are {', '.join(cfg.class_names)}; the data in {cfg.data_dir} has "
                           f"{', '.join(names)}"[:400])
    return names


def read_run_checkpoint(run_dir: Path, cfg: TrainConfig, checkpoint: str | Path | None = None) -> tuple[dict, dict]:
    """(tensors, metadata) of the file ``checkpoint``, else of the run's newest checkpoint that verifies (a
    newer one that does not is named in a warning); refused when the run's config.json (``cfg``) disagrees with
    the config the checkpoint was written with (:func:`~minimax.run.checkpoint.check_config`)."""
    if checkpoint is not None:
        tensors, meta = ckpt.read_checkpoint(checkpoint)
    else:
        tensors, meta = ckpt.read_latest(run_dir, warn=lambda msg: print(f"minimax: warning: {msg}", file=sys.stderr))
    ckpt.check_config(cfg.to_dict(), meta, str(Path(run_dir) / CONFIG))
    return tensors, meta


def use_threads(threads: int | None) -> None:
    """Set this process's CPU threads (None: leave torch's setting). The count is part of what a CPU run
    computes: torch splits its reductions (a sum, a GEMM's inner products) by thread, so the same run with 1
    and with 2 threads differs in the last bits and then drifts apart; checkpoints record it
    (:func:`~minimax.run.checkpoint.encode_state`)."""
    if threads is not None:
        torch.set_num_threads(check_threads(threads))


def check_threads(threads) -> int:
    """``threads``, if it is a whole number from 1 to the machine's cores; else a one-line error."""
    cores = os.cpu_count() or 1
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= cores:
        raise MinimaxError(f"--threads must be an integer from 1 to this machine's {cores} CPU cores, got {threads!r}")
    return threads


def resume_threads(meta: dict, threads: int | None) -> None:
    """A resumed run continues with the thread count its checkpoint was written with (so it continues bitwise as
    the run would have), unless ``threads`` is given; a different count is warned about."""
    recorded, cores = meta.get("threads"), os.cpu_count() or 1
    why = f"--threads {threads}"
    if threads is None and recorded is not None:
        threads, why = min(recorded, cores), f"this machine has {cores} CPU cores"
    if recorded is not None and threads != recorded:
        print(f"minimax: warning: {why}, but the run was trained with {recorded} threads: it goes on, but not "
              "bitwise as an uninterrupted run would (CPU reductions are split by thread)", file=sys.stderr)
    use_threads(threads)


def load_trainer(run_dir: str | Path, steps: int | None = None, resume: bool = False,
                 checkpoint: str | Path | None = None, threads: int | None = None,
                 on_collapse: str | None = None, data_dir: str | Path | None = None) -> Trainer:
    """The whole Trainer of a run directory, restored from its latest checkpoint, or from the file ``checkpoint``
    (``steps`` may extend it; ``resume`` to train on, which needs the number of processes the run was trained
    with, and takes the thread count it was trained with unless ``threads`` is given; ``on_collapse`` may change
    what a collapse does from here on, e.g. 'warn' to continue a run that --on-collapse stop ended; ``data_dir``
    reads the training data from a new folder, accepted when they are the data the run's card describes)."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    if steps is not None:
        cfg = cfg.replaced(steps=steps)
    if on_collapse is not None:
        cfg = cfg.replaced(on_collapse=on_collapse)
    if data_dir is not None:
        if not registry.datasets()[cfg.dataset].images:
            raise MinimaxError(f"--data-dir applies to image datasets; {run_dir} trains on {cfg.dataset!r}, which "
                               "reads no files")
        cfg = cfg.replaced(data_dir=str(Path(data_dir).absolute()))
    tensors, meta = read_run_checkpoint(run_dir, cfg, checkpoint)
    if steps is not None and steps < meta["step"]:
        raise MinimaxError(f"--steps {steps} is below the step of the run's latest checkpoint ({meta['step']})")
    if resume:
        resume_threads(meta, threads)
    trainer = build_trainer(cfg)
    if data_dir is not None:
        check_moved_data(run_dir, trainer.data, data_dir)
    ckpt.restore_trainer(trainer, tensors, meta, resume=resume)
    return trainer


