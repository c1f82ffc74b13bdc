r"""What the theory of Goodfellow et al. (2014, §4) says about the game.

Proposition 1: for a fixed G the optimal discriminator is

    D*_G(x) = p_data(x) / (p_data(x) + p_g(x)),   i.e. logit l*(x) = log p_data(x) - log p_g(x).

Theorem 1: plugging D* into V gives the virtual training criterion

    C(G) = V(D*_G, G) = -log 4 + 2·JSD(p_data ‖ p_g),

minimised (C = -log 4) exactly when p_g = p_data, where D* ≡ 1/2.

The conditional game (§7: c given to both players) is the same game once per class:
D*(x, c) = p_data(x|c) / (p_data(x|c) + p_g(x|c)) and C(G) = Σ_c p(c) [-log 4 + 2·JSD(p_data(·|c) ‖ p_g(·|c))],
minimised exactly when p_g(·|c) = p_data(·|c) for every class with p(c) > 0.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

LOG4 = math.log(4.0)
OPTIMAL_VALUE = -LOG4  # V(D*, G) at p_g = p_data
EQUILIBRIUM_D = 0.5  # D*(x) at p_g = p_data

LogDensity = Callable[[torch.Tensor], torch.Tensor]


def optimal_discriminator_logit(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    r"""l*(x) = log p_data(x) - log p_g(x), the logit of D*(x) = p_data/(p_data + p_g)."""
    return log_p_data - log_p_g


def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    r"""D*(x) = p_data(x) / (p_data(x) + p_g(x)) = σ(log p_data(x) - log p_g(x)), from log-densities."""
    return torch.sigmoid(optimal_discriminator_logit(log_p_data, log_p_g))


def jensen_shannon_1d(log_p: LogDensity, log_q: LogDensity, grid: torch.Tensor) -> float:
    r"""JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, by the trapezoid rule on ``grid`` (nats).

    ``grid`` must be 1-D, sorted, and cover the mass of both densities.
    """
    x = grid.to(torch.float64)
    lp, lq = log_p(x).to(torch.float64), log_q(x).to(torch.float64)
    lm = torch.logaddexp(lp, lq) - math.log(2.0)
    integrand = 0.5 * lp.exp() * (lp - lm) + 0.5 * lq.exp() * (lq - lm)
    return float(torch.trapezoid(integrand, x))


def virtual_training_criterion(jsd: float) -> float:
    r"""C(G) = V(D*_G, G) = -log 4 + 2·JSD(p_data ‖ p_g)  (Theorem 1)."""
    return -LOG4 + 2.0 * jsd


def conditional_virtual_training_criterion(class_prior, jsds) -> float:
    r"""C(G) = V(D*, G) of the conditional game = Σ_c p(c) [-log 4 + 2·JSD(p_data(·|c) ‖ p_g(·|c))].

    With D*(x, c) = p_data(x|c)/(p_data(x|c) + p_g(x|c)) the value splits over the classes, each term being
    Theorem 1 for that class's pair of densities. By the convexity of JSD it is at least the criterion of
    the marginals p_data(x) = Σ_c p(c) p_data(x|c) and p_g(x): a conditional D sees every mistake an
    unconditional one sees, and also a G that draws the right digits for the wrong labels.
    """
    prior = [float(p) for p in class_prior]
    if len(prior) != len(jsds) or any(p < 0 for p in prior) or not math.isclose(sum(prior), 1.0, abs_tol=1e-9):
        raise ValueError("class_prior must be probabilities summing to 1, one per JSD")
    return sum(p * virtual_training_criterion(j) for p, j in zip(prior, jsds))


__all__ = ["optimal_discriminator_logit", "optimal_discriminator", "jensen_shannon_1d", "virtual_training_criterion",
           "conditional_virtual_training_criterion", "LOG4", "OPTIMAL_VALUE", "EQUILIBRIUM_D", "LogDensity"]
