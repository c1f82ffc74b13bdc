r"""How a game's numbers are named, drawn and read: one base every game inherits, overriding what its theory says.

The plots, the report, the printed lines and the health monitor ask the game, never its name: a new game that
says nothing here is drawn with the defaults below (each statistic's label from
:data:`minimax.catalogue.STATISTICS`, its optimum as "label = value", D's output as a raw score).
"""
from __future__ import annotations

from typing import ClassVar

from ..catalogue import SYMBOLS


class Presentation:
    """The defaults; a game overrides them as class attributes."""

    # each statistic's symbol in printed lines and tables: V, L_D, L_G, D(x), D(G(z))
    symbols: ClassVar[dict[str, str]] = SYMBOLS
    # statistic -> the legend of its dashed line at the optimum (default: "optimum = v", "equilibrium = v")
    optimum_labels: ClassVar[dict[str, str]] = {}
    # diagnostic name -> the legend of its generator-gradient curve (default: the statistic's label)
    diagnostic_labels: ClassVar[dict[str, str]] = {}
    # the legend of the optimal discriminator beside the trained one (None: "<name>'s D* with p̂_g")
    optimal_d_label: ClassVar[str | None] = None
    # whether the report draws both generator losses and their gradients against D(G(z)) (the saturation picture)
    saturation_picture: ClassVar[bool] = False
    # what V̂ is a lower bound of (f-GAN: D_f; WGAN: W1), so that a negative V̂ is explained; None: not a bound
    value_bounds: ClassVar[str | None] = None
    # D*(log p_data, log p_g), a method of each game with a pointwise optimum; None where there is none (WGAN's
    # critic is defined only up to a constant and has no pointwise closed form)
    optimal_discriminator = None

    @property
    def output_is_probability(self) -> bool:
        """Whether D(x) is the probability that x is real (the 2014 game's meaning: its output lies in [0, 1]); the
        health monitor's rules that read D(x) and D(G(z)) as probabilities, and Figure 1's shared axis, need it."""
        return self.output_range == (0.0, 1.0)
