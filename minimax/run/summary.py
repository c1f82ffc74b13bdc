"""A finished run's summary (``summary.json``): mode coverage and quality on the known mixtures, and the last
logged statistics of the game."""
from __future__ import annotations

from pathlib import Path

import torch

from ..data import KnownDensity
from ..metrics.conditional import class_quality
from ..metrics.modes import mode_metrics
from .runlog import game_records
from .sampling import generate
from .snapshots import EVAL_SEED_OFFSET


def final_metrics(trainer, run_dir: Path) -> dict:
    """For the known mixtures, mode coverage on ``eval_samples`` samples (and each class's quality in the
    conditional game); the last logged V̂, L_D, L_G, D(x) and D(G(z))."""
    out: dict = {}
    data = trainer.data
    if isinstance(data, KnownDensity):
        n, seed = trainer.cfg.eval_samples, trainer.cfg.seed + EVAL_SEED_OFFSET
        x = generate(trainer, n, seed=seed).cpu()
        out.update(mode_metrics(x, data.centres, data.std))
        out["eval_samples"] = n
        if trainer.conditional:  # every class equally often: class i % K
            c = torch.arange(n) % data.n_classes
            out.update(class_quality(generate(trainer, n, seed=seed, classes=c).cpu(), c, data.centres, data.std))
    records = game_records(run_dir)
    if records:
        last = records[-1]
        out.update({f"final_{k}": last[k] for k in ("value", "d_loss", "g_loss", "d_real", "d_fake") if k in last})
    return out
