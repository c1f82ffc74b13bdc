r"""The noise prior p_z(z) that the generator maps to data space.

* ``normal``:  z ~ N(0, I)
* ``uniform``: z ~ U[-1, 1]^latent  (the 2014 paper's code draws U[-√3, √3], unit variance,
  a scale that G's first layer can absorb)
"""
from __future__ import annotations

import torch

PRIORS = ("normal", "uniform")


def sample_noise(
    m: int, latent_dim: int, kind: str, generator: torch.Generator, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """m samples z_i ~ p_z, drawn from ``generator`` so the stream is reproducible and resumable."""
    if kind == "normal":
        return torch.randn(m, latent_dim, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(m, latent_dim, generator=generator, device=device).mul_(2).sub_(1)
    raise ValueError(f"unknown prior {kind!r}; choose one of {', '.join(PRIORS)}")
