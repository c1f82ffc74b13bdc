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
    if n_hq == 0:
        reverse_kl = math.inf
    else:
        q = counts / n_hq
        nz = q > 0
        reverse_kl = float((q[nz] * (q[nz] * len(c)).log()).sum())
    return {
        "high_quality": n_hq / len(x) if len(x) else 0.0,
        "modes": int((counts > 0).sum()),
        "n_modes": len(c),
        "reverse_kl": reverse_kl,
    }
