r"""Multilayer-perceptron players.

G: z ∈ R^{latent} ↦ x ∈ R^{d};  D: x ↦ logit l(x) ∈ R, with D(x) = σ(l(x)).
D returns the *logit*: the probability σ(l) is never formed inside the model,
so the losses in :mod:`minimax.games.minimax` can use their stable softplus forms.
With ``classes`` = K > 0 both are conditional (Mirza & Osindero 2014): G(z, c) and D(x, c) read
the one-hot code of c concatenated to their input (:mod:`minimax.players.conditioning`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .conditioning import with_one_hot
from .packing import pack

COMPONENTS = [{
    "kind": "player", "name": "mlp", "object": "players", "order": 1, "images": False,
    "help": "multilayer perceptrons (any data)", "condition": "concat", "pack": True, "pack_with_condition": True,
    "marginals": True,
    "options": {
        "g_hidden": {"type": "widths", "default": (256, 256, 256), "help": "MLP G's hidden widths",
                     "more": "comma-separated"},
        "d_hidden": {"type": "widths", "default": (256, 256, 256), "help": "MLP D's hidden widths",
                     "more": "comma-separated"},
        "g_norm": {"type": "str", "choices": ("none", "batch"), "default": "none", "help": "MLP G's normalisation"},
        "d_dropout": {"type": "float", "default": 0.0, "min": 0, "below": 1, "help": "dropout rate in MLP D"},
    },
}]

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
}
OUTPUTS = {"identity": nn.Identity, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


class MLPGenerator(nn.Module):
    """x = out(W_L h_{L-1} + b_L), h_i = act([BN](W_i h_{i-1} + b_i)), h_0 = z (or [z; e_c])."""

    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        output: str = "identity",
        batchnorm: bool = False,
        classes: int = 0,
    ):
        super().__init__()
        _check_activation(activation)
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
        self.latent_dim, self.classes = latent_dim, classes
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        width = latent_dim + classes
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(ACTIVATIONS[activation]())
            width = h
        layers += [nn.Linear(width, math.prod(self.out_shape)), OUTPUTS[output]()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(with_one_hot(z, c, self.classes)).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """l(x) = w_L·h_{L-1} + b_L, h_i = dropout(act(W_i h_{i-1} + b_i)), h_0 = flatten(x) (or [x; e_c]).

    With ``pack`` = p > 1 this is a PacGAN discriminator (Lin et al. 2018): each logit
    judges p samples at once, h_0 = concat(x_1, ..., x_p), so a batch of m samples
    gives m/p logits. D then plays the same game on the product distributions
    p_data^p vs p_g^p, which penalises a generator that drops modes.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        activation: str = "leaky_relu",
        dropout: float = 0.0,
        pack: int = 1,
        classes: int = 0,
    ):
        super().__init__()
        _check_activation(activation)
        self.pack, self.classes = pack, classes
        layers: list[nn.Module] = [nn.Flatten()]
        width = (math.prod(in_shape) + classes) * pack
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = with_one_hot(x, c, self.classes)
        return self.net(pack(x.flatten(1), self.pack)).squeeze(1)


def players(shape, latent_dim: int, classes: int, pack: int, g_output: str, g_hidden=(256, 256, 256),
            d_hidden=(256, 256, 256), g_norm: str = "none", d_dropout: float = 0.0) -> tuple[nn.Module, nn.Module]:
    """(G, D) for data of ``shape``: ReLU G with the data's output (``g_output``), leaky-ReLU D."""
    G = MLPGenerator(latent_dim, shape, g_hidden, "relu", g_output, batchnorm=g_norm == "batch", classes=classes)
    return G, MLPDiscriminator(shape, d_hidden, "leaky_relu", d_dropout, pack, classes=classes)
