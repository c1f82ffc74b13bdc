r"""The least-squares game (Mao et al. 2017, "Least Squares Generative Adversarial Networks", §3.2).

D outputs a real score s(x) (no sigmoid). With target codes a (generated), b (real), c (what G wants):

    min_D L_D = ½ E_{x~p_data}[(s(x) - b)²] + ½ E_{z~p_z}[(s(G(z)) - a)²]                  (eq. 2)
    min_G L_G = ½ E_{z~p_z}[(s(G(z)) - c)²]

For a fixed G, L_D is minimised pointwise by

    D*(x) = (b·p_data(x) + a·p_g(x)) / (p_data(x) + p_g(x))                                 (eq. 4)

and with b - c = 1 and b - a = 2 (the defaults a = -1, b = 1, c = 0), adding the G-independent
term ½ E_{p_data}[(s(x) - c)²] to L_G, the generator's problem at D* becomes (eq. 5-8)

    2 C(G) = E_{p_data}[(D* - c)²] + E_{p_g}[(D* - c)²] = ∫ (p_data - p_g)² / (p_data + p_g) dx
           = χ²_Pearson(p_data + p_g ‖ 2 p_g),

zero exactly when p_g = p_data.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .presentation import Presentation

# the least-squares game (Mao et al. 2017 train with Adam and a small step): on the ring a tenth of the 2014
# preset's step; on the grid nothing swept beat the 2014 preset's step (measured at 6,000 iterations). The goals and
# the tuning seeds: minimax.catalogue.GAME_GOALS, TUNING_SEEDS (benchmarks/sweep_games.py, docs/results-toy.md).
COMPONENTS = [{
    "kind": "game", "name": "lsgan", "object": "LeastSquaresGame", "order": 2,
    "help": "least squares (Mao et al. 2017)",
    "on": {"ring": {"steps": 6000, "lr": 1e-4}, "grid": {"steps": 6000}},
    "shortfalls": {
        "ring": "drops modes: 6.8 of 8 on seeds 2-6; a smaller step kept more modes and fewer precise samples",
        "grid": "drops modes: 16.0 of 25 on seeds 2-6, though 84.5% of samples are precise",
    },
}]


@dataclass(frozen=True)
class LeastSquaresGame(Presentation):
    """Least-squares losses with codes a (generated), b (real), c (G's target) on D's raw score."""

    a: float = -1.0
    b: float = 1.0
    c: float = 0.0

    name = "lsgan"
    formula = "min_D ½E_{p_data}[(D(x) − b)²] + ½E_{p_z}[(D(G(z)) − a)²],  min_G ½E_{p_z}[(D(G(z)) − c)²]"
    statistics_names = ("d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm",)
    output_range = None
    generator_sees_real = False  # L_G takes D(G(z)) only

    @property
    def equilibrium(self) -> dict[str, float]:
        """At p_g = p_data: D* ≡ (a + b)/2, L_D = (b - a)²/4, L_G = ½((a + b)/2 - c)²."""
        mid = (self.a + self.b) / 2
        return {"d_loss": (self.b - self.a) ** 2 / 4, "g_loss": 0.5 * (mid - self.c) ** 2, "d_real": mid, "d_fake": mid}

    @staticmethod
    def output(scores: torch.Tensor) -> torch.Tensor:
        """D(x) is the raw score."""
        return scores

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""L_D = ½ mean (s_real - b)² + ½ mean (s_fake - a)²."""
        return 0.5 * (real - self.b).pow(2).mean() + 0.5 * (fake - self.a).pow(2).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        r"""L_G = ½ mean (s_fake - c)²."""
        return 0.5 * (fake - self.c).pow(2).mean()

    def diagnostic_losses(self, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (self.generator_loss(fake),)

    def statistics(self, real: torch.Tensor, fake: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        """L_D, L_G, mean s(x) (b = real at D*'s extreme) and mean s(G(z))."""
        return torch.stack([self.discriminator_loss(real, fake), g_loss, real.mean(), fake.mean()])

    # -- the theory -----------------------------------------------------------------------------
    def optimal_discriminator(self, log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
        r"""D*(x) = (b p_data + a p_g) / (p_data + p_g) = a + (b - a)·σ(log p_data - log p_g) (eq. 4)."""
        return self.a + (self.b - self.a) * torch.sigmoid(log_p_data - log_p_g)

    def generator_criterion(self, p_data: torch.Tensor, p_g: torch.Tensor, x: torch.Tensor) -> float:
        r"""2 C(G) = ∫ (p_data + p_g) (D* - c)² dx by the trapezoid rule on the 1-D grid ``x`` (densities given)."""
        d_star = self.optimal_discriminator(p_data.log(), p_g.log())
        return float(torch.trapezoid((p_data + p_g) * (d_star - self.c).pow(2), x))


def pearson_chi2_of_sum(p_data: torch.Tensor, p_g: torch.Tensor, x: torch.Tensor) -> float:
    r"""χ²_Pearson(p_data + p_g ‖ 2 p_g) = ∫ (2 p_g - (p_data + p_g))² / (p_data + p_g) dx (trapezoid rule)."""
    return float(torch.trapezoid((2 * p_g - (p_data + p_g)).pow(2) / (p_data + p_g), x))
