r"""The games minimax plays, one module each, with the same three pages the 2014 game has
(:mod:`minimax.objective` and :mod:`minimax.theory`): the value function and both players' losses
from D's raw output, the closed-form optimal discriminator, and the divergence the generator's
problem becomes at that optimum — each checked by quadrature in ``tests/test_games_theory.py``.

A game object has the interface :class:`~minimax.game.Game` plays through (that of
:class:`~minimax.objective.MinimaxObjective`): ``discriminator_loss(real, fake)``,
``generator_loss(fake)``, ``diagnostic_losses(fake)``, ``statistics(real, fake, g_loss)`` with
``statistics_names`` and ``diagnostic_names``; and, for plots and reports, ``name``, ``formula``,
``equilibrium`` (the statistics' values at p_g = p_data), ``output(raw)`` (D(x) in the game's units)
and, where it has a closed form, ``optimal_discriminator(log_p_data, log_p_g)``.

* ``minimax``: the 2014 game (:mod:`minimax.objective`), -log 4 + 2·JSD;
* ``lsgan``: least squares (Mao et al. 2017), a Pearson χ² divergence (:mod:`.least_squares`);
* ``hinge``: hinge (Lim & Ye 2017; Miyato et al. 2018), the total variation (:mod:`.hinge`);
* ``wgan-gp``: Wasserstein with gradient penalty (Gulrajani et al. 2017), W1 (:mod:`.wasserstein`);
* ``f-kl``, ``f-reverse-kl``, ``f-pearson``, ``f-hellinger``, ``f-js``: f-GAN (Nowozin et al. 2016)
  (:mod:`.f_gan`; its ``gan`` member is the 2014 game, checked in the tests).
"""
from __future__ import annotations

from .f_gan import DIVERGENCES, FGame
from .hinge import HingeGame
from .least_squares import LeastSquaresGame
from .minimax import MinimaxObjective
from .wasserstein import WassersteinGame

F_GAMES = tuple(f"f-{name}" for name in DIVERGENCES if name != "gan")  # f-gan is `minimax`
GAMES: tuple[str, ...] = ("minimax", "lsgan", "hinge", "wgan-gp") + F_GAMES
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


def make_objective(cfg):
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
    raise ValueError(f"unknown game {cfg.game!r}; choose one of {', '.join(GAMES)}")


__all__ = ["GAMES", "GAME_PRESETS", "SYMBOLS", "make_objective", "MinimaxObjective", "LeastSquaresGame", "HingeGame",
           "WassersteinGame", "FGame", "DIVERGENCES"]
