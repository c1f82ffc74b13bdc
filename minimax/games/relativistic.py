r"""The relativistic pairing game, RpGAN (Jolicoeur-Martineau 2019, "The relativistic discriminator"; its
landscape: Sun, Zhou, Zhang, Cui & Hsieh 2020, "Towards a better global loss landscape of GANs"; the modern
baseline with R1 + R2: Huang, Gokaslan, Kuleshov & Tompkin 2024, R3GAN).

D outputs a raw score s(x). With f(t) = −log σ(t) = log(1 + e^(−t)) (the one home of log σ is
:func:`~minimax.games.minimax.log_d`), each real x_i is paired with one generated G(z_i):

    min_D L_D = E_{x~p_data, z~p_z}[ f(s(x) − s(G(z))) ]
    min_G L_G = E_{x~p_data, z~p_z}[ f(s(G(z)) − s(x)) ]

so G's loss needs D on real data too: the G step draws a fresh real minibatch (``generator_sees_real``).

The theory. For a fixed G, L_D(s) = ∬ p_data(x) p_g(y) f(s(x) − s(y)) dx dy is convex in s (f is convex and
s(x) − s(y) is linear in s). At p_g = p_data, Jensen's inequality with E[s(x) − s(y)] = 0 gives
L_D ≥ f(0) = log 2, attained by every constant s: inf_D L_D = log 2, and at the equilibrium L_D = L_G = log 2.
For p_g ≠ p_data, inf_D L_D < log 2 (Sun et al. 2020), so log 2 − inf_D L_D ≥ 0 is a divergence between p_data
and p_g. There is no pointwise closed form for the optimal s (the loss couples every x with every y): it is
computed numerically by :func:`optimal_pairing_loss` on a grid, and checked in ``tests/test_relativistic.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .minimax import log_d

LOG_2 = math.log(2.0)


def f(t: torch.Tensor) -> torch.Tensor:
    """f(t) = −log σ(t) = log(1 + e^(−t)): finite for every t, ≈ −t for t → −∞, → 0 for t → +∞."""
    return -log_d(t)


@dataclass(frozen=True)
class RelativisticPairingGame:
    """RpGAN: the losses of D and G on the raw scores of paired real and generated minibatches."""

    name = "rpgan"
    formula = "min_D E_{x, z}[−log σ(D(x) − D(G(z)))],  min_G E_{x, z}[−log σ(D(G(z)) − D(x))]  (x_i paired with z_i)"
    statistics_names = ("d_loss", "g_loss", "d_real", "d_fake")
    diagnostic_names = ("g_grad_norm",)
    equilibrium = {"d_loss": LOG_2, "g_loss": LOG_2}  # inf_D L_D = log 2 at p_g = p_data (any constant D)
    output_range = None
    generator_sees_real = True

    @staticmethod
    def output(scores: torch.Tensor) -> torch.Tensor:
        """D(x) is the raw score."""
        return scores

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        r"""L_D = (1/m) Σ_i f(s(x_i) − s(G(z_i)))."""
        return f(real - fake).mean()

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        r"""L_G = (1/m) Σ_i f(s(G(z_i)) − s(x_i)) (on a fresh real minibatch; gradients reach G through s(G(z)))."""
        return f(fake - real).mean()

    def diagnostic_losses(self, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (self.generator_loss(fake, real),)

    def statistics(self, real: torch.Tensor, fake: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        """L_D, L_G, mean s(x) and mean s(G(z))."""
        return torch.stack([self.discriminator_loss(real, fake), g_loss, real.mean(), fake.mean()])

    # -- the theory -----------------------------------------------------------------------------
    @staticmethod
    def expected_discriminator_loss(s: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
        r"""L_D(s) = Σ_ij p_i q_j f(s_i − s_j) for a score s on a grid whose cells hold probabilities p (data)
        and q (generator), each summing to 1: the discretised ∬ p_data(x) p_g(y) f(s(x) − s(y)) dx dy."""
        return (p_data[:, None] * p_g[None, :] * f(s[:, None] - s[None, :])).sum()


def optimal_pairing_loss(p_data: torch.Tensor, p_g: torch.Tensor, iterations: int = 500
                         ) -> tuple[float, torch.Tensor]:
    r"""(inf_s L_D(s), the minimising s) for probabilities p_data, p_g on one grid (float64), by L-BFGS on the
    convex problem. s is defined up to a constant; the returned one has Σ_i (p_i + q_i) s_i / 2 = 0."""
    p, q = p_data.double() / p_data.sum(), p_g.double() / p_g.sum()
    s = torch.zeros(len(p), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([s], lr=1.0, max_iter=iterations, tolerance_grad=1e-12, tolerance_change=1e-15,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = RelativisticPairingGame.expected_discriminator_loss(s, p, q)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        best = float(RelativisticPairingGame.expected_discriminator_loss(s, p, q))
        s = s - ((p + q) / 2 * s).sum()
    return best, s.detach()


def pairing_divergence(p_data: torch.Tensor, p_g: torch.Tensor) -> float:
    """log 2 − inf_D L_D ≥ 0: zero exactly when p_g = p_data."""
    return LOG_2 - optimal_pairing_loss(p_data, p_g)[0]
