r"""Regularisers of the discriminator, usable with any game.

* :class:`GradientPenalty` (Gulrajani et al. 2017, eq. 3), WGAN-GP's Lipschitz penalty:

      λ · E_{x̂}[(‖∇_x̂ D(x̂)‖₂ − 1)²],   x̂ = ε x + (1 − ε) G(z),  ε ~ U[0, 1] once per example

  (one ε per example, broadcast over its features — drawing it per pixel, a known bug of a popular
  implementation, gives points off the line between the two samples that the penalty is meant for);
* :class:`R1Penalty` (Mescheder, Geiger & Nowozin 2018, eq. 9), the zero-centred penalty on real data:

      (γ/2) · E_{x~p_data}[‖∇_x D(x)‖₂²],   with D's raw output (the logit for the 2014 game);

* :class:`R2Penalty` (Mescheder et al. 2018, eq. 10; with R1 the recipe of Huang et al. 2024, R3GAN), the same
  penalty on generated data:

      (γ/2) · E_{z~p_z}[‖∇_x D(x)|_{x = G(z)}‖₂²]   (G(z) detached: the penalty trains D only);

  Both need a D whose output for x_i depends on x_i only (no BatchNorm: the configuration refuses it). With
  PacGAN packing (pack = p) D's inputs are groups of p samples; the gradient is taken per sample and the mean is
  over the m samples, Σᵢ‖∇_{xᵢ}D‖²/m = (1/p)·E‖∇D‖² over D's m/p packed inputs: relative to D's own inputs the
  weight is γ/p. No paper fixes this (R3GAN does not pack; PacGAN has no R1), and minimax keeps the per-sample
  mean, so that γ means the same per sample whatever p;
* :func:`spectral_normalise` (Miyato et al. 2018): every weight W of D divided by its largest
  singular value σ(W), estimated by one power iteration per forward pass — torch's own
  ``torch.nn.utils.parametrizations.spectral_norm``, applied to each linear and convolutional layer and to a
  projection discriminator's class embedding (as Miyato & Koyama 2018 do).

A penalty is called with D (the plain module: double backward does not go through torch.compile), the
step's real and generated minibatches and the noise stream's generator; it returns its unweighted value,
which the training loop logs under the penalty's ``name`` and adds to L_D times ``coefficient``.

**Lazy regularisation** (Karras et al. 2020, StyleGAN2, appendix B; ``reg_every`` = N > 1): R1 and R2 (``lazy``)
are taken on the D steps of every N-th iteration only, with their weight multiplied by N, so that the penalty's
expected gradient per iteration is unchanged, (1/N)·N·(γ/2)·∇E‖∇ₓD‖² = (γ/2)·∇E‖∇ₓD‖², at about 1/N of its
cost. StyleGAN2 takes the lazy term as a separate optimiser step (with Adam's rate and betas rescaled by
N/(N+1)); minimax adds it to that iteration's D step, so the number of optimiser steps, and Adam's settings,
stay those of the plain run. WGAN-GP's penalty is its Lipschitz constraint and is taken on every step.
"""
from __future__ import annotations

import torch
from torch import nn


def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x̂ = ε·x + (1 − ε)·G(z) with one ε ~ U[0, 1] per example (shape [m, 1, 1, ...])."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator, device=real.device,
                     dtype=real.dtype)
    return eps * real + (1 - eps) * fake


def _input_gradient(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """∇_x Σ D(x), kept in the graph so that the penalty can be differentiated with respect to D's weights."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad


class GradientPenalty:
    """E(‖∇_x̂ D(x̂)‖₂ − 1)², weighted by λ (``weight``) in L_D."""

    name = "gradient_penalty"
    lazy = False  # the critic's constraint, on every step

    def __init__(self, weight: float):
        self.coefficient = weight

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator):
        grad = _input_gradient(D, interpolate(real, fake.detach().to(real.dtype), generator))
        return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


class R1Penalty:
    """E‖∇_x D(x)‖₂² on real data, weighted by γ/2 (``weight`` = γ) in L_D."""

    name = "r1_penalty"
    lazy = True  # may be taken every reg_every iterations, weighted by reg_every

    def __init__(self, weight: float):
        self.coefficient = weight / 2

    @staticmethod
    def points(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Where ∇_x D is taken: the real minibatch."""
        return real

    def __call__(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator):
        x = self.points(real, fake)
        return _input_gradient(D, x).pow(2).sum() / x.shape[0]


class R2Penalty(R1Penalty):
    """E‖∇_x D(x)‖₂² at x = G(z), weighted by γ/2 (``weight`` = γ) in L_D: R1's penalty at the generated samples."""

    name = "r2_penalty"

    @staticmethod
    def points(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.to(real.dtype)


def penalties(objective, r1: float = 0.0, r2: float = 0.0) -> list:
    """The penalties added to L_D, in a fixed order: the game's own (``objective.penalties``: WGAN-GP's), then R1 and
    R2 at weights ``r1`` and ``r2`` where they are on."""
    out = list(getattr(objective, "penalties", ()))
    if r1 > 0:
        out.append(R1Penalty(r1))
    if r2 > 0:
        out.append(R2Penalty(r2))
    return out


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Spectral normalisation of every Linear, Conv2d, ConvTranspose2d and Embedding weight of ``module``
    (in place)."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
            torch.nn.utils.parametrizations.spectral_norm(m)
    return module
