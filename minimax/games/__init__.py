r"""The games minimax plays, one module each, with the same three pages: the value function and both players'
losses from D's raw output, the closed-form optimal discriminator, and the divergence the generator's
problem becomes at that optimum — each checked by quadrature in ``tests/test_games_theory.py``.

A game is an object with :class:`GameObjective`'s members; :class:`~minimax.algorithm.game.Game` plays
through them and the plots, the report and the health monitor read them.

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

from typing import ClassVar, Protocol

import torch

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

    def output(self, raw: torch.Tensor) -> torch.Tensor: ...  # D(x) in the game's units

    def discriminator_loss(self, real_raw: torch.Tensor, fake_raw: torch.Tensor) -> torch.Tensor: ...

    def generator_loss(self, fake_raw: torch.Tensor, *real_raw: torch.Tensor) -> torch.Tensor: ...

    def diagnostic_losses(self, fake_raw: torch.Tensor, *real_raw: torch.Tensor) -> tuple[torch.Tensor, ...]: ...

    def statistics(self, real_raw: torch.Tensor, fake_raw: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor: ...


F_GAMES = tuple(f"f-{name}" for name in DIVERGENCES if name != "gan")  # f-gan is `minimax`
GAMES: tuple[str, ...] = ("minimax", "lsgan", "hinge", "wgan-gp") + F_GAMES + ("rpgan", "ragan")
# games whose generator has the two forms (the saddle point as written, and §3's heuristic)
TWO_GENERATOR_LOSSES: tuple[str, ...] = ("minimax",) + F_GAMES

# The papers' own settings, applied under anything the user sets (above the dataset's preset):
# WGAN-GP, Gulrajani et al. (2017), Algorithm 1: λ = 10, n_critic = 5, Adam α = 1e-4, β = (0, 0.9);
# no BatchNorm in the critic (§4: the penalty is per example), layer normalisation instead.
GAME_PRESETS: dict[str, dict] = {
    "wgan-gp": dict(k=5, lr=1e-4, beta1=0.0, beta2=0.9, gp_weight=10.0, d_norm="layer"),
}


# how the logged statistics are named when printed beside their optimum (CLI, report)
SYMBOLS = {"value": "V", "d_loss": "L_D", "g_loss": "L_G", "d_real": "D(x)", "d_fake": "D(G(z))"}


def make_objective(cfg) -> GameObjective:
    """The game object ``cfg.game`` names, with the options that apply to it."""
    if cfg.game == "minimax":
        return MinimaxObjective(cfg.g_loss, cfg.real_label)
    if cfg.game == "lsgan":
        return LeastSquaresGame()
    if cfg.game == "hinge":
        return HingeGame()
    if cfg.game == "wgan-gp":
        return WassersteinGame()
    if cfg.game in F_GAMES:
        return FGame(cfg.game[2:], cfg.g_loss)
    if cfg.game == "rpgan":
        return RelativisticPairingGame()
    if cfg.game == "ragan":
        return RelativisticAverageGame()
    raise ValueError(f"unknown game {cfg.game!r}; choose one of {', '.join(GAMES)}")


__all__ = ["GameObjective", "GAMES", "GAME_PRESETS", "SYMBOLS", "make_objective", "MinimaxObjective",
           "LeastSquaresGame", "HingeGame", "WassersteinGame", "FGame", "DIVERGENCES",
           "RelativisticPairingGame", "RelativisticAverageGame"]
