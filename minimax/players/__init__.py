"""The two players: generator G (noise -> data) and discriminator D (data -> logit).

Architectures: ``mlp`` (any data), ``paper`` (Goodfellow et al. 2014's MNIST pair),
``dcgan`` (Radford et al. 2016, 28/32/64 px images).
"""
from __future__ import annotations

import torch

from ..errors import MinimaxError
from .dcgan import SIZES as DCGAN_SIZES
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator
from .paper import PaperDiscriminator, PaperGenerator


def output_range(model: str) -> str:
    """The generator's output non-linearity, which fixes the scale of image data."""
    return "sigmoid" if model == "paper" else "tanh"


def build_players(cfg, data) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Build (G, D) for ``cfg.model`` and the data's shape. Call after seeding torch."""
    shape = tuple(data.shape)
    if cfg.model == "mlp":
        G = MLPGenerator(cfg.latent_dim, shape, cfg.g_hidden, "relu", getattr(data, "g_output", "identity"),
                         batchnorm=cfg.g_norm == "batch")
        D = MLPDiscriminator(shape, cfg.d_hidden, "leaky_relu", cfg.d_dropout, cfg.pack)
        return G, D
    if cfg.pack != 1:
        raise MinimaxError(f"pack > 1 is only available for the mlp model, not {cfg.model}")
    if len(shape) != 3:
        raise MinimaxError(f"model {cfg.model!r} needs image data; dataset {cfg.dataset!r} has shape {shape}")
    if cfg.model == "paper":
        return PaperGenerator(shape, cfg.latent_dim), PaperDiscriminator(shape)
    if cfg.model == "dcgan":
        c, h, w = shape
        if h != w or h not in DCGAN_SIZES:
            raise MinimaxError(f"dcgan needs square images of side {sorted(DCGAN_SIZES)}, got {h}x{w}")
        return DCGANGenerator(cfg.latent_dim, c, h), DCGANDiscriminator(c, h)
    raise MinimaxError(f"unknown model {cfg.model!r}")


__all__ = ["build_players", "output_range", "MLPGenerator", "MLPDiscriminator", "PaperGenerator",
           "PaperDiscriminator", "DCGANGenerator", "DCGANDiscriminator"]
