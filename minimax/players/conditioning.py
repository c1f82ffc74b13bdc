r"""How a class label c ∈ {0, …, K−1} enters the players of the conditional game p(x | c).

Goodfellow et al. (2014, §7): "A conditional generative model p(x | c) can be obtained by adding c as
input to both G and D." Two ways, one option (``condition``):

* ``concat`` (Mirza & Osindero 2014): the one-hot code e_c is concatenated to the input of the first
  layer, G(z, c) = G([z; e_c]) and D(x, c) = D([x; e_c]) — for the MLP players and the 2014 paper's pair.
  A linear first layer then sees W[z; e_c] = W_z z + w_c: a learned per-class bias of its units.
* ``projection`` (for DCGAN): conditional BatchNorm in G (de Vries et al. 2017; Miyato & Koyama 2018),

      CBN(h, c) = γ_c ⊙ (h − μ_B)/σ_B + β_c,   (γ_c, β_c) learned per class,

  and the projection discriminator (Miyato & Koyama 2018, eq. 3) on D's last features φ(x):

      l(x, c) = ψ(φ(x)) + e_cᵀ V φ(x) = (w + v_c)ᵀ φ(x) + b,

  with ψ D's own final linear map (w, b) and v_c a learned class embedding — the form of the optimal
  logit l*(x, c) = log p_data(x|c) − log p_g(x|c) when both conditionals are log-linear in φ.

Unconditional players (K = 0) build exactly the modules they built before (same parameters, same
initialisation order), so unconditional runs are unchanged.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def with_one_hot(h: torch.Tensor, c: torch.Tensor | None, classes: int) -> torch.Tensor:
    """[h; e_c], the flattened input h with the one-hot code of c appended (h itself when K = 0)."""
    if classes == 0:
        return h
    if c is None:
        raise ValueError("this player is conditional: give the class labels c")
    return torch.cat([h.flatten(1), F.one_hot(c, classes).to(h.dtype)], dim=1)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d without its own affine map, then γ_c ⊙ ĥ + β_c with (γ_c, β_c) looked up per class.

    γ starts at N(1, 0.02²) and β at 0, DCGAN's start for a BatchNorm (Radford et al. 2016, §4)."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(classes, channels)
        self.shift = nn.Embedding(classes, channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.scale.weight, 1.0, 0.02)
        nn.init.zeros_(self.shift.weight)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.scale(c)[:, :, None, None] * self.norm(h) + self.shift(c)[:, :, None, None]


def run_layers(layers: nn.Sequential, h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """h through ``layers``, handing c to the conditional BatchNorms."""
    for layer in layers:
        h = layer(h, c) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
    return h
