r"""Gaussian kernel densities: one formula for the built-in mixtures' exact density, the Parzen
window of Table 1 and the report's estimate of p_g.

An equal-weight mixture of n isotropic Gaussians with centres s_i and width σ in R^d:

    log p(x) = log (1/n) Σ_i N(x; s_i, σ² I)
             = logsumexp_i(-‖x - s_i‖² / (2σ²)) - log n - (d/2) log(2π σ²)

computed from the squared distances, with the log-sum-exp so it is finite for any σ and distance.
"""
from __future__ import annotations

import math

import torch


def gaussian_mixture_log_density(sq_dist: torch.Tensor, sigma, dim: int) -> torch.Tensor:
    r"""log (1/n) Σ_i N(x; s_i, σ² I) from ``sq_dist[..., i] = ‖x - s_i‖²`` (the last axis holds the n
    kernels). ``sigma`` is a number, or a tensor that broadcasts against ``sq_dist`` with a last axis of
    size 1 (several widths at once)."""
    n = sq_dist.shape[-1]
    lse = torch.logsumexp(-sq_dist / (2 * sigma**2), dim=-1)
    if torch.is_tensor(sigma):
        return lse - math.log(n) - (0.5 * dim * torch.log(2 * math.pi * sigma**2)).squeeze(-1)
    return lse - math.log(n) - 0.5 * dim * math.log(2 * math.pi * sigma**2)


def kernel_density(samples: torch.Tensor, x: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """log p̂(x) for every row of ``x``, p̂ the Gaussian kernel density of ``samples`` (rows) with
    width ``bandwidth``."""
    return gaussian_mixture_log_density(torch.cdist(x, samples).pow(2), bandwidth, samples.shape[1])
