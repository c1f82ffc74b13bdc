"""The library's front door: train a run (and draw its plots), sample from it, evaluate it.

    run = minimax.train(minimax.TrainConfig(dataset="grid", out="runs/grid"))
    x = minimax.sample("runs/grid", 1000)
    scores = minimax.evaluate("runs/t1", "fid", data_dir="data/mnist")
"""
from __future__ import annotations

from pathlib import Path

from .algorithm import distributed
from .config import TrainConfig
from .evaluation import evaluate
from .run.loop import RunResult, train_run
from .run.sampling import sample

__all__ = ["train", "sample", "evaluate"]


def train(cfg: TrainConfig | None = None, resume: str | Path | None = None, steps: int | None = None,
          progress: bool | str | None = None, plots: bool = True, threads: int | None = None) -> RunResult:
    """Train a GAN with Algorithm 1 (:func:`minimax.run.loop.train_run`) and, unless ``plots=False``, draw the run's
    PNG plots. ``resume`` continues a run directory; ``steps`` may extend it. ``threads``: CPU threads of this
    process (None: torch's current setting; a resumed run: the count it was trained with)."""
    result = train_run(cfg, resume, steps, progress, threads)
    if plots and distributed.current().is_main:
        from .viz.plots import plot_run  # matplotlib: loaded only to draw

        plot_run(result.run_dir)
    return result
