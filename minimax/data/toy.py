r"""Built-in low-dimensional data with known densities.

The 2-D mixtures are the benchmarks of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018):

* ``ring``: 8 isotropic Gaussians, centres (cos 2πi/8, sin 2πi/8), i = 0..7, std 0.01.
* ``grid``: 25 isotropic Gaussians, centres {-4,-2,0,2,4}², std 0.05.
* ``gauss1d``: one 1-D Gaussian N(2, 0.5²), for the theory checks of §4.

Each is an equal-weight mixture p(x) = (1/K) Σ_k N(x; μ_k, σ² I), so its exact
log-density, its modes and its samples are all available.
"""
from __future__ import annotations

import math

import torch

from ..density import kernel_density


class GaussianMixture:
    """Equal-weight isotropic Gaussian mixture p(x) = (1/K) Σ_k N(x; μ_k, σ² I)."""

    def __init__(self, name: str, centres: torch.Tensor, std: float):
        self.name = name
        self.centres = centres.to(torch.float32)
        self.std = float(std)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.centres.shape[1],)

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    def sample(self, m: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        """m i.i.d. samples: pick a component uniformly, add N(0, σ² I) noise."""
        k = torch.randint(len(self.centres), (m,), generator=generator)
        eps = torch.randn(m, self.dim, generator=generator)
        return (self.centres[k] + self.std * eps).to(device)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""log p(x) = logsumexp_k [-‖x-μ_k‖²/(2σ²)] - log K - (d/2) log(2πσ²)  (:mod:`minimax.density`)."""
        return kernel_density(self.centres.to(x.device, x.dtype), x.reshape(-1, self.dim), self.std)

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        """Models work in data space for these sets: the identity."""
        return x


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture("ring", centres, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    axis = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2)
    centres = torch.cartesian_prod(axis, axis)
    return GaussianMixture("grid", centres, std)


def gauss1d(mean: float = 2.0, std: float = 0.5) -> GaussianMixture:
    return GaussianMixture("gauss1d", torch.tensor([[mean]]), std)


TOY_DATASETS = {"ring": ring, "grid": grid, "gauss1d": gauss1d}
