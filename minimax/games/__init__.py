r"""The games minimax plays, one module each, with the same three pages: the value function and both players'
losses from D's raw output, the closed-form optimal discriminator, and the divergence the generator's
problem becomes at that optimum — each checked by quadrature in ``tests/test_games_theory.py``.

A game is an object with :class:`GameObjective`'s members; :class:`~minimax.algorithm.trainer.Trainer` plays
through them and the plots, the report and the health monitor read them (how its numbers are shown:
:mod:`.presentation`, never its name). Each game declares itself in its module (``COMPONENTS``: its name, the
options it reads, its presets and properties; :mod:`minimax.registry`), and :func:`make_objective` builds it.

* ``minimax``: the 2014 game (:mod:`.minimax`, its theory in :mod:`.theory`), -log 4 + 2·JSD;
* ``lsgan``: least squares (Mao et al. 2017), a Pearson χ² divergence (:mod:`.least_squares`);
* ``hinge``: hinge (Lim & Ye 2017; Miyato et al. 2018), the total variation (:mod:`.hinge`);
* ``wgan-gp``: Wasserstein with gradient penalty (Gulrajani et al. 2017), W1 (:mod:`.wasserstein`);
* ``f-kl``, ``f-reverse-kl``, ``f-pearson``, ``f-hellinger``, ``f-js``: f-GAN (Nowozin et al. 2016)
  (:mod:`.f_gan`; its ``gan`` member is the 2014 game, checked in the tests);
* ``rpgan``, ``ragan``: the relativistic pairing and average games (Jolicoeur-Martineau 2019; Sun et al.
  2020), log 2 − inf_D L_D and 2 log 2 − inf_D L_D computed numerically (:mod:`.relativistic`): their G losses
  need D on a fresh real minibatch (``generator_sees_real``).

D's penalties (WGAN-GP's, R1, R2) and spectral normalisation, usable with any game: :mod:`.regularizers`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

import torch

from .. import registry
from ..catalogue import SYMBOLS
from .f_gan import DIVERGENCES, FGame
from .hinge import HingeGame
from .least_squares import LeastSquaresGame
from .minimax import MinimaxObjective
from .relativistic import RelativisticAverageGame, RelativisticPairingGame
from .wasserstein import WassersteinGame


class GameObjective(Protocol):
    """What a game is to Algorithm 1 and to the pictures. ``raw`` is D's raw output (a logit for the 2014 game)."""

    name: ClassVar[str]  # its --game name
    formula: ClassVar[str]  # its value function, in words
    statistics_names: ClassVar[tuple[str, ...]]  # what statistics() returns, in order
    diagnostic_names: ClassVar[tuple[str, ...]]  # one per diagnostic loss: the logged ‖∇_θg L‖ names
    equilibrium: ClassVar[dict[str, float]]  # the statistics' values at p_g = p_data
    output_range: ClassVar[tuple[float, float] | None]  # D(x)'s range in the game's units; None: unbounded
    # whether L_G needs D on real data: the G step then draws a fresh real minibatch and passes D(x) after D(G(z))
    # to generator_loss and diagnostic_losses (the relativistic pairing game); the other games take D(G(z)) only
    generator_sees_real: ClassVar[bool]
    # how its numbers are named, drawn and read: every game inherits games/presentation.py's defaults
    symbols: ClassVar[dict[str, str]]
    output_is_probability: bool  # (derived: output_range is [0, 1])
    optimum_labels: ClassVar[dict[str, str]]
    diagnostic_labels: ClassVar[dict[str, str]]
    optimal_d_label: ClassVar[str | None]
    saturation_picture: ClassVar[bool]
    value_bounds: ClassVar[str | None]
    # D*(log p_data, log p_g) in the units of output(), where the game has a pointwise optimum; None where not
    optimal_discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None

    def output(self, raw: torch.Tensor) -> torch.Tensor: ...  # D(x) in the game's units

    def discriminator_loss(self, real_raw: torch.Tensor, fake_raw: torch.Tensor) -> torch.Tensor: ...

    def generator_loss(self, fake_raw: torch.Tensor, *real_raw: torch.Tensor) -> torch.Tensor: ...

    def diagnostic_losses(self, fake_raw: torch.Tensor, *real_raw: torch.Tensor) -> tuple[torch.Tensor, ...]: ...

    def statistics(self, real_raw: torch.Tensor, fake_raw: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor: ...


def make_objective(game: str, **options) -> GameObjective:
    """The game object ``game`` names, built from its declaration (``COMPONENTS`` in its module) with ``options``,
    the options it reads (``g_loss=...``; a run's: ``TrainConfig.game_options``)."""
    declared = registry.games().get(game)
    if declared is None:
        raise ValueError(f"unknown game {game!r}; choose one of {', '.join(registry.games())}")
    unknown = sorted(set(options) - set(declared.options))
    if unknown:
        raise TypeError(f"game {game!r} has no option {unknown[0]!r}; its options: "
                        f"{', '.join(declared.options) or 'none'}")
    return registry.component(declared.module, declared.object)(**declared.arguments, **options)


GAMES: tuple[str, ...] = tuple(registry.games())

__all__ = ["GameObjective", "GAMES", "SYMBOLS", "make_objective",
           "MinimaxObjective", "LeastSquaresGame", "HingeGame", "WassersteinGame", "FGame", "DIVERGENCES",
           "RelativisticPairingGame", "RelativisticAverageGame"]
