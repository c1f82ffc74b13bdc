r"""Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs", §4).

The squared maximum mean discrepancy between the feature distributions P (real) and Q (generated) under the
cubic polynomial kernel of d-dimensional features,

    k(x, y) = (xᵀy / d + 1)³,
    MMD²(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y),   x, x' ~ P,  y, y' ~ Q independent,

estimated without bias from m real and m generated features (the U-statistic: the diagonal terms k(x_i, x_i)
left out),

    MMD²_u = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m-1)) Σ_{i≠j} k(y_i, y_j) - 2/m² Σ_{i,j} k(x_i, y_j).

KID is the mean of MMD²_u over ``subsets`` random subsets of size m (drawn without replacement within a subset,
independently across subsets), reported with the standard deviation across subsets (ddof = 0, numpy's np.std, as
torch-fidelity reports it). Unlike FID it has an
unbiased estimator, so it can be compared across sample sizes and used with few samples; it can be negative
when P = Q. Defaults (100 subsets of 1,000) are torch-fidelity's and the paper's.
"""
from __future__ import annotations

import torch

from ..errors import MinimaxError

SUBSETS = 100
SUBSET_SIZE = 1000


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (xᵀy / d + 1)³ for all pairs of rows, [n, d] × [m, d] -> [n, m]."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """MMD²_u of the cubic kernel between the rows of x and of y (same number m ≥ 2 of rows)."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    m = len(x)
    if len(y) != m or m < 2:
        raise ValueError(f"need two sets of the same size >= 2, got {len(x)} and {len(y)}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off = m * (m - 1)
    return float((kxx.sum() - kxx.diagonal().sum()) / off + (kyy.sum() - kyy.diagonal().sum()) / off
                 - 2 * kxy.sum() / m ** 2)


def check_subset_size(subset_size: int, n_real: int, n_fake: int) -> None:
    """A subset is drawn without replacement from each set: it cannot be larger than either."""
    if subset_size < 2:
        raise MinimaxError(f"KID subset size must be at least 2, got {subset_size}")
    if subset_size > min(n_real, n_fake):
        raise MinimaxError(f"KID subset size {subset_size} is larger than the {min(n_real, n_fake)} "
                           f"{'real' if n_real < n_fake else 'generated'} samples; lower the subset size or draw "
                           "more samples")


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE,
        seed: int = 0) -> dict:
    """``{"kid": mean, "kid_std": std over subsets, "subsets", "subset_size"}`` of MMD²_u on random subsets."""
    check_subset_size(subset_size, len(real), len(fake))
    gen = torch.Generator().manual_seed(seed)
    values = torch.tensor([
        mmd2_unbiased(real[torch.randperm(len(real), generator=gen)[:subset_size]],
                      fake[torch.randperm(len(fake), generator=gen)[:subset_size]])
        for _ in range(subsets)], dtype=torch.float64)
    return {"kid": float(values.mean()), "kid_std": float(values.std(correction=0)),  # ddof 0: torch-fidelity
            "subsets": subsets, "subset_size": subset_size}
