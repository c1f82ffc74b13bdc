r"""Mode-coverage metrics for mixtures with known modes (VEEGAN §5.1, PacGAN §5).

Given N generated samples and the mixture's K centres μ_k with std σ:

* a sample is *high quality* when it lies within 3σ of its nearest centre,
  ‖x - μ_{k(x)}‖ ≤ 3σ, with k(x) = argmin_k ‖x - μ_k‖;
* a mode is *covered* when at least one high-quality sample is nearest to it;
* the *reverse KL* is KL(q ‖ u) = Σ_k q_k log(q_k K), where q_k is the fraction of
  high-quality samples nearest to mode k and u the uniform distribution over the
  K modes (the true mode distribution); 0·log 0 = 0. It is 0 for perfect balance
  and log K when all samples fall on one mode.

The benchmarks evaluate N = 2500 samples.

For data whose modes are read off by a classifier (Stacked MNIST: the digit triple of a sample's three
channels, 1,000 modes; VEEGAN §5.2, PacGAN §5.2), :func:`histogram_metrics` counts the distinct modes of
N samples and the same KL(q ‖ u), with q the fraction of all samples in each mode (every sample has one).
"""
from __future__ import annotations

import math

import torch

DEFAULT_EVAL_SAMPLES = 2500


def mode_metrics(samples: torch.Tensor, centres: torch.Tensor, std: float, threshold: float = 3.0) -> dict:
    """Return ``{"high_quality": fraction, "modes": covered, "n_modes": K, "reverse_kl": nats}``."""
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"samples must have shape (N, {centres.shape[1]}), got {tuple(samples.shape)}")
    x = samples.to(torch.float64)
    c = centres.to(torch.float64)
    dist, nearest = torch.cdist(x, c).min(dim=1)
    hq = dist <= threshold * std
    counts = torch.bincount(nearest[hq], minlength=len(c)).to(torch.float64)
    n_hq = int(hq.sum())
    return {
        "high_quality": n_hq / len(x) if len(x) else 0.0,
        "modes": int((counts > 0).sum()),
        "n_modes": len(c),
        "reverse_kl": kl_to_uniform(counts),
    }


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(q ‖ u) = Σ_k q_k log(q_k K) in nats for q = counts / Σ counts and u uniform over the K = len(counts)
    modes (0·log 0 = 0); +inf when there are no counts."""
    total = float(counts.sum())
    if total == 0:
        return math.inf
    q = counts.to(torch.float64) / total
    nz = q > 0
    return float((q[nz] * (q[nz] * len(counts)).log()).sum())


def histogram_metrics(modes: torch.Tensor, n_modes: int) -> dict:
    """``{"modes": distinct modes hit, "n_modes": K, "kl": KL(q ‖ u)}`` for integer modes in 0..K-1 of N samples."""
    modes = modes.reshape(-1).long()
    if len(modes) and not (0 <= int(modes.min()) and int(modes.max()) < n_modes):
        raise ValueError(f"modes must lie in 0..{n_modes - 1}")
    counts = torch.bincount(modes, minlength=n_modes)
    return {"modes": int((counts > 0).sum()), "n_modes": n_modes, "kl": kl_to_uniform(counts)}


def stacked_modes(predict, pixels: torch.Tensor, channels: int = 3, side: int = 28) -> torch.Tensor:
    """The mode c = Σ_i 10^{channels-1-i} d_i of each stacked sample ([N, channels·side²] in [0, 1]), d_i the
    digit that ``predict`` (single-channel images [n, 1, side, side] -> labels) reads in channel i."""
    x = pixels.reshape(-1, channels, side, side)
    digits = torch.stack([predict(x[:, i:i + 1].contiguous()) for i in range(channels)], 1)
    return (digits.long() * (10 ** torch.arange(channels - 1, -1, -1))).sum(1)
