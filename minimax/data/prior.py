r"""The noise prior p_z(z) that the generator maps to data space.

* ``normal``:  z ~ N(0, I)
* ``uniform``: z ~ U[-1, 1]^latent  (the 2014 paper's code draws U[-√3, √3], unit variance,
  a scale that G's first layer can absorb)
"""
from __future__ import annotations

import torch

from ..catalogue import PATHS, PRIORS


def sample_noise(
    m: int, latent_dim: int, kind: str, generator: torch.Generator, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """m samples z_i ~ p_z, drawn from ``generator`` so the stream is reproducible and resumable."""
    if kind == "normal":
        return torch.randn(m, latent_dim, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(m, latent_dim, generator=generator, device=device).mul_(2).sub_(1)
    raise ValueError(f"unknown prior {kind!r}; choose one of {', '.join(PRIORS)}")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""The straight line z(t) = (1 − t)·z₀ + t·z₁, for each t in ``t`` (shape [T]): [..., T, latent]."""
    t = t.reshape(-1, 1)
    return (1 - t) * z0.unsqueeze(-2) + t * z1.unsqueeze(-2)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""The great-circle path (White 2016, "Sampling Generative Networks"), for each t in ``t``: [..., T, latent].

        z(t) = sin((1 − t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁,   cos Ω = z₀·z₁ / (‖z₀‖ ‖z₁‖)

    Under N(0, I) in many dimensions noise vectors lie near the sphere of radius √latent; the straight line
    between two of them passes well inside it (its midpoint has norm ≈ √(latent/2)), where G was never trained,
    while this path keeps the norm between the endpoints' (equal norms: constant). Where Ω ≈ 0 or π (parallel
    endpoints) it is the straight line."""
    u0, u1 = z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True)
    omega = torch.acos((u0 * u1).sum(-1).clamp(-1, 1)).unsqueeze(-1).unsqueeze(-1)  # [..., 1, 1]
    t = t.reshape(-1, 1)
    so = torch.sin(omega)
    near = so.abs() < 1e-6
    so = torch.where(near, torch.ones_like(so), so)
    path = (torch.sin((1 - t) * omega) * z0.unsqueeze(-2) + torch.sin(t * omega) * z1.unsqueeze(-2)) / so
    return torch.where(near, lerp(z0, z1, t.reshape(-1)), path)


def path_kind(kind: str, prior: str) -> str:
    """The path ``kind`` names: 'slerp', 'lerp', or for 'auto' slerp under the normal prior and lerp under the
    uniform one (the cube [−1, 1]^latent is convex, so the line stays in p_z's support; the great circle between
    two of its points can leave it)."""
    if kind not in PATHS:
        raise ValueError(f"unknown path {kind!r}; choose one of {', '.join(PATHS)}")
    return ("slerp" if prior == "normal" else "lerp") if kind == "auto" else kind


def latent_path(z0: torch.Tensor, z1: torch.Tensor, steps: int, kind: str, prior: str) -> torch.Tensor:
    """``steps`` points from z₀ to z₁ (both included) on the path ``kind`` (:func:`path_kind`)."""
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return (slerp if path_kind(kind, prior) == "slerp" else lerp)(z0, z1, t)
