r"""Other games than the 2014 one, one module each, with the same three pages the 2014 game has
(:mod:`minimax.objective` and :mod:`minimax.theory`): the value function and both players' losses
from D's raw output, the closed-form optimal discriminator, and the divergence the generator's
problem becomes at that optimum — each checked by quadrature in ``tests/test_games_theory.py``.

A game object has the interface :class:`~minimax.game.Game` plays through (that of
:class:`~minimax.objective.MinimaxObjective`): ``discriminator_loss(real, fake)``,
``generator_loss(fake)``, ``diagnostic_losses(fake)``, ``statistics(real, fake, g_loss)`` with
``statistics_names`` and ``diagnostic_names``.

* :mod:`~minimax.games.least_squares`: least squares (Mao et al. 2017), a Pearson χ² divergence;
* :mod:`~minimax.games.hinge`: hinge (Lim & Ye 2017; Miyato et al. 2018), the total variation.
"""
from .hinge import HingeGame
from .least_squares import LeastSquaresGame

__all__ = ["HingeGame", "LeastSquaresGame"]
