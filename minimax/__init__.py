r"""minimax: Generative Adversarial Networks whose code reads like the theory.

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]

The objective (:mod:`minimax.objective`), the theory's closed forms
(:mod:`minimax.theory`), the players (:mod:`minimax.players`), the game
(:mod:`minimax.game`, Algorithm 1), and the training run (:mod:`minimax.train`).
"""
__version__ = "0.2.0"

from .config import TrainConfig
from .errors import MinimaxError
from .objective import (
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
from .theory import optimal_discriminator, optimal_discriminator_logit, virtual_training_criterion

__all__ = [
    "__version__", "log_d", "log_one_minus_d", "MinimaxObjective", "value", "discriminator_loss", "generator_loss",
    "saturating_generator_loss", "non_saturating_generator_loss", "total_loss", "optimal_discriminator",
    "optimal_discriminator_logit", "virtual_training_criterion", "TrainConfig", "MinimaxError", "train",
    "sample",
]

# Last, and eagerly: importing the submodule minimax.train sets the package attribute ``train`` to the
# module, so the function must be bound after it (a lazy wrapper here turned into the module on first use,
# and a second minimax.train(...) call in the same process failed).
from .sampling import sample  # noqa: E402
from .train import train  # noqa: E402
