r"""A weight average of the generator (Yazıcı et al. 2019, "The unusual effectiveness of
averaging in GAN training"): samples and metrics come from θ̄ instead of the last iterate θ.

After the t-th G step (t = 1, 2, ...), θ̄ ← θ̄ + w_t (θ - θ̄) with

    w_t = 1 / (t - t₀ + 1)     for t ≥ t₀ = ``uniform_from`` > 0: the uniform (Polyak-Ruppert)
                               average θ̄_t = (1 / (t - t₀ + 1)) Σ_{s=t₀..t} θ_s
    w_t = 1 - β_t              before t₀ (or always, without t₀): the exponential average with
                               β_t = min(β, (1 + t) / (10 + t)), TensorFlow's warm-up (early
                               averages are not dominated by the initial weights; β = 0: θ̄ = θ)

G's buffers (BatchNorm running statistics) are copied as they are.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """θ̄, the averaged copy of a module (``.module``), exponential and/or uniform from ``uniform_from``."""

    def __init__(self, source: nn.Module, beta: float, uniform_from: int = 0):
        self.beta, self.uniform_from = beta, uniform_from
        self.module = copy.deepcopy(source).requires_grad_(False)
        # the tensor lists update() walks, made once
        self._avg, self._src = list(self.module.parameters()), list(source.parameters())
        self._buffers = list(zip(self.module.buffers(), source.buffers()))

    @classmethod
    def kept_by(cls, G: nn.Module, cfg) -> WeightAverage | None:
        """The average of G that ``cfg`` asks for (--g-ema, --g-uniform-average-from), or None."""
        averaged = cfg.g_ema > 0 or cfg.g_uniform_average_from > 0
        return cls(G, cfg.g_ema, cfg.g_uniform_average_from) if averaged else None

    def weight(self, t: int) -> float:
        """w_t of the update after the t-th step."""
        t0 = self.uniform_from
        if t0 > 0 and t >= t0:
            return 1.0 / (t - t0 + 1)
        return 1.0 - min(self.beta, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, t: int) -> None:
        """θ̄ ← θ̄ + w_t (θ - θ̄) after the t-th step; buffers copied."""
        torch._foreach_lerp_(self._avg, self._src, self.weight(t))
        for b_avg, b in self._buffers:
            b_avg.copy_(b)
