r"""The hinge game (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, "Spectral Normalization").

D outputs a real score s(x) (no sigmoid):

    min_D L_D = E_{x~p_data}[max(0, 1 - s(x))] + E_{z~p_z}[max(0, 1 + s(G(z)))]
    min_G L_G = -E_{z~p_z}[s(G(z))]

For a fixed G the pointwise loss p_data·max(0, 1 - s) + p_g·max(0, 1 + s) is piecewise linear in s
with its minimum on [-1, 1] at an end, so

    D*(x) = sign(p_data(x) - p_g(x))      (any value in [-1, 1] where the densities are equal)

and the discriminator's best loss is

    min_D L_D = ∫ 2·min(p_data, p_g) dx = 2 - 2·TV(p_data, p_g),   TV = ½ ∫ |p_data - p_g| dx,

so D measures the total variation distance, 0 exactly when p_g = p_data (where min L_D = 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .presentation import Presentation

# hinge (Lim & Ye 2017; Miyato et al. 2018 train it with Adam 1e-4 to 2e-4): a tenth of the 2014 preset's step
COMPONENTS = [{
    "kind": "game", "name": "hinge", "object": "HingeGame", "order": 3, "real_sign": True,
    "help": "hinge (Lim & Ye 2017; Miyato et al. 2018)",
    "on": {"ring": {"steps": 6000, "lr": 1e-4}, "grid": {"steps": 6000, "lr": 3e-4}},
    "shortfalls": {"grid": "19.0 of 25 modes on seeds 2-6 and only 8.3% of samples within 3σ; the rest lie between "
                           "the modes"},
}]


@dataclass(frozen=True)
class HingeGame(Presentation):
    """Hinge losses on D's raw score."""

    name = "hinge"
    formula = "min_D E_{p_data}[max(0, 1 − D(x))] + E_{p_z}[max(0, 1 + D(G(z)))],  min_G −E_{p_z}[D(G(z))]"
    statistics_names = ("d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm",)
    equilibrium = {"d_loss": 2.0}  # 2 - 2·TV with TV = 0; D* is any value in [-1, 1] there
    output_range = None
    generator_sees_real = False  # L_G takes D(G(z)) only

    @staticmethod
    def output(scores: torch.Tensor) -> torch.Tensor:
        """D(x) is the raw score."""
        return scores

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""L_D = mean max(0, 1 - s_real) + mean max(0, 1 + s_fake)."""
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        r"""L_G = -mean s_fake."""
        return -fake.mean()

    def diagnostic_losses(self, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (self.generator_loss(fake),)

    @staticmethod
    def real_sign(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """E sign(D(x)): D's decision on real images (its boundary is 0), the statistic ADA adapts to."""
        return torch.sign(real).mean()

    def statistics(self, real: torch.Tensor, fake: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        """L_D, L_G, mean s(x) and mean s(G(z))."""
        return torch.stack([self.discriminator_loss(real, fake), g_loss, real.mean(), fake.mean()])

    # -- the theory -----------------------------------------------------------------------------
    @staticmethod
    def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
        r"""D*(x) = sign(p_data(x) - p_g(x)) = sign(log p_data - log p_g)."""
        return torch.sign(log_p_data - log_p_g)

    @staticmethod
    def expected_discriminator_loss(d: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor,
                                    x: torch.Tensor) -> float:
        r"""L_D(D) = ∫ p_data max(0, 1 - D) + p_g max(0, 1 + D) dx for D given on the 1-D grid ``x``."""
        return float(torch.trapezoid(p_data * F.relu(1.0 - d) + p_g * F.relu(1.0 + d), x))


def total_variation(p_data: torch.Tensor, p_g: torch.Tensor, x: torch.Tensor) -> float:
    r"""TV(p_data, p_g) = ½ ∫ |p_data - p_g| dx (trapezoid rule on the 1-D grid ``x``)."""
    return float(0.5 * torch.trapezoid((p_data - p_g).abs(), x))
