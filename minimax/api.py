"""The library's front door: train a run (and draw its plots), sample from it, evaluate it.

    run = minimax.train(minimax.TrainConfig(dataset="grid", out="runs/grid"))
    x = minimax.sample("runs/grid", 1000)
    scores = minimax.evaluate("runs/t1", "fid", data_dir="data/mnist")
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from . import registry, zoo
from .algorithm import distributed
from .config import MAX_NOISE_SEED, MAX_STEPS, TrainConfig
from .errors import MinimaxError, check_integer
from .evaluation import evaluate as _evaluate
from .evaluation.options import EvalOptions
from .run.generator import Generator
from .run.generator import load as _load
from .run.loop import RunResult, train_run
from .run.sampling import check_draw
from .run.sampling import sample as _sample
from .run.steering import Control

__all__ = ["train", "sample", "evaluate", "load"]

MAX_THREADS = 65536
TRAIN_KEYWORDS = [f.name for f in dataclasses.fields(TrainConfig)] + ["resume", "threads", "on_collapse"]


_integer = check_integer  # (the checks of the arguments, one-line errors as on the command line)


def _flag(name: str, v) -> bool:
    if not isinstance(v, bool):
        raise MinimaxError(f"{name} must be True or False, got {v!r}"[:300])
    return v


def _run_dir(name: str, v) -> None:
    if not isinstance(v, (str, Path)):
        raise MinimaxError(f"{name} must be a run directory (a str or Path), got {type(v).__name__}")


def train(cfg: TrainConfig | None = None, resume: str | Path | None = None, steps: int | None = None,
          progress: bool | str | None = None, plots: bool = True, threads: int | None = None,
          on_collapse: str | None = None, data_dir: str | Path | None = None, control=None) -> RunResult:
    """Train a GAN with Algorithm 1 (:func:`minimax.run.loop.train_run`) and, unless ``plots=False``, draw the run's
    PNG plots. ``resume`` continues a run directory; ``steps`` may extend it. ``threads``: CPU threads of this
    process (None: torch's current setting; a resumed run: the count it was trained with). ``on_collapse``, with
    ``resume``: what a collapse does from here on ('warn' continues a run that 'stop' ended). ``data_dir``, with
    ``resume``: the training data moved to this folder (accepted when they are the data the run's card describes:
    the same SHA-256). ``control``: a :class:`~minimax.run.steering.Control` whose commands steer the run between
    iterations (``minimax train --live`` serves them from a page). Arguments of the wrong type or range are one-line
    MinimaxErrors, as on the command line, in Python's words (``data_dir=``, not ``--data-dir``)."""
    try:
        return train_as_command(cfg, resume, steps, progress, plots, threads, on_collapse, data_dir, control)
    except MinimaxError as e:  # the run speaks the command line's flags; Python's caller wrote TrainConfig fields
        if "minimax " not in str(e):  # (a message that quotes a command to type keeps its flags)
            e.args = (python_words(str(e), TRAIN_KEYWORDS),) + e.args[1:]
        raise


def train_as_command(cfg: TrainConfig | None = None, resume: str | Path | None = None, steps: int | None = None,
                     progress: bool | str | None = None, plots: bool = True, threads: int | None = None,
                     on_collapse: str | None = None, data_dir: str | Path | None = None, control=None) -> RunResult:
    """:func:`train` as ``minimax train`` runs it: its errors name the command line's flags."""
    if cfg is not None and not isinstance(cfg, TrainConfig):
        hint = f" (minimax.train(minimax.TrainConfig(dataset={cfg!r})))" if isinstance(cfg, str) else ""
        raise MinimaxError(f"train takes a TrainConfig, not {type(cfg).__name__}{hint}")
    if resume is not None:
        _run_dir("resume", resume)
        resume = zoo.resolve(resume)
    if steps is not None:
        _integer("steps", steps, 1, MAX_STEPS)
    if threads is not None:
        _integer("threads", threads, 1, MAX_THREADS)
    if progress is not None and not isinstance(progress, (bool, str)):
        raise MinimaxError(f"progress must be True, False, 'bar', 'lines' or 'off', got {progress!r}"[:300])
    _flag("plots", plots)
    if on_collapse is not None and resume is None:
        raise MinimaxError("on_collapse= goes with resume=; a new run sets it in its TrainConfig")
    if data_dir is not None:
        if resume is None:
            raise MinimaxError("data_dir= goes with resume=; a new run sets it in its TrainConfig")
        if not isinstance(data_dir, (str, Path)) or not str(data_dir).strip():
            raise MinimaxError(f"data_dir must be a folder (a str or Path), got {data_dir!r}"[:300])
    if control is not None and not isinstance(control, Control):
        raise MinimaxError(f"control must be a minimax.run.steering.Control, got {type(control).__name__}"[:300])
    result = train_run(cfg, resume, steps, progress, threads, on_collapse, data_dir, control)
    if plots and distributed.current().is_main:
        from .viz.plots import plot_run  # matplotlib: loaded only to draw

        plot_run(result.run_dir)
    return result


def sample(run, n: int, classes: Sequence[int | str] | str | None = None, seed: int = 0) -> torch.Tensor:
    """n samples G(z) of a run in data space (:func:`minimax.run.sampling.sample`): ``run`` a run directory or its
    loaded players; with ``classes``, n of each class. Bounds as ``minimax sample``'s: n ≥ 1 and the arrays must fit
    in memory, seed in [0, 2^63 − 1]."""
    if isinstance(run, (str, Path)):
        run = _load(zoo.resolve(run))
    elif not hasattr(run, "cfg"):
        raise MinimaxError(f"sample takes a run directory (a str or Path) or its loaded players, not "
                           f"{type(run).__name__}")
    check_draw(n, seed, run.data.shape, classes)
    return _sample(run, n, classes, seed)


def load(run: str | Path, weights: str = "auto", checkpoint: str | Path | None = None,
         device: str | torch.device | None = None) -> Generator:
    """The trained generator of a run directory, an ``nn.Module`` in data space
    (:class:`minimax.run.generator.Generator`): ``G(z)`` (``G(z, c)``), ``G.sample(n, seed=...)``, ``G.noise(n)``,
    ``G.to(device)``, ``G.prior``, ``G.latent_dim``, ``G.class_names``. ``weights``: 'auto' (the run's weight
    average when it kept one, else G), 'average' or 'raw'. An image run needs no training images."""
    _run_dir("run", run)
    run = zoo.resolve(run)  # zoo:NAME: a pretrained run
    if checkpoint is not None and not isinstance(checkpoint, (str, Path)):
        raise MinimaxError(f"checkpoint must be a file path (a str or Path), got {type(checkpoint).__name__}")
    return _load(run, weights, checkpoint, device)


def evaluate(run: str | Path | None, metric: str, *, write: bool = True, force: bool = False, **options) -> dict:
    """Score a run (a run directory, ``zoo:NAME``, or None to score a folder or real images) with ``metric``, as
    ``minimax eval METRIC`` does; returns the scores and their ``protocol`` record, written to RUN/<metric>.json
    unless ``write=False`` (a record of another protocol is replaced only with ``force=True``).

    Metrics: ``parzen``, ``fid``, ``kid``, ``pr`` (precision and recall), ``is``, ``modes`` (Stacked MNIST),
    ``conditional`` (a conditional run's class accuracy and intra-class FID), and any a plugin declares
    (:func:`minimax.registry.metrics`). Options (keywords; those a metric does not use are ignored): ``data_dir``
    (the data set's files), ``n`` (samples), ``seed``, ``real`` (score real training images), ``dataset``,
    ``cache_dir``, ``features`` ('classifier' or 'inception'), ``inception_weights`` (the pytorch-fid weights file),
    ``classifier_data`` (MNIST's IDX files: folders of 28×28 digits scored in the digit classifier's features),
    ``real_dir`` / ``fake_dir`` (folders of images: any folder against any folder), ``image_size``, ``record``,
    ``quiet``; and the metric's own, as its declaration gives them: ``subsets`` and ``subset_size`` (KID; ``"auto"``
    or None: 1,000 or the smaller set's size), ``splits`` (IS), ``every_checkpoint`` (modes). Integers are refused
    when they are not integers (a 10.7 is not truncated), unknown keywords name the valid ones, and errors name the
    keyword (``data_dir=``), not the command line's flag."""
    registry.check()
    _flag("write", write)
    _flag("force", force)
    if run is not None:
        _run_dir("run", run)
    if not isinstance(metric, str):
        raise MinimaxError(f"metric must be a name (str), got {type(metric).__name__}")
    if metric not in registry.metrics():
        raise MinimaxError(f"unknown metric {metric!r}; choose one of {', '.join(registry.metrics())}")
    EvalOptions.refuse_unknown(metric, options)  # (the metric's own are checked by EvalOptions.build)
    known = EvalOptions.keywords(metric)
    for name in ("n", "seed", "image_size"):
        if options.get(name) is not None:
            _integer(name, options[name], 0 if name == "seed" else 1, MAX_NOISE_SEED if name == "seed" else None)
    for name in ("real", "quiet"):
        if name in options:
            _flag(name, options[name])
    for name in ("data_dir", "cache_dir", "inception_weights", "classifier_data", "real_dir", "fake_dir", "record"):
        if options.get(name) is not None and not isinstance(options[name], (str, Path)):
            raise MinimaxError(f"{name} must be a path (a str or Path), got {type(options[name]).__name__}")
    try:
        return _evaluate(zoo.resolve(run), metric, write=write, force=force, **options)
    except MinimaxError as e:  # the evaluation speaks the command line's flags; Python's caller wrote keywords
        e.args = (python_words(str(e), known),) + e.args[1:]
        raise


def python_words(message: str, keywords) -> str:
    """``message`` with each command-line flag of a keyword (--inception-weights FILE) written as the keyword
    (inception_weights=FILE)."""
    for name in sorted(keywords, key=len, reverse=True):
        def keyword(m: re.Match, name=name) -> str:
            if m.group(1):  # --n 500, --data-dir DIR: n=500, data_dir=DIR
                return f"{name}={m.group(1)}"
            return name if m.string[m.end():].startswith(" must") else f"{name}="  # (--seed must be ...: seed must be)
        message = re.sub(rf"--{name.replace('_', '-')}(?![\w-])(?: ([A-Z][A-Z_]*|\d[\d.]*))?", keyword, message)
    return message
