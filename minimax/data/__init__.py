"""Training data: every source offers ``sample(m, generator, device)`` in model space,
``shape`` and ``to_data_space``; the built-in toy sets also know their exact density."""
from __future__ import annotations

from ..errors import MinimaxError
from .toy import TOY_DATASETS, GaussianMixture


def load_dataset(cfg, device=None):
    """The dataset named by ``cfg.dataset``, ready to sample on ``device``."""
    if cfg.dataset in TOY_DATASETS:
        return TOY_DATASETS[cfg.dataset]()
    raise MinimaxError(f"unknown dataset {cfg.dataset!r}")


__all__ = ["load_dataset", "GaussianMixture", "TOY_DATASETS"]
