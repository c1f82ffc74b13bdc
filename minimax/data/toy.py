r"""Built-in low-dimensional data with known densities.

The 2-D mixtures are the benchmarks of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018):

* ``ring``: 8 isotropic Gaussians, centres (cos 2πi/8, sin 2πi/8), i = 0..7, std 0.01.
* ``grid``: 25 isotropic Gaussians, centres {-4,-2,0,2,4}², std 0.05.
* ``gauss1d``: one 1-D Gaussian N(2, 0.5²), for the theory checks of §4.

Each is an equal-weight mixture p(x) = (1/K) Σ_k N(x; μ_k, σ² I), so its exact
log-density, its modes and its samples are all available. A sample's class is its mode k
(the conditional game's label, p(c) = 1/K and p(x | c) = N(x; μ_c, σ² I)).
"""
from __future__ import annotations

import math

import torch

from .density import kernel_density


class GaussianMixture:
    """Equal-weight isotropic Gaussian mixture p(x) = (1/K) Σ_k N(x; μ_k, σ² I)."""

    def __init__(self, name: str, centres: torch.Tensor, std: float):
        self.name = name
        self.centres = centres.to(torch.float32)
        self.std = float(std)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.centres.shape[1],)

    def describe(self) -> str:
        """What is drawn, in words: '8 Gaussians in 2-D, σ 0.02'."""
        k = len(self.centres)
        return f"{k} Gaussian{'s' if k > 1 else ''} in {self.dim}-D, σ {self.std:g}, drawn fresh each step"

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    @property
    def n_classes(self) -> int:
        """Classes of the conditional game: the K modes."""
        return len(self.centres)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(str(k) for k in range(len(self.centres)))

    def sample(self, m: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        """m i.i.d. samples: pick a component uniformly, add N(0, σ² I) noise."""
        return self.sample_labelled(m, generator, device)[0]

    def sample_labelled(self, m: int, generator: torch.Generator, device: torch.device | str = "cpu"):
        """(x, c): m i.i.d. samples and their modes, c ~ U{0..K-1}, x = μ_c + σ ε."""
        k = torch.randint(len(self.centres), (m,), generator=generator)
        eps = torch.randn(m, self.dim, generator=generator)
        return (self.centres[k] + self.std * eps).to(device), k.to(device)

    def sample_labels(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """m labels c ~ p(c) = U{0..K-1}, on the generator's device."""
        return torch.randint(len(self.centres), (m,), generator=generator, device=generator.device)

    def log_prob_given(self, x: torch.Tensor, c: int) -> torch.Tensor:
        r"""log p(x | c) = log N(x; μ_c, σ² I)."""
        return kernel_density(self.centres[c:c + 1].to(x.device, x.dtype), x.reshape(-1, self.dim), self.std)

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


def load(name: str, data_dir=None, device="cpu", output: str = "tanh", split: str = "train") -> GaussianMixture:
    """A built-in mixture (the same in every split: its density is known, no data are held out)."""
    return TOY_DATASETS[name]()


COMPONENTS = [
    {"kind": "dataset", "name": "ring", "object": "load", "arguments": {"name": "ring"}, "images": False, "order": 1,
     "help": "8 Gaussians on a circle (σ 0.01)",
     # 8/8 modes, >= 90% high quality for seeds 0-2 in about 1.5 minutes on 2 CPU cores (docs/results-toy.md):
     # a uniform square prior, BatchNorm in G for coverage, a linear lr decay for precision (σ = 0.01);
     # 12k iterations, not 8k: at 8k two of three seeds fell to 85% on an Intel Xeon (92% on AMD EPYC).
     # The other games' base; the 2014 game's own, over it: 8k iterations of 128-wide players (catalogue.RING_2014)
     "preset": {"steps": 12000, "batch_size": 256, "lr": 1e-3, "lr_decay": "linear", "latent_dim": 2,
                "prior": "uniform", "g_norm": "batch"}},
    {"kind": "dataset", "name": "grid", "object": "load", "arguments": {"name": "grid"}, "images": False, "order": 2,
     "help": "25 Gaussians on a 5 x 5 grid (σ 0.05)",
     # 25/25 modes: a uniform square prior lets G map each latent axis to a staircase over 5 rows
     "preset": {"steps": 8000, "batch_size": 256, "lr": 1e-3, "lr_decay": "linear", "latent_dim": 2,
                "prior": "uniform"}},
    {"kind": "dataset", "name": "gauss1d", "object": "load", "arguments": {"name": "gauss1d"}, "images": False,
     "order": 3, "help": "one Gaussian on a line, N(2, 0.5²): the paper's Figure 1",
     "preset": {"steps": 2000, "batch_size": 128, "lr": 1e-3, "lr_decay": "linear", "g_hidden": [64, 64],
                "d_hidden": [64, 64]}},
]
