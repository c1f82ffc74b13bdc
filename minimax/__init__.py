r"""minimax: Generative Adversarial Networks whose code reads like the theory.

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]

The layers, top to bottom (docs/architecture.md): the command line (:mod:`minimax.cli`) and this front door
(:mod:`minimax.api`: train, sample, evaluate); evaluation (:mod:`minimax.evaluation`) and pictures
(:mod:`minimax.viz`); running a job (:mod:`minimax.run`); the configuration (:mod:`minimax.config`);
Algorithm 1 (:mod:`minimax.algorithm`); the components: the games (:mod:`minimax.games`, the 2014 game in
:mod:`minimax.games.minimax` and its theory in :mod:`minimax.games.theory`), the players, the data, the
metrics; and at the bottom the errors and atomic files.
"""
from .openmp import choose_wait_policy

# on a busy machine OpenMP's waiting threads sleep instead of spinning (minimax/openmp.py); this takes effect
# only if torch has not been imported yet (the `minimax` command imports this package before torch)
choose_wait_policy()

from ._version import __version__
from .api import evaluate, sample, train
from .config import TrainConfig
from .errors import MinimaxError
from .games.minimax import (
    MinimaxObjective,
    discriminator_loss,
    generator_loss,
    log_d,
    log_one_minus_d,
    non_saturating_generator_loss,
    saturating_generator_loss,
    total_loss,
    value,
)
from .games.theory import optimal_discriminator, optimal_discriminator_logit, virtual_training_criterion

__all__ = [
    "__version__", "log_d", "log_one_minus_d", "MinimaxObjective", "value", "discriminator_loss", "generator_loss",
    "saturating_generator_loss", "non_saturating_generator_loss", "total_loss", "optimal_discriminator",
    "optimal_discriminator_logit", "virtual_training_criterion", "TrainConfig", "MinimaxError", "train",
    "sample", "evaluate",
]
