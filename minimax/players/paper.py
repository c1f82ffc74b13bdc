r"""The MNIST players of Goodfellow et al. (2014), as in the paper's released code.

G: z ∈ R^100 (uniform) → ReLU 1200 → ReLU 1200 → sigmoid 784 (pixels in [0, 1]).
D: x ∈ R^784 → maxout 240 units × 5 pieces → maxout 240 × 5 → linear logit,
   with dropout: inputs kept with probability 0.8, hidden units with 0.5.
Weights are initialised U(-r, r) with r = 0.05 for G and r = 0.005 for D, biases 0 (but see
``g_output_bias`` below for G's output layer).

Conditional (``classes`` = K > 0, Mirza & Osindero 2014): G reads [z; e_c] and D's first maxout layer
reads [dropout(x); e_c], e_c the one-hot code of c (the label is never dropped).

A maxout unit (Goodfellow et al. 2013) is h_i(x) = max_{j ≤ k} (x^T W_{·ij} + b_{ij}).

The released code (goodfeli/adversarial, mnist.yaml) trains this pair with SGD, learning rate 0.1,
momentum 0.5, minibatches of 100, D's objective ½(BCE on data + BCE on samples), both players'
gradients taken from one pass, and G's output biases started at logit(mean training pixel)
(``g_output_bias = "marginals"``): ``configs/table1.toml`` is that recipe in minimax's settings (with a
larger step and a weight average of G for a 30-minute budget). Without the marginal biases the
recipe is fragile: G can collapse within 2k iterations onto one saturated binary image (pixels at 0
or 1, σ' ≈ 0, no gradient left) from which it never returns (docs/results-table1.md).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .conditioning import with_one_hot

COMPONENTS = [{
    "kind": "player", "name": "paper", "object": "players", "order": 2, "g_output": "sigmoid", "condition": "concat",
    "marginals": True, "help": "Goodfellow et al. 2014's MNIST pair (ReLU/sigmoid G, maxout D with dropout)",
}]


class Maxout(nn.Module):
    """h = max over k pieces of a linear map to (units × k)."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


def _uniform_init(module: nn.Module, r: float) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -r, r)
            nn.init.zeros_(m.bias)


class PaperGenerator(nn.Module):
    def __init__(self, out_shape: Sequence[int] = (1, 28, 28), latent_dim: int = 100, hidden: int = 1200,
                 classes: int = 0):
        super().__init__()
        self.out_shape, self.classes = tuple(out_shape), classes
        self.net = nn.Sequential(
            nn.Linear(latent_dim + classes, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(self.out_shape)), nn.Sigmoid(),
        )
        _uniform_init(self, 0.05)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(with_one_hot(z, c, self.classes)).view(z.shape[0], *self.out_shape)


class PaperDiscriminator(nn.Module):
    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), units: int = 240, pieces: int = 5,
                 input_dropout: float = 0.2, hidden_dropout: float = 0.5, classes: int = 0):
        super().__init__()
        self.classes = classes
        self.net = nn.Sequential(
            nn.Flatten(), nn.Dropout(input_dropout),
            Maxout(math.prod(in_shape) + classes, units, pieces), nn.Dropout(hidden_dropout),
            Maxout(units, units, pieces), nn.Dropout(hidden_dropout),
            nn.Linear(units, 1),
        )
        _uniform_init(self, 0.005)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.classes == 0:
            return self.net(x).squeeze(1)
        h = with_one_hot(self.net[1](self.net[0](x)), c, self.classes)  # the label joins after input dropout
        for layer in self.net[2:]:
            h = layer(h)
        return h.squeeze(1)


def players(shape, latent_dim: int, classes: int, pack: int, g_output: str) -> tuple[nn.Module, nn.Module]:
    """(G, D): the paper's MNIST pair for images of ``shape``."""
    return PaperGenerator(shape, latent_dim, classes=classes), PaperDiscriminator(shape, classes=classes)
