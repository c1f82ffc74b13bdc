r"""Fréchet distance between Gaussian fits of features (the FID of Heusel et al. 2017).

Fit N(μ_r, Σ_r) to the features of real images and N(μ_g, Σ_g) to those of
generated ones; the squared 2-Wasserstein (Fréchet) distance between the fits is

    d² = ‖μ_r - μ_g‖² + Tr(Σ_r + Σ_g - 2 (Σ_r Σ_g)^{1/2}).

Tr((Σ_r Σ_g)^{1/2}) is computed as Σ_i √λ_i with λ_i the eigenvalues of the
symmetric PSD matrix Σ_r^{1/2} Σ_g Σ_r^{1/2} (same spectrum as Σ_r Σ_g), in
float64, with tiny negative eigenvalues from round-off clipped at 0: no complex
square roots, finite for singular covariances.

FID proper uses Inception-v3 pool features of natural images; those weights
cannot be fetched here, so minimax uses the penultimate layer of a small
classifier trained on the dataset itself (:mod:`minimax.metrics.classifier`),
the usual "FID with a domain classifier" for MNIST-style data. Scores are
comparable only under the same feature network.
"""
from __future__ import annotations

import torch
import torch.distributed as dist


def _sqrt_psd(a: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(a)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor) -> float:
    """d² = ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2 (Σ₁ Σ₂)^{1/2}) between N(μ₁, Σ₁) and N(μ₂, Σ₂)."""
    mu1, mu2, cov1, cov2 = (t.to(torch.float64) for t in (mu1, mu2, cov1, cov2))
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shapes do not match: mu {tuple(mu1.shape)}/{tuple(mu2.shape)}, "
                         f"cov {tuple(cov1.shape)}/{tuple(cov2.shape)}")
    s1 = _sqrt_psd((cov1 + cov1.T) / 2)
    m = s1 @ ((cov2 + cov2.T) / 2) @ s1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    d2 = (mu1 - mu2).pow(2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * tr_sqrt
    return float(d2.clamp_min(0))


class GaussianFit:
    """Running mean and covariance of feature vectors, from sums that add across batches and processes.

    State: n, Σ f and Σ f fᵀ (float64). ``merge`` and :meth:`all_reduce` add states, so a metric
    computed piecewise (or on several ranks) equals the metric computed on all features at once.
    """

    def __init__(self, dim: int):
        self.n = torch.zeros((), dtype=torch.float64)
        self.sum = torch.zeros(dim, dtype=torch.float64)
        self.outer = torch.zeros(dim, dim, dtype=torch.float64)

    def update(self, features: torch.Tensor) -> None:
        f = features.detach().reshape(len(features), -1).to(device=self.sum.device, dtype=torch.float64)
        if f.shape[1] != len(self.sum):
            raise ValueError(f"features have {f.shape[1]} dimensions, this fit has {len(self.sum)}")
        self.n += len(f)
        self.sum += f.sum(0)
        self.outer += f.T @ f

    def merge(self, other: "GaussianFit") -> None:
        self.n += other.n
        self.sum += other.sum
        self.outer += other.outer

    def all_reduce(self) -> None:
        """Sum the state over the processes of the default torch.distributed group (no-op without one)."""
        if dist.is_available() and dist.is_initialized():
            for t in (self.n, self.sum, self.outer):
                dist.all_reduce(t)

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """μ = Σf / n and the unbiased Σ = (Σ f fᵀ - n μ μᵀ) / (n - 1)."""
        n = float(self.n)
        if n < 2:
            raise ValueError(f"a Gaussian fit needs at least 2 feature vectors, got {int(n)}")
        mu = self.sum / n
        return mu, (self.outer - n * torch.outer(mu, mu)) / (n - 1)


def frechet_between(real: GaussianFit, fake: GaussianFit) -> float:
    return frechet_distance(*real.mean_cov(), *fake.mean_cov())
