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
from .regularizers import GradientPenalty

COMPONENTS = [{
    "kind": "game", "name": "wgan-gp", "object": "WassersteinGame", "order": 4, "per_example_penalty": True,
    "help": "Wasserstein with a gradient penalty (Gulrajani et al. 2017)",
    "options": {"gp_weight": {"type": "float", "default": 0.0, "min": 0, "help": "gradient-penalty weight λ of wgan-gp",
                              "elsewhere": "use r1 for a gradient penalty with any game"}},
    # the paper's settings (Algorithm 1): λ = 10, n_critic = 5, Adam α = 1e-4, β = (0, 0.9); no BatchNorm in the
    # critic (§4: the penalty is per example), layer normalisation instead
    "preset": {"k": 5, "lr": 1e-4, "beta1": 0.0, "beta2": 0.9, "gp_weight": 10.0, "d_norm": "layer"},
    "on": {
        # its own toy settings (gan_toy.py): λ = 0.1 ("smaller lambda seems to help for toy tasks"), Adam β = (0.5,
        # 0.9); the step 1e-3 decayed to 0 (the 2014 preset's), 5 critic steps on the grid, 1 on the ring (as good
        # there, at a fifth of the cost)
        "ring": {"steps": 6000, "k": 1, "gp_weight": 0.1, "lr": 1e-3, "beta1": 0.5, "beta2": 0.9},
        "grid": {"steps": 2000, "k": 5, "gp_weight": 0.1, "lr": 1e-3, "beta1": 0.5, "beta2": 0.9},
        # MNIST (measured with DCGAN players at equal wall time, benchmarks/compare_games_mnist.py): one critic step
        # at DCGAN's step 2e-4 with β = (0.5, 0.9), over the paper's λ = 10 and layer norm; the paper's 5 critic
        # steps at 1e-4 make an iteration 7-8x the 2014 game's and stay far behind it in the same minutes (FID
        # 610-737 vs 77-82)
        "mnist": {"k": 1, "lr": 2e-4, "beta1": 0.5, "beta2": 0.9},
    },
    "shortfalls": {"grid": "24.0 of 25 modes on seeds 2-6 but only 14.1% of samples within 3σ; the rest lie between "
                           "the modes"},
}]


@dataclass(frozen=True)
class WassersteinGame(Presentation):
    """The critic's losses on its raw output f(x); its gradient penalty λE(‖∇f(x̂)‖ − 1)² (``penalties``, at weight
    ``gp_weight``) is added to L_D by the training loop, as every penalty is."""

    gp_weight: float = 0.0

    name = "wgan-gp"
    formula = "W1 = sup_{‖f‖_L ≤ 1} E_{p_data}[f(x)] − E_{p_z}[f(G(z))], Lipschitz by λE(‖∇f(x̂)‖ − 1)²"
    statistics_names = ("value", "d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm",)
    equilibrium = {"value": 0.0}  # W1(p, p) = 0
    output_range = None
    generator_sees_real = False  # L_G takes D(G(z)) only
    value_bounds = "W1"  # V̂ is a lower bound of W1 ≥ 0: a negative V̂ is the critic's shortfall, not a distance

    @property
    def penalties(self) -> tuple[GradientPenalty, ...]:
        """The game's own penalty on D: the gradient penalty at λ = ``gp_weight`` (Gulrajani et al. 2017, eq. 3)."""
        return (GradientPenalty(self.gp_weight),)

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
