r"""minimax: Generative Adversarial Networks whose code reads like the theory.

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]

The layers, top to bottom (docs/architecture.md): the command line (:mod:`minimax.cli`) and this front door
(:mod:`minimax.api`: train, sample, evaluate, load); evaluation (:mod:`minimax.evaluation`) and pictures
(:mod:`minimax.viz`); running a job (:mod:`minimax.run`); the configuration (:mod:`minimax.config`);
Algorithm 1 (:mod:`minimax.algorithm`); the components: the games (:mod:`minimax.games`, the 2014 game in
:mod:`minimax.games.minimax` and its theory in :mod:`minimax.games.theory`), the players, the data, the
metrics, all named in :mod:`minimax.catalogue`; and at the bottom the errors and atomic files.

``import minimax`` loads nothing heavy: each name below is imported on first use, so the ``minimax`` command's
``--help`` never loads torch. Before minimax itself first loads torch, it chooses how OpenMP's threads wait
(:mod:`minimax.openmp`: they sleep on a busy machine).
"""
from __future__ import annotations

import importlib
import importlib.util

from ._version import __version__
from .errors import MinimaxError

# each public name and the module that defines it
_HOMES = {
    "train": "api", "sample": "api", "evaluate": "api", "load": "api", "TrainConfig": "config",
    **dict.fromkeys(("MinimaxObjective", "discriminator_loss", "generator_loss", "log_d", "log_one_minus_d",
                     "non_saturating_generator_loss", "saturating_generator_loss", "total_loss", "value"),
                    "games.minimax"),
    **dict.fromkeys(("optimal_discriminator", "optimal_discriminator_logit", "virtual_training_criterion"),
                    "games.theory"),
}
_LIGHT = ("catalogue", "registry", "config", "errors", "files", "openmp", "_version", "cli")  # load no torch


def __getattr__(name: str):
    """A public name (or a sub-module) on first use; the wait policy is chosen before torch first loads."""
    if name not in _HOMES and importlib.util.find_spec(f"{__name__}.{name}") is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOMES.get(name, name)
    if home not in _LIGHT:
        from .openmp import choose_wait_policy

        choose_wait_policy()  # a no-op once torch is loaded or OMP_WAIT_POLICY is set
    module = importlib.import_module(f".{home}", __name__)
    value = getattr(module, name) if name in _HOMES else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__all__ = [
    "__version__", "log_d", "log_one_minus_d", "MinimaxObjective", "value", "discriminator_loss", "generator_loss",
    "saturating_generator_loss", "non_saturating_generator_loss", "total_loss", "optimal_discriminator",
    "optimal_discriminator_logit", "virtual_training_criterion", "TrainConfig", "MinimaxError", "train",
    "sample", "evaluate", "load",
]
