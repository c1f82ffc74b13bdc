r"""The Wasserstein game with a gradient penalty (Arjovsky et al. 2017, "Wasserstein GAN";
Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1).

D is a critic f with a real output. By the Kantorovich-Rubinstein duality

    W1(p_data, p_g) = sup_{‖f‖_L ≤ 1} E_{x~p_data}[f(x)] − E_{z~p_z}[f(G(z))],

and Gulrajani et al. replace the Lipschitz constraint by a penalty on the critic's gradient at
random interpolates x̂ = ε x + (1 − ε) G(z), ε ~ U[0, 1] drawn *once per example*:

    min_f L_D = E_{p_z}[f(G(z))] − E_{p_data}[f(x)] + λ E_{x̂}[(‖∇_x̂ f(x̂)‖₂ − 1)²]      (eq. 3)
    min_G L_G = −E_{p_z}[f(G(z))]

The penalty lives in :class:`minimax.games.regularizers.GradientPenalty`; this module is the critic's
game. Its value V̂ = mean f(x) − mean f(G(z)) estimates W1 when the critic is near-optimal; in 1-D
W1 = ∫ |F_data(x) − F_g(x)| dx (the distance between the two CDFs), and an optimal critic is
f*(x) = ∫_{-∞}^x sign(F_g(t) − F_data(t)) dt, a 1-Lipschitz function (:func:`optimal_critic_1d`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .presentation import Presentation


@dataclass(frozen=True)
class WassersteinGame(Presentation):
    """The critic's losses on its raw output f(x); the gradient penalty is added by the training loop."""

    name = "wgan-gp"
    formula = "W1 = sup_{‖f‖_L ≤ 1} E_{p_data}[f(x)] − E_{p_z}[f(G(z))], Lipschitz by λE(‖∇f(x̂)‖ − 1)²"
    statistics_names = ("value", "d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm",)
    equilibrium = {"value": 0.0}  # W1(p, p) = 0
    output_range = None
    generator_sees_real = False  # L_G takes D(G(z)) only
    value_bounds = "W1"  # V̂ is a lower bound of W1 ≥ 0: a negative V̂ is the critic's shortfall, not a distance

    @staticmethod
    def output(scores: torch.Tensor) -> torch.Tensor:
        """The critic's value f(x)."""
        return scores

    @staticmethod
    def value(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""V̂ = mean f(x) − mean f(G(z)), the critic's estimate of W1."""
        return real.mean() - fake.mean()

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""L_D = mean f(G(z)) − mean f(x) = -V̂ (the penalty is added by the training loop)."""
        return -self.value(real, fake)

    @staticmethod
    def generator_loss(fake: torch.Tensor) -> torch.Tensor:
        r"""L_G = −mean f(G(z))."""
        return -fake.mean()

    def diagnostic_losses(self, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (self.generator_loss(fake),)

    def statistics(self, real: torch.Tensor, fake: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        """V̂, L_D (without the penalty, which is logged as ``gradient_penalty``), L_G, mean f(x), mean f(G(z))."""
        v = self.value(real, fake)
        return torch.stack([v, -v, g_loss, real.mean(), fake.mean()])


def wasserstein_1d(cdf_data: torch.Tensor, cdf_g: torch.Tensor, x: torch.Tensor) -> float:
    r"""W1 = ∫ |F_data(x) − F_g(x)| dx by the trapezoid rule on the 1-D grid ``x`` (CDFs given on it)."""
    return float(torch.trapezoid((cdf_data - cdf_g).abs(), x))


def optimal_critic_1d(cdf_data: torch.Tensor, cdf_g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""f*(x) = ∫_{x_0}^x sign(F_g(t) − F_data(t)) dt on the grid (up to a constant): 1-Lipschitz, and
    E_{p_data} f* − E_{p_g} f* = ∫ f*'(x)(F_g − F_data) dx = ∫ |F_data − F_g| dx = W1 (integration by parts)."""
    slope = torch.sign(cdf_g - cdf_data)
    steps = 0.5 * (slope[1:] + slope[:-1]) * (x[1:] - x[:-1])
    return torch.cat([torch.zeros(1, dtype=x.dtype), steps.cumsum(0)])
